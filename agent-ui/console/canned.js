// Canned responses in the composer, pure: which `/word` the caret is in, which responses match
// it (the most used first, as the hub lists them), and the text with one put in its place, its
// variables filled. Composer renders the list; node --test runs this as it is.

/** The variables a canned response may hold, and where each value comes from. */
export const VARIABLES = {
  'customer.name': (v) => v.customer && v.customer.name,
  'customer.email': (v) => v.customer && v.customer.email,
  'customer.phone': (v) => v.customer && v.customer.phone,
  'agent.name': (v) => v.agent && (v.agent.display_name || v.agent.name),
  'agent.first_name': (v) => {
    const name = v.agent && (v.agent.display_name || v.agent.name);
    return name ? name.trim().split(/\s+/)[0] : '';
  },
};

/**
 * `body` with each known `{{variable}}` replaced by its value (a missing value becomes empty);
 * an unknown one stays as written, so the agent sees it before sending.
 */
export function fill(body, values) {
  return body.replace(/\{\{\s*([a-z_]+(?:\.[a-z_]+)*)\s*\}\}/g, (whole, name) => {
    const get = VARIABLES[name];
    if (!get) return whole;
    const value = get(values || {});
    return value == null ? '' : String(value);
  });
}

/**
 * The `/word` being typed at `caret`: `{ start, query }` (start: where the `/` is), or null
 * when the caret is not in a word that starts with `/` at the start of a word.
 */
export function slashAt(text, caret) {
  const end = Math.max(0, Math.min(caret ?? text.length, text.length));
  let start = end;
  while (start > 0 && !/\s/.test(text[start - 1])) start -= 1;
  if (text[start] !== '/') return null;
  const query = text.slice(start + 1, end);
  if (query.includes('/')) return null;
  return { start, query };
}

/** The responses whose shortcut or title has `query` (shortcut prefixes first), in list order. */
export function matching(list, query) {
  const q = (query || '').toLowerCase();
  if (!q) return list.slice();
  const starts = list.filter((c) => c.shortcut.toLowerCase().startsWith(q));
  const rest = list.filter((c) => !starts.includes(c)
    && (c.shortcut.toLowerCase().includes(q) || c.title.toLowerCase().includes(q)));
  return [...starts, ...rest];
}

/** `text` with the `/word` from `start` to `caret` replaced by `insert`: `{ text, caret }`. */
export function replaceSlash(text, start, caret, insert) {
  return { text: text.slice(0, start) + insert + text.slice(caret), caret: start + insert.length };
}
