// Edit a customer's name, tier and tags (PATCH /customers/{id}); the owner changes by
// reassignment (OwnerControl), which the timeline records.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';

export function CustomerEditForm({ customer, onSaved }) {
  const [name, setName] = useState(customer.name || '');
  const [tier, setTier] = useState(customer.tier || '');
  const [tags, setTags] = useState((customer.tags || []).join(', '));
  const [status, setStatus] = useState(null);

  async function save(e) {
    e.preventDefault();
    setStatus(null);
    // Send only what changed, so an untouched empty field stays empty rather than "".
    const patch = {};
    if (name.trim() !== customer.name) patch.name = name.trim();
    if (tier.trim() !== (customer.tier || '')) patch.tier = tier.trim();
    const tagList = tags.split(/[,，]/).map((s) => s.trim()).filter(Boolean);
    if (tagList.join('\n') !== (customer.tags || []).join('\n')) patch.tags = tagList;
    try {
      onSaved(await api.updateCustomer(customer.id, patch));
      setStatus('saved');
    } catch {
      setStatus('error');
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
      <div class="form-actions">
        <button class="primary" type="submit" data-testid="profile-save">${t('action.save')}</button>
        ${status === 'saved' && html`<span class="ok-text" data-testid="profile-saved">${t('action.saved')}</span>`}
        ${status === 'error' && html`<span class="form-error">${t('error.generic')}</span>`}
      </div>
    </form>
  `;
}
