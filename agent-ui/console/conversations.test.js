import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultFilters, listQuery, changesInbox, waitedMinutes, openTarget, unreadTotal, appendPage, channelIcon, watchable, withWatchedMessage, withWatchedUpdate, withLabel, withoutLabel, MAX_LABELS, thread } from './conversations.js';
import { parseRoute, watchHref } from './route.js';

const line = (id, unread = 0, customer = `c-${id}`) => ({ interaction: { id, customer_id: customer }, unread });

test('the list query carries only the filters chosen, and the cursor', () => {
  assert.equal(listQuery(defaultFilters()), 'folder=mine&order=newest');
  assert.equal(
    listQuery({ ...defaultFilters(), folder: 'all', channel: 'chat', label: ' vip ', state: '' }, '10.3'),
    'folder=all&channel=chat&label=vip&order=newest&after=10.3',
  );
});

test('frames that may move a conversation between lists refresh it; others do not', () => {
  for (const type of ['conversations.changed', 'message', 'offer', 'interaction.assigned', 'interaction.updated', 'snapshot']) {
    assert.equal(changesInbox({ type }), true, type);
  }
  for (const type of ['typing', 'agent.state', 'message.ack', 'note.added']) assert.equal(changesInbox({ type }), false, type);
  assert.equal(changesInbox(null), false);
});

test('waiting time is whole minutes, never negative, none when nobody waits', () => {
  assert.equal(waitedMinutes(null, 1000), null);
  assert.equal(waitedMinutes(0, 59_999), 0);
  assert.equal(waitedMinutes(0, 125_000), 2);
  assert.equal(waitedMinutes(5000, 0), 0);
});

test('a held conversation opens in the workspace, any other on its customer', () => {
  assert.deepEqual(openTarget(line('a'), ['a']), { kind: 'workspace', id: 'a' });
  assert.deepEqual(openTarget(line('b', 0, 'cust'), ['a']), { kind: 'customer', id: 'cust' });
});

test('unread counts add up, and a page adds only conversations not shown', () => {
  assert.equal(unreadTotal([line('a', 2), line('b'), line('c', 3)]), 5);
  assert.deepEqual(appendPage([line('a')], [line('a'), line('b')]).map((l) => l.interaction.id), ['a', 'b']);
  assert.equal(channelIcon('email'), '✉');
  assert.equal(channelIcon('fax'), '•');
});

test('a supervisor watches conversations under way that are not theirs', () => {
  const line = (id, state) => ({ interaction: { id, state } });
  assert.equal(watchable(line('a', 'active'), []), true);
  assert.equal(watchable(line('a', 'queued'), []), true);
  assert.equal(watchable(line('a', 'active'), ['a']), false, 'their own is in the workspace');
  assert.equal(watchable(line('a', 'closed'), []), false);
  assert.equal(watchable(line('a', 'abandoned'), []), false);
  assert.deepEqual(parseRoute(watchHref('0190-x')), { name: 'watch', id: '0190-x' });
  assert.deepEqual(parseRoute('#/watch'), { name: 'workspace' });
});

test('the watched conversation takes new and updated messages in order, and no one else\'s', () => {
  const m = (id, seq, body, interaction_id = 'i') => ({ id, seq, body, interaction_id });
  const watched = { interaction: { id: 'i' }, messages: [m('1', 1, 'hi'), m('2', 2, 'hello')] };
  const added = withWatchedMessage(watched, m('3', 3, 'new'));
  assert.deepEqual(added.messages.map((x) => x.id), ['1', '2', '3']);
  const updated = withWatchedMessage(added, { ...m('2', 2, 'hello'), channel: { delivery: 'read' } });
  assert.deepEqual(updated.messages.map((x) => x.id), ['1', '2', '3']);
  assert.equal(updated.messages[1].channel.delivery, 'read');
  assert.equal(withWatchedMessage(watched, m('9', 1, 'x', 'other')), watched);
  assert.equal(withWatchedMessage(null, m('3', 3, 'new')), null);
});

test('a watched conversation takes its new state, and ignores another', () => {
  const watched = { interaction: { id: 'i1', state: 'active' }, messages: [{ id: '1' }] };
  const ended = withWatchedUpdate(watched, { id: 'i1', state: 'wrap_up' });
  assert.equal(ended.interaction.state, 'wrap_up');
  assert.deepEqual(ended.messages, watched.messages);
  assert.equal(withWatchedUpdate(watched, { id: 'i2', state: 'closed' }), watched);
  assert.equal(withWatchedUpdate(null, { id: 'i1', state: 'closed' }), null);
});

test('labels are added trimmed and lower-cased, once, in order; what the hub would refuse is refused here', () => {
  assert.deepEqual(withLabel(['vip'], '  Refund '), ['refund', 'vip']);
  assert.deepEqual(withLabel(['refund', 'vip'], 'VIP'), ['refund', 'vip'], 'once');
  assert.equal(withLabel(['vip'], '   '), null);
  assert.equal(withLabel([], 'x'.repeat(41)), null);
  assert.deepEqual(withLabel([], '退款'), ['退款']);
  assert.equal(withLabel([], '退'.repeat(14)), null, '14 Chinese characters are 42 bytes');
  const full = Array.from({ length: MAX_LABELS }, (_, i) => `l${String(i).padStart(2, '0')}`);
  assert.equal(withLabel(full, 'one-more'), null);
  assert.deepEqual(withoutLabel(['refund', 'vip'], 'vip'), ['refund']);
});

test("a conversation's notes sit among its lines by time; another conversation's are not there", () => {
  const m = (id, at) => ({ id, created_at: at });
  const n = (id, at, interaction_id = 'i1') => ({ id, created_at: at, interaction_id });
  const items = thread([m('m1', 10), m('m2', 30), { id: 'p', pending: true }], [n(1, 20), n(2, 30), n(3, 15, 'i2'), n(4, 5, null)], 'i1');
  assert.deepEqual(items.map((i) => (i.message ? i.message.id : `note ${i.note.id}`)), ['m1', 'note 1', 'm2', 'note 2', 'p']);
});
