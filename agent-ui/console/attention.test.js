// Unit tests for what pulls the agent back to the console: title, favicon badge, announcements.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState } from './state.js';
import { attentionCounts, pageTitle, badgeIcon, iconHref, announcements, spokenOffers } from './attention.js';
import { setLocale } from './i18n.js';

const customer = (name) => ({ id: `c-${name}`, name });
const interaction = (id, state) => ({ id, customer_id: 'c', channel: 'chat', queue_id: 'q', state });
const msg = (id, iid, seq, sender = 'customer') => ({ id, interaction_id: iid, seq, sender, body: `line ${seq}`, created_at: seq });
const snapshot = (offers = [], interactions = []) => ({ type: 'snapshot', agent: { id: 'a' }, state: { state: 'available' }, offers, interactions, dispositions: [] });
const offer = (id, name) => ({ interaction: interaction(id, 'offered'), card: { customer: customer(name) }, expires_at: 9, preview: [] });
const held = (id, name, messages) => ({ interaction: interaction(id, 'active'), card: { customer: customer(name) }, messages });

test('the title says ringing first, then unread, else just the name; in both languages', () => {
  setLocale('en');
  assert.equal(pageTitle({ ringing: 1, unread: 4 }), '(1) Ringing — Plugboard');
  assert.equal(pageTitle({ ringing: 0, unread: 4 }), '(4) Unread — Plugboard');
  assert.equal(pageTitle({ ringing: 0, unread: 0 }), 'Plugboard');
  setLocale('zh-CN');
  assert.equal(pageTitle({ ringing: 2, unread: 0 }), '(2) 振铃中 — Plugboard');
  setLocale('en');
});

test('the favicon gets a badge with the count, red while ringing, and the plain icon back at zero', () => {
  assert.equal(badgeIcon({ ringing: 0, unread: 0 }), null);
  assert.equal(iconHref({ ringing: 0, unread: 0 }), '/favicon.svg');
  const ringing = badgeIcon({ ringing: 2, unread: 5 });
  assert.match(ringing, /fill="#d23f31"/);
  assert.match(ringing, />2<\/text>/);
  assert.match(badgeIcon({ ringing: 0, unread: 12 }), />9\+<\/text>/);
  assert.match(iconHref({ ringing: 1, unread: 0 }), /^data:image\/svg\+xml,%3Csvg/);
});

test('counts come from the model: offers ringing, unread customer messages', () => {
  let s = apply(initialState(), snapshot([offer('o1', 'Ann')], [held('h1', 'Li', [msg('m1', 'h1', 1)]), held('h2', 'Bo', [])]));
  s = apply(s, { type: 'message', message: msg('m2', 'h2', 1) });
  assert.deepEqual(attentionCounts(s), { ringing: 1, unread: 1 });
});

test('announcements: a new offer, and the newest new customer line per held conversation', () => {
  const before = apply(initialState(), snapshot([], [held('h1', 'Li', [msg('m1', 'h1', 1)])]));
  let after = apply(before, { type: 'offer', ...offer('o1', 'Ann') });
  after = apply(after, { type: 'message', message: msg('m2', 'h1', 2) });
  after = apply(after, { type: 'message', message: msg('m3', 'h1', 3) });
  after = apply(after, { type: 'message', message: msg('m4', 'h1', 4, 'agent') });
  assert.deepEqual(announcements(before, after), [
    { kind: 'offer', id: 'o1', name: 'Ann', channel: 'chat' },
    { kind: 'message', id: 'h1', name: 'Li', body: 'line 3' },
  ]);
  assert.deepEqual(announcements(after, after), [], 'nothing twice');
  // A conversation just accepted brings no message announcement (its lines were the offer's).
  const accepted = apply(after, { type: 'interaction.assigned', ...held('o1', 'Ann', [msg('x', 'o1', 1)]) });
  assert.deepEqual(announcements(after, accepted), []);
});

test("a colleague's note naming the agent is announced once", () => {
  const before = apply(initialState(), snapshot([], []));
  const note = { id: 9, customer_id: 'c1', body: '@bob can you check?' };
  const after = apply(before, { type: 'note.mentioned', note, by_name: 'Alice Wong', customer_name: 'Kim' });
  assert.deepEqual(announcements(before, after), [{ kind: 'mention', id: 9, name: 'Alice Wong', body: '@bob can you check?', customer_id: 'c1' }]);
  assert.deepEqual(announcements(after, after), []);
});

test('a screen reader is told of each offer that begins to ring, and not of messages', () => {
  const before = apply(initialState(), snapshot([], [held('h1', 'Li', [msg('m1', 'h1', 1)])]));
  let after = apply(before, { type: 'offer', ...offer('o1', 'Ann') });
  after = apply(after, { type: 'message', message: msg('m2', 'h1', 2) });
  setLocale('en');
  assert.equal(spokenOffers(announcements(before, after)), 'Incoming Chat: Ann. Alt+A accepts, Alt+D declines.');
  assert.equal(spokenOffers(announcements(after, after)), '');
  setLocale('zh-CN');
  assert.match(spokenOffers(announcements(before, after)), /^新的.+：Ann。?\. 按 Alt\+A 接受/);
  setLocale('en');
});
