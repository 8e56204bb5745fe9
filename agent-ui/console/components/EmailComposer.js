// The reply form of an email thread: Reply (the customer) or Reply all (and everyone their last
// mail was to or copied to), editable To, Cc and Subject, the text, and Send (Ctrl/Cmd+Enter). The
// draft lives in the console's model (state.js), so it survives switching threads, and a failed
// send keeps it with its client_id: sending again cannot send the reply twice.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { parseAddressList, looksLikeAddress } from '../email.js';

/** The first typed address that is not one, or null. */
function badAddress(draft) {
  for (const a of [...parseAddressList(draft.to), ...parseAddressList(draft.cc)]) if (!looksLikeAddress(a)) return a;
  return null;
}

export function EmailComposer({ interactionId, draft, recipientsFor, onDraft, onSend }) {
  const bad = badAddress(draft);
  const canSend = !draft.sending && draft.body.trim() !== '' && !bad && (parseAddressList(draft.to).length > 0);
  const id = (name) => `reply-${interactionId}-${name}`;
  // Read-only while the hub has the reply: what it stores is what was sent, not later edits.
  const field = (name) => ({ id: id(name), value: draft[name], readOnly: draft.sending, onInput: (e) => onDraft({ [name]: e.currentTarget.value }) });

  function send() {
    if (canSend) onSend();
  }

  function mode(m) {
    if (m !== draft.mode) onDraft({ mode: m, ...recipientsFor(m) });
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
    : `${label('error', draft.error.code)}${draft.error.message ? ` — ${draft.error.message}` : ''}`);

  return html`
    <form class="email-composer" aria-label=${t('email.reply_form')} data-testid="email-composer"
      onSubmit=${(e) => { e.preventDefault(); send(); }} onKeyDown=${keyDown}>
      <div class="email-composer-top">
      <div class="segmented" role="group" aria-label=${t('email.reply_mode')}>
        <button type="button" class=${draft.mode === 'reply' ? 'on' : ''} aria-pressed=${draft.mode === 'reply' ? 'true' : 'false'}
          onClick=${() => mode('reply')} data-testid="email-reply">${t('email.reply')}</button>
        <button type="button" class=${draft.mode === 'all' ? 'on' : ''} aria-pressed=${draft.mode === 'all' ? 'true' : 'false'}
          onClick=${() => mode('all')} data-testid="email-reply-all">${t('email.reply_all')}</button>
      </div>
      <span class="muted small-text" id=${id('hint')} data-testid="email-signature-note">${t('email.signature_note')}</span>
      </div>
      <div class="email-fields">
        <label for=${id('to')}>${t('email.to')}</label>
        <input type="text" autocomplete="off" spellcheck="false" ...${field('to')} aria-invalid=${bad && parseAddressList(draft.to).includes(bad) ? 'true' : 'false'} data-testid="email-to-input" />
        <label for=${id('cc')}>${t('email.cc')}</label>
        <input type="text" autocomplete="off" spellcheck="false" ...${field('cc')} aria-invalid=${bad && parseAddressList(draft.cc).includes(bad) ? 'true' : 'false'} data-testid="email-cc-input" />
        <label for=${id('subject')}>${t('email.subject')}</label>
        <input type="text" ...${field('subject')} data-testid="email-subject-input" />
      </div>
      <label class="email-body-label" for=${id('body')}>${t('email.body')}</label>
      <textarea rows="4" ...${field('body')} aria-describedby=${`${id('hint')} ${id('keys')}`} data-testid="email-body-input"></textarea>
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
