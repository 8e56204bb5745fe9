// A customer's opportunities on their page, and a "New opportunity" form: name, amount and
// currency, stage (the account's first open one unless chosen), expected close.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { minorUnits, stageLabel } from '../pipeline.js';
import { OpportunityCard } from './OpportunityCard.js';

export function CustomerOpportunities({ customerId, settings, onChanged }) {
  const [list, setList] = useState(null);
  const [form, setForm] = useState({ name: '', amount: '', currency: 'EUR', stage: '', expected_close: '' });
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  async function load() {
    try {
      setList(await api.customerOpportunities(customerId));
    } catch {
      setList([]);
    }
  }
  useEffect(() => { load(); }, [customerId]);

  const field = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  async function submit(e) {
    e.preventDefault();
    setError(null);
    const amount = minorUnits(form.amount, form.currency);
    if (amount == null) {
      setError(t('pipeline.bad_amount'));
      return;
    }
    const body = { name: form.name, amount, currency: form.currency.trim() };
    if (form.stage) body.stage = form.stage;
    if (form.expected_close) body.expected_close = form.expected_close;
    setBusy(true);
    try {
      await api.createOpportunity(customerId, body);
      setForm({ ...form, name: '', amount: '', expected_close: '' });
      await load();
      onChanged && onChanged();
    } catch (err) {
      setError(err.message || t('error.generic'));
    } finally {
      setBusy(false);
    }
  }

  const changed = () => { load(); onChanged && onChanged(); };
  const stages = (settings && settings.stages) || [];
  return html`
    <div data-testid="customer-opportunities">
      ${list && list.length === 0 && html`<p class="muted small-text">${t('pipeline.none')}</p>`}
      ${(list || []).map((o) => html`<${OpportunityCard} key=${o.id} o=${o} settings=${settings} showCustomer=${false} onChanged=${changed} />`)}
      <form class="edit-form" onSubmit=${submit} data-testid="opportunity-form" aria-label=${t('pipeline.new')}>
        <strong class="small-text">${t('pipeline.new')}</strong>
        <label><span>${t('pipeline.name')}</span><input required value=${form.name} onInput=${field('name')} data-testid="opportunity-form-name" /></label>
        <label><span>${t('pipeline.amount')}</span><input required inputmode="decimal" value=${form.amount} onInput=${field('amount')} data-testid="opportunity-form-amount" /></label>
        <label><span>${t('pipeline.currency')}</span><input required maxlength="3" size="4" value=${form.currency} onInput=${field('currency')} data-testid="opportunity-form-currency" /></label>
        <label><span>${t('pipeline.stage')}</span><select value=${form.stage} onChange=${field('stage')} data-testid="opportunity-form-stage">
          <option value="">${t('pipeline.first_stage')}</option>
          ${stages.map((s) => html`<option key=${s.key} value=${s.key}>${stageLabel(settings, s.key)}</option>`)}
        </select></label>
        <label><span>${t('pipeline.expected_close')}</span><input type="date" value=${form.expected_close} onInput=${field('expected_close')} data-testid="opportunity-form-close" /></label>
        <div class="form-actions">
          <button class="primary" type="submit" disabled=${busy} data-testid="opportunity-form-submit">${t('pipeline.create')}</button>
          ${error && html`<span class="form-error" role="alert" data-testid="opportunity-form-error">${error}</span>`}
        </div>
      </form>
    </div>
  `;
}
