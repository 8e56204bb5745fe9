// The wallboard's rules, pure: how long a queue's oldest contact and an agent's state have lasted
// by now (the hub pushes a board only when something changes, so the page counts on between
// pushes), when a queue turns amber or red, and its day per 15 minutes for the chart.
// SupervisorView renders them.

/** `ms` as it was at the board's time `at`, counted on to `now` (both epoch ms); null stays null. */
export function since(ms, at, now) {
  if (ms == null) return null;
  return ms + Math.max(0, now - at);
}

/**
 * A queue's alert level: 'red' when a waiting contact has passed the queue's service-level
 * threshold, or today's service level is under 60 %; 'amber' when one has waited half the
 * threshold, more contacts wait than agents are available, or today's service level is under
 * 80 %; otherwise 'ok'. `waitedMs` is the oldest wait now (null when nobody waits).
 */
export function queueAlert(queue, waitedMs) {
  const threshold = queue.sl_target_secs * 1000;
  const level = queue.today ? queue.today.service_level : null;
  if ((waitedMs != null && waitedMs >= threshold) || (level != null && level < 0.6)) return 'red';
  if (
    (waitedMs != null && waitedMs >= threshold / 2) ||
    queue.waiting > queue.agents_available ||
    (level != null && level < 0.8)
  ) return 'amber';
  return 'ok';
}

/** What an agent holds, per channel, as "chat 2 · voice 1" (empty when nothing). */
export function holdsText(holds, channelLabel) {
  return Object.entries(holds || {})
    .filter(([, n]) => n > 0)
    .map(([channel, n]) => `${channelLabel(channel)} ${n}`)
    .join(' · ');
}

/**
 * A queue's day as ReportChart's cells: one per 15 minutes of the day (`quarterHours` of them),
 * from the board's `offered_per_15m` and `service_level_per_15m`, which stop at the last interval
 * with anything offered; the rest of the day is empty.
 */
export function dayCells(today, quarterHours) {
  const offered = (today && today.offered_per_15m) || [];
  const levels = (today && today.service_level_per_15m) || [];
  const n = Math.max(quarterHours || 0, offered.length);
  return Array.from({ length: n }, (_, i) => ({ offered: offered[i] ?? 0, service_level: levels[i] ?? null }));
}
