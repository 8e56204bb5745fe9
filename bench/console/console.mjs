// The console under load (issue 12): Bob holds 200 open chats and has 5,000 conversations in his
// inbox; how long from an agent's input to the next paint, in Debian's Chromium, for what an
// agent does every minute. Run by bench/console/run.sh (see there and docs/benchmarks.md).
//
// Set-up, on one `serve --demo` hub started by tests/browser/harness.mjs (a fresh data directory):
// Bob's chat capacity is raised to OPEN over the admin API; INBOX - OPEN closed chats of his are
// written into the database (seed-closed.sql, as plugboard-searchload does); then OPEN customers
// start real chats over /ws/chat from one browser page and a second socket of Bob's (/ws/agent,
// as a second tab would be) accepts each offer, so the router holds them. Each chat gets four
// lines. Then Bob signs in to the console in a page of its own and the measures begin.
//
// Measure: input to next paint, taken in the page. A capturing listener on the window takes the
// input event's timeStamp (when the browser got the input), asks for the next animation frame
// and, from it, posts a message to itself: that message runs once the page's share of the frame
// (handlers, render, style, layout, paint, commit to the compositor) is done; raster and the
// display come after it. The difference is one sample. For a new message the start is the moment
// its socket frame reached the page. Chromium's own Event Timing entries (the API behind INP: to
// the frame's presentation, but only events of 16 ms or more, rounded to 8 ms) are kept beside
// it for each action, by when their input happened.
//
// Environment: OPEN (200), INBOX (5000), ROUNDS (30), OUT (results file, JSON lines appended),
// TRACE (a file: a Chromium performance trace of the measured page, for DevTools;
// TRACE_CATEGORIES, comma-separated, replaces Playwright's default categories), PROFILE (a
// file: a CPU profile of the console's JavaScript during the actions, .cpuprofile), EVENTS (a
// file: every Event Timing entry of 16 ms or more, with the time each action began).

import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, launchBrowser, signIn, login, call, BIN } from '../../tests/browser/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OPEN = Number(process.env.OPEN || 200);
const INBOX = Number(process.env.INBOX || 5000);
const ROUNDS = Number(process.env.ROUNDS || 30);
const OUT = path.resolve(process.env.OUT || path.join(HERE, 'results/latest.jsonl'));
const BOB = 'bob@plugboard.example';

const log = (...a) => console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.round((sorted.length - 1) * p)] : null;
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const r = (x) => (x == null ? null : Math.round(x * 10) / 10);
  return { n: s.length, p50_ms: r(percentile(s, 0.5)), p95_ms: r(percentile(s, 0.95)), max_ms: r(s[s.length - 1]), over_50: s.filter((x) => x > 50).length };
}

// In the measured page, before the console's own scripts: Event Timing entries, the socket frames
// to watch for, and `arm(type)`, the next trusted `type` event's input-to-next-paint.
function instrument() {
  const b = { events: [], watch: null, frame: null };
  window.__bench = b;
  // Room for every request's Resource Timing entry (250 by default; then new ones are dropped).
  performance.setResourceTimingBufferSize(100000);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      b.events.push({ name: e.name, start: e.startTime, duration: e.duration, id: e.interactionId, wait: e.processingStart - e.startTime, run: e.processingEnd - e.processingStart, target: e.target ? (e.target.dataset.testid || e.target.tagName) : null });
    }
  }).observe({ type: 'event', durationThreshold: 16, buffered: true });
  // After the next frame has been painted: a message posted from its animation-frame callback.
  b.afterPaint = (done) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => done(performance.now());
    ch.port2.postMessage(null);
  });
  // `key`: only a keydown of that key counts (Alt+↓ is a keydown of Alt first).
  b.arm = (type, key) => {
    b.result = new Promise((resolve) => {
      const listener = (e) => {
        if (key && e.key !== key) return;
        removeEventListener(type, listener, true);
        const start = e.timeStamp;
        b.afterPaint((end) => resolve(end - start));
      };
      addEventListener(type, listener, true);
    });
  };
  // From the next click to the paint of the inbox list whose first line is (`open`) or is not
  // one of `openIds`: a folder's new list on screen.
  b.armList = (openIds, open) => {
    const ids = new Set(openIds);
    b.listResult = new Promise((resolve) => {
      addEventListener('click', (e) => {
        const start = e.timeStamp;
        const check = () => {
          const el = document.querySelector('[data-testid="inbox-line"]');
          if (!el || ids.has(el.dataset.interactionId) !== open) return false;
          observer.disconnect();
          b.afterPaint((end) => resolve(end - start));
          return true;
        };
        const observer = new MutationObserver(check);
        observer.observe(document.body, { childList: true, subtree: true, attributes: true });
      }, { capture: true, once: true });
    });
  };
  // A socket frame holding `marker`: from its arrival to the paint after it, and whether the
  // page shows it by then (`selector` then holds the text).
  b.watchFrame = (marker, selector) => {
    b.frame = new Promise((resolve) => {
      b.watch = { marker, selector, resolve };
    });
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      // Added before the console's own listener, so it runs first.
      this.addEventListener('message', (e) => {
        const w = b.watch;
        if (!w || typeof e.data !== 'string' || !e.data.includes(w.marker)) return;
        b.watch = null;
        const start = performance.now();
        b.afterPaint((end) => {
          const el = document.querySelector(w.selector);
          w.resolve({ ms: end - start, paintedAt: performance.timeOrigin + end, shown: Boolean(el && el.textContent.includes(w.marker)) });
        });
      });
    }
  };
}

// In the customers' page: Bob's second socket, which accepts every offer, and the customers'
// widgets. Exposed as window.__crowd.
function crowd(token) {
  const wsUrl = (p) => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${p}`;
  const c = { assigned: new Map(), widgets: [], acks: new Map(), errors: [] };
  window.__crowd = c;
  const agent = new WebSocket(wsUrl('/ws/agent'));
  c.agentReady = new Promise((resolve) => {
    agent.onopen = () => agent.send(JSON.stringify({ type: 'auth', token }));
    agent.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.type === 'snapshot') {
        agent.send(JSON.stringify({ type: 'state.set', state: 'available' }));
        resolve();
      }
      if (f.type === 'offer') agent.send(JSON.stringify({ type: 'offer.accept', interaction_id: f.interaction.id }));
      if (f.type === 'interaction.assigned') c.assigned.set(f.interaction.id, true);
      if (f.type === 'message.ack') {
        const done = c.acks.get(f.client_id);
        if (done) done();
      }
      if (f.type === 'error') c.errors.push(`agent: ${f.code} ${f.message}`);
    };
  });
  c.agentSay = (interactionId, body) => new Promise((resolve) => {
    const client_id = crypto.randomUUID();
    c.acks.set(client_id, resolve);
    agent.send(JSON.stringify({ type: 'message', interaction_id: interactionId, client_id, body }));
  });
  // One customer: a widget socket that says hello, starts a chat with an opening line and keeps
  // the socket open (so the chat is not abandoned and the customer shows online).
  c.start = (i) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl('/ws/chat'));
    const w = { ws, i, id: null, pending: new Map() };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', queue: 'Support' }));
    ws.onmessage = (e) => {
      const f = JSON.parse(e.data);
      if (f.type === 'ready') ws.send(JSON.stringify({ type: 'start', name: `Open customer ${i}`, email: `open${i}@bench.example`, message: `Hi, this is customer ${i}: my order has not arrived.`, client_id: crypto.randomUUID() }));
      if (f.type === 'started') {
        w.id = f.interaction_id;
        c.widgets[i] = w;
        resolve(w.id);
      }
      if (f.type === 'message.ack') {
        const done = w.pending.get(f.client_id);
        if (done) done(f.message);
      }
      if (f.type === 'error') {
        c.errors.push(`widget ${i}: ${f.code} ${f.message}`);
        reject(new Error(`${f.code} ${f.message}`));
      }
    };
  });
  // The customer writes `body`; resolves once the hub acknowledged it, with the time it was sent
  // (epoch ms, the same clock as the console page's).
  c.say = (i, body) => new Promise((resolve) => {
    const w = c.widgets[i];
    const client_id = crypto.randomUUID();
    const sentAt = performance.timeOrigin + performance.now();
    w.pending.set(client_id, () => resolve(sentAt));
    w.ws.send(JSON.stringify({ type: 'message', client_id, body }));
  });
}

async function waitFor(what, check, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main() {
  const started = Date.now();
  log(`hub ${BIN}; ${OPEN} open chats, ${INBOX} in the inbox, ${ROUNDS} rounds an action`);
  const hub = await startHub({
    // Every customer here comes from 127.0.0.1: the per-address start limit would stop at 30.
    env: { PLUGBOARD_CHAT__STARTS_PER_MINUTE: String(OPEN * 10) },
  });
  const base = hub.base;
  let browser;
  try {
    // Bob's chat capacity (an admin's change, as an admin screen makes it).
    const admin = await login(base, 'admin@plugboard.example');
    const agents = (await call(base, 'GET', '/agents', admin)).body;
    const bob = agents.find((a) => a.email === BOB);
    const patched = await call(base, 'PATCH', `/agents/${bob.id}`, admin, { capacity: { ...bob.capacity, chat: OPEN } });
    if (patched.status !== 200) throw new Error(`capacity: ${patched.status} ${JSON.stringify(patched.body)}`);

    // The closed chats, straight into the database.
    const t0 = Date.now();
    const sql = readFileSync(path.join(HERE, 'seed-closed.sql'), 'utf8')
      .replaceAll('@count', String(INBOX - OPEN))
      .replaceAll('@now', String(Date.now() - 3_600_000));
    const held = execFileSync('sqlite3', [path.join(hub.dataDir, 'plugboard.db')], { input: sql, encoding: 'utf8' }).trim();
    log(`${INBOX - OPEN} closed chats written in ${Date.now() - t0} ms (Bob has ${held} conversations)`);

    browser = await launchBrowser();
    const bobToken = await login(base, BOB);

    // The open chats, through real widgets, accepted by Bob's second socket.
    const t1 = Date.now();
    const cctx = await browser.newContext();
    const customers = await cctx.newPage();
    await customers.goto(`${base}/favicon.svg`);
    await customers.evaluate(crowd, bobToken);
    await customers.evaluate(() => window.__crowd.agentReady);
    for (let i = 0; i < OPEN; i += 10) {
      await customers.evaluate(([from, to]) => Promise.all(Array.from({ length: to - from }, (_, k) => window.__crowd.start(from + k))), [i, Math.min(OPEN, i + 10)]);
    }
    await waitFor(`${OPEN} chats accepted`, () => customers.evaluate((n) => window.__crowd.assigned.size >= n, OPEN));
    // Four lines each: the opening one, Bob's answer, the customer's, Bob's.
    await customers.evaluate(async (n) => {
      const c = window.__crowd;
      for (let i = 0; i < n; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, n - i) }, async (_, k) => {
          const w = c.widgets[i + k];
          await c.agentSay(w.id, 'Hello, I am looking into it now. Could you give me the order number?');
          await c.say(i + k, `It is order ${10000 + i + k}, placed last week.`);
          await c.agentSay(w.id, 'Thank you, one moment please while I check the courier.');
        }));
      }
    }, OPEN);
    const crowdErrors = await customers.evaluate(() => window.__crowd.errors);
    if (crowdErrors.length) throw new Error(`set-up errors: ${crowdErrors.slice(0, 5).join('; ')}`);
    const setupOpenMs = Date.now() - t1;
    // What Bob's inbox holds now ("all": what he holds or held last), and how many he holds.
    const counts = execFileSync('sqlite3', [path.join(hub.dataDir, 'plugboard.db')], {
      input: ".timeout 10000\nSELECT COUNT(*), SUM(state = 'active') FROM interactions WHERE agent_id = (SELECT id FROM agents WHERE email = 'bob@plugboard.example');\n",
      encoding: 'utf8',
    }).trim().split('|').map(Number);
    log(`${OPEN} chats started, accepted and written to in ${setupOpenMs} ms; Bob's inbox: ${counts[0]}, of which active: ${counts[1]}`);
    if (counts[0] !== INBOX || counts[1] !== OPEN) throw new Error(`Bob's inbox holds ${counts[0]} (${counts[1]} active), not ${INBOX} (${OPEN})`);

    // The measured console.
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
    ctx.setDefaultTimeout(60_000);
    await ctx.addInitScript(instrument);
    const page = await ctx.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));

    if (process.env.TRACE) await browser.startTracing(page, {
      path: process.env.TRACE,
      screenshots: false,
      categories: process.env.TRACE_CATEGORIES ? process.env.TRACE_CATEGORIES.split(',') : undefined,
    });
    let cdp = null;
    if (process.env.PROFILE) {
      cdp = await ctx.newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
      await cdp.send('Profiler.start');
    }

    // Initial load: sign-in to 200 chats on screen; then reloads (the token stays in the tab).
    const load = [];
    const allHeld = () => page.waitForFunction((n) => document.querySelectorAll('[data-testid="held-item"]').length === n, OPEN, { polling: 'raf' });
    const tl = Date.now();
    await signIn(page, base, BOB);
    await allHeld();
    load.push(Date.now() - tl);
    for (let r = 0; r < 4; r++) {
      const t = Date.now();
      await page.reload();
      await allHeld();
      load.push(Date.now() - t);
    }
    log(`console loaded with ${OPEN} chats: ${load.join(', ')} ms`);
    const heldIds = await page.evaluate(() => [...document.querySelectorAll('[data-testid="held-item"]')].map((e) => e.dataset.interactionId));
    const widgetOf = new Map(await customers.evaluate(() => window.__crowd.widgets.map((w) => [w.id, w.i])));

    const results = [];
    // Each action's span on the page's clock, to give it Chromium's Event Timing entries by when
    // their input happened: an entry is reported only once its frame was presented, which may be
    // after the next action began.
    const spans = new Map();
    const now = () => page.evaluate(() => performance.now());
    async function measure(action, type, act, key) {
      const begin = await now();
      const samples = [];
      for (let r = 0; r < ROUNDS; r++) {
        await page.evaluate(([t, k]) => window.__bench.arm(t, k), [type, key || null]);
        await act(r);
        samples.push(await page.evaluate(() => window.__bench.result));
        // Let what the input set off (a fetch, the hub's answer) settle before the next one.
        await page.waitForTimeout(100);
      }
      spans.set(action, [begin, await now()]);
      const row = { action, ...summary(samples) };
      results.push(row);
      log(JSON.stringify(row));
    }
    // Chromium's Event Timing entries of inputs made during an action: per interaction its
    // longest event (INP's way), and the three longest entries, split into waiting for the main
    // thread, running handlers (and the render they set off), and the rest up to the paint.
    async function eventTiming([begin, end]) {
      const events = (await page.evaluate(() => window.__bench.events)).filter((e) => e.start >= begin && e.start < end);
      const byId = new Map();
      for (const e of events) if (e.id) byId.set(e.id, Math.max(byId.get(e.id) || 0, e.duration));
      const d = [...byId.values()];
      const worst = events.sort((a, b) => b.duration - a.duration).slice(0, 3)
        .map((e) => ({ name: e.name, target: e.target, duration: e.duration, wait: Math.round(e.wait), run: Math.round(e.run) }));
      return { interactions_16ms_or_more: d.length, over_50: d.filter((x) => x > 50).length, max_ms: d.length ? Math.max(...d) : null, worst };
    }

    // In the workspace, a conversation open.
    const item = (id) => page.locator(`[data-testid="held-item"][data-interaction-id="${id}"]`);
    await item(heldIds[0]).click();
    const composer = page.getByTestId('composer-input');
    await composer.click();

    await measure('type a key in the composer', 'keydown', (r) => page.keyboard.type('abcdefghijklmnopqrstuvwxyz0123456789'[r % 36]));
    await composer.fill('');
    await measure('send a reply (Enter)', 'keydown', async (r) => {
      await composer.fill(`Still checking, thank you for your patience (${r}).`);
      await composer.press('Enter');
    }, 'Enter');
    await measure('switch conversation (click in the list)', 'click', (r) => item(heldIds[(r * 37 + 11) % OPEN]).click());
    await measure('switch conversation (Alt+↓)', 'keydown', () => page.keyboard.press('Alt+ArrowDown'), 'ArrowDown');

    // A new line from a customer whose chat is not the one open: the list shows it, counted unread.
    const live = [];
    const endToEnd = [];
    const selected = await page.getByTestId('chat-pane').getAttribute('data-interaction-id');
    for (let r = 0; r < ROUNDS; r++) {
      let id = heldIds[(r * 53 + 7) % OPEN];
      if (id === selected) id = heldIds[(r * 53 + 8) % OPEN];
      const marker = `where is my parcel ${r}-${Date.now()}`;
      await page.evaluate(([m, sel]) => window.__bench.watchFrame(m, sel), [marker, `[data-testid="held-item"][data-interaction-id="${id}"] .held-last`]);
      const sentAt = await customers.evaluate(([i, m]) => window.__crowd.say(i, m), [widgetOf.get(id), marker]);
      const seen = await page.evaluate(() => window.__bench.frame);
      if (!seen.shown) throw new Error(`the new line of ${id} was not on screen at the paint after its frame`);
      live.push(seen.ms);
      endToEnd.push(seen.paintedAt - sentAt);
      await page.waitForTimeout(100);
    }
    for (const [action, samples] of [['a customer\'s new line arrives (frame to paint)', live], ['a customer\'s new line, widget send to console paint', endToEnd]]) {
      const row = { action, ...summary(samples) };
      results.push(row);
      log(JSON.stringify(row));
    }

    // The inbox: switching folders. Input to paint, and to the new list on screen (after the
    // console's 150 ms pause for more changes and the hub's answer).
    await page.getByTestId('nav-inbox').click();
    await page.getByTestId('inbox-list').waitFor();
    const listShown = [];
    await measure('switch inbox folder (Mine ↔ Closed)', 'click', async (r) => {
      const folder = r % 2 === 0 ? 'closed' : 'mine';
      await page.evaluate(([ids, open]) => window.__bench.armList(ids, open), [heldIds, folder === 'mine']);
      await page.getByTestId(`inbox-folder-${folder}`).click();
      listShown.push(await page.evaluate(() => window.__bench.listResult));
    });
    const shownRow = { action: 'switch inbox folder: click to the new list painted (the request included)', ...summary(listShown) };
    results.push(shownRow);
    log(JSON.stringify(shownRow));
    // Of which the hub's answer: the list requests' own time (Resource Timing), request to last byte.
    const [fb, fe] = spans.get('switch inbox folder (Mine ↔ Closed)');
    const fetches = await page.evaluate(([b, e]) => performance.getEntriesByType('resource')
      .filter((r) => r.name.includes('/api/v1/conversations?') && r.startTime >= b && r.startTime < e)
      .map((r) => r.responseEnd - r.startTime), [fb, fe]);
    const fetchRow = { action: 'of which GET /api/v1/conversations (folder page of 50)', ...summary(fetches) };
    results.push(fetchRow);
    log(JSON.stringify(fetchRow));

    // The last entries come once their frames are presented.
    await page.waitForTimeout(1500);
    for (const row of results) if (spans.has(row.action)) row.event_timing = await eventTiming(spans.get(row.action));

    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      writeFileSync(process.env.PROFILE, JSON.stringify(profile));
      log(`CPU profile in ${process.env.PROFILE}`);
    }
    if (process.env.TRACE) {
      await browser.stopTracing();
      log(`trace in ${process.env.TRACE}`);
    }
    if (process.env.EVENTS) {
      await page.waitForTimeout(1000);
      const marks = [...spans].map(([action, [at]]) => ({ action, at }));
      writeFileSync(process.env.EVENTS, JSON.stringify({ marks, events: await page.evaluate(() => window.__bench.events) }, null, 1));
    }
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.slice(0, 5).join('; ')}`);

    const record = {
      bench: 'console',
      date: new Date().toISOString(),
      cpus: os.cpus().length,
      loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
      hub: path.relative(process.cwd(), BIN),
      chromium: browser.version(),
      open: OPEN,
      inbox: INBOX,
      rounds: ROUNDS,
      setup_open_ms: setupOpenMs,
      inbox_rows: counts[0],
      load_ms: load,
      actions: results,
      total_secs: Math.round((Date.now() - started) / 1000),
    };
    mkdirSync(path.dirname(OUT), { recursive: true });
    appendFileSync(OUT, `${JSON.stringify(record)}\n`);
    console.log(`# ${record.date.slice(0, 10)} ${record.cpus} CPUs, load ${record.loadavg.join(' ')}, ${OPEN} open, ${INBOX} in the inbox, ${ROUNDS} rounds; Chromium ${record.chromium}`);
    console.log(`load (sign-in, then reloads) to ${OPEN} chats on screen: ${load.join(', ')} ms`);
    console.log('| action | p50 ms | p95 ms | max ms | over 50 ms | Event Timing ≥16 ms (over 50) | Event Timing max |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of results) {
      const et = r.event_timing;
      console.log(`| ${r.action} | ${r.p50_ms} | ${r.p95_ms} | ${r.max_ms} | ${r.over_50} of ${r.n} | ${et ? `${et.interactions_16ms_or_more} (${et.over_50})` : '–'} | ${et && et.max_ms != null ? et.max_ms : '–'} |`);
    }
    console.log(`record appended to ${path.relative(process.cwd(), OUT)}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await hub.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
