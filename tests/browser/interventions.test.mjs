// A supervisor's interventions in Debian's Chromium against the real hub (`serve --demo`): Ada's
// chat rings Dana in Support; Sam, in the inbox, moves it to Sales, which takes it back from Dana
// (who lacks the sales skill, so nothing rings again); then Sam names Dana, whose console rings
// at once and who accepts it. The chat's log says who moved it and why. Then Sam watches the
// chat read-only from the inbox: the customer's next line shows on his screen as it is sent. And
// Sam signs Dana out from the wallboard.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, signIn, startChat, widgetSays, login, call } from './harness.mjs';

const skip = chromiumSkip();

let hub;
let browser;
let sam;
const pageErrors = [];
const contexts = [];

before(async () => {
  if (skip) return;
  hub = await startHub();
  browser = await launchBrowser();
  sam = await (await browser.newContext()).newPage();
  watchPage(sam, 'sam', pageErrors);
});

after(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await hub?.stop();
});

test('a supervisor moves a waiting chat to another queue, then to a named agent', { skip }, async () => {
  const dana = await (await browser.newContext()).newPage();
  watchPage(dana, 'dana', pageErrors);
  await signIn(dana, hub.base, 'dana@plugboard.example');
  await dana.getByTestId('state-available').click();
  await dana.locator('[data-testid="state-current"][data-state="available"]').waitFor();
  const widget = await startChat(browser, hub.base, contexts, (p, who) => watchPage(p, who, pageErrors), 'Ada Byron', 'ada@example.com', 'Can I get a quote?');
  await dana.getByTestId('offer-card').waitFor();

  await signIn(sam, hub.base, 'sam@plugboard.example');
  await sam.getByTestId('nav-inbox').click();
  await sam.getByTestId('inbox-folder-unassigned').click();
  const line = sam.locator('li').filter({ has: sam.getByTestId('inbox-line').filter({ hasText: 'Ada Byron' }) });
  await line.waitFor();

  await line.getByTestId('inbox-move').click();
  await line.getByTestId('move-queue').selectOption({ label: 'Sales' });
  await line.getByTestId('move-reason').fill('a pricing question');
  await line.getByTestId('move-submit').click();
  await line.getByTestId('inbox-move').waitFor();
  // Taken back from Dana; Sales needs a skill she lacks, so nothing rings for her again.
  await dana.getByTestId('offer-card').waitFor({ state: 'detached' });
  await dana.waitForTimeout(800);
  assert.equal(await dana.getByTestId('offer-card').count(), 0);

  await line.getByTestId('inbox-move').click();
  await line.getByTestId('move-agent').selectOption({ label: 'Dana Silva' });
  await shot(sam, 'inbox-move');
  await line.getByTestId('move-submit').click();
  await dana.getByTestId('offer-accept').click();
  await dana.getByTestId('offer-card').waitFor({ state: 'detached' });

  const token = await login(hub.base, 'sam@plugboard.example');
  const found = await call(hub.base, 'GET', '/customers?q=Ada', token);
  const timeline = await call(hub.base, 'GET', `/customers/${found.body[0].id}/timeline`, token);
  const events = JSON.stringify(timeline.body);
  assert.match(events, /interaction\.moved/);
  assert.match(events, /a pricing question/);

  // Sam watches the chat Dana now holds, read-only; the customer's next line shows as it is sent.
  await sam.getByTestId('inbox-folder-all').click();
  const active = sam.locator('li').filter({ has: sam.getByTestId('inbox-line').filter({ hasText: 'Ada Byron' }) });
  await active.getByTestId('inbox-watch').click();
  const view = sam.getByTestId('watch-view');
  await view.getByTestId('message').filter({ hasText: 'Can I get a quote?' }).waitFor();
  await widgetSays(widget, 'Is there a discount?');
  await view.locator('[data-testid="message"][data-sender="customer"]').filter({ hasText: 'Is there a discount?' }).waitFor();
  assert.equal(await view.locator('textarea, input').count(), 0, 'nothing to type into');
  await shot(sam, 'watch-chat');
  await dana.close();
});

test('a supervisor signs out an agent from the wallboard', { skip }, async () => {
  const dana = await (await browser.newContext()).newPage();
  watchPage(dana, 'dana', pageErrors);
  await signIn(dana, hub.base, 'dana@plugboard.example');
  await dana.getByTestId('state-available').click();
  await dana.locator('[data-testid="state-current"][data-state="available"]').waitFor();

  await sam.getByTestId('nav-supervisor').click();
  const row = sam.locator('[data-testid="supervisor-agent-row"][data-agent="Dana Silva"]');
  await row.locator('.state-available').waitFor();
  await row.getByTestId('agent-state-open').click();
  await row.getByTestId('agent-state-to').selectOption('offline');
  await row.getByTestId('agent-state-reason').fill('left for the day');
  await shot(sam, 'wallboard-agent-state');
  await row.getByTestId('agent-state-submit').click();
  await dana.locator('[data-testid="state-current"][data-state="offline"]').waitFor();
  await row.locator('.state-offline').waitFor();
  await dana.close();
});

test('no page logged an error (CSP violations included)', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
