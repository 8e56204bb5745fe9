// The bar across the top: brand, navigation, the agent's presence, where their calls ring,
// alerts, language, who is logged in (a link to their own page: the name and picture customers see).
import { html } from '../html.js';
import { t } from '../i18n.js';
import { Nav } from './Nav.js';
import { StatePicker } from './StatePicker.js';
import { LocalePicker } from './LocalePicker.js';
import { AlertSettings } from './AlertSettings.js';
import { DevicePicker } from './DevicePicker.js';

export function TopBar({ agent, role, route, agentState, connection, locale, onState, onLocale, onLogout, prefs, notifyPermission, onNotify, onSound, onHelp, device, onDevice }) {
  return html`
    <header class="topbar">
      <div class="brand"><span class="brand-mark"></span>${t('app.name')}</div>
      <${Nav} role=${role} route=${route} />
      <div class="topbar-right">
        <span class=${`connection connection-${connection}`} data-testid="connection-status"
          title=${t(`connection.${connection}`)}>${connection === 'open' ? '' : t(`connection.${connection}`)}</span>
        <${StatePicker} agentState=${agentState} onState=${onState} disabled=${connection !== 'open'} />
        ${device && html`<${DevicePicker} device=${device} onDevice=${onDevice} />`}
        <${AlertSettings} prefs=${prefs} permission=${notifyPermission} onNotify=${onNotify} onSound=${onSound} onHelp=${onHelp} />
        <${LocalePicker} locale=${locale} onLocale=${onLocale} />
        <a class="whoami" href="#/profile" title=${t('nav.profile')} data-testid="agent-name">${agent && agent.avatar_at
          ? html`<img class="face" src=${`/avatars/${agent.id}?v=${agent.avatar_at}`} alt="" width="18" height="18" />` : ''}${agent ? agent.name : ''}</a>
        <button class="link" onClick=${onLogout} data-testid="logout">${t('nav.logout')}</button>
      </div>
    </header>
  `;
}
