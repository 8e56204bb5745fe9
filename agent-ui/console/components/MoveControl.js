// A supervisor's move of a contact that waits for an agent (POST /interactions/{id}/move): to
// another queue, to a named agent (who must be Available with room), or both, with a reason for
// its log. Shown on waiting lines of the inbox to supervisors and admins.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

export function MoveControl({ interaction, queues, people }) {
  const [open, setOpen] = useState(false);
  const [queue, setQueue] = useState(interaction.queue_id);
  const [agent, setAgent] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function move(e) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await api.moveWaiting(interaction.id, {
        queue_id: queue !== interaction.queue_id ? queue : undefined,
        agent_id: agent || undefined,
        reason: reason.trim(),
      });
      setOpen(false);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return html`<button type="button" class="link" onClick=${() => setOpen(true)} data-testid="inbox-move">${t('move.open')}</button>`;
  }
  const unchanged = queue === interaction.queue_id && !agent;
  return html`
    <form class="inline-form wrap move-form" onSubmit=${move} data-testid="move-form">
      <label class="stacked">${t('move.queue')}
        <select value=${queue} onChange=${(e) => setQueue(e.currentTarget.value)} data-testid="move-queue">
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select></label>
      <label class="stacked">${t('move.agent')}
        <select value=${agent} onChange=${(e) => setAgent(e.currentTarget.value)} data-testid="move-agent">
          <option value="">${t('move.anyone')}</option>
          ${people.map((p) => html`<option key=${p.id} value=${p.id}>${p.name}</option>`)}
        </select></label>
      <label class="stacked">${t('move.reason')}
        <input value=${reason} maxlength="200" onInput=${(e) => setReason(e.currentTarget.value)} data-testid="move-reason" /></label>
      <button class="primary" type="submit" disabled=${busy || unchanged} data-testid="move-submit">${t('move.submit')}</button>
      <button type="button" onClick=${() => setOpen(false)}>${t('action.cancel')}</button>
      ${error && html`<p class="form-error" role="alert" data-testid="move-error">${error}</p>`}
    </form>`;
}
