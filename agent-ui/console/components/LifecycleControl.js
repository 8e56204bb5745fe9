// A customer's lifecycle stage (lead, prospect, customer, churned, in the account's words), set
// from their page; each change is on their history.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { LIFECYCLE, lifecycleLabel } from '../pipeline.js';

export function LifecycleControl({ customer, settings, onChanged }) {
  const [error, setError] = useState(null);
  async function set(e) {
    setError(null);
    try {
      onChanged(await api.setCustomerStage(customer.id, e.target.value || null));
    } catch (err) {
      setError(err.message || t('error.generic'));
    }
  }
  return html`
    <p class="lifecycle">
      <label for="lifecycle-stage">${t('lifecycle.label')}</label>
      <select id="lifecycle-stage" value=${customer.stage || ''} onChange=${set} data-testid="lifecycle-stage">
        <option value="">—</option>
        ${LIFECYCLE.map((k) => html`<option key=${k} value=${k}>${lifecycleLabel(settings, k)}</option>`)}
      </select>
      ${error && html`<span class="form-error small-text" role="alert">${error}</span>`}
    </p>
  `;
}
