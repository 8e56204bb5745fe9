// The account's own customer fields (GET /customer-fields) as the console shows and edits them:
// a value in words, and what a form's inputs become in a PATCH. Pure but for `loadFields`, which
// reads the definitions once per page load (an admin's save reloads them).
import * as api from './api.js';

export const KINDS = ['text', 'number', 'date', 'choice', 'multi_choice'];

let loaded = null;

/** The definitions, read once; `fresh` reads them again (after an admin changed them). */
export function loadFields(fresh = false) {
  if (!loaded || fresh) loaded = api.customerFields().catch(() => { loaded = null; return []; });
  return loaded;
}

/** A value in words: a multi-choice's picks joined, anything absent empty. */
export function fieldText(value) {
  if (value == null) return '';
  if (Array.isArray(value)) return value.join(', ');
  return String(value);
}

/** A form's raw input for a field (a string; a list of picks for a multi-choice) as the value
 * the hub keeps: a number as a number, an empty input as null (taking the value away). */
export function fieldValue(def, raw) {
  if (def.kind === 'multi_choice') return raw && raw.length ? def.choices.filter((c) => raw.includes(c)) : null;
  const text = String(raw ?? '').trim();
  if (!text) return null;
  if (def.kind === 'number') {
    const n = Number(text.replace(',', '.'));
    return Number.isFinite(n) ? n : text;
  }
  return text;
}

/** The fields of `defs` whose value changed from `current`: what a PATCH sends. */
export function changedFields(defs, current, raws) {
  const out = {};
  for (const def of defs) {
    if (!(def.key in raws)) continue;
    const next = fieldValue(def, raws[def.key]);
    const before = current[def.key] ?? null;
    if (JSON.stringify(next) !== JSON.stringify(before)) out[def.key] = next;
  }
  return out;
}

/** Choices as an admin types them (one per line, or separated by commas). */
export function parseChoices(text) {
  const seen = new Set();
  return String(text || '').split(/[\n,，]/).map((c) => c.trim()).filter((c) => c && !seen.has(c) && seen.add(c));
}
