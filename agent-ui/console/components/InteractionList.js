// The chats this agent holds; several at once. Each shows the customer, the last line and a mark
// when the customer is typing or the chat waits for wrap-up.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { conversation } from '../state.js';

export function InteractionList({ state, onSelect }) {
  return html`
    <section class="held-list">
      <h2 class="section-title">${t('held.title')} <span class="count">${state.heldOrder.length}</span></h2>
      ${state.heldOrder.length === 0 && html`<p class="muted small-text">${t('held.none')}</p>`}
      <ul>
        ${state.heldOrder.map((id) => {
          const h = state.held[id];
          const msgs = conversation(state, id);
          const last = msgs[msgs.length - 1];
          const s = h.interaction.state;
          return html`
            <li key=${id}>
              <button class=${`held-item ${state.selected === id ? 'selected' : ''}`} onClick=${() => onSelect(id)}
                data-testid="held-item" data-interaction-id=${id} data-state=${s}>
                <span class="held-name">${h.card.customer.name}</span>
                <span class="held-meta">
                  ${s !== 'active' && html`<span class=${`badge badge-${s}`}>${label('istate', s)}</span>`}
                  ${h.customerTyping && html`<span class="badge badge-typing">${t('chat.typing_short')}</span>`}
                </span>
                <span class="held-last">${last ? last.body : ''}</span>
              </button>
            </li>`;
        })}
      </ul>
    </section>
  `;
}
