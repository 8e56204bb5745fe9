// The screen pop beside a chat: who the customer is, their last contacts on every channel, and
// the notes agents left, with a box to add one.
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { lifecycleLabel, loadPipelineSettings } from '../pipeline.js';
import { CustomerFields } from './CustomerFields.js';
import { t } from '../i18n.js';
import { customerHref } from '../route.js';
import { RecentContacts } from './RecentContacts.js';
import { NoteList } from './NoteList.js';
import { NoteForm } from './NoteForm.js';
import { LinkCustomer } from './LinkCustomer.js';

function field(name, value, testid) {
  return html`<div class="field"><dt>${t(`customer.${name}`)}</dt><dd data-testid=${testid}>${value || html`<span class="muted">—</span>`}</dd></div>`;
}

// What a web visitor typed without proof: never shown as their email or phone, only as a claim.
function claimed(claim) {
  const said = claim ? [claim.email, claim.phone].filter(Boolean).join(' · ') : '';
  return said && html`<p class="claim muted" data-testid="card-claim">${t('customer.claims', { said })}</p>`;
}

export function CustomerCard({ card, interactionId, queueName, dispositionName, onAddNote, onLink }) {
  const c = card.customer;
  const [pipeline, setPipeline] = useState(null);
  useEffect(() => {
    let live = true;
    if (c.stage) loadPipelineSettings().then((s) => live && setPipeline(s));
    return () => { live = false; };
  }, [c.stage]);
  return html`
    <div class="customer-card" data-testid="customer-card" data-customer-id=${c.id}>
      <header class="card-head">
        <div class="avatar" aria-hidden="true">${(c.name || '?').trim().charAt(0).toUpperCase()}</div>
        <div>
          <div class="card-name" data-testid="card-name">${c.name}</div>
          ${c.tier && html`<span class="badge badge-tier" data-testid="card-tier">${c.tier}</span>`}
          ${c.stage && html` <span class="badge" data-testid="card-lifecycle" title=${t('lifecycle.label')}>${lifecycleLabel(pipeline, c.stage)}</span>`}
        </div>
      </header>
      <dl class="fields">
        ${field('email', c.email, 'card-email')}
        ${field('phone', c.phone, 'card-phone')}
        ${field('owner', c.owner_name, 'card-owner')}
        ${card.csat && field('csat', t('customer.csat_value', { average: card.csat.average.toFixed(1), count: card.csat.count, last: card.csat.last.score }), 'card-csat')}
      </dl>
      <${CustomerFields} customer=${c} />
      ${claimed(c.claimed)}
      ${onLink && interactionId && html`<${LinkCustomer} current=${c} onLink=${(customerId) => onLink(interactionId, customerId)} />`}
      <div class="tags" data-testid="card-tags">
        ${(c.tags || []).map((tag) => html`<span class="tag" key=${tag}>${tag}</span>`)}
      </div>
      <a class="link small-text" href=${customerHref(c.id)} data-testid="card-open-profile">${t('customer.open_profile')}</a>
      <h3 class="section-title">${t('customer.recent')}</h3>
      <${RecentContacts} interactions=${(card.recent || []).filter((i) => i.id !== interactionId)} queueName=${queueName} dispositionName=${dispositionName} />
      <h3 class="section-title">${t('notes.title')}</h3>
      <${NoteList} notes=${card.notes || []} />
      <${NoteForm} onAdd=${(body) => onAddNote(c.id, interactionId, body)} />
    </div>
  `;
}
