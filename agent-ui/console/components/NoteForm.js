// Add a note to the customer (and the current interaction, when there is one).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function NoteForm({ onAdd }) {
  const [body, setBody] = useState('');
  return html`
    <form class="note-form" onSubmit=${(e) => { e.preventDefault(); const b = body.trim(); if (b) { onAdd(b); setBody(''); } }}>
      <textarea rows="2" value=${body} placeholder=${t('notes.placeholder')} aria-label=${t('notes.placeholder')}
        onInput=${(e) => setBody(e.currentTarget.value)} data-testid="note-input"></textarea>
      <button type="submit" disabled=${!body.trim()} data-testid="note-add">${t('notes.add')}</button>
    </form>
  `;
}
