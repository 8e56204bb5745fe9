// Unit tests for the keyboard shortcuts: which keydown asks for what, and never while typing
// unless it is an Alt chord.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortcutFor, isTyping, neighbour, SHORTCUTS, chordName } from './shortcuts.js';
import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

const body = { tagName: 'BODY' };
const textarea = { tagName: 'TEXTAREA' };
const key = (k, extra = {}) => ({ key: k, code: '', altKey: false, ctrlKey: false, metaKey: false, shiftKey: false, target: body, ...extra });

test('plain keys act outside inputs', () => {
  assert.equal(shortcutFor(key('a')), 'accept');
  assert.equal(shortcutFor(key('d')), 'decline');
  assert.equal(shortcutFor(key('j')), 'next');
  assert.equal(shortcutFor(key('k')), 'previous');
  assert.equal(shortcutFor(key('w')), 'wrapup');
  assert.equal(shortcutFor(key('z')), 'snooze');
  assert.equal(shortcutFor(key('r')), 'composer');
  assert.equal(shortcutFor(key('/')), 'search');
  assert.equal(shortcutFor(key('?', { shiftKey: true })), 'help');
  assert.equal(shortcutFor(key('e')), null, 'ending takes a chord');
  assert.equal(shortcutFor(key('x')), null);
});

test('never while typing, unless it is an Alt chord', () => {
  for (const target of [textarea, { tagName: 'INPUT' }, { tagName: 'SELECT' }, { tagName: 'DIV', isContentEditable: true }]) {
    assert.ok(isTyping(target));
    assert.equal(shortcutFor(key('a', { target })), null);
    assert.equal(shortcutFor(key('?', { target, shiftKey: true })), null);
  }
  assert.equal(shortcutFor(key('å', { code: 'KeyA', altKey: true, target: textarea })), 'accept', 'by physical key: Alt+A types å on a Mac');
  assert.equal(shortcutFor(key('ArrowDown', { code: 'ArrowDown', altKey: true, target: textarea })), 'next');
  assert.equal(shortcutFor(key('e', { code: 'KeyE', altKey: true })), 'end');
});

test('Ctrl, Meta, Alt+Shift, key repeat and IME composition are left to the browser', () => {
  assert.equal(shortcutFor(key('a', { ctrlKey: true })), null);
  assert.equal(shortcutFor(key('r', { metaKey: true })), null);
  assert.equal(shortcutFor(key('A', { code: 'KeyA', altKey: true, shiftKey: true })), null);
  assert.equal(shortcutFor(key('a', { repeat: true })), null);
  assert.equal(shortcutFor(key('a', { isComposing: true })), null);
});

test('next and previous wrap around the held conversations', () => {
  assert.equal(neighbour(['a', 'b', 'c'], 'c', 1), 'a');
  assert.equal(neighbour(['a', 'b', 'c'], 'a', -1), 'c');
  assert.equal(neighbour(['a', 'b', 'c'], null, 1), 'a');
  assert.equal(neighbour(['a', 'b', 'c'], null, -1), 'c');
  assert.equal(neighbour([], null, 1), null);
});

test('every shortcut is described in both catalogues, and no key or chord is taken twice', () => {
  for (const s of SHORTCUTS) {
    assert.ok(`shortcuts.${s.action}` in en, s.action);
    assert.ok(`shortcuts.${s.action}` in zhCN, s.action);
  }
  const keys = SHORTCUTS.map((s) => s.key).filter(Boolean);
  const chords = SHORTCUTS.map((s) => s.chord).filter(Boolean);
  assert.equal(new Set(keys).size, keys.length);
  assert.equal(new Set(chords).size, chords.length);
  assert.equal(chordName('KeyE'), 'E');
  assert.equal(chordName('ArrowDown'), '↓');
});
