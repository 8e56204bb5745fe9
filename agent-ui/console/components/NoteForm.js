// Add a note to the customer (and the current interaction, when there is one). `onAdd` says
// whether the note went out: while the socket is down it did not, and the text stays to try again.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function NoteForm({ onAdd }) {
  const [body, setBody] = useState('');
  const [unsent, setUnsent] = useState(false);
  function submit(e) {
    e.preventDefault();
    const b = body.trim();
    if (!b) return;
    const sent = onAdd(b);
    setUnsent(!sent);
    if (sent) setBody('');
  }
  return html`
    <form class="note-form" onSubmit=${submit}>
      <textarea rows="2" value=${body} placeholder=${t('notes.placeholder')} aria-label=${t('notes.placeholder')}
        onInput=${(e) => setBody(e.currentTarget.value)} data-testid="note-input"></textarea>
      <button type="submit" disabled=${!body.trim()} data-testid="note-add">${t('notes.add')}</button>
      ${unsent && html`<p class="form-error" role="alert" data-testid="note-unsent">${t('notes.not_sent')}</p>`}
    </form>
  `;
}
