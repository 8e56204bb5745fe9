// A value the admin pastes elsewhere (a webhook URL, a verify token), shown whole, with a Copy
// button. The clipboard API needs a secure context, which a hub reached over plain http on a LAN
// is not: there the value is selected instead and the admin is told to press Ctrl+C.
import { useState, useRef } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';

export function CopyField({ id, label, value, hideLabel = false, testid }) {
  const [status, setStatus] = useState(null);
  const shown = useRef(null);

  async function copy() {
    try {
      if (!globalThis.isSecureContext || !navigator.clipboard) throw new Error('no clipboard here');
      await navigator.clipboard.writeText(value);
      setStatus('copied');
    } catch {
      getSelection().selectAllChildren(shown.current);
      setStatus('copy_by_hand');
    }
  }

  return html`
    <div class="copy-field" role="group" aria-labelledby=${`${id}-label`}>
      <span id=${`${id}-label`} class=${hideLabel ? 'visually-hidden' : 'copy-label'}>${label}</span>
      <div class="copy-row">
        <code id=${id} ref=${shown} class="copy-value" data-testid=${testid}>${value}</code>
        <button type="button" class="small" aria-label=${t('inboxes.copy_of', { what: label })} onClick=${copy} data-testid=${`${testid}-copy`}>${t('inboxes.copy')}</button>
      </div>
      <span class="hint" aria-live="polite" data-testid=${`${testid}-copy-status`}>${status ? t(`inboxes.${status}`) : ''}</span>
    </div>
  `;
}
