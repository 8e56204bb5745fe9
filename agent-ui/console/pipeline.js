// The pipeline as the console shows it (GET /opportunities, /pipeline/settings): stage and
// lifecycle labels (the account's words, else the catalogue's for the default keys, else the
// key), amounts in minor units as money, totals per currency, and the board's columns. Pure but
// for `loadPipelineSettings`, which reads the account's settings once per page load.
import * as api from './api.js';
import { t } from './i18n.js';

let loaded = null;

/** The account's pipeline settings, read once (the card shows lifecycle labels from them). */
export function loadPipelineSettings() {
  if (!loaded) loaded = api.pipelineSettings().catch(() => { loaded = null; return null; });
  return loaded;
}

export const LIFECYCLE = ['lead', 'prospect', 'customer', 'churned'];
const DEFAULT_STAGES = ['qualification', 'proposal', 'negotiation', 'won', 'lost'];

/** A stage's name: the account's label, the catalogue's for a default key, else the key. */
export function stageLabel(settings, key) {
  const s = ((settings && settings.stages) || []).find((x) => x.key === key);
  if (s && s.label) return s.label;
  return DEFAULT_STAGES.includes(key) ? t(`pipeline.stage.${key}`) : key;
}

/** A lifecycle stage's name: the account's, else the catalogue's. */
export function lifecycleLabel(settings, key) {
  if (!key) return '';
  const own = settings && settings.lifecycle_labels && settings.lifecycle_labels[key];
  return own || t(`lifecycle.${key}`);
}

/** Minor units as money: two decimals (none for currencies without them), with the code. */
const NO_DECIMALS = ['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX'];
export function money(amount, currency) {
  const digits = NO_DECIMALS.includes(currency) ? 0 : 2;
  const n = Number(amount) / 10 ** digits;
  return `${n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })} ${currency}`;
}

/** What a form's amount (`1,250.50`, `1250.5`, `1250`) is in minor units; null when it is no amount. */
export function minorUnits(text, currency) {
  const digits = NO_DECIMALS.includes(String(currency || '').toUpperCase()) ? 0 : 2;
  const clean = String(text ?? '').trim().replace(/,/g, '');
  const pattern = digits ? /^\d+(\.\d{1,2})?$/ : /^\d+$/;
  if (!pattern.test(clean)) return null;
  const [whole, frac = ''] = clean.split('.');
  return Number(whole) * 10 ** digits + Number((frac + '00').slice(0, digits) || 0);
}

/** Totals by currency (`{EUR: 125000, CNY: 900}`) in words, one currency after another. */
export function totalsText(byCurrency) {
  const entries = Object.entries(byCurrency || {});
  if (!entries.length) return '—';
  return entries.map(([c, a]) => money(a, c)).join(' · ');
}

/** The board's columns in the settings' order: each stage with its cards and its totals. */
export function columns(board) {
  const stages = (board && board.settings && board.settings.stages) || [];
  const totals = (board && board.forecast && board.forecast.stages) || [];
  const opps = (board && board.opportunities) || [];
  return stages.map((s) => ({
    stage: s,
    cards: opps.filter((o) => o.stage === s.key),
    totals: (totals.find((x) => x.key === s.key) || { total: {}, weighted: {} }),
  }));
}

/** The owners on a board, by name, for the owner filter. */
export function owners(board) {
  const seen = new Map();
  for (const o of (board && board.opportunities) || []) seen.set(o.owner_id, o.owner_name);
  return [...seen].map(([id, name]) => ({ id, name })).sort((a, b) => a.name.localeCompare(b.name));
}
