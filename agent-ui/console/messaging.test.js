// A messaging conversation's reply window and templates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replyWindow, takesTemplates, templateSpec, mediaItems, mediaKind } from './messaging.js';

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

const file = (id, type) => ({ id, filename: `f-${id}`, content_type: type, size: 10 });
const withMedia = (media, attachments = [], extra = {}) => ({ channel: { details: { media, ...extra }, attachments } });

test("a message's files: fetching (with the last failure), failed with its reason, or kept and shown by type", () => {
  const m = withMedia(
    [
      { kind: 'image', id: 'a', attachment_id: 'f1' },
      { kind: 'voice', id: 'b', attachment_id: 'f2' },
      { kind: 'document', id: 'c', attachment_id: 'f3' },
      { kind: 'video', id: 'd', error: 'the file is 99 bytes, over the limit of 10' },
      { kind: 'image', id: 'e' },
    ],
    [file('f1', 'image/jpeg'), file('f2', 'audio/ogg; codecs=opus'), file('f3', 'application/pdf')],
    { media_retry: { attempts: 1, reason: 'HTTP 503' } },
  );
  assert.deepEqual(mediaItems(m).map((i) => [i.state, i.kind, i.reason, i.attachment && i.attachment.id]), [
    ['kept', 'image', null, 'f1'],
    ['kept', 'audio', null, 'f2'],
    ['kept', 'file', null, 'f3'],
    ['failed', null, 'the file is 99 bytes, over the limit of 10', null],
    ['fetching', null, 'HTTP 503', null],
  ]);
  assert.deepEqual(mediaItems({ body: 'hi' }), []);
  assert.deepEqual(mediaItems(withMedia([{ kind: 'image', id: 'a', attachment_id: 'gone' }])).map((i) => i.state), ['fetching']);
});

test('an SVG is never shown inline: it is a file to download', () => {
  assert.equal(mediaKind('image/svg+xml'), 'file');
  assert.equal(mediaKind('IMAGE/PNG'), 'image');
  assert.equal(mediaKind('video/mp4'), 'video');
  assert.equal(mediaKind(undefined), 'file');
});

test("a web chat's file is shown from its attachments, kept from the start", () => {
  const m = { body: '', channel: { details: {}, attachments: [{ id: 'a1', content_type: 'image/png', filename: 'p.png' }, { id: 'a2', content_type: 'application/pdf', filename: 'r.pdf' }] } };
  assert.deepEqual(mediaItems(m).map((i) => [i.state, i.kind, i.attachment.id]), [['kept', 'image', 'a1'], ['kept', 'file', 'a2']]);
});
