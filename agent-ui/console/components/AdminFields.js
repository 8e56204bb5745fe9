// Admin: the account's own fields on customers (GET/PUT /customer-fields): each a key its values
// are kept under (fixed once saved), a label, a kind, and for a choice its choices (one per line
// or separated by commas). Saved whole; agents see and fill them on the customer's card.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, label, errorText } from '../i18n.js';
import { KINDS, parseChoices, loadFields } from '../fields.js';

const chooses = (kind) => kind === 'choice' || kind === 'multi_choice';
const row = (d, saved) => ({ key: d.key, label: d.label, kind: d.kind, choices: (d.choices || []).join('\n'), saved });

export function AdminFields() {
  const [rows, setRows] = useState(null);
  const [status, setStatus] = useState(null);
  useEffect(() => {
    api.customerFields().then((list) => setRows(list.map((d) => row(d, true))), (err) => setStatus({ error: errorText(err) }));
  }, []);
  if (!rows) return html`<div class="wide-page">${status && html`<p class="form-error" role="alert">${status.error}</p>`}</div>`;

  const change = (i, patch) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  async function save(e) {
    e.preventDefault();
    setStatus(null);
    const defs = rows.map((r) => ({ key: r.key.trim(), label: r.label, kind: r.kind, choices: chooses(r.kind) ? parseChoices(r.choices) : [] }));
    try {
      const saved = await api.setCustomerFields(defs);
      setRows(saved.map((d) => row(d, true)));
      loadFields(true);
      setStatus({ saved: true });
    } catch (err) {
      setStatus({ error: errorText(err) });
    }
  }

  return html`
    <div class="wide-page" data-testid="admin-fields">
      <h1>${t('nav.fields')}</h1>
      <p class="muted">${t('fields.intro')}</p>
      <form onSubmit=${save}>
        <table class="table">
          <thead><tr><th>${t('fields.label')}</th><th>${t('fields.key')}</th><th>${t('fields.kind')}</th><th>${t('fields.choices')}</th>
            <th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
          <tbody>
            ${rows.map((r, i) => html`<tr key=${i} data-testid="field-row">
              <td><input required value=${r.label} aria-label=${t('fields.label')} onInput=${(e) => change(i, { label: e.currentTarget.value })} data-testid="field-label" /></td>
              <td>${r.saved ? html`<code>${r.key}</code>` : html`<input required pattern="[a-z0-9_]{1,40}" value=${r.key} aria-label=${t('fields.key')}
                title=${t('fields.key_hint')} onInput=${(e) => change(i, { key: e.currentTarget.value })} data-testid="field-key" />`}</td>
              <td><select value=${r.kind} aria-label=${t('fields.kind')} onChange=${(e) => change(i, { kind: e.currentTarget.value })} data-testid="field-kind">
                ${KINDS.map((k) => html`<option key=${k} value=${k}>${label('fields.kind', k)}</option>`)}
              </select></td>
              <td>${chooses(r.kind) && html`<textarea rows="3" value=${r.choices} aria-label=${t('fields.choices')} placeholder=${t('fields.choices_hint')}
                onInput=${(e) => change(i, { choices: e.currentTarget.value })} data-testid="field-choices"></textarea>`}</td>
              <td class="row-actions"><button type="button" class="link danger" onClick=${() => setRows(rows.filter((_, j) => j !== i))} data-testid="field-remove">${t('action.delete')}</button></td>
            </tr>`)}
          </tbody>
        </table>
        <div class="form-actions">
          <button type="button" onClick=${() => setRows([...rows, { key: '', label: '', kind: 'text', choices: '', saved: false }])} data-testid="field-add">${t('fields.add')}</button>
          <button class="primary" type="submit" data-testid="fields-save">${t('action.save')}</button>
          ${status && status.saved && html`<span class="ok-text" role="status" data-testid="fields-saved">${t('action.saved')}</span>`}
        </div>
        ${status && status.error && html`<p class="form-error" role="alert" data-testid="fields-error">${status.error}</p>`}
      </form>
    </div>
  `;
}
