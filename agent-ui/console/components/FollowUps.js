// A customer's follow-ups (GET with the timeline): the open ones with a button to mark them done,
// the closed ones below, and a form to schedule a task or callback for oneself.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';

/** `datetime-local` text (the browser's local time) to epoch ms; NaN when incomplete. */
function dueAt(local) {
  return new Date(local).getTime();
}

export function FollowUps({ customerId, followUps, onChanged }) {
  const [title, setTitle] = useState('');
  const [kind, setKind] = useState('callback');
  const [due, setDue] = useState('');
  const [error, setError] = useState(false);

  async function add(e) {
    e.preventDefault();
    setError(false);
    try {
      await api.createFollowUp(customerId, { kind, title: title.trim(), due_at: dueAt(due) });
      setTitle('');
      setDue('');
      onChanged();
    } catch {
      setError(true);
    }
  }

  async function done(id) {
    try {
      await api.closeFollowUp(id, true);
    } finally {
      onChanged();
    }
  }

  return html`
    <div class="follow-ups" data-testid="follow-ups">
      <ul class="plain-list">
        ${followUps.map((f) => html`
          <li key=${f.id} data-testid="follow-up" data-state=${f.state}>
            <span class="badge">${t(`followups.kind_${f.kind}`)}</span>
            <span>${f.title}</span>
            <span class="muted small-text">${new Date(f.due_at).toLocaleString()}</span>
            ${f.state === 'open'
              ? html`<button class="small" onClick=${() => done(f.id)} data-testid="follow-up-done">${t('followups.done')}</button>`
              : html`<span class="muted small-text">${t(`followups.state_${f.state}`)}</span>`}
          </li>`)}
      </ul>
      <form class="edit-form" onSubmit=${add} data-testid="follow-up-form">
        <label><span>${t('followups.title')}</span>
          <input required value=${title} onInput=${(e) => setTitle(e.currentTarget.value)} data-testid="follow-up-title" /></label>
        <label><span>${t('followups.kind')}</span>
          <select value=${kind} onChange=${(e) => setKind(e.currentTarget.value)} data-testid="follow-up-kind">
            <option value="callback">${t('followups.kind_callback')}</option>
            <option value="task">${t('followups.kind_task')}</option>
          </select></label>
        <label><span>${t('followups.due')}</span>
          <input required type="datetime-local" step="1" value=${due} onInput=${(e) => setDue(e.currentTarget.value)} data-testid="follow-up-due" /></label>
        <div class="form-actions">
          <button class="primary" type="submit" data-testid="follow-up-add">${t('followups.add')}</button>
          ${error && html`<span class="form-error" role="alert">${t('error.generic')}</span>`}
        </div>
      </form>
    </div>
  `;
}
