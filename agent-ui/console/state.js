// The console's model: everything the agent sees, rebuilt from the frames of /ws/agent
// (docs/protocol.md) plus a few local events. Pure: `apply(state, event)` returns a new state and
// never touches the network, the clock or the DOM, so it runs under `node --test` as it is.
//
// Local events (never sent by the server) have a `type` starting with "local.":
//   local.connection {status}            the socket's status: "connecting" | "open" | "closed"
//   local.select {interaction_id}        the agent picked a held interaction
//   local.send {interaction_id, client_id, body, at, attachments?}   a message the agent is sending
//                                        (pending until the server's ack; resent after a reconnect;
//                                        `attachments`: a chat's files, by upload id)
//   local.dismiss_error {index}
//   local.draft {interaction_id, patch, defaults}   the agent edits an email reply: `patch` over
//                                        the draft there is, else over `defaults` (the thread's
//                                        recipients and subject)
//   local.email_sending {interaction_id, client_id}  the draft is posted with this client_id
//   local.email_failed {interaction_id, client_id, code, message}   the post failed: the draft
//                                        and its client_id stay, so Send again cannot send twice
//   local.email_sent {interaction_id, client_id, body, message, forward}   the hub stored
//                                        `message` (a forward's body is the note, which the hub
//                                        stored with the forwarded mail below it)
//   local.forward {interaction_id, message_id, subject, defaults}   the draft forwards that mail
//                                        of the thread (recipients cleared, "Fwd: " subject)
//   local.attach {interaction_id, files, defaults}   files picked for the draft, each uploading
//   local.attach_progress {interaction_id, key, loaded}
//   local.attached {interaction_id, key, upload}      the hub kept the file (`upload.id`)
//   local.attach_failed {interaction_id, key, code, message}
//   local.detach {interaction_id, key}   the agent took a file off the draft
//   local.visibility {visible}           the page was hidden or shown again (unread counts)
//   local.act {frame}                    an action (accept, decline, end, wrap-up, transfer, hold)
//                                        the socket could not take: kept until a snapshot says
//                                        whether it still applies (see ACTION_GROUPS)
//   local.acted {keys}                   those queued actions went out on the socket
//   local.reminder_closed {id}           the agent dismissed (or completed) a follow-up reminder
//   local.mention_closed {id}            the agent dismissed a colleague's note naming them

import { addFiles, progress, uploaded, failed, removeFile } from './attachments.js';

/** The state before the first snapshot. */
export function initialState() {
  return {
    connection: 'connecting',
    agent: null,
    agentState: { state: 'offline', reason: null },
    // interaction_id -> Offer, and arrival order for display.
    offers: {},
    offerOrder: [],
    // interaction_id -> { interaction, card, messages: [Message] (by seq), customerTyping,
    //                     customerOnline (null when the channel has no such notion) }
    held: {},
    heldOrder: [],
    selected: null,
    dispositions: [],
    // client_id -> { interaction_id, client_id, body, at }: sent, not yet acknowledged.
    outbox: {},
    // interaction_id -> the email reply (or forward) being written (see emptyDraft).
    drafts: {},
    errors: [],
    // Whether the agent can see the page (document.visibilityState): a message in the selected
    // conversation counts as read only then.
    visible: true,
    // Actions taken while the socket was down, oldest first: [{key, frame}] (see queueAction).
    actions: [],
    // Follow-ups the hub said are due (the agent's) or overdue past escalation (anyone's, for a
    // supervisor), oldest first: [{follow_up, escalated}], one per follow-up.
    reminders: [],
    // Colleagues' notes naming the agent (`note.mentioned`), oldest first, one per note:
    // [{note, by_name, customer_name}].
    mentions: [],
    // A colleague's call the agent is consulted about: {interaction_id, mode, on, with, note,
    // customer} (the agent who consults keeps theirs on the held call: entry.consult).
    consulted: null,
  };
}

const MAX_ERRORS = 5;

/**
 * An email reply being written. `client_id` is chosen on the first Send and kept until the hub has
 * stored the reply, so a retry after a failed request is the same reply, never a second mail.
 * `notice` is "earlier_sent" when a retry found an earlier try already stored with other text.
 * `mode` is "reply", "all" or "forward" (then `forward_of` is the forwarded mail's id and `body`
 * the note above it); `attachments` are the files going with it (attachments.js).
 */
export function emptyDraft() {
  return { mode: 'reply', to: '', cc: '', subject: '', body: '', client_id: null, sending: false, error: null, notice: null, forward_of: null, attachments: [] };
}

const deliveryOf = (m) => (m.channel && m.channel.delivery) || null;

const DELIVERY_RANK = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/**
 * Whether `incoming` may replace `known`, the same message seen before. A reply's delivery only
 * moves forward (queued, sent, delivered, read; or failed): the hub's 202 answer (queued) can
 * arrive after the socket already said "sent", and a platform's reports out of order.
 */
function newer(known, incoming) {
  const was = deliveryOf(known);
  const now = deliveryOf(incoming);
  return !(was && now && DELIVERY_RANK[now] < DELIVERY_RANK[was]);
}

/** Insert `incoming` messages into `list`: one per id (and per client_id), ordered by seq. */
export function mergeMessages(list, incoming) {
  const byId = new Map();
  for (const m of list) byId.set(m.id, m);
  for (const m of incoming) {
    if (!m || !m.id) continue;
    const known = byId.get(m.id);
    if (!known || newer(known, m)) byId.set(m.id, m);
  }
  const seenClient = new Set();
  const out = [];
  for (const m of [...byId.values()].sort((a, b) => a.seq - b.seq)) {
    // The same client_id twice can only be the same message stored once; keep the first.
    if (m.client_id) {
      if (seenClient.has(m.client_id)) continue;
      seenClient.add(m.client_id);
    }
    out.push(m);
  }
  return out;
}

/** The highest seq among `messages` from the customer (0 when there is none). */
function lastCustomerSeq(messages) {
  let seq = 0;
  for (const m of messages) if (m.sender === 'customer' && m.seq > seq) seq = m.seq;
  return seq;
}

function heldEntry(h, previous) {
  const messages = mergeMessages(previous ? previous.messages : [], h.messages || []);
  return {
    interaction: h.interaction,
    card: h.card,
    messages,
    // The customer's messages up to this seq were seen by the agent. A conversation first met in
    // a snapshot or accepted from an offer (whose preview the agent read) starts all seen.
    seen: previous ? previous.seen : lastCustomerSeq(messages),
    customerTyping: previous ? previous.customerTyping : false,
    customerOnline: h.customer_online ?? null,
    onHold: previous ? previous.onHold : false,
    // A supervisor the agent hears on this call: {mode: "whisper" | "barge", by}.
    monitor: previous ? previous.monitor : null,
    // The colleague this agent consults about the call: {mode, on, with, note, customer}.
    consult: previous ? previous.consult : null,
  };
}

function withoutKey(obj, key) {
  if (!(key in obj)) return obj;
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

function dropOffer(state, id) {
  if (!(id in state.offers)) return state;
  return { ...state, offers: withoutKey(state.offers, id), offerOrder: state.offerOrder.filter((x) => x !== id) };
}

function dropHeld(state, id) {
  if (!(id in state.held)) return state;
  const heldOrder = state.heldOrder.filter((x) => x !== id);
  const selected = state.selected === id ? heldOrder[0] || null : state.selected;
  let outbox = state.outbox;
  for (const [cid, p] of Object.entries(outbox)) {
    if (p.interaction_id === id) outbox = withoutKey(outbox, cid);
  }
  return { ...state, held: withoutKey(state.held, id), heldOrder, selected, outbox, drafts: withoutKey(state.drafts, id) };
}

function withDraft(state, id, f) {
  if (!state.held[id]) return state;
  const draft = state.drafts[id];
  if (!draft) return state;
  return { ...state, drafts: { ...state.drafts, [id]: f(draft) } };
}

/** Whether the hub stored the text that was sent (a forward: the note, then the forwarded mail). */
function sameText(stored, sent, forward) {
  if (!forward) return stored === sent;
  const note = String(sent || '').replace(/\r\n/g, '\n').trimEnd();
  return String(stored || '').startsWith(note);
}

/** The draft of a held interaction, started from `defaults` if there is none yet. */
function withDraftOrNew(state, id, defaults, f) {
  if (!state.held[id]) return state;
  const draft = state.drafts[id] || { ...emptyDraft(), ...(defaults || {}) };
  return { ...state, drafts: { ...state.drafts, [id]: f(draft) } };
}

function withFiles(state, id, f) {
  return withDraft(state, id, (d) => ({ ...d, attachments: f(d.attachments || []) }));
}

// An offer shows the customer's latest few messages and how many came before, as the hub sends
// it: a customer typing fast while it rings cannot grow it without end.
export const OFFER_PREVIEW = 5;

function withPreview(offer, messages) {
  const dropped = Math.max(0, messages.length - OFFER_PREVIEW);
  return { ...offer, preview: messages.slice(dropped), earlier_messages: (offer.earlier_messages || 0) + dropped };
}

function addMessage(state, message) {
  if (!message) return state;
  const id = message.interaction_id;
  let next = state;
  if (message.client_id && message.client_id in state.outbox) {
    next = { ...next, outbox: withoutKey(next.outbox, message.client_id) };
  }
  const entry = next.held[id];
  if (!entry) {
    // What the customer writes while the offer rings joins its preview.
    const offer = next.offers[id];
    if (!offer) return next;
    return { ...next, offers: { ...next.offers, [id]: withPreview(offer, mergeMessages(offer.preview || [], [message])) } };
  }
  const messages = mergeMessages(entry.messages, [message]);
  const customerTyping = message.sender === 'customer' ? false : entry.customerTyping;
  return { ...next, held: { ...next.held, [id]: { ...entry, messages, customerTyping } } };
}

/** Replace a card's notes with `notes` plus `note`, once per note id, oldest first. */
function addNote(card, note) {
  if (!card || !card.customer || card.customer.id !== note.customer_id) return card;
  const notes = card.notes || [];
  if (notes.some((n) => n.id === note.id)) return card;
  return { ...card, notes: [...notes, note].sort((a, b) => a.created_at - b.created_at) };
}

function mapValues(obj, f) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) out[k] = f(v);
  return out;
}

/**
 * Actions the console queues while the socket is down, by `type`, each with the group it belongs
 * to: a later action of the same group on the same interaction replaces the earlier one (Decline
 * after Accept on one offer, Hold then Resume), so at most one per group goes out.
 */
export const ACTION_GROUPS = {
  'offer.accept': 'offer',
  'offer.decline': 'offer',
  'interaction.end': 'end',
  'interaction.transfer': 'transfer',
  'call.hold': 'hold',
  wrap_up: 'wrap_up',
};

/** The queue key of an action frame: one per group and interaction. */
export const actionKey = (frame) => `${ACTION_GROUPS[frame.type]}:${frame.interaction_id}`;

/**
 * What becomes of a queued action once a reconnect's snapshot shows the world as it now is:
 * "send" (an answer to an offer still ringing; an end, transfer or hold of a conversation still
 * active; a wrap-up of one still held), "done" (the snapshot already shows what the agent asked
 * for: an accept that reached the hub before the socket fell is held, a declined offer is gone,
 * an ended conversation is in wrap-up), or "expired" (it can no longer happen: the offer timed
 * out before the accept, the customer left before the transfer). Nothing is sent twice.
 */
export function actionOutcome(frame, offers, held) {
  const id = frame.interaction_id;
  const state = held[id] ? held[id].interaction.state : null;
  const active = state === 'active';
  switch (ACTION_GROUPS[frame.type]) {
    case 'offer':
      if (offers[id]) return 'send';
      return frame.type === 'offer.decline' || held[id] ? 'done' : 'expired';
    case 'end':
    case 'hold':
      return active ? 'send' : 'done';
    case 'transfer':
      return active ? 'send' : state ? 'expired' : 'done';
    case 'wrap_up':
      return active || state === 'wrap_up' ? 'send' : 'done';
    default:
      return 'expired';
  }
}

/** The queued action of `group` on an interaction, or null. */
export function queuedAction(state, interactionId, group) {
  const a = state.actions.find((x) => x.key === `${group}:${interactionId}`);
  return a ? a.frame : null;
}

/** Customer messages of a held conversation the agent has not seen yet. */
export function unreadCount(state, interactionId) {
  const entry = state.held[interactionId];
  if (!entry) return 0;
  return entry.messages.filter((m) => m.sender === 'customer' && m.seq > entry.seen).length;
}

/** Unread customer messages over every held conversation. */
export function totalUnread(state) {
  return state.heldOrder.reduce((n, id) => n + unreadCount(state, id), 0);
}

/** The selected conversation, while the page is visible, is read up to its newest message. */
function seeSelected(state) {
  const id = state.selected;
  const entry = id && state.visible ? state.held[id] : null;
  if (!entry) return state;
  const seen = lastCustomerSeq(entry.messages);
  if (seen <= entry.seen) return state;
  return { ...state, held: { ...state.held, [id]: { ...entry, seen } } };
}

/** The next state after `event`; unknown events leave the state as it was. */
export function apply(state, event) {
  const next = step(state, event);
  return next === state ? state : seeSelected(next);
}

function step(state, event) {
  if (!event || typeof event.type !== 'string') return state;
  switch (event.type) {
    case 'snapshot': {
      // A fresh snapshot replaces what the server owns; only the agent's selection and
      // still-unacknowledged messages (which the socket resends) survive it.
      const held = {};
      const heldOrder = [];
      for (const h of event.interactions || []) {
        const id = h.interaction.id;
        held[id] = heldEntry(h, null);
        if (state.held[id]) held[id].seen = state.held[id].seen;
        heldOrder.push(id);
      }
      const offers = {};
      const offerOrder = [];
      for (const o of event.offers || []) {
        offers[o.interaction.id] = o;
        offerOrder.push(o.interaction.id);
      }
      const committed = new Set();
      for (const h of Object.values(held)) for (const m of h.messages) if (m.client_id) committed.add(m.client_id);
      const outbox = {};
      for (const [cid, p] of Object.entries(state.outbox)) {
        if (!committed.has(cid) && held[p.interaction_id]) outbox[cid] = p;
      }
      const selected = state.selected && held[state.selected] ? state.selected : heldOrder[0] || null;
      const drafts = {};
      for (const [id, d] of Object.entries(state.drafts)) if (held[id]) drafts[id] = d;
      // Queued actions meet the world as it now is: what no longer applies is dropped, and said.
      const actions = state.actions.filter((a) => actionOutcome(a.frame, offers, held) === 'send');
      const expired = state.actions.some((a) => actionOutcome(a.frame, offers, held) === 'expired');
      const errors = expired ? [...state.errors, { code: 'action_expired', message: null, ref: null }].slice(-MAX_ERRORS) : state.errors;
      return {
        drafts,
        ...state,
        actions,
        errors,
        agent: event.agent || null,
        agentState: event.state || { state: 'offline', reason: null },
        offers,
        offerOrder,
        held,
        heldOrder,
        selected,
        dispositions: event.dispositions || [],
        outbox,
      };
    }
    case 'offer': {
      const id = event.interaction && event.interaction.id;
      if (!id || state.held[id]) return state;
      const offer = { interaction: event.interaction, card: event.card, expires_at: event.expires_at, preview: event.preview || [], earlier_messages: event.earlier_messages || 0 };
      const offerOrder = state.offerOrder.includes(id) ? state.offerOrder : [...state.offerOrder, id];
      return { ...state, offers: { ...state.offers, [id]: offer }, offerOrder };
    }
    case 'offer.revoked':
      return dropOffer(state, event.interaction_id);
    case 'interaction.assigned': {
      const id = event.interaction && event.interaction.id;
      if (!id) return state;
      const next = dropOffer(state, id);
      const held = { ...next.held, [id]: heldEntry(event, next.held[id]) };
      const heldOrder = next.heldOrder.includes(id) ? next.heldOrder : [...next.heldOrder, id];
      // A call the agent was consulted about, handed over to them: theirs now, no longer a consult.
      const consulted = next.consulted && next.consulted.interaction_id === id ? null : next.consulted;
      return { ...next, held, heldOrder, selected: next.selected || id, consulted };
    }
    case 'interaction.updated': {
      const it = event.interaction;
      if (!it || !it.id) return state;
      // Closed, abandoned, or transferred away (waiting again, for someone else).
      if (it.state === 'closed' || it.state === 'abandoned' || (it.state === 'queued' && state.held[it.id])) {
        return dropHeld(dropOffer(state, it.id), it.id);
      }
      let next = state;
      if (next.offers[it.id]) {
        next = { ...next, offers: { ...next.offers, [it.id]: { ...next.offers[it.id], interaction: it } } };
      }
      const entry = next.held[it.id];
      if (entry) {
        const customerTyping = it.state === 'active' ? entry.customerTyping : false;
        next = { ...next, held: { ...next.held, [it.id]: { ...entry, interaction: it, customerTyping } } };
      }
      return next;
    }
    case 'message':
    case 'message.ack':
      return addMessage(state, event.message);
    case 'typing': {
      const entry = state.held[event.interaction_id];
      if (!entry) return state;
      const customerTyping = Boolean(event.typing);
      if (entry.customerTyping === customerTyping) return state;
      return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, customerTyping } } };
    }
    case 'customer.presence': {
      const entry = state.held[event.interaction_id];
      if (!entry) return state;
      const customerOnline = Boolean(event.online);
      const customerTyping = customerOnline ? entry.customerTyping : false;
      return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, customerOnline, customerTyping } } };
    }
    case 'call.hold': {
      const entry = state.held[event.interaction_id];
      if (!entry) return state;
      return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, onHold: Boolean(event.on) } } };
    }
    case 'call.monitor': {
      // On a call the agent holds: a supervisor they hear, or no longer (a supervisor's own
      // listening is Session's).
      const entry = state.held[event.interaction_id];
      if (!entry) return state;
      const monitor = event.mode ? { mode: event.mode, by: event.by_name } : null;
      return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, monitor } } };
    }
    case 'call.consult': {
      const consult = event.mode
        ? { mode: event.mode, on: Boolean(event.on), with: event.with_name, note: event.note ?? null, customer: event.customer_name }
        : null;
      const entry = state.held[event.interaction_id];
      if (entry) return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, consult } } };
      if (!consult) return state.consulted && state.consulted.interaction_id === event.interaction_id ? { ...state, consulted: null } : state;
      return { ...state, consulted: { interaction_id: event.interaction_id, ...consult } };
    }
    case 'agent.state':
      return { ...state, agentState: { state: event.state, reason: event.reason ?? null } };
    case 'note.added': {
      const note = event.note;
      if (!note) return state;
      return {
        ...state,
        held: mapValues(state.held, (h) => ({ ...h, card: addNote(h.card, note) })),
        offers: mapValues(state.offers, (o) => ({ ...o, card: addNote(o.card, note) })),
      };
    }
    case 'follow_up.due':
    case 'follow_up.escalated': {
      const f = event.follow_up;
      if (!f || state.reminders.some((r) => r.follow_up.id === f.id && r.escalated === (event.type === 'follow_up.escalated'))) return state;
      const reminder = { follow_up: f, escalated: event.type === 'follow_up.escalated' };
      return { ...state, reminders: [...state.reminders.filter((r) => r.follow_up.id !== f.id), reminder] };
    }
    case 'note.mentioned': {
      const note = event.note;
      if (!note || state.mentions.some((m) => m.note.id === note.id)) return state;
      return { ...state, mentions: [...state.mentions, { note, by_name: event.by_name || '', customer_name: event.customer_name || '' }] };
    }
    case 'local.mention_closed':
      return { ...state, mentions: state.mentions.filter((m) => m.note.id !== event.id) };
    case 'local.reminder_closed':
      return { ...state, reminders: state.reminders.filter((r) => r.follow_up.id !== event.id) };
    case 'error': {
      const error = { code: event.code, message: event.message, ref: event.ref ?? null };
      let outbox = state.outbox;
      if (error.ref && outbox[error.ref]) outbox = { ...outbox, [error.ref]: { ...outbox[error.ref], failed: error.code } };
      return { ...state, outbox, errors: [...state.errors, error].slice(-MAX_ERRORS) };
    }
    case 'local.linked': {
      // The agent linked the conversation to a known customer: their card, their id on it.
      const entry = state.held[event.interaction_id];
      if (!entry || !event.card || !event.card.customer) return state;
      const interaction = { ...entry.interaction, customer_id: event.card.customer.id };
      return { ...state, held: { ...state.held, [event.interaction_id]: { ...entry, interaction, card: event.card } } };
    }
    case 'local.connection':
      return { ...state, connection: event.status };
    case 'local.select':
      return state.held[event.interaction_id] ? { ...state, selected: event.interaction_id } : state;
    case 'local.send': {
      if (!state.held[event.interaction_id]) return state;
      const pending = { interaction_id: event.interaction_id, client_id: event.client_id, body: event.body, at: event.at };
      // Sent over REST (a messaging app's reply): never resent on the socket.
      if (event.rest) pending.rest = true;
      if (event.attachments && event.attachments.length) pending.attachments = event.attachments;
      return { ...state, outbox: { ...state.outbox, [event.client_id]: pending } };
    }
    case 'local.draft': {
      const id = event.interaction_id;
      if (!state.held[id]) return state;
      const base = state.drafts[id] || { ...emptyDraft(), ...(event.defaults || {}) };
      const draft = { ...base, ...event.patch, notice: 'body' in (event.patch || {}) ? null : base.notice };
      return { ...state, drafts: { ...state.drafts, [id]: draft } };
    }
    case 'local.forward':
      return withDraftOrNew(state, event.interaction_id, event.defaults, (d) => ({
        ...d, mode: 'forward', forward_of: event.message_id, to: '', cc: '', subject: event.subject || '', error: null, notice: null,
      }));
    case 'local.attach':
      return withDraftOrNew(state, event.interaction_id, event.defaults, (d) => ({ ...d, attachments: addFiles(d.attachments || [], event.files) }));
    case 'local.attach_progress':
      return withFiles(state, event.interaction_id, (list) => progress(list, event.key, event.loaded));
    case 'local.attached':
      return withFiles(state, event.interaction_id, (list) => uploaded(list, event.key, event.upload));
    case 'local.attach_failed':
      return withFiles(state, event.interaction_id, (list) => failed(list, event.key, { code: event.code, message: event.message }));
    case 'local.detach':
      return withFiles(state, event.interaction_id, (list) => removeFile(list, event.key));
    case 'local.email_sending':
      return withDraft(state, event.interaction_id, (d) => ({ ...d, client_id: event.client_id, sending: true, error: null, notice: null }));
    case 'local.email_failed':
      return withDraft(state, event.interaction_id, (d) =>
        d.client_id === event.client_id ? { ...d, sending: false, error: { code: event.code || 'internal', message: event.message || null } } : d);
    case 'local.email_sent': {
      const next = addMessage(state, event.message);
      const id = event.interaction_id;
      const draft = next.drafts[id];
      if (!draft || draft.client_id !== event.client_id) return next;
      // The hub answers a repeated client_id with what it stored the first time: if that was other
      // text (the agent edited after a try that did reach the hub), this text was not sent.
      if (event.message && !sameText(event.message.body, event.body, event.forward)) {
        return { ...next, drafts: { ...next.drafts, [id]: { ...draft, client_id: null, sending: false, error: null, notice: 'earlier_sent' } } };
      }
      return { ...next, drafts: withoutKey(next.drafts, id) };
    }
    case 'local.visibility':
      return state.visible === Boolean(event.visible) ? state : { ...state, visible: Boolean(event.visible) };
    case 'local.act': {
      const frame = event.frame;
      if (!frame || !ACTION_GROUPS[frame.type] || !frame.interaction_id) return state;
      const key = actionKey(frame);
      return { ...state, actions: [...state.actions.filter((a) => a.key !== key), { key, frame }] };
    }
    case 'local.acted': {
      const sent = new Set(event.keys || []);
      return { ...state, actions: state.actions.filter((a) => !sent.has(a.key)) };
    }
    case 'local.dismiss_error':
      return { ...state, errors: state.errors.filter((_, i) => i !== event.index) };
    default:
      return state;
  }
}

/** Messages of one held interaction followed by its still-pending ones, for display. */
export function conversation(state, interactionId) {
  const entry = state.held[interactionId];
  if (!entry) return [];
  const pending = Object.values(state.outbox)
    .filter((p) => p.interaction_id === interactionId)
    .sort((a, b) => a.at - b.at)
    .map((p) => ({ id: `pending:${p.client_id}`, client_id: p.client_id, sender: 'agent', body: p.body, created_at: p.at, pending: true, failed: p.failed || null }));
  return [...entry.messages, ...pending];
}

/** Pending messages to resend after a reconnect, oldest first. */
export function unsent(state) {
  return Object.values(state.outbox)
    .filter((p) => !p.failed && !p.rest)
    .sort((a, b) => a.at - b.at);
}
