// The reply form of an email thread: Reply (the customer) or Reply all (and everyone their last
// mail was to or copied to), or Forward (a mail of the thread, chosen on its card, to whoever the
// agent names, with a note above it), editable To, Cc and Subject, the text, files to attach, and
// Send (Ctrl/Cmd+Enter). The draft lives in the console's model (state.js), so it survives
// switching threads, and a failed send keeps it with its client_id: sending again cannot send the
// mail twice.
import { html } from '../html.js';
import { t, errorText } from '../i18n.js';
import { parseAddressList, looksLikeAddress, mailOf, formatAddress } from '../email.js';
import { blocking } from '../attachments.js';
import { AttachmentPicker } from './AttachmentPicker.js';

/** The first typed address that is not one, or null. */
function badAddress(draft) {
  for (const a of [...parseAddressList(draft.to), ...parseAddressList(draft.cc)]) if (!looksLikeAddress(a)) return a;
  return null;
}

/** What the forward banner says of the mail being forwarded. */
function ForwardNote({ message, customerName, onCancel, disabled }) {
  const d = mailOf(message) || {};
  const files = ((message.channel && message.channel.attachments) || []).length;
  const from = message.sender === 'customer' ? formatAddress(d.from) || customerName : t('email.from_you');
  return html`
    <p class="forward-note" data-testid="email-forwarding">
      <span>${t('email.forwarding', { subject: d.subject || t('email.no_subject'), from })}</span>
      ${files > 0 && html`<span class="muted">${t('email.forward_files', { n: files })}</span>`}
      <button type="button" class="link small" disabled=${disabled} onClick=${onCancel} data-testid="email-forward-cancel">${t('email.forward_cancel')}</button>
    </p>
  `;
}

export function EmailComposer({ interactionId, draft, forwarded, customerName, recipientsFor, onDraft, onSend, onAttach, onDetach }) {
  const bad = badAddress(draft);
  const forwarding = draft.mode === 'forward' && Boolean(forwarded);
  const files = draft.attachments || [];
  const waiting = blocking(files);
  const canSend = !draft.sending && (forwarding || draft.body.trim() !== '') && !bad && !waiting
    && (parseAddressList(draft.to).length > 0);
  const id = (name) => `reply-${interactionId}-${name}`;
  // Read-only while the hub has the reply: what it stores is what was sent, not later edits.
  const field = (name) => ({ id: id(name), value: draft[name], readOnly: draft.sending, onInput: (e) => onDraft({ [name]: e.currentTarget.value }) });

  function send() {
    if (canSend) onSend();
  }

  function mode(m) {
    if (m === draft.mode) return;
    const { to, cc, subject } = recipientsFor(m);
    // Back from a forward: the reply's recipients and subject again.
    onDraft(draft.mode === 'forward' ? { mode: m, forward_of: null, to, cc, subject } : { mode: m, to, cc });
  }

  function keyDown(e) {
    if (e.key !== 'Enter' || e.isComposing) return;
    if (e.ctrlKey || e.metaKey) {
      e.preventDefault();
      send();
    } else if (e.target.tagName === 'INPUT') {
      // Enter in To, Cc or Subject must not send half a mail.
      e.preventDefault();
    }
  }

  const error = draft.error && (draft.error.code === 'unavailable'
    ? t('email.send_offline')
    : errorText(draft.error));

  return html`
    <form class="email-composer" aria-label=${forwarding ? t('email.forward_form') : t('email.reply_form')} data-testid="email-composer"
      data-mode=${forwarding ? 'forward' : draft.mode} onSubmit=${(e) => { e.preventDefault(); send(); }} onKeyDown=${keyDown}>
      <div class="email-composer-top">
      <div class="segmented" role="group" aria-label=${t('email.reply_mode')}>
        <button type="button" class=${draft.mode === 'reply' ? 'on' : ''} aria-pressed=${draft.mode === 'reply' ? 'true' : 'false'}
          onClick=${() => mode('reply')} data-testid="email-reply">${t('email.reply')}</button>
        <button type="button" class=${draft.mode === 'all' ? 'on' : ''} aria-pressed=${draft.mode === 'all' ? 'true' : 'false'}
          onClick=${() => mode('all')} data-testid="email-reply-all">${t('email.reply_all')}</button>
        ${forwarding && html`<button type="button" class="on" aria-pressed="true" data-testid="email-forward-mode">${t('email.forward')}</button>`}
      </div>
      <span class="muted small-text" id=${id('hint')} data-testid="email-signature-note">${t('email.signature_note')}</span>
      </div>
      ${forwarding && html`<${ForwardNote} message=${forwarded} customerName=${customerName} disabled=${draft.sending}
        onCancel=${() => mode('reply')} />`}
      <div class="email-fields">
        <label for=${id('to')}>${t('email.to')}</label>
        <input type="text" autocomplete="off" spellcheck="false" ...${field('to')} aria-invalid=${bad && parseAddressList(draft.to).includes(bad) ? 'true' : 'false'} data-testid="email-to-input" />
        <label for=${id('cc')}>${t('email.cc')}</label>
        <input type="text" autocomplete="off" spellcheck="false" ...${field('cc')} aria-invalid=${bad && parseAddressList(draft.cc).includes(bad) ? 'true' : 'false'} data-testid="email-cc-input" />
        <label for=${id('subject')}>${t('email.subject')}</label>
        <input type="text" ...${field('subject')} data-testid="email-subject-input" />
      </div>
      <label class="email-body-label" for=${id('body')}>${forwarding ? t('email.forward_note') : t('email.body')}</label>
      <textarea rows="4" ...${field('body')} aria-describedby=${`${id('hint')} ${id('keys')}`} data-testid="email-body-input"></textarea>
      <${AttachmentPicker} idPrefix=${id('attach')} attachments=${files} disabled=${draft.sending}
        onPick=${onAttach} onRemove=${onDetach} />
      ${waiting && files.some((a) => a.status === 'failed') && html`<p class="muted small-text" data-testid="attach-wait">${t('email.attach_wait')}</p>`}
      ${bad && html`<p class="form-error" role="alert" data-testid="email-bad-address">${t('email.bad_address', { address: bad })}</p>`}
      ${error && html`<p class="form-error" role="alert" data-testid="email-send-error">${t('email.not_sent', { reason: error })}</p>`}
      ${draft.notice === 'earlier_sent' && html`<p class="notice" role="status" data-testid="email-earlier-sent">${t('email.earlier_sent')}</p>`}
      <div class="email-composer-foot">
        <span class="muted small-text" id=${id('keys')}>${t('email.send_hint')}</span>
        <button class="primary" type="submit" disabled=${!canSend} data-testid="email-send">
          ${draft.sending ? t('email.sending') : draft.error ? t('email.send_again') : t('email.send')}</button>
      </div>
    </form>
  `;
}
