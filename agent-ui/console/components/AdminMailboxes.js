// Admin: the support mailboxes (GET/POST/PUT/DELETE /mailboxes) and how each is doing — connected,
// or failing with the mail server's last error — refreshed every few seconds while the page is
// open, since a mailbox's state changes on its own. Each has its list of mails that could not be
// taken in.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, label, formatDateTime, errorText } from '../i18n.js';
import { mailboxSpec } from '../mailboxes.js';
import { MailboxForm } from './MailboxForm.js';
import { MailboxFailures } from './MailboxFailures.js';

const REFRESH_MS = 3000;

function Status({ status }) {
  const s = status || { state: 'connecting' };
  return html`
    <div class="mailbox-status">
      <span class=${`badge badge-mailbox-${s.state}`} data-testid="mailbox-state" data-state=${s.state}>${label('mailbox_state', s.state)}</span>
      <span class="muted small-text" data-testid="mailbox-last-fetch">
        ${s.last_fetch_at ? t('mailboxes.last_fetch', { when: formatDateTime(s.last_fetch_at) }) : t('mailboxes.never_fetched')}
        ${s.state === 'connected' && ` · ${s.idle ? t('mailboxes.idle') : t('mailboxes.polling')}`}
      </span>
      ${s.last_error && html`<span class="mailbox-error small-text" data-testid="mailbox-error">${s.last_error}</span>`}
    </div>
  `;
}

export function AdminMailboxes({ queues, onChanged }) {
  const [list, setList] = useState([]);
  // null: the form adds a new mailbox; else the mailbox being changed.
  const [editing, setEditing] = useState(null);
  const [formKey, setFormKey] = useState(0);
  const [confirming, setConfirming] = useState(null);
  const [failuresOf, setFailuresOf] = useState(null);
  const [error, setError] = useState(null);
  const [formError, setFormError] = useState(null);

  const load = () => api.listMailboxes().then((l) => {
    setList(l);
    onChanged(l);
  }, () => setError(t('error.generic')));

  useEffect(() => {
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const queueName = (id) => (queues.find((q) => q.id === id) || {}).name || id;

  function closeForm() {
    setEditing(null);
    setFormError(null);
    setFormKey((k) => k + 1);
  }

  async function save(form) {
    setFormError(null);
    try {
      if (editing) await api.updateMailbox(editing.id, mailboxSpec(form, false));
      else await api.createMailbox(mailboxSpec(form, true));
      closeForm();
      load();
    } catch (err) {
      setFormError(errorText(err));
    }
  }

  async function remove(m) {
    setError(null);
    try {
      await api.deleteMailbox(m.id);
      setConfirming(null);
      if (failuresOf === m.id) setFailuresOf(null);
      if (editing && editing.id === m.id) closeForm();
      load();
    } catch (err) {
      setError(errorText(err));
    }
  }

  const shownFailures = list.find((m) => m.id === failuresOf);

  return html`
    <div class="wide-page" data-testid="admin-mailboxes">
      <h1>${t('nav.mailboxes')}</h1>
      ${list.length === 0 && html`<p class="muted" data-testid="mailboxes-none">${t('mailboxes.none')}</p>`}
      ${list.length > 0 && html`
        <table class="table">
          <thead><tr>
            <th>${t('mailboxes.address')}</th><th>${t('mailboxes.queue')}</th><th>${t('mailboxes.status')}</th><th>${t('mailboxes.fetched')}</th><th><span class="visually-hidden">${t('common.actions')}</span></th>
          </tr></thead>
          <tbody>
            ${list.map((m) => html`
              <tr key=${m.id} data-testid="mailbox-row" data-mailbox-id=${m.id}>
                <td><div data-testid="mailbox-row-address">${m.address}</div><div class="muted small-text">${m.display_name}</div></td>
                <td>${queueName(m.queue_id)}</td>
                <td><${Status} status=${m.status} /></td>
                <td>${(m.status && m.status.fetched) || 0}</td>
                <td class="row-actions">
                  ${confirming === m.id
                    ? html`<span class="confirm" role="group" aria-label=${t('mailboxes.confirm_delete', { address: m.address })}>
                        <span class="small-text">${t('mailboxes.confirm_delete', { address: m.address })}</span>
                        <button class="danger-outline small" onClick=${() => remove(m)} data-testid="mailbox-delete-confirm">${t('action.delete')}</button>
                        <button class="small" onClick=${() => setConfirming(null)} data-testid="mailbox-delete-cancel">${t('action.cancel')}</button>
                      </span>`
                    : html`
                      <button class="link" onClick=${() => { setEditing(m); setFormError(null); setFormKey((k) => k + 1); }} data-testid="mailbox-edit">${t('action.edit')}</button>
                      <button class="link" aria-expanded=${failuresOf === m.id ? 'true' : 'false'}
                        onClick=${() => setFailuresOf(failuresOf === m.id ? null : m.id)} data-testid="mailbox-failures-toggle">${t('mailboxes.failures')}</button>
                      <button class="link danger" onClick=${() => setConfirming(m.id)} data-testid="mailbox-delete">${t('action.delete')}</button>`}
                </td>
              </tr>`)}
          </tbody>
        </table>`}
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${shownFailures && html`<${MailboxFailures} key=${shownFailures.id} mailbox=${shownFailures} />`}
      <${MailboxForm} key=${formKey} mailbox=${editing} queues=${queues} onSave=${save} onCancel=${closeForm} error=${formError} />
    </div>
  `;
}
