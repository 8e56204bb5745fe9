// In an active chat or email: "Snooze" sets it aside until a time the agent picks (in an hour,
// tomorrow at 9:00, next Monday at 9:00, or a date and time of their own). Their slot is free at
// once; it comes back to them when the time comes or the customer writes. Calls have none.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import * as api from '../api.js';
import { t, errorText, formatDateTime } from '../i18n.js';
import { SNOOZE_CHOICES, snoozeUntil, customUntil } from '../snooze.js';

export function SnoozeControl({ interactionId }) {
  const [choice, setChoice] = useState('');
  const [custom, setCustom] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const until = choice === 'custom' ? customUntil(custom) : snoozeUntil(choice);

  async function submit(e) {
    e.preventDefault();
    if (until == null || busy) return;
    setBusy(true);
    setError(null);
    try {
      // The hub tells every console of the agent (`interaction.updated`): it leaves the list.
      await api.snooze(interactionId, until);
    } catch (err) {
      setError(errorText(err));
      setBusy(false);
    }
  }

  return html`
    <form class="transfer snooze" data-testid="snooze-form" onSubmit=${submit}>
      <select value=${choice} onChange=${(e) => setChoice(e.currentTarget.value)} aria-label=${t('snooze.until')} data-testid="snooze-choice">
        <option value="" disabled>${t('snooze.until')}</option>
        ${SNOOZE_CHOICES.map((c) => html`<option key=${c} value=${c}>${t(`snooze.choice.${c}`)}</option>`)}
      </select>
      ${choice === 'custom' && html`<input type="datetime-local" value=${custom} aria-label=${t('snooze.custom_label')}
        onInput=${(e) => setCustom(e.currentTarget.value)} data-testid="snooze-custom" />`}
      <button type="submit" disabled=${until == null || busy} data-testid="snooze-submit"
        title=${until != null ? t('snooze.until_time', { time: formatDateTime(until) }) : undefined}>${t('snooze.action')}</button>
      ${error && html`<span class="form-error" role="alert" data-testid="snooze-error">${error}</span>`}
    </form>
  `;
}
