// What pulls the agent back to the console from another tab: the page title and favicon badge
// (ringing offers first, else unread customer messages), and the announcements (a desktop
// notification, the ring, the line a screen reader says) that one model change calls for. Pure:
// Session.js does the DOM, notifications.js the Notification API, sound.js the ring.

import { t, label } from './i18n.js';
import { totalUnread } from './state.js';

/** What the tab shows: `{ringing, unread}` counts of the model. */
export function attentionCounts(state) {
  return { ringing: state.offerOrder.length, unread: totalUnread(state) };
}

/** "(1) Ringing — Plugboard", "(3) Unread — Plugboard", or the plain name. */
export function pageTitle({ ringing, unread }) {
  if (ringing) return t('attention.title_ringing', { n: ringing });
  if (unread) return t('attention.title_unread', { n: unread });
  return t('app.name');
}

const BASE_ICON = '<rect width="32" height="32" rx="7" fill="#2f6f73"/><circle cx="11" cy="11" r="3" fill="#fff"/><circle cx="21" cy="11" r="3" fill="#fff"/><circle cx="11" cy="21" r="3" fill="#fff"/><circle cx="21" cy="21" r="3" fill="#cfe8e4"/>';

/**
 * The favicon as SVG text: the plugboard mark with a badge in its corner, red with the number of
 * ringing offers, else blue with the unread count ("9+" past nine); null when there is nothing to
 * show (the page keeps /favicon.svg).
 */
export function badgeIcon({ ringing, unread }) {
  const n = ringing || unread;
  if (!n) return null;
  const text = n > 9 ? '9+' : String(n);
  const fill = ringing ? '#d23f31' : '#2563eb';
  const size = text.length > 1 ? 11 : 13;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">${BASE_ICON}`
    + `<circle cx="22" cy="10" r="10" fill="${fill}" stroke="#fff" stroke-width="2"/>`
    + `<text x="22" y="14.5" font-family="sans-serif" font-size="${size}" font-weight="bold" text-anchor="middle" fill="#fff">${text}</text></svg>`;
}

/** The favicon's href for `counts`: a data: URL of badgeIcon, or the plain icon. */
export function iconHref(counts) {
  const svg = badgeIcon(counts);
  return svg ? `data:image/svg+xml,${encodeURIComponent(svg)}` : '/favicon.svg';
}

function newestSeq(messages) {
  return messages.reduce((n, m) => Math.max(n, m.seq || 0), 0);
}

/**
 * What changed between two models that the agent should hear of: offers that began to ring
 * (`{kind: "offer", id, name, channel}`) and customer messages new in a conversation the agent
 * already held (`{kind: "message", id, name, body}`, the newest per conversation).
 */
export function announcements(prev, next) {
  const out = [];
  for (const id of next.offerOrder) {
    if (prev.offers[id]) continue;
    const o = next.offers[id];
    out.push({ kind: 'offer', id, name: (o.card && o.card.customer && o.card.customer.name) || t('customer.unknown'), channel: o.interaction.channel });
  }
  for (const id of next.heldOrder) {
    const before = prev.held[id];
    if (!before) continue;
    const after = next.held[id];
    const since = newestSeq(before.messages);
    const fresh = after.messages.filter((m) => m.sender === 'customer' && m.seq > since);
    if (!fresh.length) continue;
    out.push({ kind: 'message', id, name: after.card.customer.name, body: fresh[fresh.length - 1].body });
  }
  const known = new Set((prev.mentions || []).map((m) => m.note.id));
  for (const m of next.mentions || []) {
    if (!known.has(m.note.id)) out.push({ kind: 'mention', id: m.note.id, name: m.by_name, body: m.note.body, customer_id: m.note.customer_id });
  }
  return out;
}

/**
 * What a screen reader says of the new offers among `news` (`announcements`), for the console's
 * live region: "Incoming chat: Ann. Open the console to accept or decline." per offer; empty
 * when none began to ring. Messages are left to the unread counts (read out with the list).
 */
export function spokenOffers(news) {
  return news
    .filter((n) => n.kind === 'offer')
    .map((n) => `${t('attention.notify_offer', { channel: label('channel', n.channel), name: n.name })}. ${t('attention.spoken_offer_how')}`)
    .join(' ');
}
