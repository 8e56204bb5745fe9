// Colleagues' notes that name the agent (`@bob`), as cards over the page with the note, who wrote
// it, and a link to the customer, until the agent dismisses each.
import { html } from '../html.js';
import { t } from '../i18n.js';
import { customerHref } from '../route.js';

export function Mentions({ mentions, onDismiss }) {
  if (!mentions.length) return null;
  return html`
    <aside class="reminders" role="status" data-testid="mentions">
      ${mentions.map(({ note, by_name, customer_name }) => html`
        <div class="reminder" key=${note.id} data-testid="mention" data-note-id=${note.id}>
          <strong>${t('notes.mentioned', { name: by_name })}</strong>
          <span class="note-body" data-testid="mention-body">${note.body}</span>
          <a class="link" href=${customerHref(note.customer_id)} data-testid="mention-customer">${customer_name}</a>
          <div class="form-actions">
            <button class="small" onClick=${() => onDismiss(note.id)} data-testid="mention-dismiss">${t('followups.dismiss')}</button>
          </div>
        </div>`)}
    </aside>
  `;
}
