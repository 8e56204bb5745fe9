// Where the agent's calls ring: their SIP desk phone, or this console (the browser softphone,
// softphone.js). Kept on the agent's profile, so the hub knows whom to ring and how.
import { html } from '../html.js';
import { t } from '../i18n.js';

export function DevicePicker({ device, onDevice }) {
  return html`
    <label class="device-picker">
      <span class="visually-hidden">${t('device.label')}</span>
      <select value=${device} onChange=${(e) => onDevice(e.currentTarget.value)} data-testid="device-picker" title=${t('device.label')}>
        <option value="desk">${t('device.desk')}</option>
        <option value="browser">${t('device.browser')}</option>
      </select>
    </label>
  `;
}
