// While the socket is down, the actions the agent took meanwhile (accept, decline, end, wrap-up,
// transfer, hold) are kept and said to be kept: they go out once the console is back.
import { html } from '../html.js';
import { t, label } from '../i18n.js';

export function QueuedBanner({ connection, actions }) {
  if (!actions.length) return null;
  return html`
    <div class="queued-banner" role="status" data-testid="reconnecting" data-connection=${connection}>
      <strong>${t(connection === 'open' ? 'queued.sending' : 'queued.reconnecting')}</strong>
      <span> ${t('queued.waiting')}: </span>
      <span data-testid="queued-actions">${actions.map((a) => label('queued', a.frame.type)).join(', ')}</span>
    </div>
  `;
}
