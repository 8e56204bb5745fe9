// A Telegram inbox's "Register webhook" button and what came of it: the hub calls Telegram's
// setWebhook with this console's address and the inbox's secret token, and answers with the URL
// Telegram now posts to, or the platform's reason.
import { html } from '../html.js';
import { t } from '../i18n.js';

/** `state`: undefined (not tried), `{busy}`, `{url}` or `{error}` (already in words). */
export function WebhookRegistration({ name, state = {}, onRegister }) {
  const text = state.busy ? t('inboxes.registering') : t('inboxes.register');
  return html`
    <div class="webhook-registration">
      <button type="button" class="small" disabled=${Boolean(state.busy)} onClick=${onRegister}
        aria-label=${`${text} (${name})`} data-testid="inbox-register">${text}</button>
      <span role="status" class="small-text ok-text" data-testid="inbox-registered">${state.url ? t('inboxes.registered', { url: state.url }) : ''}</span>
      ${state.error && html`<span role="alert" class="form-error small-text" data-testid="inbox-register-error">${state.error}</span>`}
    </div>
  `;
}
