// The agent's presence: Available, Break (with a reason) or Offline. Busy is not a choice: it
// follows from the chats the agent holds.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t, label } from '../i18n.js';

/** Reasons an agent can pick; sent as they are, shown through the catalogue. */
export const BREAK_REASONS = ['break', 'lunch', 'meeting', 'training', 'admin_work'];

export function StatePicker({ agentState, onState, disabled }) {
  const current = agentState ? agentState.state : 'offline';
  const [reason, setReason] = useState(BREAK_REASONS[0]);
  const [choosing, setChoosing] = useState(false);

  const shown = current === 'break' && agentState.reason
    ? `${t('state.break')} · ${label('reason', agentState.reason)}`
    : t(`state.${current}`);

  return html`
    <div class="state-picker">
      <span class=${`state-pill state-${current}`} data-testid="state-current" data-state=${current}>${shown}</span>
      <div class="segmented" role="group" aria-label=${t('state.label')}>
        <button class=${current === 'available' ? 'on' : ''} disabled=${disabled}
          onClick=${() => { setChoosing(false); onState('available'); }} data-testid="state-available">${t('state.available')}</button>
        <button class=${current === 'break' || choosing ? 'on' : ''} disabled=${disabled}
          onClick=${() => setChoosing(!choosing)} data-testid="state-break">${t('state.break')}</button>
        <button class=${current === 'offline' ? 'on' : ''} disabled=${disabled}
          onClick=${() => { setChoosing(false); onState('offline'); }} data-testid="state-offline">${t('state.offline')}</button>
      </div>
      ${choosing && html`
        <div class="break-chooser" data-testid="break-chooser">
          <select value=${reason} onChange=${(e) => setReason(e.currentTarget.value)} aria-label=${t('state.reason')} data-testid="break-reason">
            ${BREAK_REASONS.map((r) => html`<option key=${r} value=${r}>${label('reason', r)}</option>`)}
          </select>
          <button class="primary small" onClick=${() => { setChoosing(false); onState('break', reason); }} data-testid="break-confirm">${t('state.take_break')}</button>
        </div>`}
    </div>
  `;
}
