// A value the admin pastes elsewhere (a webhook URL, a verify token), read-only, with a Copy
// button. The clipboard API needs a secure context, which a hub reached over plain http on a LAN
// is not: there the value is selected instead and the admin is told to press Ctrl+C.
import { useState, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function CopyField({ id, label, value, hideLabel = false, testid }) {
  const [status, setStatus] = useState(null);
  const input = useRef(null);

  async function copy() {
    try {
      if (!globalThis.isSecureContext || !navigator.clipboard) throw new Error('no clipboard here');
      await navigator.clipboard.writeText(value);
      setStatus('copied');
    } catch {
      input.current.focus();
      input.current.select();
      setStatus('copy_by_hand');
    }
  }

  return html`
    <div class="copy-field">
      <label for=${id} class=${hideLabel ? 'visually-hidden' : ''}><span>${label}</span></label>
      <div class="copy-row">
        <input id=${id} ref=${input} readonly value=${value} spellcheck="false" onFocus=${(e) => e.currentTarget.select()} data-testid=${testid} />
        <button type="button" class="small" aria-label=${t('inboxes.copy_of', { what: label })} onClick=${copy} data-testid=${`${testid}-copy`}>${t('inboxes.copy')}</button>
      </div>
      <span class="hint" aria-live="polite" data-testid=${`${testid}-copy-status`}>${status ? t(`inboxes.${status}`) : ''}</span>
    </div>
  `;
}
