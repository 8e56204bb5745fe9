// The files going with a mail being written: "Attach files" opens the file picker (a real file
// input behind a label, so keyboards and screen readers reach it), and each file is listed with
// its size, its upload's progress, why it failed if it did, and a button to take it off. The
// list (attachments.js) lives with the draft; this only renders it and reports the agent's picks.
import { html } from '../html.js';
import { t, errorText } from '../i18n.js';
import { formatSize } from '../email.js';
import { percent } from '../attachments.js';

function reason(error) {
  if (!error) return '';
  if (error.code === 'too_large') return t('email.attach_too_large');
  if (error.code === 'unavailable') return t('email.send_offline');
  return errorText(error);
}

export function AttachmentPicker({ idPrefix, attachments, disabled, onPick, onRemove }) {
  const inputId = `${idPrefix}-files`;
  const files = attachments || [];
  return html`
    <div class="attach" data-testid="attach">
      <input type="file" multiple id=${inputId} class="visually-hidden" disabled=${disabled}
        onChange=${(e) => { const picked = [...e.currentTarget.files]; e.currentTarget.value = ''; if (picked.length) onPick(picked); }}
        data-testid="attach-input" />
      <label for=${inputId} class=${`button-like small${disabled ? ' disabled' : ''}`} data-testid="attach-button">
        ${t('email.attach')}</label>
      ${files.length > 0 && html`
        <ul class="attach-list" aria-label=${t('email.attachments_to_send')} data-testid="attach-list">
          ${files.map((a) => html`
            <li key=${a.key} class=${`attach-item attach-${a.status}`} data-testid="attach-item" data-status=${a.status} data-name=${a.name}>
              <span class="attachment-name" data-testid="attach-name">${a.name}</span>
              <span class="attachment-size muted">${formatSize(a.size)}</span>
              ${a.status === 'uploading' && html`
                <progress max="100" value=${percent(a)} aria-label=${t('email.attach_uploading', { name: a.name })} data-testid="attach-progress"></progress>
                <span class="muted small-text">${percent(a)}%</span>`}
              ${a.status === 'done' && html`<span class="muted small-text" data-testid="attach-done">${t('email.attach_done')}</span>`}
              ${a.status === 'failed' && html`<span class="form-error small-text" role="alert" data-testid="attach-error">${t('email.attach_failed', { reason: reason(a.error) })}</span>`}
              <button type="button" class="link small" disabled=${disabled} onClick=${() => onRemove(a.key)}
                aria-label=${t('email.attach_remove', { name: a.name })} data-testid="attach-remove">${t('email.remove')}</button>
            </li>`)}
        </ul>`}
    </div>
  `;
}
