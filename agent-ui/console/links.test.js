import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linkParts } from './links.js';

test('web addresses become links; everything else stays text', () => {
  const cases = [
    ['no links here', [{ text: 'no links here' }]],
    ['see https://shop.example/orders/17.', [{ text: 'see ' }, { text: 'https://shop.example/orders/17', href: 'https://shop.example/orders/17' }, { text: '.' }]],
    ['(www.example.com)', [{ text: '(' }, { text: 'www.example.com', href: 'https://www.example.com' }, { text: ')' }]],
    ['请看 https://例子.中国/路径。谢谢', [{ text: '请看 ' }, { text: 'https://例子.中国/路径', href: 'https://例子.中国/路径' }, { text: '。谢谢' }]],
    ['javascript:alert(1) and data:text/html,x', [{ text: 'javascript:alert(1) and data:text/html,x' }]],
    ['http://a.example/?q=1&r=2 http://b.example', [
      { text: 'http://a.example/?q=1&r=2', href: 'http://a.example/?q=1&r=2' }, { text: ' ' }, { text: 'http://b.example', href: 'http://b.example' }]],
    ['<b>https://x.example"onmouseover="alert(1)</b>', [{ text: '<b>' }, { text: 'https://x.example', href: 'https://x.example' }, { text: '"onmouseover="alert(1)</b>' }]],
    ['', []],
  ];
  for (const [text, parts] of cases) assert.deepEqual(linkParts(text), parts, text);
});
