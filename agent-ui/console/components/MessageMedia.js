// The files a messaging app's message carries, under its text: a photo shown, a voice note or
// audio to play, a video to play, anything else to download; while the hub is still fetching one
// it says so, and one it could not fetch says why. The bytes come with the session token, so each
// is shown from a blob URL (the console's CSP allows blob: images and media, nothing remote).
import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { formatSize } from '../email.js';
import { mediaItems } from '../messaging.js';
import { saveAttachment } from './AttachmentList.js';

/** A blob URL of the attachment's bytes, typed as the hub recorded them; null until loaded. */
function useBlobUrl(attachment) {
  const [url, setUrl] = useState(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let made = null;
    let live = true;
    api.attachmentBlob(attachment.id, attachment.content_type)
      .then((blob) => {
        if (!live) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      })
      .catch(() => live && setFailed(true));
    return () => {
      live = false;
      if (made) URL.revokeObjectURL(made);
    };
  }, [attachment.id]);
  return { url, failed };
}

function Playable({ item }) {
  const a = item.attachment;
  const { url, failed } = useBlobUrl(a);
  if (failed) return html`<span class="form-error small-text" role="alert" data-testid="media-load-failed">${t('media.load_failed')}</span>`;
  if (!url) return html`<span class="muted small-text">${t('media.loading')}</span>`;
  if (item.kind === 'image') {
    return html`<a href=${url} target="_blank" rel="noopener"><img class="message-image" src=${url} alt=${a.filename} data-testid="media-image" /></a>`;
  }
  if (item.kind === 'audio') {
    return html`<audio controls preload="metadata" src=${url} data-testid="media-audio" aria-label=${a.filename}></audio>`;
  }
  return html`<video class="message-video" controls preload="metadata" src=${url} data-testid="media-video" aria-label=${a.filename}></video>`;
}

function Download({ attachment: a }) {
  const [failed, setFailed] = useState(false);
  function save() {
    setFailed(false);
    saveAttachment(a).catch(() => setFailed(true));
  }
  return html`
    <button class="attachment-button" onClick=${save} data-testid="media-download"
      aria-label=${t('email.download', { name: a.filename, size: formatSize(a.size) })}>
      <span class="attachment-icon" aria-hidden="true">⤓</span>
      <span class="attachment-name">${a.filename}</span>
      <span class="attachment-size muted">${formatSize(a.size)}</span>
    </button>
    ${failed && html`<span class="form-error small-text" role="alert">${t('email.download_failed')}</span>`}`;
}

export function MessageMedia({ message }) {
  const items = mediaItems(message);
  if (items.length === 0) return null;
  return html`
    <ul class="message-media">
      ${items.map((item) => html`
        <li key=${item.key} data-testid="media" data-state=${item.state} data-kind=${item.kind || ''}>
          ${item.state === 'fetching' && html`<span class="muted small-text" data-testid="media-fetching">${t('media.fetching')}${item.reason ? ` (${t('media.retrying', { reason: item.reason })})` : ''}</span>`}
          ${item.state === 'failed' && html`<span class="form-error small-text" data-testid="media-failed">${t('media.failed', { reason: item.reason })}</span>`}
          ${item.state === 'kept' && (item.kind === 'file' ? html`<${Download} attachment=${item.attachment} />` : html`<${Playable} item=${item} />`)}
        </li>`)}
    </ul>
  `;
}
