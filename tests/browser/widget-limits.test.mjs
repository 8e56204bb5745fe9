// The widget when the hub holds a visitor back (issue 11): a message past the per-conversation
// limit stays in the conversation marked as not sent, saying why, and the others go through.
//
// Run: cd tests/browser && npm ci && node --test (see console.test.mjs).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, signIn, byTestId, watch } from './harness.mjs';

const skip = chromiumSkip();
let hub;
let browser;
const pageErrors = [];

before(async () => {
  if (skip) return;
  hub = await startHub({ env: { PLUGBOARD_CHAT__MESSAGES_PER_MINUTE: '2' } });
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (hub) await hub.stop();
  assert.deepEqual(pageErrors, []);
});

test('a message past the per-minute limit is marked not sent, with the reason', { skip }, async () => {
  const agent = await (await browser.newContext({ locale: 'en-US' })).newPage();
  await signIn(agent, hub.base, 'bob@plugboard.example');
  await agent.getByTestId('state-available').click();
  await byTestId(agent, 'state-current', 'data-state', 'available').waitFor();

  const visitor = await (await browser.newContext({ locale: 'en-US' })).newPage();
  // The refused frame is answered, not a page error; the browser logs nothing for it.
  watch(visitor, 'widget', pageErrors);
  await visitor.goto(`${hub.base}/demo`);
  await visitor.getByTestId('widget-launcher').click();
  await visitor.getByTestId('prechat-name').fill('Quick Typist');
  await visitor.getByTestId('prechat-email').fill('quick@example.com');
  await visitor.getByTestId('prechat-message').fill('hello');
  await visitor.getByTestId('prechat-submit').click();
  const line = (text) => byTestId(visitor, 'widget-message', 'data-sender', 'customer').filter({ hasText: text });
  await line('hello').waitFor();
  for (const text of ['one', 'two', 'three']) {
    await visitor.getByTestId('widget-input').fill(text);
    await visitor.getByTestId('widget-input').press('Enter');
    if (text !== 'three') await line(text).locator('.pb-meta').waitFor({ state: 'detached' });
  }
  await line('three').locator('.pb-meta').filter({ hasText: 'too many messages at once' }).waitFor();
  assert.equal(await line('one').locator('.pb-meta').count(), 0, 'the first two went through');
});
