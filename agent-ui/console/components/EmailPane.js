// The selected email thread: its subject and customer, the mails (EmailThread), and while it is
// active the reply form; transfer and "Close thread" as for a chat; the wrap-up form once closed.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { emptyDraft, queuedAction } from '../state.js';
import { threadSubject, draftDefaults, mailOf, forwardSubject } from '../email.js';
import { EmailThread } from './EmailThread.js';
import { EmailComposer } from './EmailComposer.js';
import { WrapUpForm } from './WrapUpForm.js';
import { LabelEditor } from './LabelEditor.js';
import { TransferControl } from './TransferControl.js';
import { SnoozeControl } from './SnoozeControl.js';
import { snoozable } from '../snooze.js';
import { QueuedNote } from './QueuedNote.js';

export function EmailPane({ state, entry, actions, queues, queueName, ownAddresses }) {
  const it = entry.interaction;
  const customer = entry.card.customer;
  const active = it.state === 'active';
  const messages = entry.messages;
  const subject = threadSubject(messages);
  const own = ownAddresses(it.entry_point);
  const defaults = draftDefaults(messages, 'reply', own);
  const draft = state.drafts[it.id] || { ...emptyDraft(), ...defaults };
  const recipientsFor = (mode) => {
    const d = draftDefaults(messages, mode, own);
    return { to: d.to, cc: d.cc, subject: d.subject };
  };
  const forwarded = draft.mode === 'forward' ? messages.find((m) => m.id === draft.forward_of) : null;
  const forward = (m) => actions.emailForward(it.id, m.id, forwardSubject((mailOf(m) || {}).subject), defaults);
  return html`
    <div class="chat-pane email-pane" data-testid="email-pane" data-interaction-id=${it.id} data-state=${it.state}>
      <header class="chat-head">
        <div>
          <div class="chat-title" data-testid="email-thread-subject">
            <span class="channel-mark" aria-hidden="true">✉</span> ${subject || t('email.no_subject')}
          </div>
          <div class="muted small-text"><span data-testid="chat-title">${customer.name}</span> · ${label('channel', it.channel)} · ${queueName(it.queue_id)} · ${label('istate', it.state)}</div>
          <${LabelEditor} interactionId=${it.id} key=${it.id} />
        </div>
        ${active && html`<div class="chat-actions">
          <${TransferControl} queues=${queues || []} currentQueueId=${it.queue_id} onTransfer=${(q) => actions.transfer(it.id, q)} />
          ${snoozable(it) && html`<${SnoozeControl} interactionId=${it.id} key=${it.id} />`}
          <button class="danger-outline" onClick=${() => actions.end(it.id)} disabled=${Boolean(queuedAction(state, it.id, 'end'))}
            data-testid="end-chat">${t('email.end')}</button>
        </div>`}
      </header>
      <${QueuedNote} state=${state} interactionId=${it.id} />
      <${EmailThread} messages=${messages} customerName=${customer.name} onForward=${active ? forward : null} />
      ${active
        ? html`<${EmailComposer} key=${it.id} interactionId=${it.id} draft=${draft} recipientsFor=${recipientsFor}
            forwarded=${forwarded} customerName=${customer.name}
            onDraft=${(patch) => actions.emailDraft(it.id, patch, defaults)} onSend=${() => actions.sendEmail(it.id)}
            onAttach=${(files) => actions.emailAttach(it.id, files, defaults)} onDetach=${(key) => actions.emailDetach(it.id, key)} />`
        : it.state === 'wrap_up'
          ? html`<${WrapUpForm} dispositions=${state.dispositions} queued=${Boolean(queuedAction(state, it.id, 'wrap_up'))} onSubmit=${(code, note) => actions.wrapUp(it.id, code, note)} />`
          : null}
    </div>
  `;
}
