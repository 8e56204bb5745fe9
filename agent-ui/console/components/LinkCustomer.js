// On the card of a conversation: "this is someone we know". The agent finds the known customer
// (by name, email or phone, e.g. what a visitor claimed after checking it) and links the
// conversation to them: the hub merges the two, so the conversation, its history and the next
// messages from the same WhatsApp number or visitor are the known customer's.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';

export function LinkCustomer({ current, onLink }) {
  const [open, setOpen] = useState(false);
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  function start() {
    // A claim is what there is to check: the search starts from it.
    const claim = current.claimed;
    setQ((claim && (claim.email || claim.phone)) || '');
    setResults(null);
    setError(null);
    setOpen(true);
  }

  async function search(e) {
    e.preventDefault();
    setError(null);
    try {
      setResults((await api.searchCustomers(q.trim())).filter((c) => c.id !== current.id));
    } catch {
      setError(t('error.generic'));
    }
  }

  async function link(id) {
    setBusy(true);
    setError(null);
    try {
      await onLink(id);
      setOpen(false);
    } catch (e) {
      setError(e && e.code === 'forbidden' ? t('link.forbidden') : errorText(e));
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return html`<button class="link small-text" type="button" onClick=${start} data-testid="card-link-open">${t('link.open')}</button>`;
  }
  return html`
    <div class="link-customer" data-testid="card-link">
      <form class="search-form" onSubmit=${search} role="search">
        <input type="search" value=${q} placeholder=${t('customers.search_placeholder')} aria-label=${t('link.search')}
          onInput=${(e) => setQ(e.currentTarget.value)} data-testid="card-link-query" />
        <button type="submit" data-testid="card-link-search">${t('customers.search')}</button>
        <button type="button" class="link" onClick=${() => setOpen(false)} data-testid="card-link-cancel">${t('link.cancel')}</button>
      </form>
      ${error && html`<p class="form-error small-text" role="alert" data-testid="card-link-error">${error}</p>`}
      ${results && results.length === 0 && html`<p class="muted small-text">${t('customers.none')}</p>`}
      ${results && results.length > 0 && html`
        <ul class="result-list">
          ${results.map((c) => html`
            <li key=${c.id} class="link-result">
              <span class="result-name">${c.name}</span>
              <span class="muted small-text">${[c.email, c.phone].filter(Boolean).join(' · ')}</span>
              <button class="primary small-text" type="button" disabled=${busy} onClick=${() => link(c.id)}
                data-testid="card-link-confirm" data-customer-id=${c.id}>${t('link.confirm', { name: c.name })}</button>
            </li>`)}
        </ul>`}
    </div>
  `;
}
