// The chats, calls and email threads this agent holds; several at once. Each shows the customer,
// the last line (an email thread: an envelope and its subject) and a mark when the customer is
// typing, the chat waits for wrap-up, or the agent's last reply could not be delivered, and how
// many of the customer's messages the agent has not seen yet.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { conversation, unreadCount } from '../state.js';
import { isEmail, threadSubject, deliveryOf } from '../email.js';

export function InteractionList({ state, onSelect }) {
  return html`
    <section class="held-list">
      <h2 class="section-title">${t('held.title')} <span class="count">${state.heldOrder.length}</span></h2>
      ${state.heldOrder.length === 0 && html`<p class="muted small-text">${t('held.none')}</p>`}
      <ul>
        ${state.heldOrder.map((id) => {
          const h = state.held[id];
          // The last line someone wrote: the hub's own (a mailed transcript's record) is not one.
          const last = conversation(state, id).findLast((m) => m.sender !== 'system');
          const s = h.interaction.state;
          const email = isEmail(h.interaction);
          const lastReply = email ? [...h.messages].reverse().find((m) => m.sender === 'agent' && deliveryOf(m)) : null;
          const undelivered = lastReply && deliveryOf(lastReply) === 'failed';
          const unread = unreadCount(state, id);
          return html`
            <li key=${id}>
              <button class=${`held-item ${state.selected === id ? 'selected' : ''}`} onClick=${() => onSelect(id)}
                data-testid="held-item" data-interaction-id=${id} data-state=${s} data-channel=${h.interaction.channel}>
                <span class="held-name">${h.card.customer.name}</span>
                <span class="held-meta">
                  ${unread > 0 && html`<span class="badge badge-unread" data-testid="held-unread" data-count=${unread}
                    aria-label=${t('held.unread', { n: unread })} title=${t('held.unread', { n: unread })}>${unread}</span>`}
                  ${s !== 'active' && html`<span class=${`badge badge-${s}`}>${label('istate', s)}</span>`}
                  ${h.customerTyping && html`<span class="badge badge-typing">${t('chat.typing_short')}</span>`}
                  ${undelivered && html`<span class="badge badge-abandoned" data-testid="held-undelivered">${t('email.undelivered_short')}</span>`}
                </span>
                ${email
                  ? html`<span class="held-last" data-testid="held-subject"><span class="channel-mark" aria-hidden="true">✉</span><span class="visually-hidden">${label('channel', 'email')}: </span> ${threadSubject(h.messages) || t('email.no_subject')}</span>`
                  : html`<span class="held-last">${last ? last.body : ''}</span>`}
              </button>
            </li>`;
        })}
      </ul>
    </section>
  `;
}
