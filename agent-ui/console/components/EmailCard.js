// One mail of a thread: who it is from and to, when, the subject, and the text the sender wrote
// now, with the history they quoted behind a toggle. "Show formatted" swaps the text for the mail's
// HTML in a sandboxed frame (EmailFrame); remote images stay out until "Show images". An agent's
// reply shows where its delivery stands. Everything here is text: nothing sets HTML in the console.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, label, formatDateTime } from '../i18n.js';
import { mailOf, displaySegments, hasVisibleText, formatAddress, hasRemoteImages, deliveryOf, isForward } from '../email.js';
import { EmailFrame } from './EmailFrame.js';
import { AttachmentList } from './AttachmentList.js';

const addresses = (list) => (list || []).map(formatAddress).filter(Boolean).join(', ');

function Delivery({ message }) {
  const state = deliveryOf(message);
  if (!state) return null;
  const reason = message.channel.delivery_error;
  return html`
    <p class=${`delivery delivery-${state}`} data-testid="email-delivery" data-delivery=${state}>
      <span class="delivery-label">${label('delivery', state)}</span>
      ${state === 'failed' && reason && html`<span class="delivery-reason" data-testid="email-delivery-error">${reason}</span>`}
    </p>
  `;
}

export function EmailCard({ message, customerName, onForward }) {
  const d = mailOf(message) || {};
  const attachments = (message.channel && message.channel.attachments) || [];
  const [showQuoted, setShowQuoted] = useState(false);
  const [formatted, setFormatted] = useState(false);
  const [images, setImages] = useState(false);
  const segments = displaySegments(message.body);
  const ownText = hasVisibleText(segments);
  const hasQuoted = ownText && segments.some((s) => s.quoted);
  const markup = typeof d.html === 'string' && d.html.trim() ? d.html : null;
  const fromCustomer = message.sender === 'customer';
  const from = fromCustomer ? formatAddress(d.from) || customerName : t('email.from_you');
  const subject = d.subject || t('email.no_subject');
  const headingId = `mail-${message.id}-subject`;
  const bodyId = `mail-${message.id}-body`;

  return html`
    <article class=${`email-card email-${message.sender}`} aria-labelledby=${headingId}
      data-testid="email-card" data-message-id=${message.id} data-sender=${message.sender}>
      <header class="email-head">
        <h3 class="email-subject" id=${headingId}><span data-testid="email-subject">${subject}</span>
          ${isForward(message) && html`<span class="email-tag" data-testid="email-forwarded">${t('email.forwarded_mark')}</span>`}</h3>
        <dl class="email-meta">
          <div><dt>${t('email.from')}</dt><dd data-testid="email-from">${from}</dd></div>
          ${d.to && d.to.length > 0 && html`<div><dt>${t('email.to')}</dt><dd data-testid="email-to">${addresses(d.to)}</dd></div>`}
          ${d.cc && d.cc.length > 0 && html`<div><dt>${t('email.cc')}</dt><dd data-testid="email-cc">${addresses(d.cc)}</dd></div>`}
          <div><dt>${t('email.date')}</dt><dd data-testid="email-date">${formatDateTime(d.date || message.created_at)}</dd></div>
        </dl>
      </header>
      ${formatted && markup
        ? html`<${EmailFrame} markup=${markup} attachments=${attachments} showRemote=${images} title=${t('email.formatted_title', { subject })} />`
        : html`<div class="email-body" id=${bodyId} data-testid="email-body">
            ${segments.map((s, i) => (s.quoted
              ? (showQuoted || !ownText) && html`<div key=${i} class="email-quote" data-testid="email-quote">${s.text}</div>`
              : html`<div key=${i} class="email-text" data-testid="email-text">${s.text}</div>`))}
          </div>`}
      <div class="email-tools">
        ${!formatted && hasQuoted && html`<button class="link small" aria-expanded=${showQuoted ? 'true' : 'false'} aria-controls=${bodyId}
          onClick=${() => setShowQuoted(!showQuoted)} data-testid="email-toggle-quoted">${showQuoted ? t('email.hide_quoted') : t('email.show_quoted')}</button>`}
        ${markup && html`<button class="link small" aria-pressed=${formatted ? 'true' : 'false'}
          onClick=${() => setFormatted(!formatted)} data-testid="email-toggle-formatted">${t('email.show_formatted')}</button>`}
        ${formatted && markup && hasRemoteImages(markup) && (images
          ? html`<span class="muted small-text" data-testid="email-images-shown">${t('email.images_shown')}</span>`
          : html`<button class="link small" onClick=${() => setImages(true)} data-testid="email-show-images">${t('email.show_images')}</button>`)}
        ${onForward && html`<button class="link small" onClick=${() => onForward(message)}
          aria-label=${t('email.forward_this', { subject })} data-testid="email-forward">${t('email.forward')}</button>`}
      </div>
      <${AttachmentList} attachments=${attachments} />
      <${Delivery} message=${message} />
    </article>
  `;
}
