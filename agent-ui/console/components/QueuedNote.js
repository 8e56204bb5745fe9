// Inside a conversation: what the agent did to it while the socket was down and is still to be
// sent (an end, a transfer, a hold, a wrap-up), so nothing looks done before it is.
import { html } from '../html.js';
import { t, label } from '../i18n.js';

export function QueuedNote({ state, interactionId }) {
  const mine = state.actions.filter((a) => a.frame.interaction_id === interactionId);
  if (!mine.length) return null;
  return html`
    <p class="queued-note" role="status" data-testid="conversation-queued">
      ${t('queued.will_send', { action: mine.map((a) => label('queued', a.frame.type)).join(', ') })}
    </p>
  `;
}
