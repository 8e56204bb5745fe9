// Unit tests for the softphone's pure parts: what a microphone error tells the agent, and which
// codecs the browser is asked to use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { micProblem, g711First, keypadKey, KEYPAD } from './softphone.js';

test('microphone errors: refused, missing, busy, anything else', () => {
  const cases = [
    ['NotAllowedError', 'denied'],
    ['SecurityError', 'denied'],
    ['NotFoundError', 'no_device'],
    ['OverconstrainedError', 'no_device'],
    ['NotReadableError', 'busy'],
    ['AbortError', 'failed'],
  ];
  for (const [name, problem] of cases) assert.equal(micProblem({ name }), problem, name);
  assert.equal(micProblem(undefined), 'failed');
});

test('only G.711 at 8 kHz, PCMU before PCMA, whatever the browser lists first', () => {
  const codecs = [
    { mimeType: 'audio/opus', clockRate: 48000, channels: 2 },
    { mimeType: 'audio/PCMA', clockRate: 8000 },
    { mimeType: 'audio/G722', clockRate: 8000 },
    { mimeType: 'audio/PCMU', clockRate: 8000 },
    { mimeType: 'audio/telephone-event', clockRate: 8000 },
  ];
  assert.deepEqual(g711First(codecs).map((c) => c.mimeType), ['audio/PCMU', 'audio/PCMA']);
  assert.deepEqual(g711First([{ mimeType: 'audio/opus', clockRate: 48000 }]), []);
});

test('keyboard presses that are keypad keys: digits, * and #, not while typing or with a modifier', () => {
  const on = (key, extra = {}) => keypadKey({ key, target: { tagName: 'DIV' }, ...extra });
  const cases = [
    [on('5'), '5'],
    [on('0'), '0'],
    [on('*'), '*'],
    [on('#'), '#'],
    [on('a'), null],
    [on('Enter'), null],
    [on('12'), null],
    [on('5', { ctrlKey: true }), null],
    [on('5', { metaKey: true }), null],
    [on('5', { altKey: true }), null],
    [keypadKey({ key: '5', target: { tagName: 'INPUT' } }), null],
    [keypadKey({ key: '5', target: { tagName: 'TEXTAREA' } }), null],
    [keypadKey({ key: '5', target: { tagName: 'SELECT' } }), null],
    [keypadKey({ key: '5', target: { tagName: 'DIV', isContentEditable: true } }), null],
    [keypadKey({ key: '5', target: { tagName: 'BUTTON' } }), '5'],
    [keypadKey(undefined), null],
  ];
  cases.forEach(([got, want], i) => assert.equal(got, want, `case ${i}`));
  assert.equal(KEYPAD.length, 12);
});
