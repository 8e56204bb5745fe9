// One offer: who, from which queue, what they wrote so far, and how long is left to answer. An
// email offer says so with an envelope and shows the thread's subject and the customer's latest
// mail without its quoted history (the offer's preview is the thread's messages so far). A callback
// says whom accepting calls. An answer
// given while the socket is down is shown as waiting to be sent (`queued`, an action frame).
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { isEmail, threadSubject, lastCustomerMail, freshText } from '../email.js';
import { Countdown } from './Countdown.js';

export function OfferCard({ offer, queueName, queued, onAccept, onDecline, answerHere }) {
  const it = offer.interaction;
  const customer = (offer.card && offer.card.customer) || {};
  const email = isEmail(it);
  const mail = email ? lastCustomerMail(offer.preview || []) : null;
  const preview = email
    ? (mail ? freshText(mail.body) : '')
    : (offer.preview || []).filter((m) => m.sender === 'customer').map((m) => m.body).join('\n');
  return html`
    <article class=${`offer-card offer-${it.channel}`} data-testid="offer-card" data-interaction-id=${it.id} data-channel=${it.channel}>
      <header class="offer-head">
        <span class="offer-label">${email && html`<span class="channel-mark" aria-hidden="true">✉ </span>`}${it.callback ? t('timeline.callback') : t('offer.incoming', { channel: label('channel', it.channel) })}</span>
        <${Countdown} until=${offer.expires_at} />
      </header>
      <div class="offer-customer" data-testid="offer-customer">${customer.name || t('customer.unknown')}</div>
      <div class="offer-queue muted" data-testid="offer-queue">${queueName(it.queue_id) || it.entry_point}</div>
      ${email && html`<div class="offer-subject" data-testid="offer-subject">${threadSubject(offer.preview || []) || t('email.no_subject')}</div>`}
      ${offer.earlier_messages > 0 && html`<p class="offer-earlier muted" data-testid="offer-earlier">${t('offer.earlier', { count: offer.earlier_messages })}</p>`}
      ${preview && html`<p class="offer-preview" data-testid="offer-preview">${preview}</p>`}
      ${it.channel === 'voice' && (it.callback
        ? html`<p class="offer-preview" data-testid="offer-callback">${t('offer.callback', { number: it.callback.number })}</p>`
        : it.offline
        ? html`<p class="offer-preview" data-testid="offer-voicemail">${t('offer.voicemail')}</p>`
        : html`<p class="offer-preview" data-testid="offer-phone">${t(answerHere ? 'offer.answer_here' : 'offer.pick_up')}</p>`)}
      <div class="offer-actions">
        <button class="primary" onClick=${() => onAccept(it.id)} aria-pressed=${queued ? String(queued.type === 'offer.accept') : undefined}
          data-testid="offer-accept">${t('offer.accept')}</button>
        <button onClick=${() => onDecline(it.id)} aria-pressed=${queued ? String(queued.type === 'offer.decline') : undefined}
          data-testid="offer-decline">${t('offer.decline')}</button>
      </div>
      ${queued && html`<p class="queued-note" role="status" data-testid="offer-queued" data-action=${queued.type}>${t('queued.will_send', { action: label('queued', queued.type) })}</p>`}
    </article>
  `;
}
