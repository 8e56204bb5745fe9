// A mail's attachments with their size, each downloadable: the bytes are fetched with the session
// token (a link cannot send it) and saved from a blob URL under the file's own name.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { formatSize } from '../email.js';

/** Saves an attachment (`{id, filename}`) under its own name. */
export async function saveAttachment(a) {
  saveBlob(await api.attachmentBlob(a.id), a.filename);
}

/** Saves bytes fetched with the token as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own copy once started; give the browser a moment before letting go.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

export function AttachmentList({ attachments }) {
  const [failed, setFailed] = useState(null);
  if (!attachments || attachments.length === 0) return null;
  return html`
    <div class="attachments">
      <h4 class="visually-hidden">${t('email.attachments')}</h4>
      <ul class="attachment-list" data-testid="email-attachments">
        ${attachments.map((a) => html`
          <li key=${a.id} class="attachment" data-testid="email-attachment">
            <button class="attachment-button" onClick=${() => { setFailed(null); saveAttachment(a).catch(() => setFailed(a.id)); }}
              aria-label=${t('email.download', { name: a.filename, size: formatSize(a.size) })} data-testid="email-attachment-download">
              <span class="attachment-icon" aria-hidden="true">⤓</span>
              <span class="attachment-name" data-testid="email-attachment-name">${a.filename}</span>
              <span class="attachment-size muted">${formatSize(a.size)}</span>
            </button>
            ${failed === a.id && html`<span class="form-error small-text" role="alert">${t('email.download_failed')}</span>`}
          </li>`)}
      </ul>
    </div>
  `;
}
