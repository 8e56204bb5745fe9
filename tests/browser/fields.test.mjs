// The account's own customer fields, in Chromium against the real hub (issue 15, item 3): the
// admin defines a choice, a date, a number and a multi-choice; Bob fills them in on Maria
// Garcia's profile (a wrong number refused in words), sees them on her card, and finds her by a
// value; the admin exports the search as CSV (a phone number kept as text); the page in Chinese
// shows no catalogue key.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, signIn } from './harness.mjs';

const skip = chromiumSkip();
let hub;
let browser;
let admin;
let bob;
const contexts = [];
const pageErrors = [];

async function page(who, email) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
  ctx.setDefaultTimeout(15_000);
  contexts.push(ctx);
  const p = await ctx.newPage();
  // A value the hub refuses is a 400 the browser logs: expected once, below.
  watchPage(p, who, pageErrors, (m) => /status of 400/.test(m.text()));
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

test('the admin defines four fields', { skip }, async () => {
  admin = await page('admin', 'admin@plugboard.example');
  await admin.getByTestId('nav-admin-fields').click();
  await admin.getByTestId('admin-fields').waitFor();
  const add = async (labelText, key, kind, choices) => {
    await admin.getByTestId('field-add').click();
    const row = admin.getByTestId('field-row').last();
    await row.getByTestId('field-label').fill(labelText);
    await row.getByTestId('field-key').fill(key);
    await row.getByTestId('field-kind').selectOption(kind);
    if (choices) await row.getByTestId('field-choices').fill(choices);
  };
  await add('Plan', 'plan', 'choice', 'Free\nPro\n企业版');
  await add('Renewal', 'renewal', 'date');
  await add('Seats', 'seats', 'number');
  await add('Products', 'products', 'multi_choice', 'Phones, Chat, Mail');
  await admin.getByTestId('fields-save').click();
  await admin.getByTestId('fields-saved').waitFor();
  assert.equal(await admin.getByTestId('field-row').count(), 4);
  await shot(admin, 'fields-admin');
});

test("Bob fills them in on Maria's profile, sees them on her card and finds her by one", { skip }, async () => {
  bob = await page('bob', 'bob@plugboard.example');
  await bob.getByTestId('nav-customers').click();
  await bob.getByTestId('customer-search-input').fill('Maria');
  await bob.getByTestId('customer-search-submit').click();
  await bob.getByTestId('customer-result').filter({ hasText: 'Maria Garcia' }).click();
  await bob.getByTestId('customer-profile').waitFor();
  await bob.getByTestId('profile-field-plan').selectOption('企业版');
  await bob.getByTestId('profile-field-renewal').fill('2027-01-31');
  await bob.getByTestId('profile-field-products').getByLabel('Mail').check();
  await bob.getByTestId('profile-field-products').getByLabel('Phones').check();
  // A number the browser lets through but the hub refuses: said in words, naming the field.
  await bob.getByTestId('profile-field-seats').evaluate((input) => { input.type = 'text'; });
  await bob.getByTestId('profile-field-seats').fill('many');
  await bob.getByTestId('profile-save').click();
  await bob.getByTestId('profile-error').filter({ hasText: 'Seats' }).waitFor();
  await bob.getByTestId('profile-field-seats').fill('40');
  await bob.getByTestId('profile-save').click();
  await bob.getByTestId('profile-saved').waitFor();
  const shown = () => bob.getByTestId('customer-fields').first().getByTestId('customer-field').evaluateAll((rows) =>
    rows.map((r) => [r.dataset.key, r.querySelector('dd').textContent]));
  await bob.getByTestId('customer-field').first().waitFor();
  assert.deepEqual(await shown(), [['plan', '企业版'], ['renewal', '2027-01-31'], ['seats', '40'], ['products', 'Phones, Mail']]);
  await shot(bob, 'fields-profile');

  await bob.getByTestId('nav-customers').click();
  await bob.getByTestId('customer-search-input').fill('企业版');
  await bob.getByTestId('customer-search-submit').click();
  await bob.getByTestId('customer-result').filter({ hasText: 'Maria Garcia' }).waitFor();
  assert.equal(await bob.getByTestId('customer-result').count(), 1);
});

test('the admin exports what a search finds as CSV, the fields as columns; Bob has no export', { skip }, async () => {
  assert.equal(await bob.getByTestId('customer-export').count(), 0, 'an agent does not export');
  await admin.getByTestId('nav-customers').click();
  await admin.getByTestId('customer-search-input').fill('企业版');
  await admin.getByTestId('customer-search-submit').click();
  await admin.getByTestId('customer-result').filter({ hasText: 'Maria Garcia' }).waitFor();
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByTestId('customer-export').click()]);
  assert.equal(download.suggestedFilename(), 'customers.csv');
  const lines = readFileSync(await download.path(), 'utf8').split('\r\n').filter(Boolean);
  assert.equal(lines[0], 'id,name,email,phone,tier,owner,tags,created,Plan,Renewal,Seats,Products');
  assert.equal(lines.length, 2);
  assert.match(lines[1], /,Maria Garcia,maria\.garcia@example\.com,'\+\d+,/);
  assert.match(lines[1], /,企业版,2027-01-31,40,Phones; Mail$/);
});

test('the fields page in Chinese shows no catalogue key', { skip }, async () => {
  await admin.getByTestId('nav-admin-fields').click();
  await admin.getByTestId('locale-select').selectOption('zh-CN');
  await admin.getByRole('heading', { name: '客户字段' }).waitFor();
  const text = await admin.locator('main').innerText();
  assert.doesNotMatch(text, /fields\.|nav\./);
  await admin.getByTestId('locale-select').selectOption('en');
});

test('no page logged an error', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
