// Reports and staffing for the console, pure: the figures a report table shows, how each reads,
// and the geometry of the report chart (bars of offered contacts per interval, the service level
// as a line). ReportsView renders them; only api.js fetches.

/** The columns of a report table: the figure's key in the API, and how it reads. */
export const COLUMNS = [
  { key: 'offered', kind: 'count' },
  { key: 'answered', kind: 'count' },
  { key: 'answered_offline', kind: 'count' },
  { key: 'abandoned', kind: 'count' },
  { key: 'service_level', kind: 'ratio' },
  { key: 'abandon_rate', kind: 'ratio' },
  { key: 'asa_ms', kind: 'duration' },
  { key: 'aht_ms', kind: 'duration' },
  { key: 'avg_talk_ms', kind: 'duration' },
  { key: 'avg_hold_ms', kind: 'duration' },
  { key: 'avg_wrap_up_ms', kind: 'duration' },
  { key: 'longest_wait_ms', kind: 'duration' },
  { key: 'transfers', kind: 'count' },
  { key: 'fcr_rate', kind: 'ratio' },
];

/** Agent rows add their time per state and occupancy. */
export const AGENT_COLUMNS = [
  { key: 'occupancy', kind: 'ratio' },
  { key: 'available_ms', kind: 'duration' },
  { key: 'busy_ms', kind: 'duration' },
  { key: 'wrap_up_state_ms', kind: 'duration' },
  { key: 'break_ms', kind: 'duration' },
];

export function columnsFor(dimension) {
  return dimension === 'agent' ? [...COLUMNS, ...AGENT_COLUMNS] : COLUMNS;
}

/** A figure as a cell reads: counts as they are, ratios as percentages, durations as m:ss. */
export function formatFigure(kind, value, formatDuration) {
  if (value == null) return '—';
  if (kind === 'ratio') return `${(value * 100).toFixed(1)} %`;
  if (kind === 'duration') return formatDuration(value);
  return String(value);
}

/** The query string of a report or staffing request. */
export function reportQuery({ from, to, granularity }, extra = {}) {
  const params = new URLSearchParams({ from, to, granularity, ...extra });
  return params.toString();
}

/** `YYYY-MM-DD` of a Date in the browser's time zone (the default range's ends). */
export function isoDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * The chart of one row: a bar per interval for offered contacts (scaled to the busiest interval)
 * and a point per interval for the service level (0–100 %), in a `width` × `height` box.
 * Intervals that counted nothing for the service level have no point, so the line breaks there.
 */
export function chartGeometry(row, width, height) {
  const cells = row.intervals;
  const n = Math.max(cells.length, 1);
  const slot = width / n;
  const most = Math.max(1, ...cells.map((c) => c.offered));
  const bars = cells.map((c, i) => {
    const h = (c.offered / most) * height;
    return { x: i * slot + slot * 0.1, y: height - h, width: slot * 0.8, height: h, offered: c.offered };
  });
  const segments = [];
  let current = [];
  cells.forEach((c, i) => {
    if (c.service_level == null) {
      if (current.length) segments.push(current);
      current = [];
      return;
    }
    current.push({ x: i * slot + slot / 2, y: height - c.service_level * height });
  });
  if (current.length) segments.push(current);
  // A lone point draws no line: it is shown as a dot.
  const dots = segments.filter((points) => points.length === 1).map(([p]) => p);
  return { bars, lines: segments.map((points) => points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')), dots, most };
}

/** An interval's label as the table's first column shows it: the local time, or the date. */
export function intervalLabel(label, granularity) {
  if (granularity === 'day' || granularity === 'week') return label.slice(0, 10);
  return `${label.slice(5, 10)} ${label.slice(11, 16)}${label.slice(19)}`;
}
