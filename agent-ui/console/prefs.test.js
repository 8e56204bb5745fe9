// Unit tests for the attention settings kept in the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPrefs, savePrefs, DEFAULT_PREFS } from './prefs.js';

const memory = (initial = {}) => {
  const data = { ...initial };
  return { getItem: (k) => (k in data ? data[k] : null), setItem: (k, v) => { data[k] = String(v); }, data };
};

test('defaults: sound on, notifications off until the agent turns them on', () => {
  assert.deepEqual(loadPrefs(memory()), DEFAULT_PREFS);
  assert.deepEqual(DEFAULT_PREFS, { notify: false, sound: true });
});

test('saved settings come back; unreadable ones fall back to the defaults', () => {
  const store = memory();
  savePrefs(store, { notify: true, sound: false });
  assert.deepEqual(loadPrefs(store), { notify: true, sound: false });
  assert.deepEqual(loadPrefs(memory({ 'plugboard.attention': '{not json' })), DEFAULT_PREFS);
  assert.deepEqual(loadPrefs(memory({ 'plugboard.attention': '{"notify":"yes","sound":false}' })), { notify: false, sound: false });
});

test('a storage that refuses writes does not throw', () => {
  savePrefs({ setItem: () => { throw new Error('quota'); } }, { notify: true, sound: true });
});
