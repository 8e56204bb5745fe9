// Canned responses (#/canned): the account's, which supervisors and admins keep, and the agent's
// own. Each has a shortcut typed after `/` in the reply box, a title and a text with variables
// ({{customer.name}}, {{agent.name}}, ...) filled in when it is put in; the most used first.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { VARIABLES } from '../canned.js';

const EMPTY = { shortcut: '', title: '', body: '', personal: false };

export function CannedResponses({ role, me }) {
  const lead = role === 'supervisor' || role === 'admin';
  const [list, setList] = useState(null);
  const [form, setForm] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api.cannedResponses().then(setList, (err) => setError(errorText(err)));
  useEffect(() => { load(); }, []);

  const mayChange = (c) => (c.owner_id ? !me || c.owner_id === me.id : lead);

  async function save(e) {
    e.preventDefault();
    setError(null);
    const draft = { shortcut: form.shortcut, title: form.title, body: form.body, personal: form.personal || !lead };
    try {
      if (form.id) await api.updateCanned(form.id, draft);
      else await api.createCanned(draft);
      setForm(null);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(c) {
    if (!window.confirm(t('canned.delete_confirm', { shortcut: c.shortcut }))) return;
    try {
      await api.deleteCanned(c.id);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  const change = (patch) => setForm({ ...form, ...patch });
  return html`
    <div class="wide-page" data-testid="canned-page">
      <div class="page-head">
        <h1>${t('nav.canned')}</h1>
        ${!form && html`<button class="primary" onClick=${() => setForm({ ...EMPTY })} data-testid="canned-new">${t('canned.new')}</button>`}
      </div>
      <p class="muted">${t('canned.intro')}</p>
      ${error && html`<p class="form-error" role="alert" data-testid="canned-error">${error}</p>`}
      ${form && html`<form class="canned-form" onSubmit=${save} data-testid="canned-form">
        <label>${t('canned.shortcut')}<input required value=${form.shortcut} pattern="/?[^\\s]{1,32}" onInput=${(e) => change({ shortcut: e.currentTarget.value })} data-testid="canned-shortcut" /></label>
        <label>${t('canned.title')}<input required value=${form.title} onInput=${(e) => change({ title: e.currentTarget.value })} data-testid="canned-title" /></label>
        <label>${t('canned.body')}<textarea required rows="5" value=${form.body} onInput=${(e) => change({ body: e.currentTarget.value })} data-testid="canned-body"></textarea></label>
        <p class="muted small-text">${t('canned.variables', { list: Object.keys(VARIABLES).map((v) => `{{${v}}}`).join(' ') })}</p>
        ${lead && !form.id && html`<label class="check"><input type="checkbox" checked=${form.personal} onChange=${(e) => change({ personal: e.currentTarget.checked })} data-testid="canned-personal" /> ${t('canned.only_me')}</label>`}
        <div class="form-actions">
          <button class="primary" type="submit" data-testid="canned-save">${t('action.save')}</button>
          <button type="button" onClick=${() => setForm(null)}>${t('action.cancel')}</button>
        </div>
      </form>`}
      ${list && html`<table class="table">
        <thead><tr><th>${t('canned.shortcut')}</th><th>${t('canned.title')}</th><th>${t('canned.body')}</th><th>${t('canned.whose')}</th>
          <th>${t('canned.uses')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
        <tbody>
          ${list.map((c) => html`<tr key=${c.id} data-testid="canned-row">
            <td><code>/${c.shortcut}</code></td><td>${c.title}</td><td class="pre-wrap small-text">${c.body}</td>
            <td>${c.owner_id ? t('canned.personal') : t('canned.shared')}</td><td>${c.uses}</td>
            <td class="row-actions">${mayChange(c) && html`
              <button type="button" class="link" onClick=${() => setForm({ id: c.id, shortcut: c.shortcut, title: c.title, body: c.body, personal: Boolean(c.owner_id) })} data-testid="canned-edit">${t('action.edit')}</button>
              <button type="button" class="link danger" onClick=${() => remove(c)} data-testid="canned-delete">${t('action.delete')}</button>`}
            </td>
          </tr>`)}
        </tbody>
      </table>`}
      ${list && list.length === 0 && html`<p class="muted">${t('canned.none')}</p>`}
    </div>
  `;
}
