// The selected chat or call: a chat's messages, the customer's typing, the composer and "End
// chat"; a call's hold and hang-up buttons (the talking happens on the agent's phone, or in this
// console with the browser softphone: then its state, a mute button and a keypad, which the
// keyboard's digits press too while this card has focus); a voicemail's message, played here,
// and a button to call the customer back; a callback is a call the hub places to the customer's
// number, with the attempt it is; consulting a colleague (see ConsultControl); a supervisor the agent hears (whispering, or on the call) is
// said above it all. Once it has ended, the wrap-up form takes their place.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { conversation } from '../state.js';
import { MessageList } from './MessageList.js';
import { Composer } from './Composer.js';
import { SuggestedArticles } from './SuggestedArticles.js';
import { WrapUpForm } from './WrapUpForm.js';
import { LabelEditor } from './LabelEditor.js';
import { TranscriptButton } from './TranscriptButton.js';
import { TransferControl } from './TransferControl.js';
import { SnoozeControl } from './SnoozeControl.js';
import { snoozable } from '../snooze.js';
import { ReplyWindow } from './ReplyWindow.js';
import { QueuedNote } from './QueuedNote.js';
import { queuedAction } from '../state.js';
import { Keypad } from './Keypad.js';
import { keypadKey } from '../softphone.js';
import { Recording } from './Recording.js';
import { ConsultControl } from './ConsultControl.js';

/** The text of the customer's latest message: what suggested articles are looked up by. */
function lastFromCustomer(messages) {
  for (let i = messages.length - 1; i >= 0; i -= 1) if (messages[i].sender === 'customer') return messages[i].body || '';
  return '';
}

export function ChatPane({ state, entry, actions, queues, queueName, softphone, onDial }) {
  const it = entry.interaction;
  const customer = entry.card.customer;
  const active = it.state === 'active';
  const call = it.channel === 'voice';
  // A voicemail: a call left while the queue was closed, with no caller on the line any more.
  const voicemail = call && it.offline && !it.callback;
  const phoneStatus = call && !voicemail && active && softphone ? softphone.status[it.id] || 'connecting' : null;
  const keypad = phoneStatus === 'connected' && !entry.onHold;
  const onKeyDown = keypad
    ? (e) => {
      const key = keypadKey(e);
      if (!key) return;
      e.preventDefault();
      actions.dtmf(it.id, key);
    }
    : undefined;
  return html`
    <div class="chat-pane" data-testid="chat-pane" data-interaction-id=${it.id} data-state=${it.state}
      tabIndex=${keypad ? -1 : undefined} onKeyDown=${onKeyDown}>
      <header class="chat-head">
        <div>
          <div class="chat-title" data-testid="chat-title">${customer.name}</div>
          <div class="muted small-text">${voicemail ? t('timeline.voicemail') : label('channel', it.channel)} · ${queueName(it.queue_id)} · ${label('istate', it.state)}</div>
          <${LabelEditor} interactionId=${it.id} key=${it.id} />
          ${!call && html`<${TranscriptButton} interactionId=${it.id} />`}
        </div>
        ${active && html`<div class="chat-actions">
          ${phoneStatus === 'connected' && html`<button onClick=${() => actions.mute(it.id, !softphone.muted)} data-testid="call-mute"
            aria-pressed=${softphone.muted ? 'true' : 'false'}>${softphone.muted ? t('call.unmute') : t('call.mute')}</button>`}
          ${call && !voicemail && html`<button onClick=${() => actions.hold(it.id, !entry.onHold)} data-testid="call-hold"
            disabled=${Boolean(entry.consult)} title=${entry.consult ? t('consult.holding') : undefined}
            aria-pressed=${entry.onHold ? 'true' : 'false'}>${entry.onHold ? t('call.resume') : t('call.hold')}</button>`}
          <${TransferControl} queues=${queues || []} currentQueueId=${it.queue_id} onTransfer=${(q) => actions.transfer(it.id, q)} />
          ${snoozable(it) && html`<${SnoozeControl} interactionId=${it.id} key=${it.id} />`}
          <button class="danger-outline" onClick=${() => actions.end(it.id)} disabled=${Boolean(queuedAction(state, it.id, 'end'))}
            data-testid="end-chat">${voicemail ? t('voicemail.done') : call ? t('call.hang_up') : t('chat.end')}</button>
        </div>`}
      </header>
      <${QueuedNote} state=${state} interactionId=${it.id} />
      ${call && active && entry.monitor && html`<p class="monitor-banner" role="status" data-testid="monitor-banner" data-mode=${entry.monitor.mode}>
        ${t(`call.monitor_${entry.monitor.mode}`, { name: entry.monitor.by })}</p>`}
      ${call && !voicemail && active && it.agent_id && html`<${ConsultControl} consult=${entry.consult} customerName=${customer.name} queues=${queues || []}
        onStep=${(step, more) => actions.consult(it.id, step, more)} />`}
      ${phoneStatus && html`<p class=${`softphone-status softphone-${phoneStatus}`} data-testid="softphone-status" data-status=${phoneStatus} role="status">${t(`softphone.${phoneStatus}`)}</p>`}
      ${keypad && html`<${Keypad} sent=${softphone.keys[it.id] || ''} onKey=${(key) => actions.dtmf(it.id, key)} />`}
      ${voicemail
        ? html`<div class="voicemail" data-testid="voicemail">
            <p>${t('voicemail.left', { name: customer.name })}</p>
            <${Recording} id=${it.id} />
            ${onDial && customer.phone && html`<button class="primary small" onClick=${() => onDial(customer.id)} data-testid="voicemail-call-back">${t('voicemail.call_back', { number: customer.phone })}</button>`}
          </div>`
        : call
        ? html`${it.callback && html`<p class="muted small-text" data-testid="callback-attempt">${t('callback.attempt', { number: it.callback.number, attempt: it.callback.attempts + 1 })}</p>`}
            <p class="call-status" data-testid="call-status">${active ? (entry.onHold ? t('call.on_hold', { name: customer.name }) : t('call.talking', { name: customer.name })) : t('call.ended')}</p>`
        : html`<${MessageList} messages=${conversation(state, it.id)} customerName=${customer.name} notes=${entry.card.notes || []} interactionId=${it.id} />`}
      ${!call && active && html`<${SuggestedArticles} text=${lastFromCustomer(conversation(state, it.id))} queueId=${it.queue_id} />`}
      <div class="typing-line" aria-live="polite">
        ${active && entry.customerOnline === false && html`<span class="customer-away" data-testid="customer-away">${t('chat.customer_away', { name: customer.name })}</span>`}
        ${entry.customerTyping && html`<span data-testid="typing-indicator">${t('chat.customer_typing', { name: customer.name })}</span>`}
      </div>
      ${active && it.channel === 'messaging' && html`<${ReplyWindow} messages=${entry.messages} onTemplate=${(template) => actions.sendTemplate(it.id, template)} />`}
      ${active && call
        ? null
        : active
        ? html`<${Composer} customer=${customer} agent=${state.agent} onSend=${(body) => actions.sendMessage(it.id, body)} onTyping=${(typing) => actions.typing(it.id, typing)}
            onFile=${it.channel === 'chat' ? (file) => actions.sendFile(it.id, file) : null} />`
        : it.state === 'wrap_up'
          ? html`<${WrapUpForm} dispositions=${state.dispositions} queued=${Boolean(queuedAction(state, it.id, 'wrap_up'))} onSubmit=${(code, note) => actions.wrapUp(it.id, code, note)} />`
          : null}
    </div>
  `;
}
