// End to end, the agent's day in the console (issue 12, items 3, 4 and 7): the real hub, Bob's
// console and customers' widgets in Debian's Chromium.
//
// Scenario: Bob turns desktop notifications on and goes Available. With his tab hidden, a visitor
// starts a chat: the title says "(1) Ringing", the favicon gets a badge and a desktop notification
// is shown (Chromium's permission granted to the context; `new Notification` calls recorded).
// Back on the tab he works by keyboard only: accept, reply, a second chat accepted with Alt+A from
// the reply box, the first customer's new line counted unread until he moves back to it, the `?`
// overlay, end and wrap-up. Then his socket is cut (the test blocks /ws/agent): an accept, an end
// and a wrap-up clicked meanwhile are shown as kept, and after the reconnect each reaches the hub
// once; a note or a call, which are not queued, say they did not go out. Last, `/` to search and
// the shortcut list in Chinese.
//
// Headless Chromium always reports a visible page, so "hidden" is the page's Page Visibility
// state set by the test (document.visibilityState and a visibilitychange event), which is all the
// console reads.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, byTestId, signIn, ARTIFACTS, setHidden, recordNotifications, startChat, widgetSays } from './harness.mjs';

const BOB = 'bob@plugboard.example';
const skip = chromiumSkip();

let hub;
let base;
let browser;
let ctx;
let agent;
const pageErrors = [];
const watch = (page, who) => watchPage(page, who, pageErrors);
const visitors = [];

// The console's /ws/agent goes through the test: every frame the console sends is recorded, and
// while `blocked` the connection is cut and every new one closed at once.
const sentFrames = [];
let blocked = false;
const openSockets = new Set();

async function routeAgentSocket(page) {
  await page.routeWebSocket(/\/ws\/agent$/, (ws) => {
    if (blocked) {
      ws.close();
      return;
    }
    const server = ws.connectToServer();
    const pair = { ws, server };
    openSockets.add(pair);
    ws.onMessage((message) => {
      sentFrames.push(JSON.parse(message));
      server.send(message);
    });
    ws.onClose(() => {
      openSockets.delete(pair);
      server.close();
    });
    server.onClose(() => {
      openSockets.delete(pair);
      ws.close();
    });
  });
}

async function cutSocket() {
  blocked = true;
  for (const { ws, server } of [...openSockets]) {
    await ws.close();
    await server.close();
  }
  openSockets.clear();
}

const framesOf = (type, id) => sentFrames.filter((f) => f.type === type && f.interaction_id === id);


const notifications = () => agent.evaluate(() => window.recordedNotifications);



const offerFor = (name) => agent.getByTestId('offer-card').filter({ has: agent.getByTestId('offer-customer').filter({ hasText: name }) });
const heldItem = (id) => byTestId(agent, 'held-item', 'data-interaction-id', id);
const pane = (id) => byTestId(agent, 'chat-pane', 'data-interaction-id', id);
const titleIs = (title) => agent.waitForFunction((t) => document.title === t, title);

before(async () => {
  if (skip) return;
  // SIP with a carrier trunk (nothing listens there): the customer page has its Call button.
  hub = await startHub({ env: { PLUGBOARD_SIP__LISTEN: '127.0.0.1:0', PLUGBOARD_SIP__OUTBOUND_TRUNK: '127.0.0.1:9' } });
  base = hub.base;
  browser = await launchBrowser();
  ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  ctx.setDefaultTimeout(15_000);
  await recordNotifications(ctx, base);
  agent = await ctx.newPage();
  watch(agent, 'console');
  await routeAgentSocket(agent);
});

after(async () => {
  for (const v of visitors) await v.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (hub) await hub.stop();
});

let first;
let second;
let mia;
let noah;

test('Bob turns desktop notifications on and goes Available', { skip }, async () => {
  await signIn(agent, base, BOB);
  assert.equal(await agent.title(), 'Plugboard');
  await agent.getByTestId('alert-settings-toggle').click();
  assert.equal(await agent.getByTestId('alerts-sound').isChecked(), true, 'the ring is on by default');
  await agent.getByTestId('alerts-notify').check();
  await agent.getByTestId('alert-settings-toggle').click();
  assert.deepEqual(await agent.evaluate(() => JSON.parse(localStorage.getItem('plugboard.attention'))), { notify: true, sound: true });
  await agent.getByTestId('state-available').click();
  await byTestId(agent, 'state-current', 'data-state', 'available').waitFor();
});

test('an offer while the tab is hidden: the title rings, the favicon has a badge, a notification shows', { skip }, async () => {
  await setHidden(agent, true);
  mia = await startChat(browser, base, visitors, watch, 'Mia Fischer', 'mia.day@example.net', 'Where is my parcel?');
  await offerFor('Mia Fischer').waitFor();
  await titleIs('(1) Ringing — Plugboard');
  assert.match(await agent.locator('link[rel="icon"]').getAttribute('href'), /^data:image\/svg\+xml,/);
  await agent.waitForFunction(() => window.recordedNotifications.length === 1);
  const [n] = await notifications();
  assert.equal(n.title, 'Incoming Chat: Mia Fischer');
  // And a screen reader hears it: the console's assertive live region says the offer.
  const live = agent.getByTestId('offer-announce');
  assert.equal(await live.getAttribute('aria-live'), 'assertive');
  assert.equal(await live.textContent(), 'Incoming Chat: Mia Fischer. Alt+A accepts, Alt+D declines.');
  first = await offerFor('Mia Fischer').getAttribute('data-interaction-id');
  assert.equal(n.tag, `offer:${first}`);
  await setHidden(agent, false);
  await shot(agent, 'day-offer-ringing');
  // The tab's icon as the browser gets it, drawn large for the artifacts.
  const icon = await agent.locator('link[rel="icon"]').getAttribute('href');
  const view = await ctx.newPage();
  await view.setContent(`<img src="${icon}" width="128" height="128">`);
  await view.locator('img').screenshot({ path: `${ARTIFACTS}/day-favicon-ringing.png` });
  await view.close();
});

test('keyboard only: accept with A, the reply box with R, Enter sends', { skip }, async () => {
  await agent.locator('body').focus();
  await agent.keyboard.press('a');
  await pane(first).waitFor();
  await titleIs('Plugboard');
  assert.equal(await agent.locator('link[rel="icon"]').getAttribute('href'), '/favicon.svg');
  await agent.keyboard.press('r');
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.testid), 'composer-input');
  await agent.keyboard.type('It left the depot this morning');
  await agent.keyboard.press('Enter');
  await byTestId(mia, 'widget-message', 'data-sender', 'agent').filter({ hasText: 'It left the depot this morning' }).waitFor();
});

test('a second chat accepted with Alt+A from the reply box; the first one counts its unread line', { skip }, async () => {
  await agent.getByTestId('composer-input').focus();
  await agent.keyboard.type('One moment');
  noah = await startChat(browser, base, visitors, watch, 'Noah Berg', 'noah.day@example.net', 'Can I change my address?');
  await offerFor('Noah Berg').waitFor();
  second = await offerFor('Noah Berg').getAttribute('data-interaction-id');
  // A plain key in the reply box is text, never a shortcut.
  await agent.keyboard.press('a');
  assert.equal(await agent.getByTestId('composer-input').inputValue(), 'One momenta');
  assert.equal(await offerFor('Noah Berg').count(), 1, 'still ringing');
  await agent.keyboard.press('Alt+KeyA');
  await heldItem(second).waitFor();
  // Mia writes while her chat is selected and visible: read at once.
  await widgetSays(mia, 'Thank you!');
  await pane(first).getByTestId('message-body').filter({ hasText: 'Thank you!' }).waitFor();
  assert.equal(await heldItem(first).getByTestId('held-unread').count(), 0);
  // Alt+↓ in the reply box moves to Noah (the next conversation); Mia's next line is unread.
  await agent.keyboard.press('Alt+ArrowDown');
  await pane(second).waitFor();
  assert.equal(await agent.evaluate(() => document.activeElement.tagName), 'BODY', 'the old reply box is gone');
  await widgetSays(mia, 'Also, can you send the tracking link?');
  await heldItem(first).getByTestId('held-unread').filter({ hasText: '1' }).waitFor();
  await titleIs('(1) Unread — Plugboard');
  await shot(agent, 'day-unread');
  // Hidden, a new line in a held conversation is a notification too.
  await setHidden(agent, true);
  await widgetSays(mia, 'Hello?');
  await agent.waitForFunction(() => window.recordedNotifications.some((n) => n.title === 'New message from Mia Fischer'));
  const n = (await notifications()).find((x) => x.title === 'New message from Mia Fischer');
  assert.equal(n.body, 'Hello?');
  await setHidden(agent, false);
  // K goes back to Mia: her two lines are read.
  await agent.keyboard.press('k');
  await pane(first).waitFor();
  await heldItem(first).getByTestId('held-unread').waitFor({ state: 'detached' });
  await titleIs('Plugboard');
});

test('? lists the shortcuts; Escape closes the list', { skip }, async () => {
  await agent.locator('body').focus();
  await agent.keyboard.press('?');
  const help = agent.getByTestId('shortcut-help');
  await help.waitFor();
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.testid), 'shortcut-help-close');
  const actions = await help.getByTestId('shortcut-row').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  assert.deepEqual(actions, ['accept', 'decline', 'next', 'previous', 'end', 'wrapup', 'composer', 'snooze', 'search', 'help']);
  assert.match(await byTestId(agent, 'shortcut-row', 'data-action', 'end').textContent(), /Alt\+E/);
  await shot(agent, 'day-shortcuts');
  // Behind the open list the other shortcuts wait: J does not move to Noah.
  await agent.keyboard.press('j');
  await agent.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  assert.equal(await pane(first).count(), 1);
  await agent.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });
});

test('keyboard only: Alt+E ends the chat, W goes to the wrap-up, arrows pick, Enter closes', { skip }, async () => {
  await agent.keyboard.press('r');
  await agent.keyboard.press('Alt+KeyE');
  await byTestId(agent, 'chat-pane', 'data-state', 'wrap_up').waitFor();
  await mia.getByTestId('widget-ended').waitFor();
  await agent.locator('body').focus();
  await agent.keyboard.press('w');
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.testid), 'wrapup-disposition');
  const firstCode = await agent.getByTestId('wrapup-disposition').locator('option:not([disabled])').first().getAttribute('value');
  await agent.keyboard.press('ArrowDown');
  assert.equal(await agent.getByTestId('wrapup-disposition').inputValue(), firstCode);
  await agent.keyboard.press('Tab');
  await agent.keyboard.type('Tracking link sent');
  await agent.keyboard.press('Tab');
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.testid), 'wrapup-submit');
  await agent.keyboard.press('Enter');
  await heldItem(first).waitFor({ state: 'detached' });
  assert.equal(framesOf('wrap_up', first).length, 1);
  assert.equal(framesOf('interaction.end', first).length, 1);
});

test('socket cut: an end and a wrap-up are kept, shown, and reach the hub once after the reconnect', { skip }, async () => {
  await agent.keyboard.press('j');
  await pane(second).waitFor();
  await cutSocket();
  await agent.locator('[data-testid="connection-status"]:not(.connection-open)').waitFor();
  await pane(second).getByTestId('end-chat').click();
  const banner = agent.getByTestId('reconnecting');
  await banner.waitFor();
  assert.match(await banner.textContent(), /Reconnecting…/);
  assert.equal(await agent.getByTestId('queued-actions').textContent(), 'End');
  assert.equal(await pane(second).getByTestId('end-chat').isDisabled(), true, 'a second click cannot queue it again');
  assert.equal(framesOf('interaction.end', second).length, 0, 'nothing went out while cut');
  // A note has no id to make a resend safe: it is not queued, and its text stays to add again.
  await agent.getByTestId('note-input').fill('Moving house on the 3rd');
  await agent.getByTestId('note-add').click();
  await agent.getByTestId('note-unsent').waitFor();
  assert.equal(await agent.getByTestId('note-input').inputValue(), 'Moving house on the 3rd');
  blocked = false;
  await byTestId(agent, 'chat-pane', 'data-state', 'wrap_up').waitFor();
  await agent.getByTestId('note-add').click();
  await agent.getByTestId('note-item').filter({ hasText: 'Moving house on the 3rd' }).waitFor();
  await agent.getByTestId('note-unsent').waitFor({ state: 'detached' });
  await banner.waitFor({ state: 'detached' });
  await noah.getByTestId('widget-ended').waitFor();
  assert.equal(framesOf('interaction.end', second).length, 1);

  await cutSocket();
  await agent.locator('[data-testid="connection-status"]:not(.connection-open)').waitFor();
  await agent.getByTestId('wrapup-disposition').selectOption('follow_up');
  await agent.getByTestId('wrapup-submit').click();
  await banner.waitFor();
  assert.equal(await agent.getByTestId('wrapup-submit').isDisabled(), true);
  await agent.getByTestId('conversation-queued').filter({ hasText: 'Wrap-up' }).waitFor();
  blocked = false;
  await heldItem(second).waitFor({ state: 'detached' });
  assert.equal(framesOf('wrap_up', second).length, 1);
  assert.equal(await agent.getByTestId('socket-error').count(), 0, 'the hub refused nothing');
});

test('socket cut: an accept is kept and applied once after the reconnect', { skip }, async () => {
  const ava = await startChat(browser, base, visitors, watch, 'Ava Lind', 'ava.day@example.net', 'Do you ship to Norway?');
  const offer = offerFor('Ava Lind');
  await offer.waitFor();
  const id = await offer.getAttribute('data-interaction-id');
  await cutSocket();
  await agent.locator('[data-testid="connection-status"]:not(.connection-open)').waitFor();
  await offer.getByTestId('offer-accept').click();
  await offer.getByTestId('offer-accept').click();
  await offer.getByTestId('offer-queued').waitFor();
  assert.equal(await offer.getByTestId('offer-accept').getAttribute('aria-pressed'), 'true');
  await shot(agent, 'day-accept-queued');
  blocked = false;
  await pane(id).waitFor();
  await ava.getByTestId('widget-agent').filter({ hasText: 'Bob' }).waitFor();
  assert.equal(framesOf('offer.accept', id).length, 1, 'two clicks while cut, one accept');
  assert.equal(await agent.getByTestId('socket-error').count(), 0);
});

test('/ goes to the customer search; a call clicked while the socket is cut says it did not go out', { skip }, async () => {
  await agent.locator('body').focus();
  await agent.keyboard.press('/');
  await agent.getByTestId('customer-search-input').waitFor();
  // The page focuses the box once it has rendered it.
  await agent.waitForFunction(() => document.activeElement?.dataset.testid === 'customer-search-input');
  await agent.keyboard.type('maria.garcia@example.com');
  await agent.keyboard.press('Enter');
  await agent.getByTestId('customer-result').filter({ hasText: 'Maria Garcia' }).click();
  await cutSocket();
  await agent.locator('[data-testid="connection-status"]:not(.connection-open)').waitFor();
  await agent.getByTestId('profile-call').click();
  await agent.getByTestId('profile-call-unsent').waitFor();
  assert.equal(sentFrames.filter((f) => f.type === 'call.dial').length, 0);
  blocked = false;
  await agent.locator('[data-testid="connection-status"].connection-open').waitFor();
});

test('the shortcut list in Chinese', { skip }, async () => {
  await agent.getByTestId('locale-select').selectOption('zh-CN');
  await agent.getByTestId('nav-workspace').filter({ hasText: '工作台' }).click();
  await agent.locator('body').focus();
  await agent.keyboard.press('?');
  const help = agent.getByTestId('shortcut-help');
  await help.waitFor();
  assert.match(await help.locator('h2').textContent(), /键盘快捷键/);
  assert.doesNotMatch(await help.textContent(), /shortcuts\./, 'no catalogue key shown raw');
  await shot(agent, 'day-shortcuts-zh-CN');
  await agent.keyboard.press('Escape');
  await agent.getByTestId('locale-select').selectOption('en');
  await agent.getByTestId('nav-workspace').filter({ hasText: 'Workspace' }).waitFor();
});

test('an agent who opens the supervisor page is told no once, not by a socket reopened forever', { skip }, async () => {
  let opened = 0;
  const count = (ws) => { if (ws.url().endsWith('/ws/supervisor')) opened += 1; };
  agent.on('websocket', count);
  await agent.evaluate(() => { location.hash = '#/supervisor'; });
  await agent.getByTestId('supervisor-denied').waitFor();
  await agent.waitForTimeout(3000);
  agent.off('websocket', count);
  assert.equal(opened, 1, 'the refused socket was opened again');
  await agent.evaluate(() => { location.hash = '#/'; });
  await agent.getByTestId('nav-workspace').waitFor();
});

test('no page logged an error (CSP violations included)', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
