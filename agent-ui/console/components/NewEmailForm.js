// A new email to a customer, from their page: the mailbox it goes out from, To (their address to
// start with), Cc, Subject, the text and files. The hub opens a thread that is the agent's at once
// (it shows in the workspace) with this mail queued; the customer's answer joins that thread.
// The client_id is kept across a failed send, so trying again never sends a second mail.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText } from '../i18n.js';
import { newId } from '../ids.js';
import { parseAddressList, looksLikeAddress } from '../email.js';
import { addFiles, progress, uploaded, failed, removeFile, blocking, uploadIds } from '../attachments.js';
import { AttachmentPicker } from './AttachmentPicker.js';

export function NewEmailForm({ customer, mailboxes, onSent, onCancel }) {
  const [mail, setMail] = useState({ mailbox_id: (mailboxes[0] || {}).id || '', to: customer.email || '', cc: '', subject: '', body: '' });
  const [files, setFiles] = useState([]);
  const [clientId, setClientId] = useState(null);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState(null);
  const id = (name) => `new-email-${customer.id}-${name}`;
  const set = (name) => (e) => setMail({ ...mail, [name]: e.currentTarget.value });
  const addresses = [...parseAddressList(mail.to), ...parseAddressList(mail.cc)];
  const bad = addresses.find((a) => !looksLikeAddress(a)) || null;
  const canSend = !sending && mail.mailbox_id && mail.subject.trim() && mail.body.trim() && !bad
    && parseAddressList(mail.to).length > 0 && !blocking(files);

  function attach(picked) {
    const entries = picked.map((file) => ({ file, key: newId() }));
    setFiles((list) => addFiles(list, entries.map(({ file, key }) => ({ key, name: file.name, size: file.size, type: file.type }))));
    for (const { file, key } of entries) {
      api.uploadFile(file, (loaded) => setFiles((list) => progress(list, key, loaded)))
        .then((upload) => setFiles((list) => uploaded(list, key, upload)))
        .catch((e) => setFiles((list) => failed(list, key, { code: e.code, message: e.message })));
    }
  }

  async function send(e) {
    e.preventDefault();
    if (!canSend) return;
    const client_id = clientId || newId();
    setClientId(client_id);
    setSending(true);
    setError(null);
    const body = { mailbox_id: mail.mailbox_id, subject: mail.subject.trim(), body: mail.body.trim(), client_id, to: parseAddressList(mail.to) };
    const cc = parseAddressList(mail.cc);
    if (cc.length) body.cc = cc;
    const ids = uploadIds(files);
    if (ids.length) body.attachments = ids;
    try {
      const message = await api.newEmail(customer.id, body);
      onSent(message);
    } catch (err) {
      setSending(false);
      setError(err);
    }
  }

  const explained = error && (error.code === 'unavailable'
    ? t('email.send_offline')
    : error.code === 'no_room' ? t('email.no_room')
      : errorText(error));

  return html`
    <form class="new-email" aria-labelledby=${id('title')} onSubmit=${send} data-testid="new-email-form">
      <h2 id=${id('title')}>${t('email.new_form', { name: customer.name })}</h2>
      <div class="email-fields">
        <label for=${id('mailbox')}>${t('email.mailbox')}</label>
        <select id=${id('mailbox')} value=${mail.mailbox_id} disabled=${sending} onChange=${set('mailbox_id')} data-testid="new-email-mailbox">
          ${mailboxes.map((m) => html`<option key=${m.id} value=${m.id}>${m.display_name ? `${m.display_name} <${m.address}>` : m.address}</option>`)}
        </select>
        <label for=${id('to')}>${t('email.to')}</label>
        <input type="text" id=${id('to')} autocomplete="off" spellcheck="false" value=${mail.to} readOnly=${sending} onInput=${set('to')}
          aria-invalid=${bad && parseAddressList(mail.to).includes(bad) ? 'true' : 'false'} data-testid="new-email-to" />
        <label for=${id('cc')}>${t('email.cc')}</label>
        <input type="text" id=${id('cc')} autocomplete="off" spellcheck="false" value=${mail.cc} readOnly=${sending} onInput=${set('cc')}
          aria-invalid=${bad && parseAddressList(mail.cc).includes(bad) ? 'true' : 'false'} data-testid="new-email-cc" />
        <label for=${id('subject')}>${t('email.subject')}</label>
        <input type="text" id=${id('subject')} value=${mail.subject} readOnly=${sending} onInput=${set('subject')} required data-testid="new-email-subject" />
      </div>
      <label class="email-body-label" for=${id('body')}>${t('email.body')}</label>
      <textarea id=${id('body')} rows="5" value=${mail.body} readOnly=${sending} onInput=${set('body')} aria-describedby=${id('hint')} data-testid="new-email-body"></textarea>
      <span class="muted small-text" id=${id('hint')}>${t('email.signature_note')}</span>
      <${AttachmentPicker} idPrefix=${id('attach')} attachments=${files} disabled=${sending}
        onPick=${attach} onRemove=${(key) => setFiles((list) => removeFile(list, key))} />
      ${bad && html`<p class="form-error" role="alert" data-testid="new-email-bad-address">${t('email.bad_address', { address: bad })}</p>`}
      ${explained && html`<p class="form-error" role="alert" data-testid="new-email-error">${t('email.not_sent', { reason: explained })}</p>`}
      <div class="new-email-foot">
        <button type="button" disabled=${sending} onClick=${onCancel} data-testid="new-email-cancel">${t('email.cancel')}</button>
        <button class="primary" type="submit" disabled=${!canSend} data-testid="new-email-send">
          ${sending ? t('email.sending') : error ? t('email.send_again') : t('email.send')}</button>
      </div>
    </form>
  `;
}
