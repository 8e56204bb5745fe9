import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byId, agentOf, unknownIds, avatarSrc, centreSquare } from './people.js';

const names = byId([
  { id: 'a1', name: 'Bob Martin', shown_name: 'Bobby', avatar: '/avatars/a1?v=5' },
  { id: 'a2', name: 'Alice Wong', shown_name: 'Alice', avatar: null },
]);
const me = { id: 'a2', name: 'Alice Wong' };

test('each author is named as colleagues know them, the agent themself as me', () => {
  assert.deepEqual(agentOf('a1', { me, names }), { name: 'Bob Martin', avatar: '/avatars/a1?v=5', me: false });
  assert.deepEqual(agentOf('a2', { me, names }), { name: 'Alice Wong', avatar: null, me: true });
  assert.equal(agentOf('a9', { me, names }), null);
  assert.equal(agentOf(null, { me, names }), null);
});

test('an author missing from the list is noticed once, me and the customer never', () => {
  const items = [{ agent_id: 'a1' }, { agent_id: 'a9' }, { agent_id: 'a9' }, { agent_id: 'a2' }, { sender: 'customer' }];
  assert.deepEqual(unknownIds(items, { me, names }), ['a9']);
});

test('only the hub\'s own picture paths are shown', () => {
  assert.equal(avatarSrc({ avatar: '/avatars/a1?v=5' }), '/avatars/a1?v=5');
  for (const avatar of ['https://evil.example/x.png', 'javascript:alert(1)', '//evil.example/a', null, 7]) {
    assert.equal(avatarSrc({ avatar }), null, String(avatar));
  }
});

test('a picture is cut to its middle square before scaling', () => {
  assert.deepEqual(centreSquare(400, 300), { x: 50, y: 0, side: 300 });
  assert.deepEqual(centreSquare(300, 401), { x: 0, y: 50, side: 300 });
  assert.deepEqual(centreSquare(128, 128), { x: 0, y: 0, side: 128 });
});
