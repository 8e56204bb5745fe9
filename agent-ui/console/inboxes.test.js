// The inbox form: what reaches the hub for each platform, what is refused before sending, and the
// webhook address the admin pastes into the platform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';
import { PLATFORMS, FIELDS, emptyInboxForm, inboxSpec, inboxProblems, randomToken, webhookUrl, fieldOfError } from './inboxes.js';

// Bytes counting up: tokens are predictable in a test.
const counting = (n) => Uint8Array.from({ length: n }, (_, i) => i);

test('a new form suggests both tokens, random and of characters Telegram and Meta take', () => {
  const form = emptyInboxForm('q1');
  assert.equal(form.platform, 'whatsapp');
  assert.equal(form.queue_id, 'q1');
  assert.match(form.secrets.verify_token, /^[A-Za-z0-9_-]{32}$/);
  assert.match(form.secrets.secret_token, /^[A-Za-z0-9_-]{32}$/);
  assert.notEqual(form.secrets.verify_token, emptyInboxForm('q1').secrets.verify_token, 'two forms, two tokens');
  assert.equal(form.secrets.access_token, '');
  assert.equal(form.settings.phone_number_id, '');
  assert.equal(randomToken(4, counting), 'ABCD');
  assert.equal(randomToken(2, () => Uint8Array.of(255, 62)), '_-');
  // WeChat's Token: letters and digits only.
  assert.equal(randomToken(2, () => Uint8Array.of(255, 62), true), 'HA');
  assert.match(emptyInboxForm('q1', 'wechat').secrets.token, /^[A-Za-z0-9]{32}$/);
});

test('a WhatsApp inbox sends only WhatsApp fields, trimmed, empty ones left for the hub to default', () => {
  const form = emptyInboxForm('q1', 'whatsapp', counting);
  const spec = inboxSpec({
    ...form,
    name: '  Shop WhatsApp ',
    settings: { ...form.settings, phone_number_id: ' 106540352242922 ', api_version: '' },
    secrets: { ...form.secrets, access_token: 'EAAG…\n', app_secret: 's3cret', bot_token: 'typed before switching' },
  });
  assert.deepEqual(spec, {
    platform: 'whatsapp',
    name: 'Shop WhatsApp',
    queue_id: 'q1',
    settings: { phone_number_id: '106540352242922' },
    secrets: { access_token: 'EAAG…', app_secret: 's3cret', verify_token: randomToken(32, counting) },
  });
});

test('a Telegram inbox sends its bot token and secret token; its API base loses a trailing slash', () => {
  const form = emptyInboxForm('q2', 'telegram');
  const spec = inboxSpec({
    ...form,
    name: 'Shop bot',
    settings: { ...form.settings, api_base: ' http://127.0.0.1:9000/ ', phone_number_id: '123' },
    secrets: { ...form.secrets, bot_token: '123:ABC', access_token: 'not telegram' },
  });
  assert.deepEqual(spec.settings, { api_base: 'http://127.0.0.1:9000' });
  assert.deepEqual(Object.keys(spec.secrets).sort(), ['bot_token', 'secret_token']);
  assert.equal(spec.secrets.secret_token, form.secrets.secret_token);
});

test('a missing required field is the hub\'s to name: the form is sent as it is', () => {
  const spec = inboxSpec(emptyInboxForm('q1'));
  assert.deepEqual(spec.settings, {});
  assert.ok(!('access_token' in spec.secrets));
  assert.deepEqual(inboxProblems(emptyInboxForm('q1')), []);
});

test('refused before sending: an API base that is no http(s) URL, a secret token Telegram refuses', () => {
  const form = emptyInboxForm('q1', 'telegram');
  const with_ = (settings, secrets) => ({ ...form, settings: { ...form.settings, ...settings }, secrets: { ...form.secrets, ...secrets } });
  assert.deepEqual(inboxProblems(with_({ api_base: 'api.telegram.org' })), [{ field: 'settings.api_base', key: 'inboxes.problem.api_base' }]);
  assert.deepEqual(inboxProblems(with_({ api_base: 'ftp://x' })).map((p) => p.field), ['settings.api_base']);
  assert.deepEqual(inboxProblems(with_({ api_base: 'https://api.telegram.org/' })), []);
  assert.deepEqual(inboxProblems(with_({}, { secret_token: 'has spaces in it' })), [{ field: 'secrets.secret_token', key: 'inboxes.problem.secret_token' }]);
  assert.deepEqual(inboxProblems(with_({}, { secret_token: 'x'.repeat(257) })).map((p) => p.field), ['secrets.secret_token']);
  // Meta's verify token is any string: only Telegram's rule applies, and only to Telegram.
  assert.deepEqual(inboxProblems({ ...with_({}, { secret_token: 'has spaces' }), platform: 'whatsapp' }), []);
  assert.deepEqual(inboxProblems({ ...form, platform: 'line' }).map((p) => p.field), ['platform']);
});

test('the webhook URL is the console\'s origin and the hub\'s path, one slash between', () => {
  assert.equal(webhookUrl('https://hub.example.com', '/webhooks/abc'), 'https://hub.example.com/webhooks/abc');
  assert.equal(webhookUrl('http://127.0.0.1:8080/', 'webhooks/abc'), 'http://127.0.0.1:8080/webhooks/abc');
});

test('the field a hub\'s 400 names is found, to mark it', () => {
  assert.equal(fieldOfError('a WhatsApp inbox needs settings.phone_number_id'), 'settings.phone_number_id');
  assert.equal(fieldOfError('secrets.bot_token is required'), 'secrets.bot_token');
  assert.equal(fieldOfError('secrets.password is not one of bot_token, secret_token'), null);
  assert.equal(fieldOfError('no such queue'), null);
  assert.equal(fieldOfError(undefined), null);
});

test('every platform, field and problem has a label in both languages', () => {
  const keys = [
    ...PLATFORMS.map((p) => `platform.${p}`),
    ...PLATFORMS.flatMap((p) => [...FIELDS[p].settings.map((f) => `inboxes.setting.${f.name}`), ...FIELDS[p].secrets.map((f) => `inboxes.secret.${f.name}`)]),
    ...PLATFORMS.flatMap((p) => [...FIELDS[p].settings, ...FIELDS[p].secrets]).filter((f) => f.hint).map((f) => `inboxes.hint.${f.name}`),
    'inboxes.problem.api_base', 'inboxes.problem.secret_token', 'inboxes.problem.platform',
  ];
  for (const key of keys) {
    assert.ok(key in en, `en: ${key}`);
    assert.ok(key in zhCN, `zh-CN: ${key}`);
  }
});

test('a WeChat inbox sends its AppID, Token and AppSecret, and its EncodingAESKey only when given', () => {
  const form = emptyInboxForm('q1', 'wechat');
  const filled = { ...form, name: 'Shop 公众号', settings: { ...form.settings, app_id: ' wx5823bf96d3bd56c7 ' }, secrets: { ...form.secrets, app_secret: 's3cret' } };
  const spec = inboxSpec(filled);
  assert.equal(spec.platform, 'wechat');
  assert.deepEqual(spec.settings, { app_id: 'wx5823bf96d3bd56c7' });
  assert.deepEqual(Object.keys(spec.secrets).sort(), ['app_secret', 'token']);
  const sealed = inboxSpec({ ...filled, secrets: { ...filled.secrets, encoding_aes_key: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' } });
  assert.equal(sealed.secrets.encoding_aes_key, 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C');
});
