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
  // WhatsApp and WeChat take their webhook by hand, with a token shown here once; Telegram's is
  // registered from here.
  const byHand = inbox.platform !== 'telegram';
  const handed = `inboxes.secret.${{ wechat: 'token', webhook: 'secret' }[inbox.platform] || 'verify_token'}`;
  return html`
    <section class="inbox-added" tabIndex="-1" ref=${box} aria-labelledby="inbox-added-text" data-testid="inbox-added" data-platform=${inbox.platform}>
      <p id="inbox-added-text">${t(`inboxes.added_${inbox.platform}`, { name: inbox.name })}</p>
      <div class="inbox-added-fields">
        <${CopyField} id="inbox-added-url" label=${t('inboxes.webhook_url')} value=${url} testid="inbox-added-url" />
        ${byHand && verifyToken && html`<${CopyField} id="inbox-added-verify" label=${t(handed)} value=${verifyToken} testid="inbox-added-verify-token" />`}
      </div>
      <div class="form-actions">
        ${!byHand && html`<${WebhookRegistration} name=${inbox.name} state=${registration} onRegister=${onRegister} />`}
        <button type="button" class="link" onClick=${onDismiss} data-testid="inbox-added-dismiss">${t('action.dismiss')}</button>
      </div>
    </section>
  `;
}
