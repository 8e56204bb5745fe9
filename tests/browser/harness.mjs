// What every browser test file needs: the real hub (`plugboard serve --demo` on a free port with a
// fresh data directory, ready when /healthz answers), Debian's Chromium through playwright-core,
// page error collection and screenshots. One copy, used by each *.test.mjs here.
//
// The hub binary is $PLUGBOARD_BIN, else ../../target/debug/plugboard (cargo build --bin plugboard).
// PLUGBOARD_URL=http://127.0.0.1:PORT uses a hub that is already running (seeded like --demo).
// Each hub started here also writes its output (stdout and stderr) to a file of its own in
// $PLUGBOARD_TEST_LOGS, else ../../target/test-logs, which .ci/run greps for the suite's secrets
// (tests/log-grep.sh); its log level is the hub's default (info) unless RUST_LOG says otherwise.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const BIN = process.env.PLUGBOARD_BIN ? path.resolve(process.env.PLUGBOARD_BIN) : path.resolve(HERE, '../../target/debug/plugboard');
export const ARTIFACTS = path.join(HERE, 'artifacts');
export const IN_CI = process.env.CI === 'true';
export const DEMO_PASSWORD = 'plugboard-demo';
export const LOG_DIR = process.env.PLUGBOARD_TEST_LOGS
  ? path.resolve(process.env.PLUGBOARD_TEST_LOGS)
  : path.resolve(process.env.CARGO_TARGET_DIR || path.resolve(HERE, '../../target'), 'test-logs');
let hubsStarted = 0;

/** A new file in LOG_DIR for one hub, named after the test file, this process and a count. */
function openHubLog() {
  mkdirSync(LOG_DIR, { recursive: true });
  const file = path.basename(process.argv[1] || 'browser', '.mjs').replace(/[^A-Za-z0-9_.-]/g, '.');
  const logPath = path.join(LOG_DIR, `browser.${file}.${process.pid}-${hubsStarted++}.serve.log`);
  return { logPath, fd: openSync(logPath, 'a') };
}

/**
 * Why a test file cannot run here, or false. A missing peer skips on a developer's machine and
 * fails in CI (CI=true never skips).
 */
export function missing(what, present, install) {
  if (present) return false;
  if (IN_CI) throw new Error(`${what} is missing: ${install} (CI=true never skips)`);
  return `${what} is not installed`;
}

export const chromiumSkip = () => missing(CHROMIUM, existsSync(CHROMIUM), "install Debian's chromium package");

/**
 * Starts the hub (or takes PLUGBOARD_URL) and resolves once /healthz answers 200. `env` is added to
 * the hub's environment. Returns `{ base, stop }`; `log()` is the tail of its output; `sip` is
 * where SIP listens over UDP (with `PLUGBOARD_SIP__LISTEN`), `dataDir` the hub's data directory
 * (removed by `stop`) and `logPath` its whole output's file in LOG_DIR.
 */
export async function startHub({ env = {} } = {}) {
  if (process.env.PLUGBOARD_URL) {
    return { base: process.env.PLUGBOARD_URL.replace(/\/$/, ''), stop: async () => {}, log: () => '', own: false };
  }
  if (!existsSync(BIN)) throw new Error(`hub binary not found at ${BIN}: run \`cargo build --bin plugboard\` or set PLUGBOARD_BIN`);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'plugboard-browser-'));
  let hubLog = '';
  let sip = null;
  // Everything it says goes to its file (appended as it comes, synchronously: nothing to flush).
  const { logPath, fd: logFd } = openHubLog();
  const toFile = (d) => {
    try {
      writeSync(logFd, d);
    } catch {
      // closed after the hub's end
    }
  };
  const hub = spawn(BIN, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info,sqlx=warn,tower_http=warn', ...env },
  });
  // 'close': its output has ended, all of it written.
  const closed = new Promise((resolve) => hub.once('close', resolve)).then(() => closeSync(logFd));
  hub.stderr.on('data', (d) => {
    toFile(d);
    // Keep the tail only: enough to explain a failure without drowning it.
    hubLog = (hubLog + d).slice(-8000);
  });
  const exited = new Promise((_, reject) => hub.once('exit', (code) => reject(new Error(`hub exited early (${code}):\n${hubLog}`))));
  exited.catch(() => {}); // after start-up, an exit is ours (stop)
  const listening = new Promise((resolve) => {
    createInterface({ input: hub.stdout }).on('line', (line) => {
      toFile(`${line}\n`);
      hubLog += `${line}\n`;
      const udp = line.match(/^plugboard sip on udp:\/\/(\S+)/);
      if (udp) sip = udp[1];
      const m = line.match(/plugboard listening on (http:\/\/\S+)/);
      if (m) resolve(m[1].replace(/\/$/, ''));
    });
  });
  async function stop() {
    if (hub.exitCode === null) {
      const gone = new Promise((r) => hub.once('exit', r));
      hub.kill('SIGTERM');
      const timer = setTimeout(() => hub.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    await closed;
    await rm(dataDir, { recursive: true, force: true });
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no "plugboard listening on" line within 60 s:\n${hubLog}`)), 60_000);
  });
  let base;
  try {
    base = await Promise.race([listening, exited, timeout]);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  // Ready when /healthz answers 200; polled, never a fixed sleep.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not accepting yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`/healthz never answered 200:\n${hubLog}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, stop, log: () => hubLog, own: true, sip, dataDir, logPath };
}

/** Chromium, headless; `args` are added to the usual flags (fake media devices, say). */
export async function launchBrowser(args = []) {
  await mkdir(ARTIFACTS, { recursive: true });
  return (await import('playwright-core')).chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...args],
  });
}

/**
 * Collects a page's uncaught errors and console errors into `errors`. `ignore(message)` may excuse
 * some (each caller says why).
 */
export function watch(page, who, errors, ignore = () => false) {
  page.on('pageerror', (e) => errors.push(`${who}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !ignore(m)) errors.push(`${who}: ${m.text()}`);
  });
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), animations: 'disabled' });
}

/** A locator for a data-testid whose attribute `attr` equals `value`. */
export const byTestId = (page, id, attr, value) => page.locator(`[data-testid="${id}"][${attr}="${value}"]`);

/** Signs in through the login page and waits for the socket to be open. */
export async function signIn(page, base, email, password = DEMO_PASSWORD) {
  await page.goto(`${base}/`);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
  await page.locator('[data-testid="connection-status"].connection-open').waitFor();
}

/** The hub's REST API with a token, as a test's own client (not the browser's). */
export async function call(base, method, apiPath, token, body) {
  const res = await fetch(`${base}/api/v1${apiPath}`, {
    method,
    headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { status: res.status, body: data };
}

export async function login(base, email, password = DEMO_PASSWORD) {
  const { status, body } = await call(base, 'POST', '/auth/login', null, { email, password });
  if (status !== 200) throw new Error(`login ${email}: ${status} ${JSON.stringify(body)}`);
  return body.token;
}

/**
 * Headless Chromium always reports a visible page, so "hidden" is the page's Page Visibility state
 * set by the test (document.visibilityState and a visibilitychange event), which is all the
 * console reads.
 */
export async function setHidden(page, hidden) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

/**
 * Grants a context desktop notifications and records each one its pages show (in
 * `window.recordedNotifications`: `{title, body, tag}`), then shows it.
 */
export async function recordNotifications(ctx, base) {
  await ctx.grantPermissions(['notifications'], { origin: base });
  await ctx.addInitScript(() => {
    window.recordedNotifications = [];
    const Real = window.Notification;
    class Recorded extends Real {
      constructor(title, options = {}) {
        window.recordedNotifications.push({ title, body: options.body, tag: options.tag });
        super(title, options);
      }
      static get permission() {
        return Real.permission;
      }
      static requestPermission(...args) {
        return Real.requestPermission(...args);
      }
    }
    window.Notification = Recorded;
  });
}

/**
 * A visitor on /demo starts a chat in a browser context of their own (kept in `contexts`, for the
 * test to close); resolves to the widget's page.
 */
export async function startChat(browser, base, contexts, watchPage, name, email, line) {
  const vctx = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US' });
  vctx.setDefaultTimeout(15_000);
  const page = await vctx.newPage();
  watchPage(page, `widget ${name}`);
  contexts.push(vctx);
  await page.goto(`${base}/demo`);
  await page.getByTestId('widget-launcher').click();
  await page.getByTestId('prechat-name').fill(name);
  await page.getByTestId('prechat-email').fill(email);
  await page.getByTestId('prechat-message').fill(line);
  await page.getByTestId('prechat-submit').click();
  await byTestId(page, 'widget-message', 'data-sender', 'customer').filter({ hasText: line }).waitFor();
  return page;
}

/** The customer types a line in the widget and sends it; resolves once it is sent. */
export async function widgetSays(page, line) {
  await page.getByTestId('widget-input').fill(line);
  await page.getByTestId('widget-input').press('Enter');
  await page.locator('[data-testid="widget-message"]:not(.pb-pending)').filter({ hasText: line }).waitFor();
}
