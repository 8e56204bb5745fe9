// Admin: add or change a support mailbox — its address and queue, where mail is fetched from
// (IMAP) and sent through (SMTP), and the signature added to replies. Password fields are
// write-only: empty when changing a mailbox, and left empty they keep the password the hub has.
import { html } from '../html.js';
import { t, label } from '../i18n.js';
import { useForm } from '../forms.js';
import { SECURITY, emptyMailboxForm, mailboxToForm, portAfterSecurity } from '../mailboxes.js';

function Server({ kind, f, editing }) {
  const id = (name) => `mailbox-${kind}-${name}`;
  const security = f.form[kind].security;
  return html`
    <fieldset class="grid-form fieldset full" data-testid=${`mailbox-${kind}`}>
      <legend>${t(`mailboxes.${kind}`)}</legend>
      <label for=${id('host')}><span>${t('mailboxes.host')}</span>
        <input id=${id('host')} required ...${f.field(`${kind}.host`)} data-testid=${`mailbox-${kind}-host`} /></label>
      <label for=${id('security')}><span>${t('mailboxes.security')}</span>
        <select id=${id('security')} value=${security} data-testid=${`mailbox-${kind}-security`}
          onChange=${(e) => {
            const to = e.currentTarget.value;
            f.set(kind, { ...f.form[kind], security: to, port: portAfterSecurity(kind, f.form[kind].port, security, to) });
          }}>
          ${SECURITY.map((s) => html`<option key=${s} value=${s}>${label('security', s)}</option>`)}
        </select></label>
      <label for=${id('port')}><span>${t('mailboxes.port')}</span>
        <input id=${id('port')} type="number" min="1" max="65535" required ...${f.field(`${kind}.port`)} data-testid=${`mailbox-${kind}-port`} /></label>
      <label for=${id('user')}><span>${t('mailboxes.user')}</span>
        <input id=${id('user')} autocomplete="off" ...${f.field(`${kind}.user`)} data-testid=${`mailbox-${kind}-user`} /></label>
      <label for=${id('password')}><span>${editing ? t('mailboxes.password_keep') : t('admin.password')}</span>
        <input id=${id('password')} type="password" autocomplete="new-password" required=${!editing && kind === 'imap'}
          ...${f.field(`${kind}.password`)} data-testid=${`mailbox-${kind}-password`} /></label>
    </fieldset>
  `;
}

export function MailboxForm({ mailbox, queues, onSave, onCancel, error }) {
  const editing = Boolean(mailbox);
  const f = useForm(editing ? mailboxToForm(mailbox) : emptyMailboxForm((queues[0] || {}).id || ''));
  return html`
    <form class="edit-form grid-form" data-testid="mailbox-form" onSubmit=${(e) => { e.preventDefault(); onSave(f.form); }}>
      <h2 class="section-title full">${editing ? t('mailboxes.edit', { address: mailbox.address }) : t('mailboxes.new')}</h2>
      <label for="mailbox-address"><span>${t('mailboxes.address')}</span>
        <input id="mailbox-address" type="email" required ...${f.field('address')} data-testid="mailbox-address" /></label>
      <label for="mailbox-display-name"><span>${t('mailboxes.display_name')}</span>
        <input id="mailbox-display-name" ...${f.field('display_name')} data-testid="mailbox-display-name" /></label>
      <label for="mailbox-queue"><span>${t('mailboxes.queue')}</span>
        <select id="mailbox-queue" required ...${f.pick('queue_id')} data-testid="mailbox-queue">
          <option value="" disabled>${t('mailboxes.choose_queue')}</option>
          ${queues.map((q) => html`<option key=${q.id} value=${q.id}>${q.name}</option>`)}
        </select></label>
      <label for="mailbox-folder"><span>${t('mailboxes.folder')}</span>
        <input id="mailbox-folder" ...${f.field('folder')} data-testid="mailbox-folder" /></label>
      <label for="mailbox-done-folder"><span>${t('mailboxes.done_folder')}</span>
        <input id="mailbox-done-folder" ...${f.field('done_folder')} aria-describedby="mailbox-done-hint" data-testid="mailbox-done-folder" />
        <span id="mailbox-done-hint" class="hint">${t('mailboxes.done_folder_hint')}</span></label>
      <${Server} kind="imap" f=${f} editing=${editing} />
      <${Server} kind="smtp" f=${f} editing=${editing} />
      <label class="full" for="mailbox-signature"><span>${t('mailboxes.signature')}</span>
        <textarea id="mailbox-signature" rows="3" ...${f.field('signature')} data-testid="mailbox-signature"></textarea></label>
      <div class="form-actions full">
        <button class="primary" type="submit" data-testid="mailbox-save">${editing ? t('action.save') : t('action.add')}</button>
        ${editing && html`<button type="button" onClick=${onCancel} data-testid="mailbox-cancel">${t('action.cancel')}</button>`}
      </div>
      ${error && html`<p class="form-error full" role="alert" data-testid="mailbox-form-error">${error}</p>`}
    </form>
  `;
}
