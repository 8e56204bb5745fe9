// A mail's HTML, shown only inside a sandboxed iframe (no allow-scripts, no allow-same-origin) whose
// srcdoc starts with its own CSP (email.js frameDocument): the mail never becomes part of the
// console's DOM. Inline images (`cid:`) are the mail's own attachments, fetched with the session
// token and handed to the frame as data: URLs; remote images load only once the agent asked.
//
// data: rather than blob: URLs: a srcdoc frame also inherits the console page's own CSP, and that
// allows data: images but not blob: ones.
import { useState, useEffect } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t } from '../i18n.js';
import { frameDocument, inlineImages, FRAME_SANDBOX } from '../email.js';

function dataUrl(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

/**
 * The data: URLs of the inline images `markup` refers to, by content id; null while they load (the
 * frame waits for them rather than load its document twice). An image that cannot be fetched is
 * left out: the mail shows its alt text, and the attachment list still offers the file.
 */
function useInlineImages(markup, attachments) {
  const wanted = Object.entries(inlineImages(attachments))
    .filter(([cid]) => markup.includes(`cid:${cid}`) || markup.includes(`cid:${encodeURIComponent(cid)}`));
  const key = wanted.map(([cid, a]) => `${cid}=${a.id}`).join(' ');
  const [loaded, setLoaded] = useState({ key: '', urls: {} });
  useEffect(() => {
    if (!key) return undefined;
    let live = true;
    Promise.all(wanted.map(async ([cid, a]) => {
      try {
        return [cid, await dataUrl(await api.attachmentBlob(a.id, a.content_type))];
      } catch {
        return null;
      }
    })).then((pairs) => {
      if (live) setLoaded({ key, urls: Object.fromEntries(pairs.filter(Boolean)) });
    });
    return () => {
      live = false;
    };
  }, [key]);
  if (!key) return {};
  return loaded.key === key ? loaded.urls : null;
}

export function EmailFrame({ markup, attachments, showRemote, title }) {
  const cidUrls = useInlineImages(markup, attachments || []);
  if (cidUrls === null) return html`<div class="email-frame-wrap email-frame-loading muted" data-testid="email-frame-loading">${t('common.loading')}</div>`;
  // `sandbox` comes first so it is in place before the frame ever loads its document.
  return html`
    <div class="email-frame-wrap">
      <iframe sandbox=${FRAME_SANDBOX} referrerpolicy="no-referrer" title=${title}
        srcdoc=${frameDocument(markup, { cidUrls, showRemote })}
        data-testid="email-frame" data-remote-images=${showRemote ? 'shown' : 'held'}></iframe>
    </div>
  `;
}
