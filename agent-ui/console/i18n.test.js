// Every string the console shows must exist in both catalogues, with the same placeholders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';
import { t, setLocale, normalizeLocale, label, dispositionLabel, formatDuration, formatTime, formatDateTime, errorText } from './i18n.js';

const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

test('both catalogues have the same keys and placeholders', () => {
  assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en)) assert.deepEqual(placeholders(zhCN[key]), placeholders(en[key]), key);
});

test('every literal key the components use is in the catalogue', () => {
  const dir = new URL('./components/', import.meta.url);
  for (const file of readdirSync(dir)) {
    const src = readFileSync(new URL(file, dir), 'utf8');
    for (const [, key] of src.matchAll(/\bt\('([^']+)'/g)) assert.ok(key in en, `${file}: ${key}`);
  }
});

test('every error code the hub can send has a label in both languages', () => {
  // The REST and socket codes of ApiError, and the codes of the error frames the hub's shells
  // build themselves (telephony's call_* codes); a file's tests (after its #[cfg(test)]) aside.
  const hub = new URL('../../hub/src/', import.meta.url);
  const codes = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const url = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
      if (entry.isDirectory()) walk(url);
      else if (entry.name.endsWith('.rs')) {
        const src = readFileSync(url, 'utf8').split('#[cfg(test)]')[0];
        for (const [, code] of src.matchAll(/\("([a-z_]+)", StatusCode::/g)) codes.add(code);
        for (const [, code] of src.matchAll(/Error \{\s*code: "([a-z_]+)"/g)) codes.add(code);
      }
    }
  };
  walk(hub);
  assert.ok(codes.has('rate_limited') && codes.has('call_failed'), [...codes].join(' '));
  for (const code of codes) {
    assert.ok(`error.${code}` in en, `error.${code} missing from en`);
    assert.ok(`error.${code}` in zhCN, `error.${code} missing from zh-CN`);
  }
});

test('locales: zh* becomes zh-CN, the rest English; placeholders are filled', () => {
  assert.equal(normalizeLocale('zh-TW'), 'zh-CN');
  assert.equal(normalizeLocale('zh'), 'zh-CN');
  assert.equal(normalizeLocale('fr-FR'), 'en');
  assert.equal(normalizeLocale(undefined), 'en');
  setLocale('zh-CN');
  assert.equal(t('chat.customer_typing', { name: '李伟' }), '李伟 正在输入…');
  assert.equal(label('istate', 'closed'), '已关闭');
  assert.equal(label('reason', 'something custom'), 'something custom');
  assert.equal(dispositionLabel('resolved', 'Resolved'), '已解决');
  assert.equal(dispositionLabel('custom_code', 'Custom'), 'Custom');
  setLocale('en');
  assert.equal(t('offer.seconds', { n: 12 }), '12s');
  assert.equal(dispositionLabel('resolved', 'Fixed it'), 'Fixed it');
  assert.equal(t('no.such.key'), 'no.such.key');
});

test('durations read as m:ss or h:mm:ss', () => {
  assert.equal(formatDuration(245000), '4:05');
  assert.equal(formatDuration(3723000), '1:02:03');
  assert.equal(formatDuration(-5), '0:00');
});

test('every word the hub sends for email has a label in both languages', async () => {
  const { filedKind } = await import('./email.js');
  const words = [
    ...['queued', 'sent', 'delivered', 'read', 'failed'].map((w) => `delivery.${w}`),
    ...['connecting', 'connected', 'failing'].map((w) => `mailbox_state.${w}`),
    ...['tls', 'starttls', 'plain'].map((w) => `security.${w}`),
    ...['auto-submitted: auto-replied', 'return-path: <>', 'list-id', 'auto-submitted: auto-generated'].map((r) => `filed.${filedKind(r)}`),
    ...['reopened', 'filed', 'transferred', 'overflowed', 'moved', 'offer_timed_out', 'note_added', 'started'].map((w) => `event.interaction.${w}`),
    'error.no_room',
    'mailboxes.imap', 'mailboxes.smtp',
  ];
  for (const key of words) {
    assert.ok(key in en, `en: ${key}`);
    assert.ok(key in zhCN, `zh-CN: ${key}`);
  }
});

test("the hub's English text never shows inside the Chinese console; in English it follows the label", () => {
  const refused = { code: 'bad_request', message: 'name must not be blank' };
  setLocale('zh-CN');
  assert.equal(errorText(refused), zhCN['error.bad_request']);
  assert.equal(errorText({ code: 'no_such_code', message: 'boom' }), zhCN['error.generic']);
  assert.equal(errorText(null), zhCN['error.generic']);
  setLocale('en');
  assert.equal(errorText(refused), 'Request refused — name must not be blank');
  assert.equal(errorText({ code: 'no_such_code', message: 'boom' }), en['error.generic'], 'an unknown code says nothing raw');
  assert.equal(errorText({ code: 'rate_limited' }), en['error.rate_limited']);
});

test('times follow the locale, also after switching back and forth (formatters are kept per locale)', () => {
  const at = Date.UTC(2026, 10, 30, 20, 5);
  const time = (locale) => new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' }).format(new Date(at));
  const dateTime = (locale) => new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at));
  for (const locale of ['en', 'zh-CN', 'en']) {
    setLocale(locale);
    assert.equal(formatTime(at), time(locale));
    assert.equal(formatDateTime(at), dateTime(locale));
  }
  assert.notEqual(time('en'), time('zh-CN'), 'the two locales write a time differently');
  assert.equal(formatTime(null), '');
});
