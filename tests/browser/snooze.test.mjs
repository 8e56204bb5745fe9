// End to end, snooze and reopen (issue 12): the real hub, Bob's console and a customer's widget
// in Debian's Chromium.
//
// Scenario: Bob accepts Ava's chat and snoozes it for an hour from its pane: it leaves his
// workspace, and his inbox's "Snoozed" list shows it with the time it comes back. Ava writes
// again: it rings for Bob at once, and he takes it back. He ends and wraps it up; from the
// "Closed" list he reopens it: it is his again in the workspace, the widget still open on it
// hears him join, and Ava writes to him again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, byTestId, signIn, startChat, widgetSays } from './harness.mjs';

const BOB = 'bob@plugboard.example';
const skip = chromiumSkip();

let hub;
let browser;
let agent;
let ava;
let avaId;
const pageErrors = [];
const watch = (page, who) => watchPage(page, who, pageErrors);
const visitors = [];

const offerFor = (name) => agent.getByTestId('offer-card').filter({ has: agent.getByTestId('offer-customer').filter({ hasText: name }) });
const lineOf = (name) => agent.getByTestId('inbox-line').filter({ hasText: name });
// A line's own buttons (Reopen, Watch) sit beside it, in its list item.
const itemOf = (name) => agent.locator('li').filter({ has: lineOf(name) });

before(async () => {
  if (skip) return;
  hub = await startHub();
  browser = await launchBrowser();
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  ctx.setDefaultTimeout(15_000);
  agent = await ctx.newPage();
  watch(agent, 'console');
});

after(async () => {
  for (const v of visitors) await v.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (hub) await hub.stop();
});

test('Bob snoozes Ava’s chat for an hour: it leaves his workspace for his snoozed list', { skip }, async () => {
  await signIn(agent, hub.base, BOB);
  await agent.getByTestId('state-available').click();
  await byTestId(agent, 'state-current', 'data-state', 'available').waitFor();
  ava = await startChat(browser, hub.base, visitors, watch, 'Ava Lindqvist', 'ava.snooze@example.net', 'My order is late');
  await offerFor('Ava Lindqvist').getByTestId('offer-accept').click();
  const pane = agent.getByTestId('chat-pane');
  avaId = await pane.getAttribute('data-interaction-id');

  // Alt+Z (or Z when not typing) opens the menu from the keyboard.
  await agent.keyboard.press('Alt+KeyZ');
  await agent.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'snooze-choice');
  // A date and time of his own must be in the future before the button takes it.
  await pane.getByTestId('snooze-choice').selectOption('custom');
  await pane.getByTestId('snooze-custom').fill('2020-01-01T09:00');
  assert.ok(await pane.getByTestId('snooze-submit').isDisabled(), 'a past time is not offered');
  await pane.getByTestId('snooze-choice').selectOption('hour');
  await shot(agent, 'snooze-menu');
  const before = Date.now();
  await pane.getByTestId('snooze-submit').click();
  await agent.getByTestId('no-chat').waitFor();

  await agent.getByTestId('nav-inbox').click();
  await agent.getByTestId('inbox-folder-snoozed').click();
  const line = lineOf('Ava Lindqvist');
  await line.getByTestId('inbox-snoozed').waitFor();
  assert.equal(await line.getAttribute('data-interaction-id'), avaId);
  const until = new Date(before + 3_600_000);
  const hhmm = until.toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' });
  assert.match(await line.getByTestId('inbox-snoozed').textContent(), /snoozed until/);
  assert.ok((await line.getByTestId('inbox-snoozed').textContent()).length > 'snoozed until '.length, hhmm);
  await shot(agent, 'snooze-inbox');
  // Not waiting for anyone: not under Unassigned.
  await agent.getByTestId('inbox-folder-unassigned').click();
  await agent.getByTestId('inbox-empty').waitFor();
});

test('Ava writes again: the chat rings for Bob at once', { skip }, async () => {
  await agent.getByTestId('nav-workspace').click();
  await widgetSays(ava, 'Any news on my order?');
  await offerFor('Ava Lindqvist').getByTestId('offer-accept').click();
  await byTestId(agent, 'chat-pane', 'data-interaction-id', avaId).waitFor();
  await agent.getByTestId('chat-pane').getByText('Any news on my order?').waitFor();
});

test('from the closed list Bob reopens the chat: his again, and Ava can write to him', { skip }, async () => {
  const pane = byTestId(agent, 'chat-pane', 'data-interaction-id', avaId);
  await pane.getByTestId('end-chat').click();
  await ava.getByTestId('widget-ended').waitFor();
  await agent.getByTestId('wrapup-disposition').selectOption('resolved');
  await agent.getByTestId('wrapup-submit').click();
  await agent.getByTestId('no-chat').waitFor();

  await agent.getByTestId('nav-inbox').click();
  await agent.getByTestId('inbox-folder-closed').click();
  await itemOf('Ava Lindqvist').getByTestId('inbox-reopen').waitFor();
  await shot(agent, 'reopen-closed-list');
  await itemOf('Ava Lindqvist').getByTestId('inbox-reopen').click();
  await byTestId(agent, 'chat-pane', 'data-interaction-id', avaId).waitFor();
  await byTestId(agent, 'chat-pane', 'data-state', 'active').waitFor();
  // The widget still on the chat goes on.
  await ava.getByTestId('widget-input').waitFor();
  await widgetSays(ava, 'Thanks for coming back to me');
  await agent.getByTestId('chat-pane').getByText('Thanks for coming back to me').waitFor();
  await shot(agent, 'reopen-workspace');
  await shot(ava, 'reopen-widget');
});

test('no page errors', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
