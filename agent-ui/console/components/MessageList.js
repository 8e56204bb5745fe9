// A conversation's messages, oldest first, scrolled to the newest, each agent's line under its
// author ("You" for the agent's own). Bodies are text: Preact escapes them, and nothing here ever
// sets HTML; web addresses in them are links (links.js), opened in a new tab with no referrer.
// The notes agents left on the conversation sit among its lines, marked private.
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t, label, formatTime } from '../i18n.js';
import { MessageMedia } from './MessageMedia.js';
import { mediaItems } from '../messaging.js';
import { linkParts } from '../links.js';
import { thread } from '../conversations.js';
import { AgentAuthor, usePeople } from './People.js';

/** Where an agent's message on a messaging app stands (queued, sent, delivered, read, or failed
 * with the platform's reason); chat lines have no delivery. */
function delivery(m) {
  const state = m.channel && m.channel.delivery;
  if (!state || m.sender === 'customer') return null;
  const reason = state === 'failed' && m.channel.delivery_error;
  return html`<span class=${`delivery delivery-${state}`} data-testid="message-delivery" data-delivery=${state}
    title=${reason || ''}>${label('delivery', state)}${reason ? `: ${reason}` : ''}</span>`;
}

/** What a message says: a line of the hub's own (a chat's transcript mailed to its customer) in
 * the agent's language, anything else as written. */
function bodyText(m) {
  const details = m.sender === 'system' && m.channel && m.channel.details;
  if (details && details.transcript) return t('chat.transcript_emailed', { email: (details.to[0] || {}).email || '' });
  return m.body;
}

/** A photo, voice note or file sent alone has no text to show above it. */
const hasMedia = (m) => mediaItems(m).length > 0;

/** A note an agent left on the conversation, among its lines: for colleagues only. */
function NoteItem({ note, people }) {
  return html`<li class="message message-note" data-testid="thread-note">
    <span class="message-author"><${AgentAuthor} id=${note.agent_id} people=${people} /> · ${t('notes.private')}</span>
    <div class="message-body">${note.body}</div>
    <span class="message-time">${formatTime(note.created_at)}</span>
  </li>`;
}

export function MessageList({ messages, customerName, notes = [], interactionId = null }) {
  const end = useRef(null);
  const people = usePeople(messages);
  const items = thread(messages, notes, interactionId);
  useEffect(() => {
    if (end.current) end.current.scrollIntoView({ block: 'end' });
  }, [items.length]);
  return html`
    <ol class="messages" data-testid="messages">
      ${items.map(({ message: m, note }) => (note ? html`<${NoteItem} key=${`note-${note.id}`} note=${note} people=${people} />` : html`
        <li key=${m.id} class=${`message message-${m.sender}${m.pending ? ' pending' : ''}${m.failed ? ' failed' : ''}`}
          data-testid="message" data-sender=${m.sender} data-message-id=${m.pending ? '' : m.id}>
          ${m.sender !== 'system' && html`<span class="message-author" data-testid="message-author">${m.sender === 'customer' ? customerName : html`<${AgentAuthor} id=${m.agent_id} people=${people} />`}</span>`}
          ${(m.body || !hasMedia(m)) && html`<div class="message-body" data-testid="message-body">${linkParts(bodyText(m)).map((p, i) => (p.href
            ? html`<a key=${i} href=${p.href} target="_blank" rel="noopener noreferrer nofollow" data-testid="message-link">${p.text}</a>`
            : p.text))}</div>`}
          <${MessageMedia} message=${m} />
          ${m.channel && m.channel.details && m.channel.details.edited && html`<span class="message-edited" data-testid="message-edited">${t('chat.edited')}</span>`}
          <span class="message-time">${m.failed ? t('chat.not_sent') : m.pending ? t('chat.sending') : formatTime(m.created_at)}</span>
          ${delivery(m)}
        </li>`))}
      <li class="messages-end" ref=${end} aria-hidden="true"></li>
    </ol>
  `;
}
