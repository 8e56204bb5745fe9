// The softphone's keypad, during a call whose audio is in this browser: the agent presses keys
// (these buttons, or the keyboard's digits while the call card has focus, see ChatPane) to answer
// an IVR or give a PIN; the hub sends them to the other party as RFC 4733 events. The keys sent
// on this call show beside the pad.
import { html } from '../html.js';
import { t } from '../i18n.js';
import { KEYPAD } from '../softphone.js';

const testId = (key) => `keypad-${key === '*' ? 'star' : key === '#' ? 'hash' : key}`;

export function Keypad({ sent, onKey }) {
  return html`
    <div class="keypad" role="group" aria-label=${t('call.keypad')} data-testid="keypad">
      <div class="keypad-keys">
        ${KEYPAD.map((key) => html`<button type="button" key=${key} onClick=${() => onKey(key)} data-testid=${testId(key)}>${key}</button>`)}
      </div>
      <output class="keypad-sent" data-testid="keypad-sent" aria-live="polite">${sent ? t('call.keys_sent', { keys: sent }) : t('call.keypad_hint')}</output>
    </div>
  `;
}
