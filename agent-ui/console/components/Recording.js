// A call's recording or a voicemail, played in the page: fetched when asked (the request needs
// the session token), then an <audio> element.
import { html } from '../html.js';
import { useState } from 'preact/hooks';
import { t } from '../i18n.js';
import { recordingUrl } from '../api.js';

export function Recording({ id }) {
  const [url, setUrl] = useState(null);
  const [failed, setFailed] = useState(false);
  if (url) return html`<audio controls src=${url} data-testid="recording-audio"></audio>`;
  const load = () => recordingUrl(id).then(setUrl, () => setFailed(true));
  return failed
    ? html`<span class="muted small-text" data-testid="recording-missing">${t('call.no_recording')}</span>`
    : html`<button class="link" onClick=${load} data-testid="recording-play">${t('call.play_recording')}</button>`;
}
