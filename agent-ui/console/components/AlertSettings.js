// The agent's attention settings (prefs.js): desktop notifications, asked for from this click
// (the browser's permission prompt shows once; its answer is kept), and the ring sound.
import { html } from '../html.js';
import { t } from '../i18n.js';

export function AlertSettings({ prefs, permission, onNotify, onSound, onHelp }) {
  const blocked = permission === 'denied' || permission === 'unsupported';
  return html`
    <details class="alert-settings" data-testid="alert-settings">
      <summary data-testid="alert-settings-toggle">${t('alerts.title')}</summary>
      <div class="alert-settings-panel">
        <label class="check">
          <input type="checkbox" checked=${prefs.notify && permission === 'granted'} disabled=${blocked}
            onChange=${(e) => onNotify(e.currentTarget.checked)} data-testid="alerts-notify" />
          <span>${t('alerts.notify')}</span>
        </label>
        ${blocked && html`<p class="muted small-text" data-testid="alerts-blocked">${t(permission === 'denied' ? 'alerts.denied' : 'alerts.unsupported')}</p>`}
        <label class="check">
          <input type="checkbox" checked=${prefs.sound} onChange=${(e) => onSound(e.currentTarget.checked)} data-testid="alerts-sound" />
          <span>${t('alerts.sound')}</span>
        </label>
        <button class="link" onClick=${onHelp} data-testid="shortcuts-open">${t('shortcuts.open')}</button>
      </div>
    </details>
  `;
}
