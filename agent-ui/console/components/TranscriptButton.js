// Downloads a conversation's transcript: every line with its time and its author as the customer
// saw them, as a text file in the console's language (GET /interactions/{id}/transcript, with the
// session's token).
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText, getLocale } from '../i18n.js';
import { saveBlob } from './AttachmentList.js';

export function TranscriptButton({ interactionId }) {
  const [error, setError] = useState(null);
  async function save() {
    setError(null);
    try {
      const { blob, filename } = await api.transcript(interactionId, getLocale());
      saveBlob(blob, filename);
    } catch (err) {
      setError(errorText(err));
    }
  }
  return html`
    <button type="button" class="link small-text" onClick=${save} data-testid="transcript-download">${t('transcript.download')}</button>
    ${error && html`<span class="form-error small-text" role="alert">${error}</span>`}
  `;
}
