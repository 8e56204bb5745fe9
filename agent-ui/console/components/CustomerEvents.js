// What happened to a customer outside their interactions, oldest first: owner changes (from, to,
// who, why), follow-ups scheduled and closed, the customer's ratings, lifecycle stages and
// opportunities' moves.
import { html } from '../html.js';
import { label, t } from '../i18n.js';

const nobody = () => t('owner.nobody');

function describe(e) {
  const d = e.data || {};
  switch (e.type) {
    case 'customer.owner_changed':
      return t('customer_event.owner_changed', {
        from: (d.from && d.from.name) || nobody(),
        to: (d.to && d.to.name) || nobody(),
        by: (d.by && d.by.name) || t('customer_event.by_hub'),
        reason: d.reason || '—',
      });
    case 'follow_up.created':
      return t('customer_event.follow_up_created', { title: d.title || '' });
    case 'follow_up.done':
      return t('customer_event.follow_up_done', { title: d.title || '', by: (d.by && d.by.name) || '' });
    case 'csat.rated':
      return t(d.comment ? 'customer_event.csat_rated_comment' : 'customer_event.csat_rated', {
        score: d.score, agent: (d.agent && d.agent.name) || '—', comment: d.comment || '',
      });
    case 'follow_up.cancelled':
      return t('customer_event.follow_up_cancelled', { title: d.title || '', by: (d.by && d.by.name) || '' });
    case 'customer.stage_changed':
      return t('customer_event.stage_changed', {
        from: d.from ? label('lifecycle', d.from) : '—',
        to: d.to ? label('lifecycle', d.to) : '—',
        by: (d.by && d.by.name) || '',
      });
    case 'opportunity.created':
      return t('customer_event.opportunity_created', { name: d.name || '', stage: label('pipeline.stage', d.stage), by: (d.by && d.by.name) || '' });
    case 'opportunity.stage_changed':
    case 'opportunity.won':
    case 'opportunity.lost':
      return t(`customer_event.${e.type.replace('.', '_')}`, {
        name: d.name || '',
        from: label('pipeline.stage', d.from),
        to: label('pipeline.stage', d.to),
        by: (d.by && d.by.name) || '',
      });
    default:
      return e.type;
  }
}

export function CustomerEvents({ events }) {
  if (!events.length) return null;
  return html`
    <ul class="plain-list customer-events" data-testid="customer-events">
      ${events.map((e) => html`
        <li key=${e.id} data-testid="customer-event" data-type=${e.type}>
          <span class="muted small-text">${new Date(e.at).toLocaleString()}</span> ${describe(e)}
        </li>`)}
    </ul>
  `;
}
