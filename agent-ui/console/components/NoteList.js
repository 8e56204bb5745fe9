// Notes on a customer, oldest first, each with who wrote it and when.
import { html } from '../html.js';
import { t, formatDateTime } from '../i18n.js';
import { AgentAuthor, usePeople } from './People.js';

export function NoteList({ notes }) {
  const people = usePeople(notes);
  if (!notes.length) return html`<p class="muted small-text">${t('notes.none')}</p>`;
  return html`
    <ul class="notes" data-testid="notes">
      ${notes.map((n) => html`
        <li key=${n.id} class="note" data-testid="note-item">
          <div class="note-body">${n.body}</div>
          <div class="muted small-text"><${AgentAuthor} id=${n.agent_id} people=${people} /> · ${formatDateTime(n.created_at)}</div>
        </li>`)}
    </ul>
  `;
}
