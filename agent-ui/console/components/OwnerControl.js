// A supervisor gives customers (the one on a profile, those picked from a search, or a segment) to another
// agent (POST /customers/reassign), with a reason that goes on each one's timeline beside their name.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';

export function OwnerControl({ customerIds, segmentId = null, current = '', onChanged }) {
  const [agents, setAgents] = useState([]);
  const [owner, setOwner] = useState(current);
  const [reason, setReason] = useState('');
  const [status, setStatus] = useState(null);

  useEffect(() => {
    api.listAgents().then((list) => setAgents(list.filter((a) => a.active !== false))).catch(() => {});
  }, []);

  async function save(e) {
    e.preventDefault();
    setStatus(null);
    try {
      await api.reassignCustomers(customerIds, owner || null, reason.trim(), segmentId);
      setReason('');
      setStatus('saved');
      onChanged();
    } catch {
      setStatus('error');
    }
  }

  return html`
    <form class="edit-form" onSubmit=${save} data-testid="owner-form">
      <label><span>${t('owner.new')}</span>
        <select value=${owner} onChange=${(e) => setOwner(e.currentTarget.value)} data-testid="owner-select">
          <option value="">${t('owner.nobody')}</option>
          ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name}</option>`)}
        </select></label>
      <label><span>${t('owner.reason')}</span>
        <input value=${reason} onInput=${(e) => setReason(e.currentTarget.value)} data-testid="owner-reason" /></label>
      <div class="form-actions">
        <button class="primary" type="submit" disabled=${(!customerIds.length && !segmentId) || owner === current} data-testid="owner-save">${t('owner.reassign')}</button>
        ${status === 'saved' && html`<span class="ok-text" data-testid="owner-saved">${t('action.saved')}</span>`}
        ${status === 'error' && html`<span class="form-error">${t('error.generic')}</span>`}
      </div>
    </form>
  `;
}
