// Admin: the messaging inboxes (GET/POST/DELETE /inboxes) — a WhatsApp number or a Telegram bot
// each, routed to a queue. Each shows the webhook URL the platform posts to (this console's
// address and the hub's path); a Telegram bot's webhook is registered from here, a WhatsApp
// number's is pasted by hand into Meta's dashboard.
import { useState, useEffect, useRef } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, label, errorText } from '../i18n.js';
import { inboxSpec, webhookUrl, fieldOfError, HANDED_OVER } from '../inboxes.js';
import { InboxForm } from './InboxForm.js';
import { InboxAdded } from './InboxAdded.js';
import { CopyField } from './CopyField.js';
import { WebhookRegistration } from './WebhookRegistration.js';

/** The hub's refusal, kept as the error and put in words (`errorText`) when shown, so a change of
 * language reaches it. */
const words = (state) => (state && state.error ? { error: errorText(state.error) } : state);

export function AdminInboxes({ queues }) {
  const [list, setList] = useState([]);
  // Errors are kept as {code, message}, put in words when shown.
  const [error, setError] = useState(null);
  const [formKey, setFormKey] = useState(0);
  const [formError, setFormError] = useState(null);
  const [saving, setSaving] = useState(false);
  // The inbox just added, and the verify token it was sent with (shown this once).
  const [added, setAdded] = useState(null);
  const [confirming, setConfirming] = useState(null);
  // Per inbox id: {busy} | {url} | {error}, the last "Register webhook" and its outcome.
  const [registrations, setRegistrations] = useState({});
  const heading = useRef(null);
  const keep = useRef(null);

  // Asking to confirm replaces the Delete button: focus moves to "Cancel", the safe answer.
  useEffect(() => {
    if (confirming && keep.current) keep.current.focus();
  }, [confirming]);

  const load = () => api.listInboxes().then(setList, setError);
  useEffect(() => {
    load();
  }, []);

  const queueName = (id) => (queues.find((q) => q.id === id) || {}).name || id;
  const urlOf = (inbox) => webhookUrl(location.origin, inbox.webhook_path);

  async function save(form) {
    setFormError(null);
    setSaving(true);
    const spec = inboxSpec(form);
    try {
      const inbox = await api.createInbox(spec);
      setAdded({ inbox, verifyToken: spec.secrets[HANDED_OVER[inbox.platform]] });
      setFormKey((k) => k + 1);
      load();
    } catch (err) {
      setFormError({ err, field: fieldOfError(err.message) });
    } finally {
      setSaving(false);
    }
  }

  async function register(inbox) {
    const set = (state) => setRegistrations((r) => ({ ...r, [inbox.id]: state }));
    set({ busy: true });
    try {
      const answer = await api.registerWebhook(inbox.id, location.origin);
      set({ url: (answer && answer.url) || urlOf(inbox) });
    } catch (err) {
      set({ error: err });
    }
  }

  async function remove(inbox) {
    setError(null);
    try {
      await api.deleteInbox(inbox.id);
      setConfirming(null);
      if (added && added.inbox.id === inbox.id) setAdded(null);
      // The row and its focused button are gone: keyboard focus goes back to the page's top.
      if (heading.current) heading.current.focus();
      load();
    } catch (err) {
      setError(err);
    }
  }

  return html`
    <div class="wide-page" data-testid="admin-inboxes">
      <h1 tabIndex="-1" ref=${heading}>${t('nav.inboxes')}</h1>
      <p class="muted">${t('inboxes.intro')}</p>
      ${list.length === 0 && html`<p class="muted" data-testid="inboxes-none">${t('inboxes.none')}</p>`}
      ${list.length > 0 && html`
        <table class="table inbox-table">
          <thead><tr>
            <th>${t('inboxes.name')}</th><th>${t('inboxes.platform')}</th><th>${t('inboxes.queue')}</th><th>${t('inboxes.webhook_url')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th>
          </tr></thead>
          <tbody>
            ${list.map((m) => html`
              <tr key=${m.id} data-testid="inbox-row" data-inbox-id=${m.id} data-platform=${m.platform}>
                <td data-testid="inbox-row-name">${m.name}</td>
                <td><span class=${`badge badge-platform-${m.platform}`} data-testid="inbox-row-platform">${label('platform', m.platform)}</span></td>
                <td data-testid="inbox-row-queue">${queueName(m.queue_id)}</td>
                <td class="webhook-cell">
                  <${CopyField} id=${`inbox-url-${m.id}`} hideLabel label=${t('inboxes.webhook_url_of', { name: m.name })} value=${urlOf(m)} testid="inbox-row-url" />
                  ${m.platform === 'whatsapp' && html`<p class="hint" data-testid="inbox-row-reminder">${t('inboxes.whatsapp_reminder')}</p>`}
                  ${['wechat', 'sms', 'webhook'].includes(m.platform) && html`<p class="hint" data-testid="inbox-row-reminder">${t(`inboxes.${m.platform}_reminder`)}</p>`}
                  ${m.platform === 'telegram' && html`<${WebhookRegistration} name=${m.name} state=${words(registrations[m.id])} onRegister=${() => register(m)} />`}
                </td>
                <td class="row-actions">
                  ${confirming === m.id
                    ? html`<span class="confirm" role="group" aria-label=${t('inboxes.confirm_delete', { name: m.name })}>
                        <span class="small-text">${t('inboxes.confirm_delete', { name: m.name })}</span>
                        <button class="danger-outline small" onClick=${() => remove(m)} data-testid="inbox-delete-confirm">${t('action.delete')}</button>
                        <button class="small" ref=${keep} onClick=${() => setConfirming(null)} data-testid="inbox-delete-cancel">${t('action.cancel')}</button>
                      </span>`
                    : html`<button class="link danger" aria-label=${`${t('action.delete')} (${m.name})`} onClick=${() => setConfirming(m.id)} data-testid="inbox-delete">${t('action.delete')}</button>`}
                </td>
              </tr>`)}
          </tbody>
        </table>`}
      ${error && html`<p class="form-error" role="alert" data-testid="inboxes-error">${errorText(error)}</p>`}
      ${added && html`<${InboxAdded} inbox=${added.inbox} url=${urlOf(added.inbox)} verifyToken=${added.verifyToken}
        registration=${words(registrations[added.inbox.id])} onRegister=${() => register(added.inbox)} onDismiss=${() => setAdded(null)} />`}
      <${InboxForm} key=${formKey} queues=${queues} onSave=${save} saving=${saving}
        error=${formError} errorText=${formError && errorText(formError.err)} />
    </div>
  `;
}
