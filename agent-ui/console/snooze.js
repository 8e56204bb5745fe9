// Snoozing a conversation and reopening a closed one: the times the agent can choose (in their
// own time zone: the browser's), a custom time read from a date-time field, and which inbox lines
// offer what. Pure: SnoozeControl.js and Inbox.js render, api.js asks the hub.

/** The furthest ahead the hub lets a conversation be snoozed (90 days). */
export const MAX_SNOOZE_MS = 90 * 86_400_000;

/** The choices, in the order the menu shows them; `custom` opens a date-time field. */
export const SNOOZE_CHOICES = ['hour', 'tomorrow', 'next_week', 'custom'];

/** When a choice comes back, from `now` (a Date), in the agent's time zone: in an hour, tomorrow
 * at 9:00, next Monday at 9:00. `null` for `custom` (the field says) or an unknown choice. */
export function snoozeUntil(choice, now = new Date()) {
  const at9 = (days) => {
    const d = new Date(now.getTime());
    d.setDate(d.getDate() + days);
    d.setHours(9, 0, 0, 0);
    return d.getTime();
  };
  switch (choice) {
    case 'hour':
      return now.getTime() + 3_600_000;
    case 'tomorrow':
      return at9(1);
    case 'next_week':
      // Monday is 1: the next one, a week ahead when today is Monday.
      return at9(((8 - now.getDay()) % 7) || 7);
    default:
      return null;
  }
}

/** A `datetime-local` field's value (`2026-12-01T09:30`, the agent's time) as milliseconds, or
 * `null` when it is empty, not a time, not in the future or past what the hub allows. */
export function customUntil(value, now = new Date()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(String(value || '').trim());
  if (!m) return null;
  const [, y, mo, d, h, mi] = m.map(Number);
  const at = new Date(y, mo - 1, d, h, mi, 0, 0);
  if (at.getMonth() !== mo - 1 || at.getDate() !== d) return null;
  const ms = at.getTime();
  if (ms <= now.getTime() || ms > now.getTime() + MAX_SNOOZE_MS) return null;
  return ms;
}

/** Whether the agent may snooze this held interaction: an active chat or email (or messaging
 * conversation), never a call. */
export function snoozable(interaction) {
  return Boolean(interaction) && interaction.state === 'active' && interaction.channel !== 'voice';
}

/** Whether an inbox line offers "Reopen": a closed or abandoned conversation that is not a call. */
export function reopenable(interaction) {
  return Boolean(interaction) && ['closed', 'abandoned'].includes(interaction.state) && interaction.channel !== 'voice';
}
