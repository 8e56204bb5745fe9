// A queue's business hours in the admin form: the API's object (time zone, spans per weekday,
// holidays, closed when unstaffed) as text fields and back. The hub checks what it is sent and
// says what is wrong; here the text is only split and joined.

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

const list = (text) => text.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);

/** The form's fields for `hours` (null: the queue is always open). */
export function hoursToForm(hours) {
  const form = { on: Boolean(hours), time_zone: '', holidays: '', unstaffed: false };
  for (const day of DAYS) form[day] = '';
  if (!hours) return form;
  form.time_zone = hours.time_zone;
  form.holidays = (hours.holidays || []).join(', ');
  form.unstaffed = Boolean(hours.closed_when_unstaffed);
  for (const day of DAYS) form[day] = ((hours.open || {})[day] || []).join(', ');
  return form;
}

/** The API's hours for the form's fields; null when business hours are off. */
export function formToHours(form) {
  if (!form.on) return null;
  const open = {};
  for (const day of DAYS) {
    const spans = list(form[day] || '');
    if (spans.length) open[day] = spans;
  }
  return {
    time_zone: form.time_zone.trim(),
    open,
    holidays: list(form.holidays || ''),
    closed_when_unstaffed: Boolean(form.unstaffed),
  };
}

/** The time zone this browser is in, as a starting point for a new queue's hours. */
export function localTimeZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}
