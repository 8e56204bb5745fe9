// One opportunity, on the board or on its customer's page: name, customer, amount, owner and
// expected close; a "Move to" list (the keyboard's way to do what a drag does on the board);
// the checklist of its current stage with a tick box per key action.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { customerHref } from '../route.js';
import { money, stageLabel } from '../pipeline.js';

export function OpportunityCard({ o, settings, onChanged, draggable = false, showCustomer = true }) {
  const [error, setError] = useState(null);
  const stage = ((settings && settings.stages) || []).find((s) => s.key === o.stage);
  const checklist = (stage && stage.checklist) || [];
  const done = (o.checked && o.checked[o.stage]) || [];

  async function run(call) {
    setError(null);
    try {
      onChanged(await call());
    } catch (e) {
      setError(e.status === 409 ? t('pipeline.moved_meanwhile') : e.message || t('error.generic'));
      onChanged(null);
    }
  }

  const move = (to) => to && to !== o.stage && run(() => api.moveOpportunity(o.id, to, o.stage));
  const onDragStart = (e) => {
    e.dataTransfer.setData('text/plain', JSON.stringify({ id: o.id, from: o.stage }));
    e.dataTransfer.effectAllowed = 'move';
  };
  const selectId = `move-${o.id}`;
  return html`
    <article class="opportunity-card" draggable=${draggable ? 'true' : undefined} onDragStart=${draggable ? onDragStart : undefined}
      data-testid="opportunity-card" data-id=${o.id} data-stage=${o.stage} data-status=${o.status}>
      <h3 class="opportunity-name" data-testid="opportunity-name">${o.name}</h3>
      ${showCustomer && html`<a class="link small-text" href=${customerHref(o.customer_id)} data-testid="opportunity-customer">${o.customer_name}</a>`}
      <p class="opportunity-amount" data-testid="opportunity-amount">${money(o.amount, o.currency)}</p>
      <p class="muted small-text"><span data-testid="opportunity-owner">${o.owner_name}</span>
        ${o.expected_close && html` · ${t('pipeline.expected_close')}: <span data-testid="opportunity-close">${o.expected_close}</span>`}
        ${!showCustomer && html` · <span data-testid="opportunity-stage">${stageLabel(settings, o.stage)}</span>`}</p>
      <label class="small-text" for=${selectId}>${t('pipeline.move_to')}</label>
      <select id=${selectId} value=${o.stage} onChange=${(e) => move(e.target.value)} data-testid="opportunity-move">
        ${((settings && settings.stages) || []).map((s) => html`<option key=${s.key} value=${s.key}>${stageLabel(settings, s.key)}</option>`)}
      </select>
      ${checklist.length > 0 && html`
        <fieldset class="opportunity-checklist" data-testid="opportunity-checklist">
          <legend class="small-text">${t('pipeline.checklist', { stage: stageLabel(settings, o.stage) })}</legend>
          ${checklist.map((item, i) => html`
            <label key=${item} class="small-text check-row">
              <input type="checkbox" checked=${done.includes(item)} data-testid="opportunity-check" data-item=${item}
                onChange=${(e) => run(() => api.tickOpportunity(o.id, item, e.target.checked))} />
              ${item}
            </label>`)}
        </fieldset>`}
      ${error && html`<p class="form-error small-text" role="alert" data-testid="opportunity-error">${error}</p>`}
    </article>
  `;
}
