// Admin: the wrap-up codes agents pick from (GET/POST/DELETE /dispositions).
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

export function AdminDispositions() {
  const [list, setList] = useState([]);
  const [code, setCode] = useState('');
  const [labelText, setLabelText] = useState('');
  const [error, setError] = useState(null);

  const load = () => api.listDispositions().then(setList).catch(() => setError(t('error.generic')));
  useEffect(() => {
    load();
  }, []);

  async function add(e) {
    e.preventDefault();
    setError(null);
    try {
      await api.createDisposition(code.trim(), labelText.trim());
      setCode('');
      setLabelText('');
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function remove(c) {
    setError(null);
    try {
      await api.deleteDisposition(c);
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  return html`
    <div class="narrow-page" data-testid="admin-dispositions">
      <h1>${t('nav.dispositions')}</h1>
      <table class="table">
        <thead><tr><th>${t('admin.code')}</th><th>${t('admin.label')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th></tr></thead>
        <tbody>
          ${list.map((d) => html`<tr key=${d.code} data-testid="disposition-row">
            <td><code>${d.code}</code></td><td>${d.label}</td>
            <td class="row-actions"><button class="link danger" onClick=${() => remove(d.code)} data-testid="disposition-delete">${t('action.delete')}</button></td>
          </tr>`)}
        </tbody>
      </table>
      <form class="inline-form" onSubmit=${add}>
        <input required placeholder=${t('admin.code')} aria-label=${t('admin.code')} pattern="[A-Za-z0-9_\\-]+" value=${code}
          onInput=${(e) => setCode(e.currentTarget.value)} data-testid="disposition-code" />
        <input required placeholder=${t('admin.label')} aria-label=${t('admin.label')} value=${labelText}
          onInput=${(e) => setLabelText(e.currentTarget.value)} data-testid="disposition-label" />
        <button class="primary" type="submit" data-testid="disposition-add">${t('action.add')}</button>
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
    </div>
  `;
}
