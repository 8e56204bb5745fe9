// A supervisor's change of an agent's state from the wallboard (PUT /agents/{id}/state): sign out
// someone who left for the day (the contacts they hold go back to their queues) or bring back
// someone stuck on a break, with a reason for the audit log.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

const STATES = ['offline', 'available'];

export function AgentStateControl({ agent, current }) {
  const [open, setOpen] = useState(false);
  const [to, setTo] = useState(current === 'offline' ? 'available' : 'offline');
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function change(e) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await api.setAgentState(agent.id, { state: to, reason: reason.trim() });
      setOpen(false);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return html`<button type="button" class="link" onClick=${() => setOpen(true)} data-testid="agent-state-open">${t('agent_state.open')}</button>`;
  }
  return html`
    <form class="inline-form wrap" onSubmit=${change} data-testid="agent-state-form">
      <label class="stacked">${t('agent_state.to')}
        <select value=${to} onChange=${(e) => setTo(e.currentTarget.value)} data-testid="agent-state-to">
          ${STATES.map((s) => html`<option key=${s} value=${s}>${t(`state.${s}`)}</option>`)}
        </select></label>
      <label class="stacked">${t('move.reason')}
        <input value=${reason} maxlength="200" onInput=${(e) => setReason(e.currentTarget.value)} data-testid="agent-state-reason" /></label>
      <button class="primary" type="submit" disabled=${busy || to === current} data-testid="agent-state-submit">${t('agent_state.submit')}</button>
      <button type="button" onClick=${() => setOpen(false)}>${t('action.cancel')}</button>
      ${to === 'offline' && html`<p class="muted small-text">${t('agent_state.offline_note')}</p>`}
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
    </form>`;
}
