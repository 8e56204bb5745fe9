// One customer's page: the editable profile, a button to call them (click-to-call: the agent's
// phone rings first), and the timeline of every interaction (GET /customers/{id}/timeline),
// newest first.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { CustomerEditForm } from './CustomerEditForm.js';
import { Timeline } from './Timeline.js';
import { NoteList } from './NoteList.js';

export function CustomerProfile({ id, queueName, dispositionName, onDial }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);

  async function load() {
    try {
      setData(await api.customerTimeline(id));
    } catch (e) {
      setError(e.status === 404 ? t('customers.not_found') : t('error.generic'));
    }
  }

  useEffect(() => {
    load();
  }, [id]);

  if (error) return html`<div class="narrow-page"><p class="form-error" role="alert">${error}</p></div>`;
  if (!data) return html`<div class="narrow-page"><p class="muted">${t('common.loading')}</p></div>`;
  const c = data.customer;
  return html`
    <div class="profile-page" data-testid="customer-profile" data-customer-id=${c.id}>
      <div class="profile-side">
        <a class="link small-text" href="#/customers" data-testid="profile-back">← ${t('customers.back')}</a>
        <h1 data-testid="profile-name">${c.name}</h1>
        <p class="muted">${[c.email, c.phone].filter(Boolean).join(' · ')}</p>
        ${c.phone && onDial && html`<button class="primary small" onClick=${() => onDial(c.id)} data-testid="profile-call">${t('call.dial', { number: c.phone })}</button>`}
        <${CustomerEditForm} customer=${c} onSaved=${(updated) => setData({ ...data, customer: updated })} />
        <h2 class="section-title">${t('notes.title')}</h2>
        <${NoteList} notes=${data.notes || []} />
      </div>
      <div class="profile-main">
        <h2 class="section-title">${t('timeline.title')}</h2>
        <${Timeline} entries=${data.entries || []} queueName=${queueName} dispositionName=${dispositionName} customerName=${c.name} />
      </div>
    </div>
  `;
}
