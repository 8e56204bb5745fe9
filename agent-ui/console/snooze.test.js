import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snoozeUntil, customUntil, snoozable, reopenable, MAX_SNOOZE_MS } from './snooze.js';

// Local times throughout: the choices are in the agent's time zone, whatever the machine's.
const wednesday = new Date(2026, 11, 2, 16, 45, 10);

test('the snooze choices come back in an hour, tomorrow at 9:00 and next Monday at 9:00', () => {
  assert.equal(snoozeUntil('hour', wednesday), wednesday.getTime() + 3_600_000);
  assert.equal(snoozeUntil('tomorrow', wednesday), new Date(2026, 11, 3, 9, 0).getTime());
  assert.equal(snoozeUntil('next_week', wednesday), new Date(2026, 11, 7, 9, 0).getTime());
  // On a Monday, next week's Monday; at the end of a month, the next month's day.
  const monday = new Date(2026, 10, 30, 8, 0);
  assert.equal(snoozeUntil('next_week', monday), new Date(2026, 11, 7, 9, 0).getTime());
  assert.equal(snoozeUntil('tomorrow', monday), new Date(2026, 11, 1, 9, 0).getTime());
  assert.equal(snoozeUntil('custom', wednesday), null);
});

test('a custom time is read from the date-time field, and only a future one within 90 days', () => {
  assert.equal(customUntil('2026-12-04T13:30', wednesday), new Date(2026, 11, 4, 13, 30).getTime());
  assert.equal(customUntil('', wednesday), null);
  assert.equal(customUntil('tomorrow', wednesday), null);
  assert.equal(customUntil('2026-02-30T10:00', wednesday), null, 'no such day');
  assert.equal(customUntil('2026-12-02T16:00', wednesday), null, 'in the past');
  const tooFar = new Date(wednesday.getTime() + MAX_SNOOZE_MS + 86_400_000);
  const field = `${tooFar.getFullYear()}-${String(tooFar.getMonth() + 1).padStart(2, '0')}-${String(tooFar.getDate()).padStart(2, '0')}T10:00`;
  assert.equal(customUntil(field, wednesday), null, 'past 90 days');
});

test('chats and emails can be snoozed and reopened, calls never', () => {
  assert.ok(snoozable({ state: 'active', channel: 'chat' }));
  assert.ok(snoozable({ state: 'active', channel: 'email' }));
  assert.ok(!snoozable({ state: 'active', channel: 'voice' }));
  assert.ok(!snoozable({ state: 'wrap_up', channel: 'chat' }));
  assert.ok(reopenable({ state: 'closed', channel: 'email' }));
  assert.ok(reopenable({ state: 'abandoned', channel: 'chat' }));
  assert.ok(!reopenable({ state: 'closed', channel: 'voice' }));
  assert.ok(!reopenable({ state: 'active', channel: 'chat' }));
});

test('every event of the interaction state machine has a timeline label in both languages', async () => {
  const { readFileSync } = await import('node:fs');
  const { default: en } = await import('./i18n/en.js');
  const { default: zhCN } = await import('./i18n/zh-CN.js');
  const src = readFileSync(new URL('../../hub/src/domain/interaction.rs', import.meta.url), 'utf8');
  const types = [...src.matchAll(/=> "(interaction\.[a-z_]+)",/g)].map((m) => m[1]);
  assert.ok(types.includes('interaction.snoozed') && types.includes('interaction.woken'), types.join(' '));
  for (const type of types) {
    assert.ok(`event.${type}` in en, `en: event.${type}`);
    assert.ok(`event.${type}` in zhCN, `zh-CN: event.${type}`);
  }
});
