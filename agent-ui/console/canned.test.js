import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fill, slashAt, matching, replaceSlash } from './canned.js';

const values = {
  customer: { name: 'Wei Li', email: 'wei@example.com', phone: null },
  agent: { name: 'Alice Wong', display_name: null },
};

test('variables are filled; a missing value is empty, an unknown variable stays', () => {
  const table = [
    ['Hello {{customer.name}}, I am {{agent.name}}.', 'Hello Wei Li, I am Alice Wong.'],
    ['{{ customer.email }}', 'wei@example.com'],
    ['Call {{customer.phone}}!', 'Call !'],
    ['{{agent.first_name}} here', 'Alice here'],
    ['{{customer.birthday}} and {{order.id}}', '{{customer.birthday}} and {{order.id}}'],
    ['no variables', 'no variables'],
    ['{{customer.name}}{{customer.name}}', 'Wei LiWei Li'],
  ];
  for (const [body, want] of table) assert.equal(fill(body, values), want, body);
  assert.equal(fill('Hi {{customer.name}}', {}), 'Hi ');
  assert.equal(fill('{{agent.name}}', { agent: { name: 'Alice Wong', display_name: 'Ali' } }), 'Ali');
});

test('a slash at the start of a word opens the list', () => {
  const table = [
    ['/ref', 4, { start: 0, query: 'ref' }],
    ['/', 1, { start: 0, query: '' }],
    ['thanks /re', 10, { start: 7, query: 're' }],
    ['line\n/hi', 8, { start: 5, query: 'hi' }],
    ['and/or', 6, null],
    ['http://x', 8, null],
    ['/ref done', 9, null],
    ['/ref done', 4, { start: 0, query: 'ref' }],
    ['', 0, null],
  ];
  for (const [text, caret, want] of table) assert.deepEqual(slashAt(text, caret), want, `${text}@${caret}`);
});

test('matches: shortcut prefixes first, then shortcut or title containing the query, in list order', () => {
  const list = [
    { shortcut: 'thanks', title: 'Thank you' },
    { shortcut: 'refund', title: 'Refund on its way' },
    { shortcut: 'late', title: 'Delivery late; refund offered' },
    { shortcut: 'ref2', title: 'Other' },
  ];
  const shortcuts = (l) => l.map((c) => c.shortcut);
  assert.deepEqual(shortcuts(matching(list, 'ref')), ['refund', 'ref2', 'late']);
  assert.deepEqual(shortcuts(matching(list, 'REF')), ['refund', 'ref2', 'late']);
  assert.deepEqual(shortcuts(matching(list, '')), ['thanks', 'refund', 'late', 'ref2']);
  assert.deepEqual(shortcuts(matching(list, 'zzz')), []);
});

test('the /word is replaced and the caret goes after the text', () => {
  assert.deepEqual(replaceSlash('Hi /ref now', 3, 7, 'Refund!'), { text: 'Hi Refund! now', caret: 10 });
});

test('the knowledge and canned pages have routes', async () => {
  const { parseRoute } = await import('./route.js');
  assert.deepEqual(parseRoute('#/knowledge'), { name: 'knowledge', id: null });
  assert.deepEqual(parseRoute('#/knowledge/0190-a'), { name: 'knowledge', id: '0190-a' });
  assert.deepEqual(parseRoute('#/canned'), { name: 'canned' });
});
