// The customer's last contacts across channels: when, which channel, how it ended.
import { html } from '../html.js';
import { t, label, formatDateTime } from '../i18n.js';

export function RecentContacts({ interactions, queueName, dispositionName }) {
  if (!interactions.length) return html`<p class="muted small-text" data-testid="card-recent-none">${t('customer.no_recent')}</p>`;
  return html`
    <ul class="recent" data-testid="card-recent">
      ${interactions.map((i) => html`
        <li key=${i.id} class="recent-item" data-testid="recent-item">
          <span class=${`channel-icon channel-${i.channel}`}>${label('channel', i.channel)}</span>
          <span class="recent-when">${formatDateTime(i.arrived_at)}</span>
          <span class="muted small-text">${queueName(i.queue_id)}${i.disposition ? ` · ${dispositionName(i.disposition)}` : ` · ${label('istate', i.state)}`}</span>
        </li>`)}
    </ul>
  `;
}
