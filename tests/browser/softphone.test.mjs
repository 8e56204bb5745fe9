// The browser as the agent's phone, end to end: a baresip caller dials the hub through the trunk
// saying a 440 Hz tone; Bob chooses "This browser" as his device, his console rings with the
// offer, he accepts, and Chromium (fake microphone: a 1000 Hz tone from a WAV made with sox)
// carries the call's audio over WebRTC. He mutes and unmutes, holds and resumes, then hangs up
// from the console. The hub's recording has the caller's tone on the left and the browser's on
// the right, with the browser's side silent for the mute (sox). Then: keys from the console's
// keypad reaching the caller as RFC 4733 events, click-to-call with the browser as the phone (a
// baresip callee on the outbound trunk), a browser that disappears mid-call, and a microphone
// refused or missing; a voicemail left outside business hours, played in the console; and a
// callback Bob books from the customer's page, offered to him as one, and called from the browser.
// Then calls on desk phones driven from the console: Bob consults Dana, confers and hands over.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { startHub, launchBrowser, signIn, watch, shot, byTestId, chromiumSkip, missing, login, call } from './harness.mjs';

const has = (cmd, arg) => spawnSync(cmd, [arg]).error === undefined;
const skip = chromiumSkip()
  || missing('baresip', has('baresip', '-h'), "install Debian's baresip package")
  || missing('sox', has('sox', '--version'), "install Debian's sox package");

/** `seconds` of a `hz` sine, mono 16-bit at `rate`, as sox writes it. */
function tone(file, hz, seconds, rate) {
  const made = spawnSync('sox', ['-n', '-r', String(rate), '-c', '1', '-b', '16', file, 'synth', String(seconds), 'sine', String(hz), 'gain', '-6']);
  assert.equal(made.status, 0, String(made.stderr));
}

/**
 * sox's `stat` of one channel of a WAV (of its first `seconds`, when given): length, RMS amplitude
 * and rough frequency.
 */
function stat(wav, channel, seconds = null) {
  const trim = seconds ? ['trim', '0', String(seconds)] : [];
  const out = spawnSync('sox', [wav, '-n', 'remix', String(channel), ...trim, 'stat'], { encoding: 'utf8' });
  const field = (name) => {
    const line = out.stderr.split('\n').find((l) => l.startsWith(name));
    assert.ok(line, `no ${name} in sox's stat:\n${out.stderr}`);
    return Number(line.split(':').pop().trim());
  };
  return { length: field('Length (seconds)'), rms: field('RMS     amplitude'), hz: field('Rough   frequency') };
}

/** RMS amplitude of one channel of a WAV between `start` and `start + seconds`. */
function windowRms(wav, channel, start, seconds) {
  const out = spawnSync('sox', [wav, '-n', 'remix', String(channel), 'trim', String(start), String(seconds), 'stat'], { encoding: 'utf8' });
  const line = out.stderr.split('\n').find((l) => l.startsWith('RMS     amplitude'));
  assert.ok(line, out.stderr);
  return Number(line.split(':').pop().trim());
}

/** The call's recording, once its media closed and wrote it (within 10 s). */
async function recordingOf(hub, interaction) {
  const file = path.join(hub.dataDir, 'recordings', `${interaction}.wav`);
  const deadline = Date.now() + 10_000;
  while (!(existsSync(file) && statSync(file).size > 44) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(file), `no recording at ${file}:\n${hub.log()}`);
  return file;
}

/** The customer's 440 Hz on the recording's left and the browser's 1000 Hz on its right, in its first two seconds. */
function customerAndBrowserTones(file) {
  const [customerTone, browserTone] = [stat(file, 1, 2), stat(file, 2, 2)];
  assert.ok(customerTone.rms > 0.05 && Math.abs(customerTone.hz - 440) < 40, `the customer's side is not their 440 Hz tone: ${JSON.stringify(customerTone)}`);
  assert.ok(browserTone.rms > 0.01 && Math.abs(browserTone.hz - 1000) < 80, `the agent's side is not the browser's 1000 Hz tone: ${JSON.stringify(browserTone)}`);
}

/** A UDP and TCP port nothing listens on (baresip's SIP port). */
async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * A baresip saying `wav`, G.711 only, no sound card, as `account` on `sip`: it runs `args` (a
 * dial, or nothing to wait for a call). With `record`, what it hears is written there (sndfile:
 * a `*-dec.wav` per call).
 */
async function baresip(dir, { wav, account, sip, args, log, record = null, ports = 0 }) {
  await mkdir(dir, { recursive: true });
  const rtp = 32_000 + (process.pid % 50) * 20 + (record ? 1000 : 0) + ports * 2000;
  await writeFile(path.join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen ${sip}`,
    `audio_source aufile,${wav}`,
    `audio_alert aufile,${wav}`,
    `rtp_ports ${rtp}-${rtp + 19}`,
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module aufile.so',
    ...(record ? ['module sndfile.so', `snd_path ${record}`] : []),
    'module_app account.so',
    'module_app menu.so',
    '',
  ].join('\n'));
  await writeFile(path.join(dir, 'accounts'), `${account}\n`);
  return spawn('baresip', ['-f', dir, ...args, '-t', '40'], {
    stdio: ['ignore', openSync(log, 'w'), 'ignore'],
  });
}

/** A baresip that dials `target` saying `wav`. */
async function baresipCaller(dir, wav, target, log) {
  const sip = `127.0.0.1:${await freePort()}`;
  return baresip(dir, { wav, account: '<sip:+14155550123@127.0.0.1>;regint=0', sip, args: ['-e', `/dial sip:100@${target}`], log });
}

/**
 * A hub taking calls to 100 (Support) from the trunk at 127.0.0.1, Chromium whose microphone says
 * a 1000 Hz tone (unless `media` gives other flags: a browser with no microphone, or one that
 * refuses it), and the caller's voice: `callerSeconds` of 440 Hz.
 */
async function callCenter(callerSeconds, media = null, env = {}) {
  const work = await mkdtemp(path.join(tmpdir(), 'plugboard-softphone-'));
  const callerWav = path.join(work, 'caller.wav');
  const browserWav = path.join(work, 'tone.wav');
  tone(callerWav, 440, callerSeconds, 8000);
  tone(browserWav, 1000, 30, 48000);
  const hub = await startHub({
    env: {
      PLUGBOARD_SIP__LISTEN: '127.0.0.1:0',
      PLUGBOARD_SIP__TRUNKS: '["127.0.0.1"]',
      PLUGBOARD_SIP__TRUST_TRUNKS_OVER_UDP: 'true',
      PLUGBOARD_SIP__NUMBERS__100: 'Support',
      ...env,
    },
  });
  assert.ok(hub.sip, `the hub did not say where SIP listens:\n${hub.log()}`);
  const browser = await launchBrowser(media || [
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${browserWav}`,
  ]);
  return { work, callerWav, hub, browser, callerLog: path.join(work, 'caller.log') };
}

/** A failure with the hub's and the caller's last words. */
function explained(e, hub, callerLog) {
  const said = existsSync(callerLog) ? readFileSync(callerLog, 'utf8') : '';
  e.message += `\n--- hub ---\n${hub.log()}\n--- caller ---\n${said.slice(-3000)}`;
  return e;
}

async function closeDown(caller, browser, hub, work) {
  if (caller && caller.exitCode === null) caller.kill('SIGTERM');
  await browser.close();
  await hub.stop();
  await rm(work, { recursive: true, force: true });
}

test('a caller is answered in the browser: both tones in the recording, mute and hang-up from the console', { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(30);
  let caller = null;
  const errors = [];
  try {
    const context = await browser.newContext();
    const bob = await context.newPage();
    watch(bob, 'bob', errors);
    await signIn(bob, hub.base, 'bob@plugboard.example');
    // His calls ring here from now on (kept on his profile).
    await bob.getByTestId('device-picker').selectOption('browser');
    await bob.waitForResponse((r) => r.url().endsWith('/api/v1/me') && r.request().method() === 'PATCH');
    await bob.getByTestId('state-available').click();
    await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();

    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    const offer = bob.locator('[data-testid="offer-card"][data-channel="voice"]');
    await offer.waitFor({ timeout: 20_000 });
    assert.match(await offer.getByTestId('offer-phone').innerText(), /browser/);
    const interaction = await offer.getAttribute('data-interaction-id');
    await shot(bob, 'softphone-offer');
    await offer.getByTestId('offer-accept').click();

    const status = bob.getByTestId('softphone-status');
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });
    await shot(bob, 'softphone-connected');
    // Talk a while; muted for a moment (the caller hears silence meanwhile), then on again.
    await bob.waitForTimeout(3000);
    await bob.getByTestId('call-mute').click();
    assert.equal(await bob.getByTestId('call-mute').getAttribute('aria-pressed'), 'true');
    await bob.waitForTimeout(1000);
    await bob.getByTestId('call-mute').click();
    await bob.waitForTimeout(2000);
    assert.equal(await status.getAttribute('data-status'), 'connected');
    // Hold and resume, as for a desk phone (the caller hears music meanwhile).
    await bob.getByTestId('call-hold').click();
    await bob.locator('[data-testid="call-hold"][aria-pressed="true"]').waitFor();
    await bob.getByTestId('call-hold').click();
    await bob.locator('[data-testid="call-hold"][aria-pressed="false"]').waitFor();

    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });
    // The microphone is let go with the call.
    await bob.getByTestId('softphone-status').waitFor({ state: 'detached' });

    // The recording is written when the call's media closes.
    const file = await recordingOf(hub, interaction);
    const left = stat(file, 1);
    const right = stat(file, 2);
    assert.ok(left.length >= 5 && left.length < 20, `the recording lasts ${left.length} s`);
    assert.ok(left.rms > 0.05, `the caller is silent in the recording: ${JSON.stringify(left)}`);
    assert.ok(right.rms > 0.01, `the browser is silent in the recording: ${JSON.stringify(right)}`);
    // Which tone is which, from the first two seconds (before the mute, and before Chromium's
    // noise suppression turns the steady tone down).
    const [callerTone, browserTone] = [stat(file, 1, 2), stat(file, 2, 2)];
    assert.ok(Math.abs(callerTone.hz - 440) < 40, `the caller's side is not the 440 Hz tone: ${JSON.stringify(callerTone)}`);
    assert.ok(Math.abs(browserTone.hz - 1000) < 80, `the agent's side is not the browser's 1000 Hz tone: ${JSON.stringify(browserTone)}`);
    // The mute: a stretch where the browser's side is silent while the caller's tone goes on,
    // with the browser's tone before and after it (quieter after a while: Chromium's noise
    // suppression takes a steady tone for noise and turns it down, never off). Muted, the
    // browser sends digital silence.
    const windows = [];
    for (let at = 0; at + 0.5 <= left.length; at += 0.25) windows.push({ at, right: windowRms(file, 2, at, 0.5), left: windowRms(file, 1, at, 0.5) });
    const quiet = windows.findIndex((w) => w.right < 0.002 && w.left > 0.05);
    assert.ok(quiet > 0, `no muted stretch on the browser's side: ${JSON.stringify(windows)}`);
    assert.ok(windows.slice(0, quiet).some((w) => w.right > 0.01), `no tone before the mute: ${JSON.stringify(windows)}`);
    assert.ok(windows.slice(quiet).some((w) => w.right > 0.01), `no tone after the mute: ${JSON.stringify(windows)}`);
    assert.deepEqual(errors, []);
    const token = await login(hub.base, 'bob@plugboard.example');
    const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, token);
    const kinds = body.events.map((e) => e.type);
    for (const kind of ['call.held', 'call.resumed', 'call.ended']) assert.ok(kinds.includes(kind), `no ${kind} in ${kinds}`);
    const ended = body.events.find((e) => e.type === 'call.ended');
    assert.equal(ended.data.by, 'hub', 'hung up from the console');
    assert.equal(ended.data.recording, `${interaction}.wav`);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(caller, browser, hub, work);
  }
});

/** Bob with the browser as his phone (set through the API), signed in and Available. */
async function bobInTheBrowser(hub, browser, errors = null) {
  const token = await login(hub.base, 'bob@plugboard.example');
  assert.equal((await call(hub.base, 'PATCH', '/me', token, { device: 'browser' })).status, 200);
  const context = await browser.newContext();
  const bob = await context.newPage();
  if (errors) watch(bob, 'bob', errors);
  await signIn(bob, hub.base, 'bob@plugboard.example');
  assert.equal(await bob.getByTestId('device-picker').inputValue(), 'browser');
  await bob.getByTestId('state-available').click();
  await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();
  return { token, context, bob };
}

/** Bob's console rings with a call and he accepts it: the interaction's id. */
async function acceptCall(bob) {
  const offer = bob.locator('[data-testid="offer-card"][data-channel="voice"]');
  await offer.waitFor({ timeout: 20_000 });
  const interaction = await offer.getAttribute('data-interaction-id');
  await offer.getByTestId('offer-accept').click();
  return interaction;
}

/** Waits until `file` says all of `pattern` (a caller's or callee's log), or fails with it. */
async function logSays(file, pattern, ms = 10_000) {
  const until = Date.now() + ms;
  while (!pattern.test(readFileSync(file, 'utf8')) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  assert.match(readFileSync(file, 'utf8'), pattern);
}

// The keypad: Bob, talking in the browser, presses 1 and 2 on the console's keypad, then 3 and #
// on his keyboard with the call's card focused. The caller's phone (baresip) receives the four
// keys as RFC 4733 events, in order, each once (one start and one end per key, as baresip logs
// them); the console shows what was sent.
test('keys pressed on the console keypad reach the caller as RFC 4733 events', { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(30);
  let caller = null;
  const errors = [];
  try {
    const { bob } = await bobInTheBrowser(hub, browser, errors);
    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    await acceptCall(bob);
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });

    await bob.getByTestId('keypad-1').click();
    await bob.getByTestId('keypad-2').click();
    await bob.getByTestId('chat-pane').focus();
    await bob.keyboard.press('3');
    await bob.keyboard.press('#');
    await bob.getByTestId('keypad-sent').filter({ hasText: 'Sent: 123#' }).waitFor();
    await shot(bob, 'softphone-keypad');
    // baresip logs each RFC 4733 event's start and its end.
    await logSays(callerLog, /received event: '#' \(end=1\)/);
    const received = readFileSync(callerLog, 'utf8').match(/received event: '.' \(end=.\)/g);
    const keys = ['1', '2', '3', '#'].flatMap((k) => [`received event: '${k}' (end=0)`, `received event: '${k}' (end=1)`]);
    assert.deepEqual(received, keys, 'each key once, in order');
    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(caller, browser, hub, work);
  }
});

// Click-to-call with the browser as the phone: Bob opens Maria's profile and calls her. No desk
// phone rings: the call is his at once, his console offers its audio, and then the hub calls
// Maria through the outbound trunk (baresip answering as her number, saying 440 Hz). The hub's
// recording has Maria's tone on the left and the browser's 1000 Hz on the right, and what Maria's
// phone heard (sndfile) is the browser's tone.
test('click-to-call from the browser: the customer is called through the trunk, tones both ways', { skip, timeout: 120_000 }, async () => {
  const carrier = await freePort();
  const { work, callerWav, hub, browser, callerLog } = await callCenter(30, null, { PLUGBOARD_SIP__OUTBOUND_TRUNK: `127.0.0.1:${carrier}` });
  const heard = path.join(work, 'heard');
  let callee = null;
  const errors = [];
  try {
    await mkdir(heard, { recursive: true });
    callee = await baresip(path.join(work, 'callee'), {
      wav: callerWav,
      account: '<sip:+14155552671@127.0.0.1>;regint=0;answermode=auto',
      sip: `127.0.0.1:${carrier}`,
      args: [],
      log: callerLog,
      record: heard,
    });
    const { token, bob } = await bobInTheBrowser(hub, browser, errors);
    const { body: found } = await call(hub.base, 'GET', '/customers?q=Maria%20Garcia', token);
    const maria = found.find((c) => c.name === 'Maria Garcia');
    assert.ok(maria, JSON.stringify(found));
    await bob.goto(`${hub.base}/#/customers/${maria.id}`);
    await bob.getByTestId('profile-call').click();
    await bob.goto(`${hub.base}/#/`);
    const pane = bob.getByTestId('chat-pane');
    await pane.waitFor({ timeout: 20_000 });
    const interaction = await pane.getAttribute('data-interaction-id');
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });
    await shot(bob, 'softphone-click-to-call');
    // Maria's phone answers by itself; talk a while, then Bob hangs up.
    await logSays(callerLog, /Call established/i, 20_000);
    await bob.waitForTimeout(4000);
    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });

    const file = await recordingOf(hub, interaction);
    customerAndBrowserTones(file);
    // What Maria's phone heard: the browser.
    if (callee.exitCode === null) callee.kill('SIGTERM');
    await new Promise((r) => (callee.exitCode === null ? callee.once('exit', r) : r()));
    const decoded = readdirSync(heard).filter((f) => f.endsWith('-dec.wav'));
    assert.equal(decoded.length, 1, `what the callee heard: ${readdirSync(heard)}`);
    const atMaria = stat(path.join(heard, decoded[0]), 1, 2);
    assert.ok(atMaria.rms > 0.01 && Math.abs(atMaria.hz - 1000) < 80, `the customer did not hear the browser: ${JSON.stringify(atMaria)}`);
    const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, token);
    const kinds = body.events.map((e) => e.type);
    assert.ok(kinds.includes('interaction.dialled'), `no interaction.dialled in ${kinds}`);
    const ended = body.events.find((e) => e.type === 'call.ended');
    assert.ok(ended, `no call.ended in ${kinds}`);
    assert.equal(ended.data.recording, `${interaction}.wav`);
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(callee, browser, hub, work);
  }
});

test('a callback booked in the console is offered as one and called from the browser through the trunk', { skip, timeout: 120_000 }, async () => {
  const carrier = await freePort();
  const { work, callerWav, hub, browser, callerLog } = await callCenter(30, null, { PLUGBOARD_SIP__OUTBOUND_TRUNK: `127.0.0.1:${carrier}` });
  let callee = null;
  const errors = [];
  try {
    callee = await baresip(path.join(work, 'callee'), {
      wav: callerWav,
      account: '<sip:+14155552671@127.0.0.1>;regint=0;answermode=auto',
      sip: `127.0.0.1:${carrier}`,
      args: [],
      log: callerLog,
    });
    // The admin turns callbacks on for Support: offered after 90 s of waiting, two calls at most.
    const admin = await (await browser.newContext()).newPage();
    watch(admin, 'admin', errors);
    await signIn(admin, hub.base, 'admin@plugboard.example');
    await admin.goto(`${hub.base}/#/admin/queues`);
    await admin.locator('[data-testid="queue-row"]', { hasText: 'Support' }).getByTestId('queue-edit').click();
    await admin.getByTestId('queue-callbacks-on').check();
    await admin.getByTestId('queue-callback-after').fill('90');
    await admin.getByTestId('queue-callback-attempts').fill('2');
    await shot(admin, 'queue-callbacks-form');
    await admin.getByTestId('queue-save').click();
    const adminToken = await login(hub.base, 'admin@plugboard.example');
    let policy = null;
    for (let i = 0; i < 50 && !policy; i += 1) {
      const { body: queues } = await call(hub.base, 'GET', '/queues', adminToken);
      policy = queues.find((q) => q.name === 'Support').callbacks;
      if (!policy) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(policy, { offer_after_secs: 90, attempts: 2, retry_after_secs: 600 });

    const { token, bob } = await bobInTheBrowser(hub, browser, errors);
    const { body: found } = await call(hub.base, 'GET', '/customers?q=Maria%20Garcia', token);
    const maria = found.find((c) => c.name === 'Maria Garcia');
    await bob.goto(`${hub.base}/#/customers/${maria.id}`);
    // Booked for this minute (a time already past is at once), in Support, to her own number.
    const now = new Date();
    const local = new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    const form = bob.getByTestId('callback-form');
    const support = await form.getByTestId('callback-queue').locator('option', { hasText: 'Support' }).getAttribute('value');
    await form.getByTestId('callback-queue').selectOption(support);
    await form.getByTestId('callback-when').fill(local);
    assert.equal(await form.getByTestId('callback-number').inputValue(), '+14155552671');
    await form.getByTestId('callback-book').click();
    await form.getByTestId('callback-booked').waitFor();
    await shot(bob, 'callback-booked');
    await bob.goto(`${hub.base}/#/`);
    const offer = bob.locator('[data-testid="offer-card"][data-channel="voice"]');
    await offer.waitFor({ timeout: 20_000 });
    assert.match(await offer.getByTestId('offer-callback').textContent(), /\+14155552671/);
    await shot(bob, 'callback-offer');
    const interaction = await acceptCall(bob);
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });
    assert.match(await bob.getByTestId('callback-attempt').textContent(), /\+14155552671/);
    await logSays(callerLog, /Call established/i, 20_000);
    await bob.waitForTimeout(3000);
    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });

    const file = await recordingOf(hub, interaction);
    customerAndBrowserTones(file);
    const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, token);
    const kinds = body.events.map((e) => e.type);
    for (const kind of ['callback.scheduled', 'interaction.accepted', 'call.ended']) {
      assert.ok(kinds.includes(kind), `no ${kind} in ${kinds}`);
    }
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(callee, browser, hub, work);
  }
});

// The agent's browser disappears mid-call (the tab is closed: no more ICE consent checks): the
// hub takes it as the agent hanging up, as it would a desk phone's BYE. The caller is hung up on
// and the call ends `by: "agent"`.
test('a browser that disappears mid-call is the agent hanging up', { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(60);
  let caller = null;
  try {
    const { token, context, bob } = await bobInTheBrowser(hub, browser);
    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    const interaction = await acceptCall(bob);
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });

    await context.close();
    let ended = null;
    const deadline = Date.now() + 45_000;
    while (!ended && Date.now() < deadline) {
      const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, token);
      ended = (body.events || []).find((e) => e.type === 'call.ended') || null;
      if (!ended) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(ended, `the call did not end after the browser left:\n${hub.log()}`);
    assert.equal(ended.data.by, 'agent');
    // The caller got the hub's BYE: baresip says the other side closed the call.
    const byeSeen = /session closed[^\n]*\n[^\n]*Call with sip:100@\S+ terminated/;
    const until = Date.now() + 5000;
    while (!byeSeen.test(readFileSync(callerLog, 'utf8')) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.match(readFileSync(callerLog, 'utf8'), byeSeen);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(caller, browser, hub, work);
  }
});

// Closed hours, as an admin sets them and an agent finds them: the admin gives Support business
// hours in the console (no day open: closed now), a baresip caller hears the closed message and
// talks until the hub hangs up at the longest voicemail allowed (14 s here). Bob, his browser as
// his phone, comes in: he is offered the voicemail (not a call to answer), no softphone starts, he
// plays the message in the page and is offered to call the customer back; Done ends it.
/** RMS amplitude of a narrow band around `hz` in one channel of a WAV, over `seconds` from `start`. */
function toneRms(wav, channel, start, seconds, hz) {
  const out = spawnSync('sox', [wav, '-n', 'remix', String(channel), 'trim', start.toFixed(2), seconds.toFixed(2), 'bandpass', String(hz), '30h', 'stat'], { encoding: 'utf8' });
  const line = out.stderr.split('\n').find((l) => l.startsWith('RMS     amplitude'));
  assert.ok(line, out.stderr);
  return Number(line.split(':').pop().trim());
}

// A supervisor listening in from the browser (issue 14): Bob talks to a baresip caller in his
// browser (1000 Hz); Sam, whose device is the browser too (a second Chromium saying 1500 Hz),
// opens the call from Bob's row on the wallboard and barges in: Bob's console says Sam is on the call, and
// what the caller heard (the recording's right channel) has Sam's tone. Whispering, Bob's console
// says so and the caller no longer hears Sam. Sam leaves; Bob's banner goes.
test('a supervisor barges into and whispers on a call from the browser', { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(40);
  const samWav = path.join(work, 'sam.wav');
  tone(samWav, 1500, 40, 48000);
  const samBrowser = await launchBrowser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${samWav}`]);
  let caller = null;
  const errors = [];
  try {
    const { bob } = await bobInTheBrowser(hub, browser, errors);
    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    const interaction = await acceptCall(bob);
    await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });
    const bridged = Date.now();

    const samToken = await login(hub.base, 'sam@plugboard.example');
    assert.equal((await call(hub.base, 'PATCH', '/me', samToken, { device: 'browser' })).status, 200);
    const sam = await (await samBrowser.newContext()).newPage();
    watch(sam, 'sam', errors);
    await signIn(sam, hub.base, 'sam@plugboard.example');
    // From the wallboard: Bob's row has a way in to his call.
    await sam.goto(`${hub.base}/#/supervisor`);
    await sam.locator('[data-testid="supervisor-agent-row"][data-agent="Bob Martin"] [data-testid="agent-listen"]').click();
    await sam.waitForURL(`**/#/watch/${interaction}`);
    await sam.getByTestId('listen-in').waitFor();
    assert.match(await sam.getByTestId('listen-status').innerText(), /not on this call/);

    await sam.getByTestId('listen-barge').click();
    await sam.locator('[data-testid="listen-status"][data-on="true"][data-mode="barge"]').waitFor({ timeout: 20_000 });
    await byTestId(bob, 'monitor-banner', 'data-mode', 'barge').waitFor();
    assert.match(await bob.getByTestId('monitor-banner').innerText(), /Sam Lee has joined the call/);
    const barged = (Date.now() - bridged) / 1000;
    await shot(sam, 'supervisor-barge');
    await shot(bob, 'agent-sees-barge');
    await sam.waitForTimeout(4000);

    await sam.getByTestId('listen-whisper').click();
    await sam.locator('[data-testid="listen-status"][data-on="true"][data-mode="whisper"]').waitFor();
    await byTestId(bob, 'monitor-banner', 'data-mode', 'whisper').waitFor();
    const whispered = (Date.now() - bridged) / 1000;
    await sam.waitForTimeout(4000);

    await sam.getByTestId('listen-leave').click();
    await sam.locator('[data-testid="listen-status"][data-on="false"]').waitFor();
    await bob.getByTestId('monitor-banner').waitFor({ state: 'detached' });
    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });

    // What the caller heard: Sam while he barged, not while he whispered.
    const file = await recordingOf(hub, interaction);
    const onBarge = toneRms(file, 2, barged + 1, 2, 1500);
    const onWhisper = toneRms(file, 2, whispered + 1, 2, 1500);
    assert.ok(onBarge > 0.01 && onWhisper < onBarge / 4, `Sam's 1500 Hz in what the caller heard: ${onBarge} on the barge, ${onWhisper} on the whisper`);
    const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, samToken);
    const monitored = body.events.filter((e) => e.type === 'call.monitored').map((e) => `${e.data.mode} by ${e.data.by_name}`);
    assert.deepEqual(monitored, ['barge by Sam Lee', 'whisper by Sam Lee']);
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await samBrowser.close();
    await closeDown(caller, browser, hub, work);
  }
});

test('outside business hours a caller leaves a voicemail, played in the console with a call back', { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(30, null, {
    PLUGBOARD_SIP__VOICEMAIL_MAX_SECS: '14',
    // Click-to-call on (nobody answers there; the button is only looked at).
    PLUGBOARD_SIP__OUTBOUND_TRUNK: '127.0.0.1:9',
  });
  let caller = null;
  const errors = [];
  try {
    const admin = await (await browser.newContext()).newPage();
    watch(admin, 'admin', errors);
    await signIn(admin, hub.base, 'admin@plugboard.example');
    await admin.goto(`${hub.base}/#/admin/queues`);
    const support = admin.locator('[data-testid="queue-row"]', { hasText: 'Support' });
    await support.getByTestId('queue-edit').click();
    await admin.getByTestId('queue-hours-on').check();
    await admin.getByTestId('queue-time-zone').fill('Asia/Shanghai');
    await admin.getByTestId('queue-holidays').fill('2027-01-01, 2027-02-17');
    await shot(admin, 'queue-hours-form');
    await admin.getByTestId('queue-save').click();
    await support.getByTestId('queue-hours').filter({ hasText: 'Asia/Shanghai' }).waitFor();

    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    await logSays(callerLog, /Call established/, 20_000);
    // The hub hangs up at 14 s: the message is kept, and then it waits in Support.
    await logSays(callerLog, /terminated|closed/i, 30_000);

    const { bob } = await bobInTheBrowser(hub, browser, errors);
    const offer = bob.locator('[data-testid="offer-card"][data-channel="voice"]');
    await offer.waitFor({ timeout: 20_000 });
    assert.match(await offer.getByTestId('offer-voicemail').innerText(), /voicemail/);
    assert.equal(await offer.getByTestId('offer-phone').count(), 0);
    await offer.getByTestId('offer-accept').click();
    const pane = bob.getByTestId('voicemail');
    await pane.waitFor();
    assert.equal(await bob.getByTestId('softphone-status').count(), 0, 'no softphone for a voicemail');
    assert.equal(await bob.getByTestId('call-hold').count(), 0);
    assert.match(await bob.getByTestId('voicemail-call-back').innerText(), /\+14155550123/);
    await pane.getByTestId('recording-play').click();
    await pane.getByTestId('recording-audio').waitFor();
    await shot(bob, 'voicemail');
    assert.match(await bob.getByTestId('end-chat').innerText(), /Done/);
    await bob.getByTestId('end-chat').click();
    await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    await closeDown(caller, browser, hub, work);
  }
});

// The microphone refused (no permission given: the prompt is dismissed) or missing (no fake
// device, and this machine has no sound card): the page says what is wrong and what to do (for
// the refusal: allowed and reloaded, the call connects), and the agent can still hang up.
for (const [media, status, words] of [
  [['--use-fake-device-for-media-stream'], 'mic_denied', /refused the microphone/],
  [['--use-fake-ui-for-media-stream'], 'mic_no_device', /No microphone found/],
]) {
  test(`a console whose microphone is ${status.slice(4)} says so`, { skip, timeout: 120_000 }, async () => {
    const { work, callerWav, hub, browser, callerLog } = await callCenter(30, media);
    let caller = null;
    try {
      const { context, bob } = await bobInTheBrowser(hub, browser);
      caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
      await acceptCall(bob);
      await byTestId(bob, 'softphone-status', 'data-status', status).waitFor({ timeout: 20_000 });
      assert.match(await bob.getByTestId('softphone-status').innerText(), words);
      assert.equal(await bob.getByTestId('call-mute').count(), 0, 'no mute without a microphone');
      await shot(bob, `softphone-${status}`);
      if (status === 'mic_denied') {
        // As the page says: allowed, and the page reloaded, the call's audio connects (the caller
        // waited on hold music meanwhile).
        await context.grantPermissions(['microphone'], { origin: hub.base });
        await bob.reload();
        await byTestId(bob, 'softphone-status', 'data-status', 'connected').waitFor({ timeout: 20_000 });
      }
      await bob.getByTestId('end-chat').click();
      await byTestId(bob, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });
    } catch (e) {
      throw explained(e, hub, callerLog);
    } finally {
      await closeDown(caller, browser, hub, work);
    }
  });
}

/** A desk phone of `agent`'s (a phone account given them now): baresip answering by itself. */
async function deskPhone(hub, admin, work, { agent, username, hz, ports }) {
  const { body: agents } = await call(hub.base, 'GET', '/agents', admin);
  const id = agents.find((a) => a.name === agent).id;
  assert.equal((await call(hub.base, 'POST', '/phones', admin, { agent_id: id, username, password: 'desk-phone-7' })).status, 200);
  const wav = path.join(work, `${username}.wav`);
  tone(wav, hz, 40, 8000);
  const log = path.join(work, `${username}.log`);
  const phone = await baresip(path.join(work, username), {
    wav,
    account: `<sip:${username}@${hub.sip}>;auth_pass=desk-phone-7;answermode=auto;regint=300`,
    sip: `127.0.0.1:${await freePort()}`,
    args: [],
    log,
    ports,
  });
  const until = Date.now() + 10_000;
  for (;;) {
    const { body: phones } = await call(hub.base, 'GET', '/phones', admin);
    if ((phones.find((p) => p.username === username) || {}).contacts?.length) return phone;
    assert.ok(Date.now() < until, `${username} did not register:\n${readFileSync(log, 'utf8')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Consult and hand over from the console: Bob answers a caller on his desk phone, picks Dana
// under "Consult a colleague or a queue" (by name, or the Support queue she is the one free in)
// with a note and consults her: her console shows who asks, about
// whom and why; his shows the caller waits on hold. He makes it a conference, then hands the call
// over: it leaves his console and is in Dana's, talking. The timeline of the call says so. Dana
// takes it on her desk phone, or in her browser (its 1000 Hz is then what the caller hears after
// the hand-over, in the recording's right channel, over the leg that joined the consult).
for (const device of ['desk', 'browser']) test(`an agent consults a colleague (${device}) from the console, confers and hands the call over`, { skip, timeout: 120_000 }, async () => {
  const { work, callerWav, hub, browser, callerLog } = await callCenter(40, null, { PLUGBOARD_SIP__ALGORITHMS: '["MD5"]' });
  const phones = [];
  let caller = null;
  const errors = [];
  try {
    const admin = await login(hub.base, 'admin@plugboard.example');
    phones.push(await deskPhone(hub, admin, work, { agent: 'Bob Martin', username: 'bob-desk', hz: 660, ports: 1 }));
    if (device === 'desk') phones.push(await deskPhone(hub, admin, work, { agent: 'Dana Silva', username: 'dana-desk', hz: 880, ports: 2 }));
    else assert.equal((await call(hub.base, 'PATCH', '/me', await login(hub.base, 'dana@plugboard.example'), { device: 'browser' })).status, 200);
    const bob = await (await browser.newContext()).newPage();
    watch(bob, 'bob', errors);
    await signIn(bob, hub.base, 'bob@plugboard.example');
    await bob.getByTestId('state-available').click();
    await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();
    caller = await baresipCaller(path.join(work, 'caller'), callerWav, hub.sip, callerLog);
    // His desk phone answers: the call is his.
    await byTestId(bob, 'chat-pane', 'data-state', 'active').waitFor({ timeout: 20_000 });
    const interaction = await bob.getByTestId('chat-pane').getAttribute('data-interaction-id');

    const dana = await (await browser.newContext()).newPage();
    watch(dana, 'dana', errors);
    await signIn(dana, hub.base, 'dana@plugboard.example');
    await dana.getByTestId('state-available').click();
    await byTestId(dana, 'state-current', 'data-state', 'available').waitFor();

    // By name, or (with Dana in the browser) the Support queue, which reaches her: the one free in it.
    const consulted = device === 'desk' ? 'Dana Silva' : 'Support';
    await bob.getByTestId('consult-who').focus();
    await bob.locator('[data-testid="consult-who"] option', { hasText: consulted }).waitFor({ state: 'attached' });
    await bob.getByTestId('consult-who').selectOption({ label: consulted });
    await bob.getByTestId('consult-note').fill('Wants a refund over 500');
    await bob.getByTestId('consult-start').click();
    await byTestId(bob, 'consult', 'data-on', 'true').waitFor({ timeout: 20_000 });
    assert.match(await bob.getByTestId('consult-status').innerText(), /Talking with Dana Silva: \+14155550123 is on hold/);
    const card = dana.getByTestId('consulted-card');
    await card.waitFor();
    assert.match(await card.innerText(), /Bob Martin is consulting you about \+14155550123/);
    assert.equal(await dana.getByTestId('consulted-note').innerText(), '“Wants a refund over 500”');
    await shot(bob, `consult-agent-${device}`);
    await shot(dana, `consult-colleague-${device}`);

    await bob.getByTestId('consult-conference').click();
    await byTestId(bob, 'consult', 'data-mode', 'conference').waitFor();
    await byTestId(dana, 'consulted-card', 'data-mode', 'conference').waitFor();
    await bob.waitForTimeout(1000);
    await bob.getByTestId('consult-transfer').click();
    // The call is Dana's, talking; it leaves Bob's console.
    await byTestId(dana, 'chat-pane', 'data-interaction-id', interaction).waitFor({ timeout: 10_000 });
    const handedOver = Date.now();
    await dana.getByTestId('consulted-card').waitFor({ state: 'detached' });
    await bob.locator(`[data-testid="chat-pane"][data-interaction-id="${interaction}"]`).waitFor({ state: 'detached' });
    if (device === 'browser') await byTestId(dana, 'softphone-status', 'data-status', 'connected').waitFor();
    await shot(dana, `consult-handed-over-${device}`);
    await dana.waitForTimeout(3000);
    await dana.getByTestId('end-chat').click();
    await byTestId(dana, 'chat-pane', 'data-state', 'wrap_up').waitFor({ timeout: 10_000 });
    if (device === 'browser') {
      // What the caller heard once it was Dana's: her browser, not Bob's phone.
      const file = await recordingOf(hub, interaction);
      const { length } = stat(file, 2);
      const after = length - (Date.now() - handedOver) / 1000 + 0.5;
      const [dana1000, bob660] = [toneRms(file, 2, after, 2, 1000), toneRms(file, 2, after, 2, 660)];
      assert.ok(dana1000 > 0.01 && bob660 < dana1000 / 4, `after the hand-over the caller heard 1000 Hz at ${dana1000}, Bob's 660 Hz at ${bob660}`);
    }

    const token = await login(hub.base, 'sam@plugboard.example');
    const { body } = await call(hub.base, 'GET', `/interactions/${interaction}`, token);
    const kinds = body.events.map((e) => e.type);
    for (const kind of ['call.consulted', 'call.conferenced', 'interaction.transferred']) assert.ok(kinds.includes(kind), `no ${kind} in ${kinds}`);
    assert.equal(body.events.find((e) => e.type === 'call.consulted').data.note, 'Wants a refund over 500');
    assert.deepEqual(errors, []);
  } catch (e) {
    throw explained(e, hub, callerLog);
  } finally {
    for (const phone of phones) if (phone.exitCode === null) phone.kill('SIGTERM');
    await closeDown(caller, browser, hub, work);
  }
});
