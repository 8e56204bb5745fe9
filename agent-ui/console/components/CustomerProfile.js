// One customer's page: the editable profile, a button to call them (click-to-call: the agent's
// phone rings first), one to write them a new email (NewEmailForm: the thread it opens is the
// agent's, in the workspace), a form to book a callback for later where the hub can call out, and
// the timeline of every interaction (GET /customers/{id}/timeline), newest first.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { CustomerEditForm } from './CustomerEditForm.js';
import { CustomerFields } from './CustomerFields.js';
import { Timeline } from './Timeline.js';
import { NoteList } from './NoteList.js';
import { NewEmailForm } from './NewEmailForm.js';
import { OwnerControl } from './OwnerControl.js';
import { FollowUps } from './FollowUps.js';
import { CallbackForm } from './CallbackForm.js';
import { CustomerEvents } from './CustomerEvents.js';
import { LifecycleControl } from './LifecycleControl.js';
import { CustomerOpportunities } from './CustomerOpportunities.js';

export function CustomerProfile({ id, me = null, queues = [], queueName, dispositionName, onDial, mailboxes = [], canReassign = false }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const [writing, setWriting] = useState(false);
  const [sent, setSent] = useState(false);
  // The call button's click could not go out (the socket is down): said, to click again later.
  const [dialUnsent, setDialUnsent] = useState(false);
  // The account's pipeline (stages, lifecycle labels): for the stage list and the opportunities.
  const [pipeline, setPipeline] = useState(null);
  useEffect(() => {
    api.pipelineSettings().then(setPipeline).catch(() => setPipeline(null));
  }, []);

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
        <p data-testid="profile-owner">${t('customer.owner')}: ${c.owner_name || html`<span class="muted">—</span>`}
          ${c.former_owner && html` <span class="muted small-text">${t('owner.former', { name: c.former_owner })}</span>`}</p>
        <${LifecycleControl} customer=${c} settings=${pipeline} onChanged=${() => load()} />
        <${CustomerFields} customer=${c} />
        ${canReassign && html`<${OwnerControl} customerIds=${[c.id]} current=${c.owner_id || ''} onChanged=${load} />`}
        ${c.phone && onDial && html`<button class="primary small" onClick=${() => setDialUnsent(!onDial(c.id))} data-testid="profile-call">${t('call.dial', { number: c.phone })}</button>`}
        ${dialUnsent && html`<p class="form-error" role="alert" data-testid="profile-call-unsent">${t('call.dial_not_sent')}</p>`}
        ${mailboxes.length > 0 && html`<button class="small" aria-expanded=${writing ? 'true' : 'false'} disabled=${writing}
          onClick=${() => { setWriting(true); setSent(false); }} data-testid="profile-new-email">✉ ${t('email.new')}</button>`}
        <${CustomerEditForm} customer=${c} onSaved=${(updated) => setData({ ...data, customer: updated })} />
        ${onDial && html`<h2 class="section-title">${t('callback.title')}</h2>
          <${CallbackForm} customer=${c} me=${me} queues=${queues} onBooked=${load} />`}
        <h2 class="section-title">${t('followups.title_section')}</h2>
        <${FollowUps} customerId=${c.id} followUps=${data.follow_ups || []} onChanged=${load} />
        <h2 class="section-title">${t('pipeline.opportunities')}</h2>
        <${CustomerOpportunities} customerId=${c.id} settings=${pipeline} onChanged=${load} />
        <h2 class="section-title">${t('notes.title')}</h2>
        <${NoteList} notes=${data.notes || []} />
        <h2 class="section-title">${t('customer_event.title')}</h2>
        <${CustomerEvents} events=${data.events || []} />
      </div>
      <div class="profile-main">
        ${writing && html`<${NewEmailForm} customer=${c} mailboxes=${mailboxes} onCancel=${() => setWriting(false)}
          onSent=${() => { setWriting(false); setSent(true); load(); }} />`}
        ${sent && html`<p class="notice" role="status" data-testid="new-email-sent">${t('email.new_sent')}
          <a href="#/" data-testid="new-email-workspace">${t('email.open_workspace')}</a></p>`}
        <h2 class="section-title">${t('timeline.title')}</h2>
        <${Timeline} entries=${data.entries || []} queueName=${queueName} dispositionName=${dispositionName} customerName=${c.name} />
      </div>
    </div>
  `;
}
