// A messaging conversation's reply window and templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replyWindow, takesTemplates, templateSpec } from './messaging.js';

const customer = (at, hours) => ({ sender: 'customer', channel: { details: { reply_window: { opened_at: at, closes_at: at + hours * 3_600_000, hours } } } });

test('the window runs from the newest customer message that has one', () => {
  const messages = [customer(0, 24), { sender: 'agent', channel: { details: {} } }, customer(10 * 3_600_000, 24), { sender: 'agent' }];
  assert.deepEqual(replyWindow(messages, 20 * 3_600_000), { closesAt: 34 * 3_600_000, hours: 24, open: true });
  assert.equal(replyWindow(messages, 34 * 3_600_000).open, false);
  assert.equal(replyWindow([{ sender: 'customer', channel: { details: {} } }], 0), null, 'Telegram has none');
  assert.equal(replyWindow([], 0), null);
});

test('only a 24-hour window (WhatsApp) takes templates', () => {
  assert.equal(takesTemplates({ hours: 24 }), true);
  assert.equal(takesTemplates({ hours: 48 }), false);
  assert.equal(takesTemplates(null), false);
});

test('a template is a name, a language and the values one per line', () => {
  assert.deepEqual(templateSpec(' order_update ', 'en_US', '4411\n\n Monday \n'), { name: 'order_update', language: 'en_US', params: ['4411', 'Monday'] });
  assert.equal(templateSpec('', 'en_US', ''), null);
  assert.equal(templateSpec('order_update', ' ', ''), null);
});
