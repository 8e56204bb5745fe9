// Edit a customer's name, tier, tags and the account's own fields (PATCH /customers/{id}); the
// owner changes by reassignment (OwnerControl), which the timeline records.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { changedFields } from '../fields.js';
import { useFieldDefs } from './CustomerFields.js';

/** The input for one of the account's fields, by its kind. */
function fieldInput(d, raw, onChange) {
  const testid = `profile-field-${d.key}`;
  if (d.kind === 'multi_choice') {
    const picked = raw || [];
    return html`<fieldset class="fieldset field-choices" key=${d.key} data-testid=${testid}><legend>${d.label}</legend>
      ${d.choices.map((c) => html`<label class="check" key=${c}><input type="checkbox" checked=${picked.includes(c)}
        onChange=${(e) => onChange(e.currentTarget.checked ? [...picked, c] : picked.filter((p) => p !== c))} />${c}</label>`)}
    </fieldset>`;
  }
  if (d.kind === 'choice') {
    return html`<label key=${d.key}><span>${d.label}</span>
      <select value=${raw} onChange=${(e) => onChange(e.currentTarget.value)} data-testid=${testid}>
        <option value="">—</option>
        ${d.choices.map((c) => html`<option key=${c} value=${c}>${c}</option>`)}
      </select></label>`;
  }
  const type = d.kind === 'number' ? 'number' : d.kind === 'date' ? 'date' : 'text';
  return html`<label key=${d.key}><span>${d.label}</span>
    <input type=${type} step=${d.kind === 'number' ? 'any' : undefined} value=${raw} onInput=${(e) => onChange(e.currentTarget.value)} data-testid=${testid} /></label>`;
}

export function CustomerEditForm({ customer, onSaved }) {
  const [name, setName] = useState(customer.name || '');
  const [tier, setTier] = useState(customer.tier || '');
  const [tags, setTags] = useState((customer.tags || []).join(', '));
  const [status, setStatus] = useState(null);
  const defs = useFieldDefs();
  // Each field's input as typed (a list of picks for a multi-choice), by key.
  const [raws, setRaws] = useState({});
  const current = customer.fields || {};
  const rawOf = (d) => (d.key in raws ? raws[d.key] : d.kind === 'multi_choice' ? current[d.key] || [] : current[d.key] ?? '');
  const setRaw = (key, value) => setRaws({ ...raws, [key]: value });

  async function save(e) {
    e.preventDefault();
    setStatus(null);
    // Send only what changed, so an untouched empty field stays empty rather than "".
    const patch = {};
    if (name.trim() !== customer.name) patch.name = name.trim();
    if (tier.trim() !== (customer.tier || '')) patch.tier = tier.trim();
    const tagList = tags.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    if (tagList.join('\n') !== (customer.tags || []).join('\n')) patch.tags = tagList;
    const fields = changedFields(defs, current, raws);
    if (Object.keys(fields).length) patch.fields = fields;
    try {
      onSaved(await api.updateCustomer(customer.id, patch));
      setRaws({});
      setStatus('saved');
    } catch (err) {
      setStatus(errorText(err));
    }
  }

  return html`
    <form class="edit-form" onSubmit=${save} data-testid="profile-form">
      <label><span>${t('customer.name')}</span>
        <input required value=${name} onInput=${(e) => setName(e.currentTarget.value)} data-testid="profile-edit-name" /></label>
      <label><span>${t('customer.tier')}</span>
        <input value=${tier} onInput=${(e) => setTier(e.currentTarget.value)} data-testid="profile-edit-tier" /></label>
      <label><span>${t('customer.tags')}</span>
        <input value=${tags} placeholder=${t('customer.tags_hint')} onInput=${(e) => setTags(e.currentTarget.value)} data-testid="profile-edit-tags" /></label>
      ${defs.map((d) => fieldInput(d, rawOf(d), (v) => setRaw(d.key, v)))}
      <div class="form-actions">
        <button class="primary" type="submit" data-testid="profile-save">${t('action.save')}</button>
        ${status === 'saved' && html`<span class="ok-text" data-testid="profile-saved">${t('action.saved')}</span>`}
        ${status && status !== 'saved' && html`<span class="form-error" role="alert" data-testid="profile-error">${status}</span>`}
      </div>
    </form>
  `;
}
