// An email thread, oldest mail first and the newest at the bottom, like a chat. A screen reader
// hears, through one polite live region, that a new mail came in or that a reply could not be
// delivered; the cards themselves are not live (a whole mail read out on arrival is too much).
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { mailOf, deliveryOf } from '../email.js';
import { EmailCard } from './EmailCard.js';

/** What changed between two renders of the thread that is worth saying aloud. */
function news(seen, messages, customerName) {
  const out = [];
  for (const m of messages) {
    const before = seen.get(m.id);
    const d = mailOf(m) || {};
    if (before === undefined && m.sender === 'customer') {
      out.push(t('email.new_mail', { name: (d.from && (d.from.name || d.from.email)) || customerName, subject: d.subject || t('email.no_subject') }));
    } else if (m.sender === 'agent' && deliveryOf(m) === 'failed' && before !== 'failed') {
      out.push(t('email.reply_failed', { reason: m.channel.delivery_error || '' }));
    }
  }
  return out.join(' ');
}

export function EmailThread({ messages, customerName, onForward }) {
  const end = useRef(null);
  const seen = useRef(null);
  const [announcement, setAnnouncement] = useState('');

  useEffect(() => {
    if (end.current) end.current.scrollIntoView({ block: 'end' });
  }, [messages.length]);

  useEffect(() => {
    const now = new Map(messages.map((m) => [m.id, deliveryOf(m)]));
    if (seen.current) {
      const said = news(seen.current, messages, customerName);
      if (said) setAnnouncement(said);
    }
    seen.current = now;
  }, [messages]);

  return html`
    <section class="email-thread" aria-label=${t('email.thread')} data-testid="email-thread">
      <ol class="email-list">
        ${messages.map((m) => html`<li key=${m.id}>
          ${mailOf(m)
            ? html`<${EmailCard} message=${m} customerName=${customerName} onForward=${onForward} />`
            : html`<p class="email-system muted small-text" data-testid="email-system">${m.body}</p>`}
        </li>`)}
        <li class="messages-end" ref=${end} aria-hidden="true"></li>
      </ol>
      <p class="visually-hidden" aria-live="polite" data-testid="email-announce">${announcement}</p>
    </section>
  `;
}
