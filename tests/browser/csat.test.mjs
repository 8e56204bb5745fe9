// Customer satisfaction and agent KPIs in Debian's Chromium against the real hub (`serve --demo`):
// an admin turns the rating on for Support in the queue form; a visitor's chat there ends and the
// widget (in Chinese) asks how it was: they pick 5 stars with the keyboard, add a comment and get
// the thanks; Bob sees the score on the customer's timeline and card; Sam (supervisor) reads the
// KPI table with Bob's contact and rating, the satisfaction per queue, and downloads it as CSV.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { startHub, launchBrowser, chromiumSkip, watch, shot, byTestId, signIn, call, login } from './harness.mjs';

const skip = chromiumSkip();

let hub;
let browser;
const pageErrors = [];
const contexts = [];

before(async () => {
  if (skip) return;
  hub = await startHub();
  browser = await launchBrowser();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await hub?.stop();
  assert.deepEqual(pageErrors, []);
});

async function page(who, locale = 'en-US') {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale, acceptDownloads: true });
  ctx.setDefaultTimeout(15_000);
  contexts.push(ctx);
  const p = await ctx.newPage();
  watch(p, who, pageErrors);
  return p;
}

test('an admin turns the rating on for Support', { skip }, async () => {
  const admin = await page('admin');
  await signIn(admin, hub.base, 'admin@plugboard.example');
  await admin.goto(`${hub.base}/#/admin/queues`);
  const row = admin.getByTestId('queue-row').filter({ has: admin.locator('td', { hasText: /^Support$/ }) });
  await row.waitFor();
  await row.getByTestId('queue-edit').click();
  const box = admin.getByTestId('queue-csat');
  assert.equal(await box.isChecked(), false, 'off by default');
  await box.check();
  await shot(admin, 'csat-queue-form');
  await admin.getByTestId('queue-save').click();
  await admin.getByTestId('queue-cancel').waitFor({ state: 'detached' });
  const { body } = await call(hub.base, 'GET', '/queues', await login(hub.base, 'admin@plugboard.example'));
  assert.equal(body.find((q) => q.name === 'Support').csat, true);
});

test('the widget asks at the end, in Chinese, and Bob sees the rating', { skip }, async () => {
  const bob = await page('bob');
  await signIn(bob, hub.base, 'bob@plugboard.example');
  await bob.getByTestId('state-available').click();
  await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();

  const visitor = await page('widget', 'zh-CN');
  await visitor.setViewportSize({ width: 1000, height: 760 });
  await visitor.goto(`${hub.base}/demo`);
  await visitor.getByTestId('widget-launcher').click();
  await visitor.getByTestId('prechat-name').fill('王芳');
  await visitor.getByTestId('prechat-email').fill('wang.fang@qq.example');
  await visitor.getByTestId('prechat-message').fill('我的订单还没到');
  await visitor.getByTestId('prechat-submit').click();
  const offer = bob.getByTestId('offer-card');
  await offer.waitFor();
  const chat = await offer.getAttribute('data-interaction-id');
  await offer.getByTestId('offer-accept').click();
  await bob.getByTestId('composer-input').fill('已经帮您加急处理。');
  await bob.getByTestId('composer-input').press('Enter');
  await byTestId(visitor, 'widget-message', 'data-sender', 'agent').filter({ hasText: '加急' }).waitFor();
  assert.equal(await visitor.getByTestId('widget-csat').count(), 0, 'asked only once the chat has ended');
  await bob.getByTestId('end-chat').click();
  await bob.getByTestId('wrapup-form').waitFor();

  const form = visitor.getByTestId('widget-csat');
  await form.waitFor();
  assert.match(await form.textContent(), /您对本次服务满意吗？/);
  // By keyboard: focus the first star, arrow to the fifth.
  await visitor.getByTestId('widget-csat-1').focus();
  for (let i = 0; i < 4; i += 1) await visitor.keyboard.press('ArrowRight');
  assert.equal(await visitor.getByTestId('widget-csat-5').isChecked(), true);
  await visitor.getByTestId('widget-csat-comment').fill('客服很专业，谢谢！');
  await shot(visitor, 'csat-widget-question');
  await visitor.getByTestId('widget-csat-send').click();
  const thanks = visitor.getByTestId('widget-csat-thanks');
  await thanks.waitFor();
  assert.equal(await thanks.textContent(), '感谢您的评价。');
  await shot(visitor, 'csat-widget-thanks');

  // Bob wraps up and opens the customer: the score on the conversation and on the card.
  await bob.getByTestId('wrapup-disposition').selectOption('resolved');
  await bob.getByTestId('wrapup-submit').click();
  const { body: detail } = await call(hub.base, 'GET', `/interactions/${chat}`, await login(hub.base, 'bob@plugboard.example'));
  assert.equal(detail.csat.score, 5);
  await bob.goto(`${hub.base}/#/customers/${detail.interaction.customer_id}`);
  const badge = byTestId(bob, 'timeline-csat', 'data-score', '5');
  await badge.waitFor();
  assert.equal(await badge.textContent(), 'Rated 5/5');
  assert.equal(await bob.getByTestId('timeline-csat-comment').textContent(), '“客服很专业，谢谢！”');
  const event = byTestId(bob, 'customer-event', 'data-type', 'csat.rated');
  assert.match(await event.textContent(), /Rated the conversation with Bob Martin 5 of 5: “客服很专业，谢谢！”/);
  await shot(bob, 'csat-customer-timeline');
});

test("a supervisor reads the agents' KPIs and satisfaction and downloads them", { skip }, async () => {
  const sam = await page('sam');
  await signIn(sam, hub.base, 'sam@plugboard.example');
  await sam.getByTestId('nav-reports').click();
  await sam.getByTestId('reports-view').waitFor();
  await sam.getByTestId('kpis-show').click();
  const bob = byTestId(sam, 'kpis-row', 'data-name', 'Bob Martin');
  await bob.waitFor();
  assert.ok(Number(await bob.locator('[data-figure="contacts_handled"]').textContent()) >= 1);
  assert.equal(await bob.locator('[data-figure="csat_count"]').textContent(), '1');
  assert.equal(await bob.locator('[data-figure="csat_average"]').textContent(), '5.00');
  assert.equal(await bob.locator('[data-figure="csat_satisfied"]').textContent(), '100%');
  const support = byTestId(sam, 'csat-queue-row', 'data-name', 'Support');
  await support.waitFor();
  assert.match(await sam.getByTestId('csat-total').textContent(), /^Ratings: 1 · average 5\.00 · satisfied 100%$/);
  await sam.getByTestId('agent-kpis').scrollIntoViewIfNeeded();
  await shot(sam, 'csat-kpis');
  const [download] = await Promise.all([sam.waitForEvent('download'), sam.getByTestId('kpis-csv').click()]);
  assert.match(download.suggestedFilename(), /^plugboard-agent-kpis-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv$/);
  const csv = await readFile(await download.path(), 'utf8');
  assert.ok(csv.startsWith('agent_id,name,contacts_handled,aht_s,'), csv);
  assert.ok(csv.split('\r\n').some((l) => l.includes(',Bob Martin,') && l.endsWith(',1,5.00,1.0000,0,')), csv);
});
