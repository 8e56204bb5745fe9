// Reports in the console, in Debian's Chromium against the real hub (`serve --demo`): a supervisor
// opens Reports, reads the demo's week per queue as a table and a chart, downloads it as CSV and
// asks the what-if calculator; an agent is not offered the page; the wallboard follows a chat
// live; an admin makes a team, and its lead's wallboard shows only the team's queue and people.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, byTestId, signIn, startChat } from './harness.mjs';

const skip = chromiumSkip();

let hub;
let browser;
let page;
const pageErrors = [];

before(async () => {
  if (skip) return;
  hub = await startHub();
  browser = await launchBrowser();
  page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  watchPage(page, 'sam', pageErrors);
});

after(async () => {
  await browser?.close();
  await hub?.stop();
});

test('a supervisor reads the week per queue as a table and a chart', { skip }, async () => {
  await signIn(page, hub.base, 'sam@plugboard.example');
  await page.getByTestId('nav-reports').click();
  await page.getByTestId('reports-view').waitFor();
  await page.getByTestId('report-show').click();
  // The demo's three closed chats to Sales, one a day over the last three days.
  const sales = byTestId(page, 'report-row', 'data-name', 'Sales');
  await sales.waitFor();
  assert.equal(await sales.locator('[data-figure="offered"]').textContent(), '3');
  assert.equal(await sales.locator('[data-figure="answered"]').textContent(), '3');
  assert.equal(await sales.locator('[data-figure="service_level"]').textContent(), '100.0 %');
  assert.match(await page.getByTestId('report-zone').textContent(), /UTC/);
  await page.getByTestId('report-chart').waitFor();
  assert.equal(await page.locator('[data-testid="report-chart"] rect').count(), 7, 'a bar a day');
  assert.equal(await page.locator('[data-testid="report-intervals"] tbody tr').count(), 7);
  await shot(page, 'reports-week');
});

test('the report downloads as CSV', { skip }, async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-csv').click()]);
  assert.match(download.suggestedFilename(), /^plugboard-queue-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  const lines = csv.trim().split('\n');
  assert.ok(lines[0].startsWith('key,name,interval,offered,answered,'), lines[0]);
  assert.ok(lines.some((l) => l.includes(',Sales,total,3,3,3,0,0,1.0000,')), csv);
});

test('the what-if calculator staffs the published example with 14 agents', { skip }, async () => {
  await page.getByTestId('what-if-compute').click();
  const answer = page.getByTestId('what-if-answer');
  await answer.waitFor();
  assert.match(await answer.textContent(), /14/);
  assert.equal(await page.getByTestId('what-if-row').count(), 5);
  await shot(page, 'reports-what-if');
});

test('an agent is not offered the reports page', { skip }, async () => {
  const bob = await (await browser.newContext()).newPage();
  watchPage(bob, 'bob', pageErrors);
  await signIn(bob, hub.base, 'bob@plugboard.example');
  assert.equal(await bob.getByTestId('nav-reports').count(), 0);
  await bob.close();
});

test('the wallboard follows a chat live: queued, offered and answered', { skip }, async () => {
  await page.getByTestId('nav-supervisor').click();
  const support = page.locator('[data-testid="queue-tile"][data-queue="Support"]');
  await support.waitFor();
  assert.equal(await support.getByTestId('queue-answered').textContent(), '0');

  const dana = await (await browser.newContext()).newPage();
  watchPage(dana, 'dana', pageErrors);
  await signIn(dana, hub.base, 'dana@plugboard.example');
  await dana.getByTestId('state-available').click();
  const danaRow = byTestId(page, 'supervisor-agent-row', 'data-agent', 'Dana Silva');
  await danaRow.locator('.state-available').waitFor();

  const contexts = [];
  await startChat(browser, hub.base, contexts, (p, who) => watchPage(p, who, pageErrors), 'Ada Byron', 'ada@example.com', 'Hello there');
  await dana.getByTestId('offer-accept').click();
  await support.getByTestId('queue-answered').filter({ hasText: '1' }).waitFor();
  assert.equal(await support.getByTestId('queue-offered').textContent(), '1');
  assert.equal(await support.getByTestId('queue-sl').textContent(), '100.0 %');
  // The tile's chart: the day in 15-minute bars, one of them with the chat.
  assert.equal(await support.locator('[data-testid="report-chart"] rect').count(), 96);
  assert.equal(await support.locator('[data-testid="report-chart"] rect[height]:not([height="0"])').count(), 1);
  await danaRow.getByTestId('agent-holds').filter({ hasText: '1' }).waitFor();
  await shot(page, 'wallboard-live');
  await page.getByTestId('wallboard-big').click();
  await page.locator('.wallboard-big').waitFor();
  await shot(page, 'wallboard-big');
  await page.getByTestId('wallboard-big').click();
  for (const c of contexts) await c.close();
  await dana.close();
});

test('an admin makes a team, and its lead then sees only its queue and people', { skip }, async () => {
  const admin = await (await browser.newContext()).newPage();
  watchPage(admin, 'admin', pageErrors);
  await signIn(admin, hub.base, 'admin@plugboard.example');
  await admin.getByTestId('nav-admin-teams').click();
  await admin.getByTestId('admin-teams').waitFor();
  await admin.getByTestId('team-name').fill('Support desk');
  await admin.getByTestId('team-leads').getByLabel('Sam Lee').check();
  await admin.getByTestId('team-members').getByLabel('Bob Martin').check();
  await admin.getByTestId('team-queues').getByLabel('Support').check();
  await admin.getByTestId('team-save').click();
  const row = admin.getByTestId('team-row');
  await row.waitFor();
  assert.match(await row.textContent(), /Support desk.*Sam Lee.*Bob Martin.*Support/);
  await shot(admin, 'admin-teams');
  await admin.close();

  // Sam's wallboard, pushed every second, now has his team's queue and people alone.
  await page.getByTestId('nav-supervisor').click();
  await page.locator('[data-testid="queue-tile"][data-queue="Support"]').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="queue-tile"]').length === 1);
  const people = await page.getByTestId('supervisor-agent-row').allTextContents();
  assert.equal(people.length, 2, people.join(' | '));
  assert.ok(people.some((p) => p.includes('Bob Martin')) && people.some((p) => p.includes('Sam Lee')), people.join(' | '));
});

test('no page logged an error (CSP violations included)', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
