// A conversation's messages, oldest first, scrolled to the newest. Bodies are text: Preact
// escapes them, and nothing here ever sets HTML.
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t, formatTime } from '../i18n.js';

export function MessageList({ messages, customerName }) {
  const end = useRef(null);
  useEffect(() => {
    if (end.current) end.current.scrollIntoView({ block: 'end' });
  }, [messages.length]);
  return html`
    <ol class="messages" data-testid="messages">
      ${messages.map((m) => html`
        <li key=${m.id} class=${`message message-${m.sender}${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}`}
          data-testid="message" data-sender=${m.sender} data-message-id=${m.pending ? '' : m.id}>
          ${m.sender !== 'system' && html`<span class="message-author">${m.sender === 'customer' ? customerName : t('chat.you')}</span>`}
          <div class="message-body" data-testid="message-body">${m.body}</div>
          <span class="message-time">${m.failed ? t('chat.not_sent') : m.pending ? t('chat.sending') : formatTime(m.created_at)}</span>
        </li>`)}
      <li class="messages-end" ref=${end} aria-hidden="true"></li>
    </ol>
  `;
}
