// Reports in the console, in Debian's Chromium against the real hub (`serve --demo`): a supervisor
// opens Reports, reads the demo's week per queue as a table and a chart, downloads it as CSV and
// asks the what-if calculator; an agent is not offered the page; the wallboard follows a chat
// live (waiting while nobody is available, then offered and answered) and reads in Chinese; an
// admin makes a team, and its lead's wallboard shows only the team's queue and people.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, byTestId, signIn } from './harness.mjs';

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

test('staffing reads the week as it happened, then tomorrow as forecast from the weeks before', { skip }, async () => {
  const section = page.getByTestId('staffing');
  const sales = await section.locator('[data-testid="staffing-queue"] option', { hasText: 'Sales' }).getAttribute('value');
  await page.getByTestId('staffing-queue').selectOption(sales);
  await page.getByTestId('staffing-load').click();
  // The demo's three Sales chats, an hour each with one contact, and the agents it needed.
  await page.getByTestId('staffing-row').first().waitFor();
  assert.equal(await page.getByTestId('staffing-row').count(), 3);
  assert.match(await section.locator('thead').textContent(), /Offered/);
  for (const row of await page.getByTestId('staffing-row').all()) {
    assert.equal(await row.locator('td').nth(1).textContent(), '1');
    assert.match(await row.locator('td').nth(3).textContent(), /^[1-9]\d*$/);
  }
  // Tomorrow, forecast: the demo has no history on tomorrow's weekday in the weeks before, so
  // nothing is forecast; the table says what it is.
  await page.getByTestId('staffing-basis').selectOption('tomorrow');
  await page.getByTestId('staffing-weeks').fill('4');
  await page.getByTestId('staffing-load').click();
  await section.getByText('over the 4 weeks before').waitFor();
  assert.match(await section.locator('thead').textContent(), /Forecast contacts/);
  assert.equal(await page.getByTestId('staffing-row').count(), 0);
  await shot(page, 'reports-staffing-forecast');
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

// The issue asks for a wallboard updated within a second of the event that changed it: each live
// change below must show within this (a push, not the page's own second tick, carries it).
const LIVE = 2_000;

test('the wallboard follows a chat live: waiting with nobody available, offered and answered', { skip }, async () => {
  await page.getByTestId('nav-supervisor').click();
  const support = page.locator('[data-testid="queue-tile"][data-queue="Support"]');
  await support.waitFor();
  assert.equal(await support.getByTestId('queue-answered').textContent(), '0');
  assert.equal(await support.getByTestId('queue-waiting').textContent(), '0');
  assert.equal(await support.getByTestId('queue-longest').textContent(), '—');

  // Dana is Available when the customer opens the widget, so it offers the chat (with nobody
  // Available it offers the offline form instead); she steps away on a break before they write.
  const dana = await (await browser.newContext()).newPage();
  watchPage(dana, 'dana', pageErrors);
  await signIn(dana, hub.base, 'dana@plugboard.example');
  await dana.getByTestId('state-available').click();
  const danaRow = byTestId(page, 'supervisor-agent-row', 'data-agent', 'Dana Silva');
  await danaRow.locator('.state-available').waitFor();

  const contexts = [];
  const visitorCtx = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'en-US' });
  contexts.push(visitorCtx);
  const widget = await visitorCtx.newPage();
  watchPage(widget, 'widget Ada Byron', pageErrors);
  await widget.goto(`${hub.base}/demo`);
  await widget.getByTestId('widget-launcher').click();
  await widget.getByTestId('prechat-form').waitFor();

  await dana.getByTestId('state-break').click();
  await dana.getByTestId('break-confirm').click();
  await dana.locator('[data-testid="state-current"][data-state="break"]').waitFor();
  await danaRow.locator('.state-break').waitFor();
  // Nobody in Support is Available now: Dana is staffed, on her break.
  await support.getByText('0 available of 1', { exact: true }).waitFor();
  await support.getByTestId('queue-on-break').filter({ hasText: /^1$/ }).waitFor({ timeout: LIVE });
  assert.equal(await support.getByTestId('queue-busy').textContent(), '0');

  await widget.getByTestId('prechat-name').fill('Ada Byron');
  await widget.getByTestId('prechat-email').fill('ada@example.com');
  await widget.getByTestId('prechat-message').fill('Hello there');
  await widget.getByTestId('prechat-submit').click();
  const waiting = support.getByTestId('queue-waiting');
  const longest = support.getByTestId('queue-longest');
  await waiting.filter({ hasText: /^1$/ }).waitFor({ timeout: LIVE });
  await byTestId(widget, 'widget-message', 'data-sender', 'customer').filter({ hasText: 'Hello there' }).waitFor();
  const waited = await longest.textContent();
  assert.match(waited, /^\d+:\d\d$/, `the longest wait is shown, was ${waited}`);
  // More waiting than Available agents: amber, well before the 20 s threshold would make it red.
  assert.equal(await support.getAttribute('data-alert'), 'amber');
  // Between pushes the page counts the wait on; the customer still waits, offered to nobody.
  await longest.filter({ hasNotText: waited }).waitFor();
  assert.equal(await waiting.textContent(), '1');
  assert.equal(await support.getByTestId('queue-answered').textContent(), '0');
  assert.equal(await dana.getByTestId('offer-accept').count(), 0, 'no offer while Dana is on her break');
  await shot(page, 'wallboard-waiting');

  // Dana comes back, is offered the chat and takes it.
  await dana.getByTestId('state-available').click();
  await dana.getByTestId('offer-accept').click();
  await support.getByTestId('queue-answered').filter({ hasText: /^1$/ }).waitFor({ timeout: LIVE });
  await waiting.filter({ hasText: /^0$/ }).waitFor({ timeout: LIVE });
  await longest.filter({ hasText: /^—$/ }).waitFor({ timeout: LIVE });
  assert.equal(await support.getByTestId('queue-offered').textContent(), '1');
  assert.equal(await support.getByTestId('queue-sl').textContent(), '100.0 %');
  // The tile's chart: the day in 15-minute bars, one of them with the chat.
  assert.equal(await support.locator('[data-testid="report-chart"] rect').count(), 96);
  assert.equal(await support.locator('[data-testid="report-chart"] rect[height]:not([height="0"])').count(), 1);
  await danaRow.getByTestId('agent-holds').filter({ hasText: '1' }).waitFor();
  await support.getByTestId('queue-busy').filter({ hasText: /^1$/ }).waitFor({ timeout: LIVE });
  assert.equal(await support.getByTestId('queue-on-break').textContent(), '0');
  await shot(page, 'wallboard-live');
  await page.getByTestId('wallboard-big').click();
  await page.locator('.wallboard-big').waitFor();
  await shot(page, 'wallboard-big');
  await page.getByTestId('wallboard-big').click();
  await page.locator('[data-testid="supervisor-view"]:not(.wallboard-big)').waitFor();
  for (const c of contexts) await c.close();
  await dana.close();
});

test('the wallboard in Chinese, normal and wall-screen view: no catalogue key shows', { skip }, async () => {
  const view = page.getByTestId('supervisor-view');
  await page.locator('[data-testid="queue-tile"][data-queue="Support"]').waitFor();
  await page.getByTestId('locale-select').selectOption('zh-CN');
  await page.getByTestId('wallboard-big').filter({ hasText: '大屏模式' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');
  const raw = /\b(supervisor|reports|wallboard)\.[a-z_.]+/;
  const english = /Live queues|\bwaiting\b|Longest wait|available of|Service level|\bToday\b|Offered|Answered|Abandoned|Handled today|Holding|Wall screen|Normal view|Change state/;
  // The visible text, and what is read out instead of shown (labels, titles).
  async function noKeys(mode) {
    const text = await page.locator('body').innerText();
    assert.doesNotMatch(text, raw, `${mode}: a catalogue key shown raw`);
    const spoken = await view.evaluate((el) => [...el.querySelectorAll('[aria-label], [title]')]
      .map((e) => `${e.getAttribute('aria-label') ?? ''} ${e.getAttribute('title') ?? ''}`).join('\n'));
    assert.doesNotMatch(spoken, raw, `${mode}: a catalogue key in a label`);
    const shown = await view.innerText();
    // A key missing from zh-CN falls back to English: none of the wallboard's English words show.
    assert.doesNotMatch(shown, english, `${mode}: an English label in the Chinese wallboard`);
    return shown;
  }
  const normal = await noKeys('normal view');
  for (const label of ['实时队列', '等待中', '最长等待', '服务水平目标', '今日', '进线', '接通', '服务水平', '平均处理时长', '坐席状态', '今日处理', '渠道', '在线聊天', '忙碌']) {
    assert.ok(normal.includes(label), `normal view: ${label} missing in:\n${normal}`);
  }
  assert.match(normal, /\d+ 人在岗，\d+ 人空闲/);
  assert.match(normal, /\d+ 秒/);
  await shot(page, 'wallboard-zh-CN');

  await page.getByTestId('wallboard-big').click();
  await page.locator('.wallboard-big').waitFor();
  await page.getByTestId('wallboard-big').filter({ hasText: '普通视图' }).waitFor();
  // Full screen for real: the wallboard alone fills the screen.
  await page.waitForFunction(() => document.fullscreenElement?.getAttribute('data-testid') === 'supervisor-view');
  const big = await noKeys('wall-screen view');
  for (const label of ['实时队列', '等待中', '最长等待', '进线', '接通', '服务水平', '坐席状态']) {
    assert.ok(big.includes(label), `wall-screen view: ${label} missing in:\n${big}`);
  }
  await shot(page, 'wallboard-big-zh-CN');
  await page.getByTestId('wallboard-big').click();
  await page.locator('[data-testid="supervisor-view"]:not(.wallboard-big)').waitFor();
  await page.waitForFunction(() => document.fullscreenElement === null);
  await page.getByTestId('locale-select').selectOption('en');
  await page.getByTestId('wallboard-big').filter({ hasText: 'Wall screen' }).waitFor();
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
