// Find a customer by name, email, phone or a value of the account's own fields (GET
// /customers?q=); a supervisor may pick some of the results and give them to another owner at
// once, or export what the search finds (every customer for an empty one) as CSV, and keeps
// segments (saved searches) and the import of a spreadsheet below it.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { saveBlob } from './AttachmentList.js';
import { customerHref } from '../route.js';
import { OwnerControl } from './OwnerControl.js';
import { Segments } from './Segments.js';
import { CustomerImport } from './CustomerImport.js';

export function CustomerSearch({ canReassign = false }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  const [picked, setPicked] = useState([]);

  const pick = (id, on) => setPicked((ids) => (on ? [...ids, id] : ids.filter((x) => x !== id)));

  async function exportFound() {
    setError(null);
    try {
      const { blob, filename } = await api.exportCustomers(q.trim());
      saveBlob(blob, filename);
    } catch (err) {
      setError(errorText(err));
    }
  }

  async function search(e) {
    if (e) e.preventDefault();
    setError(null);
    setPicked([]);
    try {
      setResults(await api.searchCustomers(q.trim()));
    } catch {
      setError(t('error.generic'));
    }
  }

  return html`
    <div class="narrow-page">
      <h1>${t('customers.title')}</h1>
      <form class="search-form" onSubmit=${search} role="search">
        <input type="search" value=${q} placeholder=${t('customers.search_placeholder')} aria-label=${t('customers.search_placeholder')}
          onInput=${(e) => setQ(e.currentTarget.value)} data-testid="customer-search-input" />
        <button class="primary" type="submit" data-testid="customer-search-submit">${t('customers.search')}</button>
        ${canReassign && html`<button type="button" onClick=${exportFound} data-testid="customer-export">${t('customers.export')}</button>`}
      </form>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${results && results.length === 0 && html`<p class="muted" data-testid="customer-search-empty">${t('customers.none')}</p>`}
      ${results && results.length > 0 && html`
        <ul class="result-list">
          ${results.map((c) => html`
            <li key=${c.id} class="result-row">
              ${canReassign && html`<input type="checkbox" checked=${picked.includes(c.id)} aria-label=${c.name}
                onChange=${(e) => pick(c.id, e.currentTarget.checked)} data-testid="customer-pick" data-customer-id=${c.id} />`}
              <a class="result" href=${customerHref(c.id)} data-testid="customer-result" data-customer-id=${c.id}>
                <span class="result-name">${c.name}</span>
                <span class="muted small-text">${[c.email, c.phone].filter(Boolean).join(' · ')}</span>
                ${c.tier && html`<span class="badge badge-tier">${c.tier}</span>`}
                <span class="muted small-text" data-testid="customer-result-owner">${c.owner_name || ''}</span>
              </a>
            </li>`)}
        </ul>
        ${canReassign && html`<${OwnerControl} customerIds=${picked} onChanged=${() => search()} />`}`}
      ${canReassign && html`<${Segments} q=${q} />`}
      ${canReassign && html`<${CustomerImport} />`}
    </div>
  `;
}
