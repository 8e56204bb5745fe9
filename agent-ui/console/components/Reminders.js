// Follow-ups the hub says are due now (the agent's own) or overdue past escalation (a
// supervisor's view of anyone's), as cards over the page until the agent marks one done, opens
// the customer, or dismisses it (GET /follow-ups lists them again later). A callback due has a
// Call button where the hub can call out (click-to-call: the agent's phone rings first).
import { html } from '../html.js';
import { t } from '../i18n.js';
import { customerHref } from '../route.js';

export function Reminders({ reminders, onDone, onDismiss, onDial = null }) {
  if (!reminders.length) return null;
  return html`
    <aside class="reminders" role="status" data-testid="reminders">
      ${reminders.map(({ follow_up: f, escalated }) => html`
        <div class=${`reminder${escalated ? ' reminder-escalated' : ''}`} key=${f.id} data-testid="reminder" data-follow-up-id=${f.id}>
          <strong>${t(escalated ? 'followups.overdue' : `followups.due_${f.kind}`)}</strong>
          <span data-testid="reminder-title">${f.title}</span>
          <a class="link" href=${customerHref(f.customer_id)} data-testid="reminder-customer">${f.customer_name}</a>
          <span class="muted small-text">${new Date(f.due_at).toLocaleString()}</span>
          <div class="form-actions">
            ${onDial && f.kind === 'callback' && html`<button class="primary small" onClick=${() => onDial(f.customer_id)} data-testid="reminder-call">${t('followups.call')}</button>`}
            <button class="primary small" onClick=${() => onDone(f.id)} data-testid="reminder-done">${t('followups.done')}</button>
            <button class="small" onClick=${() => onDismiss(f.id)} data-testid="reminder-dismiss">${t('followups.dismiss')}</button>
          </div>
        </div>`)}
    </aside>
  `;
}
