import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EMOJI, insertAt } from './emoji.js';

test('an emoji goes in at the caret, replacing a selection, the caret after it', () => {
  assert.deepEqual(insertAt('Thanks !', 7, 7, '🙏'), { text: 'Thanks 🙏!', caret: 9 });
  assert.deepEqual(insertAt('Thanks bad', 7, 10, '👍'), { text: 'Thanks 👍', caret: 9 });
  assert.deepEqual(insertAt('', undefined, undefined, '😀'), { text: '😀', caret: 2 });
  assert.deepEqual(insertAt('ab', 99, 99, '✅'), { text: 'ab✅', caret: 3 });
});

test('the picker offers each emoji once', () => {
  assert.equal(new Set(EMOJI).size, EMOJI.length);
});
