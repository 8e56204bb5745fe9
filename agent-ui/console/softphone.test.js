// Unit tests for the softphone's pure parts: what a microphone error tells the agent, and which
// codecs the browser is asked to use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { micProblem, g711First } from './softphone.js';

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
