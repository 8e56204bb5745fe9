// The inbox page's pure helpers: the list's query string from the chosen filters, when to read
// the list again after a socket frame, how long a customer has waited, and what opening a line
// does. No network, no DOM: Inbox.js renders, api.js fetches.

export const FOLDERS = ['mine', 'snoozed', 'unassigned', 'all', 'closed'];
export const CHANNELS = ['chat', 'email', 'messaging', 'voice'];
export const STATES = ['queued', 'offered', 'active', 'wrap_up', 'closed', 'abandoned'];
export const ORDERS = ['newest', 'oldest'];

/** The filters a fresh inbox starts with. */
export function defaultFilters() {
  return { folder: 'mine', channel: '', queue: '', label: '', state: '', order: 'newest' };
}

/** `GET /conversations`'s query string for these filters (empty ones left out), and a page's
 * cursor. */
export function listQuery(filters, after) {
  const params = new URLSearchParams();
  for (const key of ['folder', 'channel', 'queue', 'label', 'state', 'order']) {
    const value = (filters[key] || '').trim();
    if (value) params.set(key, value);
  }
  if (after) params.set('after', after);
  return params.toString();
}

/** Socket frames after which the list may have changed and is read again. */
const CHANGES = new Set(['conversations.changed', 'message', 'offer', 'offer.revoked', 'interaction.assigned', 'interaction.updated', 'snapshot']);

export function changesInbox(frame) {
  return Boolean(frame) && CHANGES.has(frame.type);
}

/** Whole minutes since `since` (never negative), or null when nobody waits. */
export function waitedMinutes(since, now) {
  if (since == null) return null;
  return Math.max(0, Math.floor((now - since) / 60000));
}

/** A glyph per channel (from fonts every desktop has: emoji are not everywhere), beside its
 * translated name. */
export function channelIcon(channel) {
  return { chat: '✎', email: '✉', messaging: '✆', voice: '☎' }[channel] || '•';
}

/** Where opening a line goes: a conversation the agent holds opens in the workspace; any other
 * opens on its customer's page (its history, read-only). */
export function openTarget(line, heldIds) {
  const id = line.interaction.id;
  if (heldIds.includes(id)) return { kind: 'workspace', id };
  return { kind: 'customer', id: line.interaction.customer_id };
}

/** The unread customer messages across a list. */
export function unreadTotal(lines) {
  return lines.reduce((n, line) => n + (line.unread || 0), 0);
}

/** A page appended to what is shown, each conversation once (a live refresh may have shown a
 * line again). */
export function appendPage(lines, page) {
  const seen = new Set(lines.map((l) => l.interaction.id));
  return lines.concat(page.filter((l) => !seen.has(l.interaction.id)));
}

/** A supervisor may watch a conversation read-only while it is under way and not theirs. */
export function watchable(line, heldIds) {
  return !['closed', 'abandoned'].includes(line.interaction.state) && !heldIds.includes(line.interaction.id);
}

/** The watched conversation after `watched.updated`: its new state, if it is this one. */
export function withWatchedUpdate(watched, interaction) {
  if (!watched || watched.interaction.id !== interaction.id) return watched;
  return { ...watched, interaction };
}

/** The watched conversation with a message from `watched.message`: a new one added in order, a
 * known one (its delivery or files changed) replaced; one of another conversation ignored. */
export function withWatchedMessage(watched, message) {
  if (!watched || watched.interaction.id !== message.interaction_id) return watched;
  const others = watched.messages.filter((m) => m.id !== message.id);
  const messages = others.concat([message]).sort((a, b) => a.seq - b.seq);
  return { ...watched, messages };
}

/** The most labels on a conversation and the longest label in bytes, as the hub allows. */
export const MAX_LABELS = 20;
export const MAX_LABEL_BYTES = 40;

/** A label as the hub keeps it: trimmed and lower-cased. */
export const normalLabel = (text) => String(text || '').trim().toLowerCase();

/** The labels with `text` added, sorted and once each; `null` when it cannot be added (blank,
 * too long, one too many), so the console refuses it before asking the hub. */
export function withLabel(labels, text) {
  const added = normalLabel(text);
  const list = labels || [];
  if (!added || new TextEncoder().encode(added).length > MAX_LABEL_BYTES) return null;
  if (list.includes(added)) return list;
  if (list.length >= MAX_LABELS) return null;
  return [...list, added].sort();
}

/** The labels without `label`. */
export const withoutLabel = (labels, label) => (labels || []).filter((l) => l !== label);

/** A conversation's lines with the notes agents left on it (never sent to the customer), in the
 * order they were written: each item `{ message }` or `{ note }`. */
export function thread(messages, notes, interactionId) {
  const mine = (notes || []).filter((n) => n.interaction_id === interactionId).map((note) => ({ note, at: note.created_at }));
  const lines = (messages || []).map((message) => ({ message, at: message.created_at == null ? Infinity : message.created_at }));
  // A pending line (no time yet) stays last; equal times keep lines before notes.
  return [...lines, ...mine].sort((a, b) => a.at - b.at).map(({ message, note }) => (message ? { message } : { note }));
}
