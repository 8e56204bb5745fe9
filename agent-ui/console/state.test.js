// Unit tests for the console's pure model: each test feeds frames as the server sends them
// (docs/protocol.md, /ws/agent) and checks what the agent would see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apply, initialState, conversation, unsent, mergeMessages, unreadCount, totalUnread, queuedAction, actionOutcome, ACTION_GROUPS } from './state.js';
import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

const CUSTOMER = { id: 'c1', name: 'Li Wei', email: 'li.wei@example.com', phone: '+8613800138000', tier: 'gold', owner: null, tags: ['vip'], created_at: 1 };
const card = (notes = []) => ({ customer: CUSTOMER, recent: [], notes });
const interaction = (id, state = 'active') => ({
  id, customer_id: 'c1', channel: 'chat', queue_id: 'q1', state, priority: 0, arrived_at: 10,
  agent_id: 'a1', entry_point: 'widget', offline: false, disposition: null, wrap_up_note: null, ended_at: null,
});
const msg = (id, seq, extra = {}) => ({
  id, interaction_id: 'i1', seq, sender: 'customer', agent_id: null, body: `m${seq}`, client_id: `c-${id}`, created_at: seq, ...extra,
});
const snapshot = (extra = {}) => ({
  type: 'snapshot',
  agent: { id: 'a1', name: 'Bob Martin', email: 'bob@plugboard.example', role: 'agent', locale: 'en', capacity: {}, skills: {} },
  state: { state: 'offline', reason: null },
  offers: [],
  interactions: [],
  dispositions: [{ code: 'resolved', label: 'Resolved' }],
  ...extra,
});
const run = (...events) => events.reduce(apply, initialState());

test('a snapshot fills the model', () => {
  const s = run(snapshot({ state: { state: 'break', reason: 'lunch' }, interactions: [{ interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] }] }));
  assert.equal(s.agent.name, 'Bob Martin');
  assert.deepEqual(s.agentState, { state: 'break', reason: 'lunch' });
  assert.deepEqual(s.heldOrder, ['i1']);
  assert.equal(s.selected, 'i1');
  assert.equal(s.dispositions[0].code, 'resolved');
});

test('a snapshot after a reconnect replaces state instead of merging it', () => {
  const before = run(
    snapshot({ offers: [{ interaction: interaction('i9', 'offered'), card: card(), expires_at: 99, preview: [] }], interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }),
    { type: 'agent.state', state: 'available', reason: null },
  );
  const after = apply(before, snapshot({ state: { state: 'available', reason: null } }));
  assert.deepEqual(after.offerOrder, []);
  assert.deepEqual(after.heldOrder, []);
  assert.deepEqual(after.offers, {});
  assert.equal(after.selected, null);
});

test('an offer, then accepted: the offer goes and the interaction is held and selected', () => {
  let s = run(snapshot(), { type: 'offer', interaction: interaction('i1', 'offered'), card: card(), expires_at: 5000, preview: [msg('m1', 1)] });
  assert.deepEqual(s.offerOrder, ['i1']);
  assert.equal(s.offers.i1.expires_at, 5000);
  s = apply(s, { type: 'interaction.assigned', interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] });
  assert.deepEqual(s.offerOrder, []);
  assert.deepEqual(s.heldOrder, ['i1']);
  assert.equal(s.selected, 'i1');
});

test('offer.revoked removes the offer for every reason', () => {
  for (const reason of ['declined', 'timed_out', 'abandoned', 'agent_unavailable', 'unreachable']) {
    const s = run(snapshot(), { type: 'offer', interaction: interaction('i1', 'offered'), card: card(), expires_at: 1, preview: [] }, { type: 'offer.revoked', interaction_id: 'i1', reason });
    assert.deepEqual(s.offerOrder, [], reason);
    assert.deepEqual(s.offers, {}, reason);
  }
});

test('messages are kept once per id and in seq order whatever order they arrive in', () => {
  const s = run(
    snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] }] }),
    { type: 'message', message: msg('m3', 3) },
    { type: 'message', message: msg('m2', 2) },
    { type: 'message', message: msg('m3', 3) },
    { type: 'message', message: msg('m1', 1) },
  );
  assert.deepEqual(s.held.i1.messages.map((m) => m.id), ['m1', 'm2', 'm3']);
});

test('a message for an interaction the agent does not hold is ignored', () => {
  const s = run(snapshot(), { type: 'message', message: msg('m1', 1, { interaction_id: 'other' }) });
  assert.deepEqual(s.held, {});
});

test('the agent\'s own message is pending until acked, then shown once', () => {
  let s = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] }] }));
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k1', body: 'Happy to help', at: 50 });
  let shown = conversation(s, 'i1');
  assert.equal(shown.length, 2);
  assert.equal(shown[1].pending, true);
  assert.equal(unsent(s).length, 1);
  const stored = msg('m2', 2, { sender: 'agent', agent_id: 'a1', body: 'Happy to help', client_id: 'k1' });
  // The broadcast copy and the ack may both arrive, in either order.
  s = apply(s, { type: 'message', message: stored });
  s = apply(s, { type: 'message.ack', client_id: 'k1', message: stored });
  shown = conversation(s, 'i1');
  assert.deepEqual(shown.map((m) => m.body), ['m1', 'Happy to help']);
  assert.equal(shown[1].pending, undefined);
  assert.equal(unsent(s).length, 0);
});

test('an error that refers to a pending message marks it failed and it is not resent', () => {
  let s = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }));
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k1', body: 'x', at: 1 });
  s = apply(s, { type: 'error', code: 'too_large', message: 'too long', ref: 'k1' });
  assert.equal(conversation(s, 'i1')[0].failed, 'too_large');
  assert.equal(unsent(s).length, 0);
  assert.equal(s.errors.length, 1);
});

test('a snapshot keeps unacknowledged messages to resend, and drops the ones it shows committed', () => {
  let s = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }));
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k1', body: 'one', at: 1 });
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k2', body: 'two', at: 2 });
  s = apply(s, snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [msg('m1', 1, { sender: 'agent', client_id: 'k1', body: 'one' })] }] }));
  assert.deepEqual(unsent(s).map((p) => p.client_id), ['k2']);
  assert.deepEqual(conversation(s, 'i1').map((m) => m.body), ['one', 'two']);
});

test("a chat's file waits with its upload id and is resent with it after a reconnect", () => {
  let s = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }));
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k1', body: '', at: 1, attachments: ['u1'] });
  s = apply(s, { type: 'local.send', interaction_id: 'i1', client_id: 'k2', body: 'text', at: 2 });
  assert.deepEqual(unsent(s).map((p) => [p.client_id, p.attachments]), [['k1', ['u1']], ['k2', undefined]]);
});

test('customer typing shows until it stops or the customer\'s message arrives', () => {
  let s = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }), { type: 'typing', interaction_id: 'i1', typing: true });
  assert.equal(s.held.i1.customerTyping, true);
  s = apply(s, { type: 'message', message: msg('m1', 1) });
  assert.equal(s.held.i1.customerTyping, false);
  s = apply(s, { type: 'typing', interaction_id: 'i1', typing: true });
  s = apply(s, { type: 'typing', interaction_id: 'i1', typing: false });
  assert.equal(s.held.i1.customerTyping, false);
});

test('the customer leaving puts the chat in wrap-up; closing it removes it and moves the selection', () => {
  let s = run(snapshot({ interactions: [
    { interaction: interaction('i1'), card: card(), messages: [] },
    { interaction: interaction('i2'), card: card(), messages: [] },
  ] }));
  assert.equal(s.selected, 'i1');
  s = apply(s, { type: 'interaction.updated', interaction: interaction('i1', 'wrap_up') });
  assert.equal(s.held.i1.interaction.state, 'wrap_up');
  s = apply(s, { type: 'interaction.updated', interaction: { ...interaction('i1', 'closed'), disposition: 'resolved' } });
  assert.deepEqual(s.heldOrder, ['i2']);
  assert.equal(s.selected, 'i2');
});

test('agent.state follows the router, including a missed offer', () => {
  const s = run(snapshot(), { type: 'agent.state', state: 'available', reason: null }, { type: 'agent.state', state: 'break', reason: 'missed offer' });
  assert.deepEqual(s.agentState, { state: 'break', reason: 'missed offer' });
});

test('note.added reaches every card of that customer, once', () => {
  const note = { id: 7, customer_id: 'c1', interaction_id: 'i1', agent_id: 'a1', body: 'Prefers email', created_at: 3 };
  const s = run(
    snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }),
    { type: 'note.added', note },
    { type: 'note.added', note },
    { type: 'note.added', note: { ...note, id: 8, customer_id: 'someone-else' } },
  );
  assert.deepEqual(s.held.i1.card.notes.map((n) => n.id), [7]);
});

test('errors are kept, at most five, and can be dismissed', () => {
  let s = run(snapshot());
  for (let i = 0; i < 7; i++) s = apply(s, { type: 'error', code: 'bad_request', message: `e${i}` });
  assert.equal(s.errors.length, 5);
  assert.equal(s.errors[0].message, 'e2');
  s = apply(s, { type: 'local.dismiss_error', index: 0 });
  assert.equal(s.errors[0].message, 'e3');
});

test('unknown frames and local selection of unknown ids change nothing', () => {
  const s = run(snapshot());
  assert.equal(apply(s, { type: 'something.new' }), s);
  assert.equal(apply(s, { type: 'local.select', interaction_id: 'nope' }), s);
  assert.equal(apply(s, null), s);
});

test('mergeMessages never shows one client_id twice', () => {
  const out = mergeMessages([msg('m1', 1, { client_id: 'same' })], [msg('m1b', 2, { client_id: 'same' }), msg('m3', 3, { client_id: '' }), msg('m4', 4, { client_id: '' })]);
  assert.deepEqual(out.map((m) => m.id), ['m1', 'm3', 'm4']);
});

test('the state is never mutated in place', () => {
  const s0 = run(snapshot({ interactions: [{ interaction: interaction('i1'), card: card(), messages: [] }] }));
  const frozen = JSON.stringify(s0);
  apply(s0, { type: 'message', message: msg('m1', 1) });
  apply(s0, { type: 'typing', interaction_id: 'i1', typing: true });
  apply(s0, { type: 'interaction.updated', interaction: interaction('i1', 'closed') });
  assert.equal(JSON.stringify(s0), frozen);
});

test('what the customer writes while the offer rings joins its preview, once', () => {
  const offered = { ...interaction('i1', 'offered') };
  const s = run(
    snapshot({ offers: [{ interaction: offered, card: card(), expires_at: 99, preview: [msg('m1', 1)] }] }),
    { type: 'message', message: msg('m2', 2) },
    { type: 'message', message: msg('m2', 2) },
  );
  assert.deepEqual(s.offers.i1.preview.map((m) => m.body), ['m1', 'm2']);
});

test('an offer keeps the latest few lines and counts the ones before', () => {
  const offered = { ...interaction('i1', 'offered') };
  const s = run(
    snapshot({ offers: [{ interaction: offered, card: card(), expires_at: 99, preview: [msg('m3', 3), msg('m4', 4), msg('m5', 5), msg('m6', 6), msg('m7', 7)], earlier_messages: 2 }] }),
    { type: 'message', message: msg('m8', 8) },
    { type: 'message', message: msg('m9', 9) },
  );
  assert.deepEqual(s.offers.i1.preview.map((m) => m.body), ['m5', 'm6', 'm7', 'm8', 'm9']);
  assert.equal(s.offers.i1.earlier_messages, 4);
});

test('the customer closing and reopening the widget shows on the held chat', () => {
  const held = { interaction: interaction('i1'), card: card(), messages: [], customer_online: true };
  let s = run(snapshot({ interactions: [held] }), { type: 'typing', interaction_id: 'i1', typing: true });
  assert.equal(s.held.i1.customerOnline, true);
  s = apply(s, { type: 'customer.presence', interaction_id: 'i1', online: false });
  assert.equal(s.held.i1.customerOnline, false);
  assert.equal(s.held.i1.customerTyping, false, 'someone who left is not typing');
  s = apply(s, { type: 'customer.presence', interaction_id: 'i1', online: true });
  assert.equal(s.held.i1.customerOnline, true);
  assert.equal(apply(s, { type: 'customer.presence', interaction_id: 'nope', online: false }), s);
});

test('a chat transferred to another queue leaves the console', () => {
  const held = { interaction: interaction('i1'), card: card(), messages: [] };
  const s = run(snapshot({ interactions: [held] }), { type: 'interaction.updated', interaction: { ...interaction('i1', 'queued'), agent_id: null } });
  assert.deepEqual(s.heldOrder, []);
  assert.equal(s.selected, null);
});

test('a call on hold is shown as such, on every tab, until resumed', () => {
  const held = { interaction: { ...interaction('c1'), channel: 'voice' }, card: card(), messages: [] };
  let s = run(snapshot({ interactions: [held] }), { type: 'call.hold', interaction_id: 'c1', on: true });
  assert.equal(s.held.c1.onHold, true);
  // A later update of the interaction keeps the hold.
  s = apply(s, { type: 'interaction.assigned', ...held });
  assert.equal(s.held.c1.onHold, true);
  s = apply(s, { type: 'call.hold', interaction_id: 'c1', on: false });
  assert.equal(s.held.c1.onHold, false);
  assert.equal(apply(s, { type: 'call.hold', interaction_id: 'nope', on: true }), s);
});

test('a supervisor the agent hears on a call is shown until they are not, and kept across updates', () => {
  const held = { interaction: { ...interaction('c1'), channel: 'voice' }, card: card(), messages: [] };
  let s = run(snapshot({ interactions: [held] }), { type: 'call.monitor', interaction_id: 'c1', mode: 'whisper', by_name: 'Sam Lee' });
  assert.deepEqual(s.held.c1.monitor, { mode: 'whisper', by: 'Sam Lee' });
  s = apply(s, { type: 'interaction.assigned', ...held });
  assert.deepEqual(s.held.c1.monitor, { mode: 'whisper', by: 'Sam Lee' });
  s = apply(s, { type: 'call.monitor', interaction_id: 'c1', mode: null, by_name: 'Sam Lee' });
  assert.equal(s.held.c1.monitor, null);
  // A call the agent does not hold (a supervisor's own listening) changes nothing here.
  assert.equal(apply(s, { type: 'call.monitor', interaction_id: 'nope', mode: 'monitor', by_name: 'Sam Lee' }), s);
});

test('a consult is shown on the held call to the agent who asked, and as a card to the colleague', () => {
  const held = { interaction: { ...interaction('c1'), channel: 'voice' }, card: card(), messages: [] };
  const frame = { type: 'call.consult', interaction_id: 'c1', mode: 'consult', on: false, with_name: 'Dana Silva', note: 'refund', customer_name: 'Maria Garcia' };
  let s = run(snapshot({ interactions: [held] }), frame);
  assert.deepEqual(s.held.c1.consult, { mode: 'consult', on: false, with: 'Dana Silva', note: 'refund', customer: 'Maria Garcia' });
  s = apply(s, { ...frame, mode: 'conference', on: true });
  assert.equal(s.held.c1.consult.mode, 'conference');
  s = apply(s, { ...frame, mode: null, on: false });
  assert.equal(s.held.c1.consult, null);
  assert.equal(s.consulted, null);
  // The colleague, who does not hold the call.
  let dana = run(snapshot({}), { ...frame, interaction_id: 'c9', with_name: 'Bob Martin', on: true });
  assert.deepEqual(dana.consulted, { interaction_id: 'c9', mode: 'consult', on: true, with: 'Bob Martin', note: 'refund', customer: 'Maria Garcia' });
  dana = apply(dana, { ...frame, interaction_id: 'c9', mode: null });
  assert.equal(dana.consulted, null);
  // Handed over: the call is hers, and the card goes.
  dana = apply(dana, { ...frame, interaction_id: 'c9', on: true });
  dana = apply(dana, { type: 'interaction.assigned', interaction: { ...interaction('c9'), channel: 'voice' }, card: card(), messages: [] });
  assert.equal(dana.consulted, null);
  assert.ok(dana.held.c9);
});

// Email: a thread is an interaction whose messages carry `channel`; the agent's reply is posted
// over REST and its delivery state arrives later as the same message again.
const mailThread = () => ({ interaction: { ...interaction('e1'), channel: 'email', entry_point: 'mailbox:mb1' }, card: card(), messages: [
  msg('m1', 1, { interaction_id: 'e1', client_id: '', body: 'Where is my order?', channel: { entry_point: 'mailbox:mb1', external_id: 'a@qq.example', details: { subject: 'Order' }, delivery: null, delivery_error: null, attachments: [] } }),
] });
const reply = (delivery, extra = {}) => msg('m2', 2, {
  interaction_id: 'e1', sender: 'agent', agent_id: 'a1', body: 'It ships today', client_id: 'k1',
  channel: { entry_point: 'mailbox:mb1', external_id: null, details: { subject: 'Re: Order', to: [{ email: 'li@qq.example' }], cc: [] }, delivery, delivery_error: null, attachments: [] },
  ...extra,
});

test('a reply\'s delivery state replaces it in place: queued, then sent, shown once', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'message', message: reply('queued') });
  s = apply(s, { type: 'message', message: reply('queued') });
  s = apply(s, { type: 'message', message: reply('sent', { channel: { ...reply('sent').channel, external_id: 'r1@shop.example' } }) });
  assert.deepEqual(s.held.e1.messages.map((m) => [m.id, m.channel.delivery]), [['m1', null], ['m2', 'sent']]);
  s = apply(s, { type: 'message', message: reply('failed', { channel: { ...reply('failed').channel, delivery_error: '550 mailbox unavailable' } }) });
  assert.equal(s.held.e1.messages.length, 2);
  assert.equal(s.held.e1.messages[1].channel.delivery_error, '550 mailbox unavailable');
});

test('an email draft starts from the thread\'s defaults and keeps the agent\'s edits', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  const defaults = { to: 'li@qq.example', subject: 'Re: Order' };
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'It ships' }, defaults });
  assert.equal(s.drafts.e1.to, 'li@qq.example');
  assert.equal(s.drafts.e1.body, 'It ships');
  // Once there is a draft, new defaults (a newer mail) do not overwrite what the agent has.
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { cc: 'boss@qq.example' }, defaults: { to: 'other@qq.example' } });
  assert.deepEqual([s.drafts.e1.to, s.drafts.e1.cc, s.drafts.e1.body], ['li@qq.example', 'boss@qq.example', 'It ships']);
  assert.equal(apply(s, { type: 'local.draft', interaction_id: 'nope', patch: { body: 'x' } }), s);
});

test('a failed send keeps the draft and its client_id, so sending again is the same reply', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'It ships today' }, defaults: { to: 'li@qq.example' } });
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k1' });
  assert.equal(s.drafts.e1.sending, true);
  s = apply(s, { type: 'local.email_failed', interaction_id: 'e1', client_id: 'k1', code: 'unavailable', message: 'Failed to fetch' });
  assert.deepEqual([s.drafts.e1.sending, s.drafts.e1.client_id, s.drafts.e1.body, s.drafts.e1.error.code], [false, 'k1', 'It ships today', 'unavailable']);
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: s.drafts.e1.client_id });
  assert.equal(s.drafts.e1.error, null);
  s = apply(s, { type: 'local.email_sent', interaction_id: 'e1', client_id: 'k1', body: 'It ships today', message: reply('queued') });
  assert.equal(s.drafts.e1, undefined, 'sent: the composer starts afresh');
  assert.deepEqual(s.held.e1.messages.map((m) => m.id), ['m1', 'm2']);
  // The socket's copy of the same reply does not show it twice.
  s = apply(s, { type: 'message', message: reply('queued') });
  assert.deepEqual(s.held.e1.messages.map((m) => m.id), ['m1', 'm2']);
});

test('a retry that finds an earlier try stored with other text keeps the new text unsent and says so', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'It ships today, sorry for the wait' }, defaults: {} });
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k1' });
  s = apply(s, { type: 'local.email_sent', interaction_id: 'e1', client_id: 'k1', body: 'It ships today, sorry for the wait', message: reply('queued') });
  assert.equal(s.drafts.e1.notice, 'earlier_sent');
  assert.equal(s.drafts.e1.client_id, null, 'the next Send is a new reply');
  assert.equal(s.drafts.e1.body, 'It ships today, sorry for the wait');
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'Sorry for the wait' } });
  assert.equal(s.drafts.e1.notice, null);
});

test('a late answer for another client_id leaves the draft alone; closing the thread drops its draft', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'x' }, defaults: {} });
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k2' });
  s = apply(s, { type: 'local.email_failed', interaction_id: 'e1', client_id: 'k1', code: 'internal' });
  assert.equal(s.drafts.e1.sending, true);
  // A reconnect's snapshot keeps drafts of threads still held.
  s = apply(s, snapshot({ interactions: [mailThread()] }));
  assert.equal(s.drafts.e1.body, 'x');
  s = apply(s, { type: 'interaction.updated', interaction: { ...mailThread().interaction, state: 'closed' } });
  assert.equal(s.drafts.e1, undefined);
});

test('a delivery state never goes back: the 202 answer (queued) arriving after "failed" leaves it failed', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'It ships today' }, defaults: {} });
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k1' });
  s = apply(s, { type: 'message', message: reply('queued') });
  s = apply(s, { type: 'message', message: reply('failed', { channel: { ...reply('failed').channel, delivery_error: '550 no such user' } }) });
  s = apply(s, { type: 'local.email_sent', interaction_id: 'e1', client_id: 'k1', body: 'It ships today', message: reply('queued') });
  assert.equal(s.held.e1.messages[1].channel.delivery, 'failed');
  assert.equal(s.held.e1.messages[1].channel.delivery_error, '550 no such user');
  assert.equal(s.drafts.e1, undefined);
});

test('files picked for a reply upload on the draft and go with it; a failed one is explained and removable', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  const files = [{ key: 'f1', name: 'invoice.pdf', size: 2048, type: 'application/pdf' }, { key: 'f2', name: 'big.zip', size: 9e9, type: '' }];
  // Attaching before typing starts the draft from the thread's defaults.
  s = apply(s, { type: 'local.attach', interaction_id: 'e1', files, defaults: { to: 'li@qq.example' } });
  assert.equal(s.drafts.e1.to, 'li@qq.example');
  assert.deepEqual(s.drafts.e1.attachments.map((a) => a.status), ['uploading', 'uploading']);
  s = apply(s, { type: 'local.attach_progress', interaction_id: 'e1', key: 'f1', loaded: 1024 });
  assert.equal(s.drafts.e1.attachments[0].loaded, 1024);
  s = apply(s, { type: 'local.attached', interaction_id: 'e1', key: 'f1', upload: { id: 'u1', filename: 'invoice.pdf', size: 2048 } });
  s = apply(s, { type: 'local.attach_failed', interaction_id: 'e1', key: 'f2', code: 'too_large', message: 'a file may be at most 26214400 bytes' });
  assert.deepEqual(s.drafts.e1.attachments.map((a) => [a.status, a.upload_id, a.error && a.error.code]), [['done', 'u1', null], ['failed', null, 'too_large']]);
  s = apply(s, { type: 'local.detach', interaction_id: 'e1', key: 'f2' });
  assert.deepEqual(s.drafts.e1.attachments.map((a) => a.key), ['f1']);
  // The draft and its files go once the hub has the reply.
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'Here is the invoice' } });
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k1' });
  s = apply(s, { type: 'local.email_sent', interaction_id: 'e1', client_id: 'k1', body: 'It ships today', message: reply('queued') });
  assert.equal(s.drafts.e1, undefined);
  assert.equal(apply(s, { type: 'local.attach', interaction_id: 'nope', files }), s, 'only on a held thread');
});

test('forwarding a mail clears the recipients, says Fwd:, keeps the note; the stored forward is the note and more', () => {
  let s = run(snapshot({ interactions: [mailThread()] }));
  s = apply(s, { type: 'local.draft', interaction_id: 'e1', patch: { body: 'Warehouse, please check' }, defaults: { to: 'li@qq.example', subject: 'Re: Order' } });
  s = apply(s, { type: 'local.forward', interaction_id: 'e1', message_id: 'm1', subject: 'Fwd: Order' });
  assert.deepEqual(
    [s.drafts.e1.mode, s.drafts.e1.forward_of, s.drafts.e1.to, s.drafts.e1.subject, s.drafts.e1.body],
    ['forward', 'm1', '', 'Fwd: Order', 'Warehouse, please check'],
  );
  s = apply(s, { type: 'local.email_sending', interaction_id: 'e1', client_id: 'k9' });
  const stored = reply('queued', { id: 'm3', seq: 3, client_id: 'k9', body: 'Warehouse, please check\n\n---------- Forwarded message ----------\nSubject: Order\n\nWhere is my order?\n' });
  s = apply(s, { type: 'local.email_sent', interaction_id: 'e1', client_id: 'k9', body: 'Warehouse, please check', message: stored, forward: true });
  assert.equal(s.drafts.e1, undefined, 'sent as written: no "earlier try" notice');
});

// Messaging apps: the agent's reply goes over REST (never resent on the socket) and the
// platform's reports arrive out of order.
test('a messaging reply is never resent on the socket, and its delivery only moves forward', () => {
  const chat = { interaction: { ...interaction('w1'), channel: 'messaging', entry_point: 'inbox:in1' }, card: card(), messages: [] };
  let s = run(snapshot({ interactions: [chat] }));
  s = apply(s, { type: 'local.send', interaction_id: 'w1', client_id: 'k9', body: 'Blue it is', at: 1, rest: true });
  assert.deepEqual(unsent(s), []);
  assert.equal(conversation(s, 'w1')[0].pending, true);
  const out = (delivery) => msg('m9', 1, {
    interaction_id: 'w1', sender: 'agent', agent_id: 'a1', body: 'Blue it is', client_id: 'k9',
    channel: { entry_point: 'inbox:in1', external_id: 'wamid.1', details: {}, delivery, delivery_error: null, attachments: [] },
  });
  s = apply(s, { type: 'message', message: out('read') });
  s = apply(s, { type: 'message', message: out('delivered') });
  s = apply(s, { type: 'message', message: out('queued') });
  assert.deepEqual(conversation(s, 'w1').map((m) => [m.id, m.channel.delivery]), [['m9', 'read']]);
});

// Unread counts: customer messages the agent has not seen in each held conversation.

const held = (id, messages = []) => ({ interaction: { ...interaction(id), id }, card: card(), messages });
const cmsg = (id, iid, seq, sender = 'customer') => ({ ...msg(id, seq), interaction_id: iid, sender });

test('a customer message in a conversation not selected is unread until the agent selects it', () => {
  let s = run(snapshot({ interactions: [held('i1', [cmsg('a', 'i1', 1)]), held('i2', [cmsg('b', 'i2', 1)])] }));
  assert.equal(s.selected, 'i1');
  assert.equal(unreadCount(s, 'i1'), 0, 'what a snapshot first brings counts as seen');
  assert.equal(unreadCount(s, 'i2'), 0);
  s = apply(s, { type: 'message', message: cmsg('c', 'i2', 2) });
  s = apply(s, { type: 'message', message: cmsg('d', 'i2', 3) });
  s = apply(s, { type: 'message', message: cmsg('e', 'i2', 4, 'agent') });
  assert.equal(unreadCount(s, 'i2'), 2, "the agent's own lines are not unread");
  s = apply(s, { type: 'message', message: cmsg('f', 'i1', 2) });
  assert.equal(unreadCount(s, 'i1'), 0, 'the selected conversation on a visible page is read as it comes');
  assert.equal(totalUnread(s), 2);
  s = apply(s, { type: 'local.select', interaction_id: 'i2' });
  assert.equal(unreadCount(s, 'i2'), 0);
  assert.equal(totalUnread(s), 0);
});

test('while the page is hidden the selected conversation collects unread messages; showing it clears them', () => {
  let s = run(snapshot({ interactions: [held('i1', [cmsg('a', 'i1', 1)])] }), { type: 'local.visibility', visible: false });
  s = apply(s, { type: 'message', message: cmsg('b', 'i1', 2) });
  assert.equal(unreadCount(s, 'i1'), 1);
  s = apply(s, { type: 'local.visibility', visible: true });
  assert.equal(unreadCount(s, 'i1'), 0);
});

test('a reconnect keeps what was seen, and counts what came while away as unread', () => {
  let s = run(snapshot({ interactions: [held('i1', [cmsg('a', 'i1', 1)])] }), { type: 'local.visibility', visible: false });
  s = apply(s, snapshot({ interactions: [held('i1', [cmsg('a', 'i1', 1), cmsg('b', 'i1', 2), cmsg('c', 'i1', 3)])] }));
  assert.equal(unreadCount(s, 'i1'), 2);
});

test('an accepted offer starts read: the agent saw its preview', () => {
  let s = run(snapshot(), { type: 'offer', interaction: interaction('i1', 'offered'), card: card(), expires_at: 5, preview: [msg('m1', 1)] });
  s = apply(s, { type: 'local.select', interaction_id: 'i0' });
  s = apply(s, { type: 'interaction.assigned', interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] });
  assert.equal(unreadCount(s, 'i1'), 0);
});

// Actions taken while the socket is down.

const offerFrame = (id) => ({ interaction: interaction(id, 'offered'), card: card(), expires_at: 99, preview: [] });

test('actions queue one per group and interaction; a later answer to an offer replaces the earlier', () => {
  let s = run(snapshot({ offers: [offerFrame('i9')], interactions: [held('i1')] }));
  s = apply(s, { type: 'local.act', frame: { type: 'offer.accept', interaction_id: 'i9' } });
  s = apply(s, { type: 'local.act', frame: { type: 'offer.accept', interaction_id: 'i9' } });
  assert.equal(s.actions.length, 1, 'two clicks, one accept');
  s = apply(s, { type: 'local.act', frame: { type: 'offer.decline', interaction_id: 'i9' } });
  assert.deepEqual(s.actions.map((a) => a.frame.type), ['offer.decline']);
  s = apply(s, { type: 'local.act', frame: { type: 'interaction.end', interaction_id: 'i1' } });
  s = apply(s, { type: 'local.act', frame: { type: 'wrap_up', interaction_id: 'i1', disposition: 'resolved' } });
  assert.deepEqual(s.actions.map((a) => a.key), ['offer:i9', 'end:i1', 'wrap_up:i1'], 'kept in the order taken');
  assert.equal(queuedAction(s, 'i9', 'offer').type, 'offer.decline');
  assert.equal(queuedAction(s, 'i1', 'hold'), null);
  // Frames that are not queueable actions are ignored.
  assert.equal(apply(s, { type: 'local.act', frame: { type: 'message', interaction_id: 'i1' } }), s);
  s = apply(s, { type: 'local.acted', keys: ['offer:i9', 'end:i1'] });
  assert.deepEqual(s.actions.map((a) => a.key), ['wrap_up:i1']);
});

test('the snapshot after a reconnect keeps the actions that still apply and says when one expired', () => {
  let s = run(snapshot({ offers: [offerFrame('i8'), offerFrame('i9')], interactions: [held('i1'), held('i2')] }));
  for (const frame of [
    { type: 'offer.accept', interaction_id: 'i8' }, // still ringing: kept
    { type: 'interaction.end', interaction_id: 'i1' }, // still active: kept
    { type: 'call.hold', interaction_id: 'i2', on: true }, // the customer left (wrap_up): nothing to hold
    { type: 'wrap_up', interaction_id: 'i2', disposition: 'resolved' }, // in wrap-up: kept
  ]) s = apply(s, { type: 'local.act', frame });
  const wrapping = { ...held('i2'), interaction: { ...interaction('i2', 'wrap_up'), id: 'i2' } };
  const after = apply(s, snapshot({ offers: [offerFrame('i8')], interactions: [held('i1'), wrapping] }));
  assert.deepEqual(after.actions.map((a) => a.key), ['offer:i8', 'end:i1', 'wrap_up:i2']);
  assert.deepEqual(after.errors, [], 'nothing the agent needs to hear of');
  // The offer timed out before the accept could go: dropped, and the agent is told.
  const timedOut = apply(s, snapshot({ interactions: [held('i1'), wrapping] }));
  assert.deepEqual(timedOut.actions.map((a) => a.key), ['end:i1', 'wrap_up:i2']);
  assert.equal(timedOut.errors.at(-1).code, 'action_expired');
});

test('what the hub did before the socket fell is not sent again', () => {
  let s = run(snapshot({ offers: [offerFrame('i9')] }));
  s = apply(s, { type: 'local.act', frame: { type: 'offer.accept', interaction_id: 'i9' } });
  // The snapshot shows it held: the accept reached the hub.
  s = apply(s, snapshot({ interactions: [held('i9')] }));
  assert.deepEqual(s.actions, []);
  assert.deepEqual(s.errors, []);
  const wrapping = { i9: { interaction: interaction('i9', 'wrap_up') } };
  assert.equal(actionOutcome({ type: 'interaction.end', interaction_id: 'i9' }, {}, wrapping), 'done');
  assert.equal(actionOutcome({ type: 'wrap_up', interaction_id: 'i9' }, {}, {}), 'done', 'closed: wrapped up already');
  assert.equal(actionOutcome({ type: 'offer.decline', interaction_id: 'i9' }, {}, {}), 'done');
  assert.equal(actionOutcome({ type: 'interaction.transfer', interaction_id: 'i9' }, {}, wrapping), 'expired', 'the customer left first');
});

test('every queueable action has a name in both catalogues (the banner lists them)', () => {
  for (const type of Object.keys(ACTION_GROUPS)) {
    assert.ok(`queued.${type}` in en, type);
    assert.ok(`queued.${type}` in zhCN, type);
  }
  assert.ok('error.action_expired' in en && 'error.action_expired' in zhCN);
});

test('a conversation linked to a known customer shows their card, and a fetched file replaces its message', () => {
  const held = { interaction: interaction('i1'), card: card(), messages: [msg('m1', 1)] };
  let s = run(snapshot({ interactions: [held] }));
  const maria = { customer: { ...CUSTOMER, id: 'c2', name: 'Maria Garcia' }, recent: [], notes: [] };
  s = apply(s, { type: 'local.linked', interaction_id: 'i1', card: maria });
  assert.equal(s.held.i1.card.customer.name, 'Maria Garcia');
  assert.equal(s.held.i1.interaction.customer_id, 'c2');
  assert.equal(apply(s, { type: 'local.linked', interaction_id: 'nope', card: maria }), s);
  // The hub pushes the message again once its photo is kept.
  const photo = { entry_point: 'inbox:1', details: { media: [{ kind: 'image', id: 'x', attachment_id: 'f1' }] }, attachments: [{ id: 'f1', filename: 'image.jpg', content_type: 'image/jpeg', size: 3 }] };
  s = apply(s, { type: 'message', message: msg('m1', 1, { channel: photo }) });
  assert.equal(s.held.i1.messages.length, 1);
  assert.equal(s.held.i1.messages[0].channel.attachments[0].id, 'f1');
});

test('a due follow-up pops a reminder once; its escalation replaces it; closing it takes it away', () => {
  const f = { id: 'f1', customer_id: 'c1', customer_name: 'Li Wei', title: 'call back', kind: 'callback', due_at: 5 };
  let s = apply(initialState(), { type: 'follow_up.due', follow_up: f });
  s = apply(s, { type: 'follow_up.due', follow_up: f });
  assert.deepEqual(s.reminders, [{ follow_up: f, escalated: false }]);
  s = apply(s, { type: 'snapshot', agent: { id: 'a1' }, interactions: [], offers: [] });
  assert.equal(s.reminders.length, 1, 'a reconnect keeps the reminder');
  s = apply(s, { type: 'follow_up.escalated', follow_up: f });
  assert.deepEqual(s.reminders, [{ follow_up: f, escalated: true }]);
  s = apply(s, { type: 'follow_up.due', follow_up: { ...f, id: 'f2' } });
  s = apply(s, { type: 'local.reminder_closed', id: 'f1' });
  assert.deepEqual(s.reminders.map((r) => r.follow_up.id), ['f2']);
});

test("a colleague's note naming the agent is kept once until dismissed", () => {
  const note = { id: 7, customer_id: 'c1', interaction_id: 'i1', body: '@bob can you check?' };
  let s = run(snapshot({ interactions: [] }), { type: 'note.mentioned', note, by_name: 'Alice Wong', customer_name: 'Kim' });
  s = apply(s, { type: 'note.mentioned', note, by_name: 'Alice Wong', customer_name: 'Kim' });
  assert.deepEqual(s.mentions, [{ note, by_name: 'Alice Wong', customer_name: 'Kim' }]);
  s = apply(s, { type: 'local.mention_closed', id: 7 });
  assert.deepEqual(s.mentions, []);
});
