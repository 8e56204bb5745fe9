import { test } from 'node:test';
import assert from 'node:assert/strict';
import { since, queueAlert, holdsText, dayCells } from './wallboard.js';

test('a wait counts on from the board to now, never back', () => {
  assert.equal(since(5000, 1000, 4000), 8000);
  assert.equal(since(5000, 4000, 1000), 5000, 'a clock behind the hub does not count back');
  assert.equal(since(null, 1000, 4000), null);
});

test('queues turn amber and red by waits, staffing and today\'s service level', () => {
  const q = (over) => ({ sl_target_secs: 20, waiting: 1, agents_available: 1, today: { service_level: null }, ...over });
  const cases = [
    [q({}), null, 'ok'],
    [q({}), 9_999, 'ok'],
    [q({}), 10_000, 'amber'],
    [q({}), 20_000, 'red'],
    [q({ waiting: 3, agents_available: 1 }), 1_000, 'amber'],
    [q({ today: { service_level: 0.79 } }), null, 'amber'],
    [q({ today: { service_level: 0.59 } }), null, 'red'],
    [q({ today: { service_level: 0.95 } }), 0, 'ok'],
    [q({ today: undefined }), null, 'ok'],
  ];
  for (const [queue, waited, want] of cases) {
    assert.equal(queueAlert(queue, waited), want, JSON.stringify({ queue, waited }));
  }
});

test('holdings read per channel, empty channels left out', () => {
  const label = (c) => c.toUpperCase();
  assert.equal(holdsText({ chat: 2, voice: 1, email: 0 }, label), 'CHAT 2 · VOICE 1');
  assert.equal(holdsText({}, label), '');
  assert.equal(holdsText(undefined, label), '');
});

test('a queue\'s day fills out to every 15 minutes, empty after the last with anything', () => {
  const cells = dayCells({ offered_per_15m: [0, 3, 1], service_level_per_15m: [null, 1, 0.5] }, 96);
  assert.equal(cells.length, 96);
  assert.deepEqual(cells.slice(0, 4), [
    { offered: 0, service_level: null },
    { offered: 3, service_level: 1 },
    { offered: 1, service_level: 0.5 },
    { offered: 0, service_level: null },
  ]);
  assert.equal(dayCells(undefined, 92).length, 92, 'a DST day has 92 or 100');
  assert.equal(dayCells({ offered_per_15m: [1, 2] }, 0).length, 2, 'an old hub without quarter_hours');
});
