// After a chat ends: pick a disposition, optionally add a note, close it. A wrap-up given while
// the socket is down (`queued`) waits to be sent; the form says so and is not sent twice.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, dispositionLabel } from '../i18n.js';

export function WrapUpForm({ dispositions, queued, onSubmit }) {
  const [code, setCode] = useState('');
  const [note, setNote] = useState('');
  return html`
    <form class="wrapup" data-testid="wrapup-form"
      onSubmit=${(e) => { e.preventDefault(); if (!code || queued) return; onSubmit(code, note.trim()); }}>
      <h3>${t('wrapup.title')}</h3>
      <label>
        <span>${t('wrapup.disposition')}</span>
        <select required value=${code} onChange=${(e) => setCode(e.currentTarget.value)} data-testid="wrapup-disposition">
          <option value="" disabled>${t('wrapup.choose')}</option>
          ${dispositions.map((d) => html`<option key=${d.code} value=${d.code}>${dispositionLabel(d.code, d.label)}</option>`)}
        </select>
      </label>
      <label>
        <span>${t('wrapup.note')}</span>
        <textarea rows="2" value=${note} onInput=${(e) => setNote(e.currentTarget.value)} data-testid="wrapup-note"></textarea>
      </label>
      <button class="primary" type="submit" disabled=${!code || queued} data-testid="wrapup-submit">${t('wrapup.submit')}</button>
    </form>
  `;
}
