// End to end, as people use it: the real hub (`plugboard serve --demo` on a free port with a
// fresh data directory), the agent console and the chat widget in Debian's Chromium.
//
// Run: cd tests/browser && npm ci && node --test
// The hub binary is $PLUGBOARD_BIN, else ../../target/debug/plugboard (cargo build --bin plugboard).
// PLUGBOARD_URL=http://127.0.0.1:PORT uses a hub that is already running (seeded like --demo)
// instead of starting one. Screenshots go to tests/browser/artifacts/.
//
// Scenario: Bob logs in and goes Available; a visitor opens /demo, fills the widget's pre-chat
// form and writes a line with HTML in it; Bob gets the offer, accepts, sees the customer card and
// the line as text; they type and reply both ways; the visitor reloads and the conversation is
// still there, once; Bob ends the chat and wraps it up; the customer's timeline shows it closed
// with that disposition.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, byTestId, call, login, signIn } from './harness.mjs';

const BOB = { email: 'bob@plugboard.example', password: 'plugboard-demo', name: 'Bob Martin' };
const VISITOR = { name: 'Mia Fischer', email: 'mia.fischer@example.net', phone: '+4915112345678' };
const OPENING = 'Hello, I need help with my order <b>now</b>';
const REPLY = 'Happy to help';
const AFTER_RELOAD = 'Order 4471, it has not arrived';

// Without a browser there is nothing to test: skip on a developer's machine, fail in CI.
const skip = chromiumSkip();

let hub;
let base;
let browser;
let agentCtx;
let visitorCtx;
let agent;
let visitor;
let interactionId;
const pageErrors = [];

const watch = (page, who) => watchPage(page, who, pageErrors);

/** Message texts in the console's open chat (system lines aside). */
const consoleBodies = () => agent.locator('[data-testid="messages"] [data-testid="message"]:not([data-sender="system"]) [data-testid="message-body"]').allTextContents();
/** Message texts in the widget (system lines aside). */
const widgetBodies = () => visitor.locator('[data-testid="widget-messages"] [data-testid="widget-message"]:not([data-sender="system"]) .pb-bubble').allTextContents();

before(async () => {
  if (skip) return;
  hub = await startHub();
  base = hub.base;
  browser = await launchBrowser();
  agentCtx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  visitorCtx = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-US' });
  agentCtx.setDefaultTimeout(15_000);
  visitorCtx.setDefaultTimeout(15_000);
  agent = await agentCtx.newPage();
  visitor = await visitorCtx.newPage();
  watch(agent, 'console');
  watch(visitor, 'widget');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (hub) await hub.stop();
});

test('the console and the demo page are served under the strict CSP', { skip }, async () => {
  const res = await fetch(`${base}/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'self'/, `CSP was: ${csp}`);
  assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/, `CSP was: ${csp}`);
  // Call recordings play from blob URLs (fetched with the session token).
  assert.match(csp, /media-src 'self' blob:/, `CSP was: ${csp}`);
  // Links out of the console (a mail's, a customer's website) do not tell where they came from.
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const demo = await fetch(`${base}/demo`);
  assert.equal(demo.status, 200);
  assert.match(await demo.text(), /<script src="\/widget\.js" data-queue="Support" async><\/script>/);
});

test('Bob logs in and goes Available', { skip }, async () => {
  await agent.goto(`${base}/`);
  await agent.getByTestId('login-email').fill(BOB.email);
  await agent.getByTestId('login-password').fill(BOB.password);
  await agent.getByTestId('login-submit').click();
  await agent.locator('[data-testid="connection-status"].connection-open').waitFor();
  // Agents start Offline on a fresh hub (a hub given by PLUGBOARD_URL may remember otherwise).
  if (!process.env.PLUGBOARD_URL) await byTestId(agent, 'state-current', 'data-state', 'offline').waitFor();
  // The name comes with the snapshot, which may land just after the socket opens.
  await agent.getByTestId('agent-name').filter({ hasText: BOB.name }).waitFor();
  await agent.getByTestId('state-available').click();
  await byTestId(agent, 'state-current', 'data-state', 'available').waitFor();
});

test('a visitor starts a chat from the widget on /demo', { skip }, async () => {
  await visitor.goto(`${base}/demo`);
  await visitor.getByTestId('widget-launcher').click();
  await visitor.getByTestId('prechat-form').waitFor();
  await visitor.getByTestId('prechat-name').fill(VISITOR.name);
  await visitor.getByTestId('prechat-email').fill(VISITOR.email);
  await visitor.getByTestId('prechat-phone').fill(VISITOR.phone);
  await visitor.getByTestId('prechat-message').fill(OPENING);
  await visitor.getByTestId('prechat-submit').click();
  await byTestId(visitor, 'widget-message', 'data-sender', 'customer').filter({ hasText: OPENING }).waitFor();
});

test('Bob sees the offer and accepts it; the card and the message are shown as text', { skip }, async () => {
  const offer = agent.getByTestId('offer-card');
  await offer.waitFor();
  interactionId = await offer.getAttribute('data-interaction-id');
  assert.ok(interactionId, 'the offer names its interaction');
  assert.equal(await offer.getByTestId('offer-customer').textContent(), VISITOR.name);
  assert.equal(await offer.getByTestId('offer-queue').textContent(), 'Support');
  assert.equal(await offer.getByTestId('offer-preview').textContent(), OPENING);
  assert.match(await offer.getByTestId('offer-countdown').textContent(), /^\d+s$/);
  await shot(agent, 'console-offer');
  await offer.getByTestId('offer-accept').click();

  await byTestId(agent, 'chat-pane', 'data-interaction-id', interactionId).waitFor();
  await agent.getByTestId('offer-card').waitFor({ state: 'detached' });
  assert.equal(await agent.getByTestId('card-name').textContent(), VISITOR.name);
  // What the visitor typed is a claim: shown as such, never as the customer's email.
  assert.equal(await agent.getByTestId('card-email').textContent(), '—');
  assert.equal(await agent.getByTestId('card-claim').textContent(), `Says they are ${VISITOR.email} · ${VISITOR.phone} (not verified)`);
  assert.deepEqual(await consoleBodies(), [OPENING], 'the literal <b> text, once');
  assert.equal(await agent.getByTestId('messages').locator('b').count(), 0, 'no <b> element: the body is text, not HTML');
  // The widget learns who joined.
  await visitor.getByTestId('widget-agent').filter({ hasText: 'Bob' }).waitFor();
});

test('typing shows on both sides', { skip }, async () => {
  await visitor.getByTestId('widget-input').pressSequentially('Are you th', { delay: 20 });
  await agent.getByTestId('typing-indicator').waitFor();
  await agent.getByTestId('composer-input').pressSequentially('One mo', { delay: 20 });
  await visitor.getByTestId('widget-typing').filter({ hasText: 'typing' }).waitFor();
  await visitor.getByTestId('widget-input').fill('');
  await agent.getByTestId('composer-input').fill('');
});

test('Bob replies with Enter and the widget shows the reply', { skip }, async () => {
  await agent.getByTestId('composer-input').fill(REPLY);
  await agent.getByTestId('composer-input').press('Enter');
  await byTestId(visitor, 'widget-message', 'data-sender', 'agent').filter({ hasText: REPLY }).waitFor();
  // In the console the reply is committed (no longer pending) and shown once.
  await agent.locator('[data-testid="message"][data-sender="agent"]:not(.pending)').filter({ hasText: REPLY }).waitFor();
  assert.deepEqual(await consoleBodies(), [OPENING, REPLY]);
  assert.equal(await agent.getByTestId('composer-input').inputValue(), '', 'Enter sent and cleared the composer');
  await shot(agent, 'console-chat');
  await shot(visitor, 'widget-chat');
});

test('a reload of the widget page keeps the conversation, with nothing twice', { skip }, async () => {
  await visitor.reload();
  const messages = visitor.getByTestId('widget-messages').getByTestId('widget-message');
  await messages.filter({ hasText: REPLY }).waitFor();
  assert.deepEqual(await widgetBodies(), [OPENING, REPLY]);
  // The resumed conversation is live: a new line reaches Bob, once, and the widget shows it once.
  await visitor.getByTestId('widget-input').fill(AFTER_RELOAD);
  await visitor.getByTestId('widget-input').press('Enter');
  await agent.getByTestId('messages').getByTestId('message-body').filter({ hasText: AFTER_RELOAD }).waitFor();
  await visitor.locator('[data-testid="widget-message"]:not(.pb-pending)').filter({ hasText: AFTER_RELOAD }).waitFor();
  assert.deepEqual(await widgetBodies(), [OPENING, REPLY, AFTER_RELOAD]);
  assert.deepEqual(await consoleBodies(), [OPENING, REPLY, AFTER_RELOAD]);
  await shot(visitor, 'widget-after-reload');
});

test('Bob ends the chat and wraps it up with a disposition', { skip }, async () => {
  await agent.getByTestId('end-chat').click();
  await agent.getByTestId('wrapup-form').waitFor();
  await visitor.getByTestId('widget-ended').waitFor();
  // Over: the header no longer says the visitor is chatting with anyone.
  assert.equal(await visitor.getByTestId('widget-agent').textContent(), 'You chatted with Bob');
  await agent.getByTestId('wrapup-disposition').selectOption('resolved');
  await agent.getByTestId('wrapup-note').fill('Found the parcel at the depot');
  await shot(agent, 'console-wrapup');
  await agent.getByTestId('wrapup-submit').click();
  await agent.getByTestId('chat-pane').waitFor({ state: 'detached' });
  await agent.getByTestId('no-chat').waitFor();
  await shot(visitor, 'widget-ended');
});

test('the customer\'s timeline shows the interaction closed with that disposition', { skip }, async () => {
  await agent.getByTestId('nav-customers').click();
  await agent.getByTestId('customer-search-input').fill(VISITOR.name);
  await agent.getByTestId('customer-search-submit').click();
  await agent.getByTestId('customer-result').filter({ hasText: VISITOR.name }).click();
  const entry = byTestId(agent, 'timeline-entry', 'data-interaction-id', interactionId);
  await entry.waitFor();
  assert.equal(await entry.getAttribute('data-state'), 'closed');
  assert.equal(await entry.getAttribute('data-disposition'), 'resolved');
  assert.equal(await entry.getByTestId('timeline-disposition').textContent(), 'Resolved');
  await entry.getByTestId('timeline-toggle').click();
  await shot(agent, 'console-timeline');
  // This hub has no carrier trunk (nor SIP): no call button, though the customer has a number.
  assert.equal(await agent.getByTestId('profile-call').count(), 0, 'no click-to-call without a trunk');

  // The same through REST, with the console's own session.
  const customerId = await agent.getByTestId('customer-profile').getAttribute('data-customer-id');
  const timeline = await agent.evaluate(async (id) => {
    const res = await fetch(`/api/v1/customers/${id}/timeline`, { headers: { Authorization: `Bearer ${sessionStorage.getItem('plugboard.token')}` } });
    return res.json();
  }, customerId);
  const found = timeline.entries.find((e) => e.interaction.id === interactionId);
  assert.ok(found, 'the interaction is on the timeline');
  assert.equal(found.interaction.state, 'closed');
  assert.equal(found.interaction.disposition, 'resolved');
  assert.deepEqual(found.messages.filter((m) => m.sender !== 'system').map((m) => m.body), [OPENING, REPLY, AFTER_RELOAD], 'each message stored once');
});

test('Bob switches the console to Chinese; it stays so after a reload (his profile)', { skip }, async () => {
  await agent.getByTestId('nav-workspace').click();
  await agent.getByTestId('locale-select').selectOption('zh-CN');
  await agent.getByTestId('nav-workspace').filter({ hasText: '工作台' }).waitFor();
  await agent.waitForResponse((r) => r.url().endsWith('/api/v1/me') && r.request().method() === 'PATCH').catch(() => {});
  await agent.reload();
  await agent.getByTestId('state-available').filter({ hasText: '空闲' }).waitFor();
  assert.equal(await agent.locator('html').getAttribute('lang'), 'zh-CN');
  await shot(agent, 'console-zh-CN');
  await agent.getByTestId('locale-select').selectOption('en');
  await agent.getByTestId('nav-workspace').filter({ hasText: 'Workspace' }).waitFor();
});

test('with nobody available the widget takes a message instead', { skip }, async () => {
  await agent.getByTestId('state-offline').click();
  await byTestId(agent, 'state-current', 'data-state', 'offline').waitFor();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 }, locale: 'en-US' });
  try {
    const page = await ctx.newPage();
    watch(page, 'offline widget');
    await page.goto(`${base}/demo`);
    await page.getByTestId('widget-launcher').click();
    await page.getByTestId('offline-form').waitFor();
    assert.match(await page.getByTestId('offline-intro').textContent(), /Nobody is available/);
    await page.getByTestId('offline-name').fill('Ola Nordmann');
    await page.getByTestId('offline-email').fill('ola@example.no');
    await page.getByTestId('offline-message').fill('Please call me back about my invoice');
    await page.getByTestId('offline-submit').click();
    await page.getByTestId('offline-received').waitFor();
    await shot(page, 'widget-offline-received');
  } finally {
    await ctx.close();
  }
});

test('the admin gives Bob a desk phone; it is listed, not registered yet', { skip }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  try {
    const page = await ctx.newPage();
    watch(page, 'admin');
    await page.goto(base);
    await page.getByTestId('login-email').fill('admin@plugboard.example');
    await page.getByTestId('login-password').fill('plugboard-demo');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('nav-admin-phones').click();
    await page.getByTestId('admin-phones').waitFor();
    await page.getByTestId('phone-agent').selectOption({ label: 'Bob Martin' });
    await page.getByTestId('phone-username').fill('bob-desk');
    await page.getByTestId('phone-password').fill('desk-phone-1');
    await page.getByTestId('phone-add').click();
    const row = page.getByTestId('phone-row').filter({ hasText: 'bob-desk' });
    await row.waitFor();
    assert.match(await row.textContent(), /Bob Martin/);
    assert.match(await row.getByTestId('phone-registered').textContent(), /not registered/);
    await shot(page, 'admin-phones');
  } finally {
    await ctx.close();
  }
});

test('the admin sees where Dana is logged in, logs her out everywhere, deactivates and reactivates her', { skip }, async () => {
  const dana = await login(base, 'dana@plugboard.example');
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  try {
    const page = await ctx.newPage();
    watch(page, 'admin');
    await signIn(page, base, 'admin@plugboard.example');
    await page.getByTestId('nav-admin-agents').click();
    const row = page.getByTestId('agent-row').filter({ hasText: 'Dana Silva' });
    await row.getByTestId('agent-edit').click();
    const sessions = page.getByTestId('agent-sessions');
    await sessions.getByTestId('session-row').first().waitFor();
    assert.match(await sessions.getByTestId('session-row').first().textContent(), /127\.0\.0\.1/);
    assert.doesNotMatch(await sessions.textContent(), new RegExp(dana));
    await shot(page, 'admin-agent-sessions');
    await sessions.getByTestId('sessions-end-all').click();
    await sessions.getByTestId('sessions-none').waitFor();
    assert.equal((await call(base, 'GET', '/me', dana)).status, 401);

    await row.getByTestId('agent-deactivate').click();
    await row.getByTestId('agent-reactivate').waitFor();
    assert.equal((await row.getByTestId('agent-status').textContent()).trim(), 'Deactivated');
    const refused = await call(base, 'POST', '/auth/login', null, { email: 'dana@plugboard.example', password: 'plugboard-demo' });
    assert.equal(refused.body.code, 'deactivated');
    await row.getByTestId('agent-reactivate').click();
    await row.getByTestId('agent-deactivate').waitFor();
    await login(base, 'dana@plugboard.example');
  } finally {
    await ctx.close();
  }
});

test('the admin reads the audit log: the phone, the sessions ended, Dana deactivated and back, by whom and from where', { skip }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  try {
    const page = await ctx.newPage();
    watch(page, 'admin');
    await signIn(page, base, 'admin@plugboard.example');
    await page.getByTestId('nav-admin-audit').click();
    await page.getByTestId('audit-row').first().waitFor();
    const actions = await page.locator('[data-testid="audit-row"] td:nth-child(3)').allTextContents();
    for (const action of ['phone.created', 'agent.sessions_ended', 'agent.deactivated', 'agent.reactivated']) {
      assert.ok(actions.includes(action), `${action} missing from ${actions}`);
    }
    assert.match(await page.getByTestId('audit-row').first().textContent(), /admin@plugboard\.example.*127\.0\.0\.1/);
    await shot(page, 'admin-audit');
    await page.getByTestId('audit-action').fill('agent.deactivated');
    await page.getByTestId('audit-filter').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="audit-row"]').length === 1);
  } finally {
    await ctx.close();
  }
});

test('no page logged an error (CSP violations included)', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
