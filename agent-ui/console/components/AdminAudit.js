// Admin: the audit log of admins' and supervisors' actions (GET /audit), newest first, filtered by
// who and what, a page at a time.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDateTime, errorText } from '../i18n.js';

export function AdminAudit() {
  const [agents, setAgents] = useState([]);
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [entries, setEntries] = useState([]);
  const [next, setNext] = useState(null);
  const [error, setError] = useState(null);

  function load(before) {
    const query = new URLSearchParams();
    if (actor) query.set('actor', actor);
    if (action.trim()) query.set('action', action.trim());
    if (before) query.set('before', before);
    setError(null);
    api
      .auditLog(query.toString())
      .then((page) => {
        setEntries((shown) => (before ? [...shown, ...page.entries] : page.entries));
        setNext(page.next);
      })
      .catch((err) => setError(errorText(err)));
  }

  useEffect(() => {
    api.listAgents().then(setAgents).catch(() => {});
  }, []);
  useEffect(() => load(null), [actor]);

  function filter(e) {
    e.preventDefault();
    load(null);
  }

  return html`
    <div class="wide-page" data-testid="admin-audit">
      <h1>${t('nav.audit')}</h1>
      <form class="inline-form" onSubmit=${filter}>
        <select aria-label=${t('audit.who')} value=${actor} onChange=${(e) => setActor(e.currentTarget.value)} data-testid="audit-actor">
          <option value="">${t('audit.all_users')}</option>
          ${agents.map((a) => html`<option key=${a.id} value=${a.id}>${a.name} (${a.email})</option>`)}
        </select>
        <input placeholder=${t('audit.all_actions')} aria-label=${t('audit.action')} value=${action}
          onInput=${(e) => setAction(e.currentTarget.value)} data-testid="audit-action" />
        <button type="submit" data-testid="audit-filter">${t('audit.filter')}</button>
      </form>
      ${entries.length === 0 && !error && html`<p class="muted" data-testid="audit-empty">${t('audit.none')}</p>`}
      ${entries.length > 0 && html`
        <table class="table">
          <thead><tr>
            <th>${t('audit.when')}</th><th>${t('audit.who')}</th><th>${t('audit.action')}</th>
            <th>${t('audit.target')}</th><th>${t('audit.detail')}</th><th>${t('audit.from')}</th>
          </tr></thead>
          <tbody>
            ${entries.map((e) => html`<tr key=${e.id} data-testid="audit-row">
              <td>${formatDateTime(e.at)}</td>
              <td>${e.actor_email}</td>
              <td><code>${e.action}</code></td>
              <td>${e.target ? html`<code>${e.target}</code>` : ''}</td>
              <td class="audit-detail"><code>${JSON.stringify(e.detail)}</code></td>
              <td>${e.client_addr || ''}</td>
            </tr>`)}
          </tbody>
        </table>`}
      ${next && html`<button onClick=${() => load(next)} data-testid="audit-more">${t('audit.more')}</button>`}
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
    </div>
  `;
}
