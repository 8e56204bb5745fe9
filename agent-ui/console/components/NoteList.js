// Notes on a customer, oldest first.
import { html } from '../html.js';
import { t, formatDateTime } from '../i18n.js';

export function NoteList({ notes }) {
  if (!notes.length) return html`<p class="muted small-text">${t('notes.none')}</p>`;
  return html`
    <ul class="notes" data-testid="notes">
      ${notes.map((n) => html`
        <li key=${n.id} class="note" data-testid="note-item">
          <div class="note-body">${n.body}</div>
          <div class="muted small-text">${formatDateTime(n.created_at)}</div>
        </li>`)}
    </ul>
  `;
}
