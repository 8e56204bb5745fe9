// Just after an inbox is added: what the admin does next on the platform's side. WhatsApp's
// webhook is set by hand in Meta's dashboard, so the URL and the verify token (shown this once,
// from the form just sent) are here to copy; a Telegram bot's is registered from here.
import { useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { CopyField } from './CopyField.js';
import { WebhookRegistration } from './WebhookRegistration.js';

export function InboxAdded({ inbox, url, verifyToken, registration, onRegister, onDismiss }) {
  const box = useRef(null);
  useEffect(() => box.current && box.current.focus(), [inbox.id]);
  const whatsapp = inbox.platform === 'whatsapp';
  return html`
    <section class="inbox-added" tabIndex="-1" ref=${box} aria-labelledby="inbox-added-text" data-testid="inbox-added" data-platform=${inbox.platform}>
      <p id="inbox-added-text">${t(whatsapp ? 'inboxes.added_whatsapp' : 'inboxes.added_telegram', { name: inbox.name })}</p>
      <div class="inbox-added-fields">
        <${CopyField} id="inbox-added-url" label=${t('inboxes.webhook_url')} value=${url} testid="inbox-added-url" />
        ${whatsapp && verifyToken && html`<${CopyField} id="inbox-added-verify" label=${t('inboxes.secret.verify_token')} value=${verifyToken} testid="inbox-added-verify-token" />`}
      </div>
      <div class="form-actions">
        ${!whatsapp && html`<${WebhookRegistration} name=${inbox.name} state=${registration} onRegister=${onRegister} />`}
        <button type="button" class="link" onClick=${onDismiss} data-testid="inbox-added-dismiss">${t('action.dismiss')}</button>
      </div>
    </section>
  `;
}
