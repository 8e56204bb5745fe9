// Admin: the mails a mailbox could not take in (broken MIME, too big, no sender), newest first, with
// where each was on the server and why; they are kept here, not retried forever.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, formatDateTime } from '../i18n.js';
import { formatSize } from '../email.js';

export function MailboxFailures({ mailbox }) {
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api.mailboxFailures(mailbox.id).then(setList, () => setError(t('error.generic')));
  }, [mailbox.id]);
  return html`
    <section class="failures" data-testid="mailbox-failures" aria-label=${t('mailboxes.failures_of', { address: mailbox.address })}>
      <h2 class="section-title">${t('mailboxes.failures_of', { address: mailbox.address })}</h2>
      ${error && html`<p class="form-error" role="alert">${error}</p>`}
      ${list && list.length === 0 && html`<p class="muted" data-testid="mailbox-failures-none">${t('mailboxes.no_failures')}</p>`}
      ${list && list.length > 0 && html`
        <table class="table">
          <thead><tr><th>${t('mailboxes.failed_at')}</th><th>${t('mailboxes.reference')}</th><th>${t('mailboxes.reason')}</th><th>${t('mailboxes.size')}</th></tr></thead>
          <tbody>
            ${list.map((x) => html`<tr key=${x.id} data-testid="mailbox-failure">
              <td>${formatDateTime(x.at)}</td><td><code>${x.reference}</code></td>
              <td data-testid="mailbox-failure-reason">${x.reason}</td><td>${formatSize(x.size)}</td>
            </tr>`)}
          </tbody>
        </table>`}
    </section>
  `;
}
