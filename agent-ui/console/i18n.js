// The console's strings: every visible word comes from a catalogue (i18n/en.js, i18n/zh-CN.js).
// The locale is the agent's profile setting (`agent.locale`); before login, the browser's.

import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

const catalogues = { en, 'zh-CN': zhCN };

/** The locales the console offers, each named in its own language. */
export const LOCALES = [
  { code: 'en', label: 'English' },
  { code: 'zh-CN', label: '简体中文' },
];

let current = 'en';

/** "zh", "zh-TW", "zh-Hans-CN" → "zh-CN"; anything else → "en". */
export function normalizeLocale(tag) {
  return typeof tag === 'string' && tag.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

export function setLocale(tag) {
  current = normalizeLocale(tag);
  if (typeof document !== 'undefined') document.documentElement.lang = current;
  return current;
}

export function getLocale() {
  return current;
}

/** The string for `key` with `{name}` placeholders filled from `params`. */
export function t(key, params) {
  const s = catalogues[current][key] ?? en[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/** A label for a server-side value (state, channel, reason…) when the catalogue knows it. */
export function label(prefix, value) {
  if (value == null || value === '') return '';
  const key = `${prefix}.${value}`;
  const s = catalogues[current][key] ?? en[key];
  return s ?? String(value);
}

/**
 * What went wrong, for the agent: the label of the hub's error code in the console's language
 * (an unknown code, or none: "something went wrong"). The hub's own text is English; it follows
 * as the detail in the English console only, never inside another language.
 */
export function errorText(err) {
  const code = err && err.code;
  const known = code && (catalogues[current][`error.${code}`] ?? en[`error.${code}`]);
  const text = known || t('error.generic');
  return current === 'en' && err && err.message && known ? `${text} — ${err.message}` : text;
}

/**
 * A disposition's label: the admin's own label, unless the agent reads another language and the
 * catalogue translates that code.
 */
export function dispositionLabel(code, fallback) {
  if (current !== 'en' && catalogues[current][`disposition.${code}`]) return catalogues[current][`disposition.${code}`];
  return fallback || code;
}

// Making an Intl.DateTimeFormat costs far more than using one (it was the console's largest
// script cost with 200 conversations open: every message and inbox line shows a time, on every
// render), so each locale's formatter of each style is made once and kept.
const STYLES = {
  time: { hour: '2-digit', minute: '2-digit' },
  dateTime: { dateStyle: 'medium', timeStyle: 'short' },
};
const formatters = new Map();

function formatter(style) {
  const key = `${current} ${style}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(current, STYLES[style]);
    formatters.set(key, f);
  }
  return f;
}

export function formatTime(ms) {
  if (ms == null) return '';
  return formatter('time').format(new Date(ms));
}

export function formatDateTime(ms) {
  if (ms == null) return '';
  return formatter('dateTime').format(new Date(ms));
}

/** "4:05" for 245 000 ms; "1:02:03" past an hour. */
export function formatDuration(ms) {
  if (ms == null) return '';
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export { catalogues };
