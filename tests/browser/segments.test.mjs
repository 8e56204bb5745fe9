// Segments and tier priority in Chromium against the real hub (issue 15, items 2 and 3): the
// admin gives VIPs a priority on the Support queue and sees it kept; Sam (a supervisor) saves
// the search "gold and silver in the US" as a segment, sees Maria Garcia in it, gives the whole
// segment to Chen at once, and her profile says Chen owns her now; then imports a spreadsheet
// after its preview.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, signIn } from './harness.mjs';

const skip = chromiumSkip();
let hub;
let browser;
const contexts = [];
const pageErrors = [];

async function page(who, email) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
  ctx.setDefaultTimeout(15_000);
  contexts.push(ctx);
  const p = await ctx.newPage();
  watchPage(p, who, pageErrors);
  await signIn(p, hub.base, email);
  return p;
}

before(async () => {
  if (skip) return;
  hub = await startHub();
  browser = await launchBrowser();
});

after(async () => {
  for (const ctx of contexts) await ctx.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (hub) await hub.stop();
});

test('the admin gives VIPs a priority on a queue', { skip }, async () => {
  const admin = await page('admin', 'admin@plugboard.example');
  await admin.getByTestId('nav-admin-queues').click();
  await admin.getByTestId('queue-edit').first().waitFor();
  const rows = await admin.locator('tbody tr').allTextContents();
  const index = rows.findIndex((r) => r.startsWith('Support'));
  assert.ok(index >= 0, rows.join(' | '));
  await admin.getByTestId('queue-edit').nth(index).click();
  await admin.getByTestId('queue-tier-priority').fill('VIP：10, gold:5');
  await admin.getByTestId('queue-form').locator('button[type="submit"]').click();
  await admin.reload();
  await admin.getByTestId('queue-edit').nth(index).click();
  assert.equal(await admin.getByTestId('queue-tier-priority').inputValue(), 'gold:5, vip:10');
});

test('a supervisor saves a segment and gives it to another owner', { skip }, async () => {
  const sam = await page('sam', 'sam@plugboard.example');
  await sam.goto(`${hub.base}/#/customers`);
  await sam.getByTestId('segment-form').waitFor();
  await sam.getByTestId('segment-name').fill('Gold and silver in the US');
  await sam.getByTestId('segment-tiers').fill('gold，silver');
  await sam.getByTestId('segment-regions').fill('us');
  await sam.getByTestId('segment-save').click();
  const open = sam.getByTestId('segment-open');
  await open.waitFor();
  assert.deepEqual(await open.getByTestId('segment-member').locator('.result-name').allTextContents(), ['Maria Garcia']);
  assert.equal(await sam.getByTestId('segment-count').first().textContent(), 'Customers: 1');
  await shot(sam, 'segments');

  await open.getByTestId('owner-select').selectOption({ label: 'Chen Jing 陈静' });
  await open.getByTestId('owner-reason').fill('US accounts');
  await open.getByTestId('owner-save').click();
  await open.getByTestId('owner-saved').waitFor();
  await open.getByTestId('segment-member').first().click();
  await sam.getByText('Chen Jing 陈静').first().waitFor();
  assert.deepEqual(pageErrors, []);
});

test('a supervisor previews a spreadsheet, then imports it', { skip }, async () => {
  const sam = await page('sam-import', 'sam@plugboard.example');
  await sam.goto(`${hub.base}/#/customers`);
  const csv = '姓名,邮箱,电话,备注\r\n王芳,wang.fang@example.cn,+8613912345678,老客户\r\n,nobody@example.com,,\r\n';
  await sam.getByTestId('import-file').setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  const summary = sam.getByTestId('import-summary');
  await summary.waitFor();
  assert.equal(await summary.textContent(), 'Rows read: 2. New customers: 1; already known: 0; refused: 1.');
  assert.deepEqual(await sam.getByTestId('import-column').evaluateAll((s) => s.map((x) => x.value)), ['name', 'email', 'phone', '']);
  assert.equal(await sam.getByTestId('import-rejected').textContent(), 'Line 3: no name');
  await shot(sam, 'customer-import');
  await sam.getByTestId('import-run').click();
  await sam.getByText('Imported. Rows read: 2. New customers: 1; already known: 0; refused: 1.').waitFor();
  await sam.getByTestId('customer-search-input').fill('王芳');
  await sam.getByTestId('customer-search-submit').click();
  await sam.getByTestId('customer-result').filter({ hasText: '王芳' }).waitFor();
  assert.deepEqual(pageErrors, []);
});
