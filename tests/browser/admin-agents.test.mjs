// Admin → Agents sets how many email threads an agent takes at once, beside their chats: the real
// hub (`plugboard serve --demo`) and the console in Debian's Chromium.
//
// Run: cd tests/browser && npm ci && node --test admin-agents.test.mjs
//
// Scenario: the admin edits Dana's email capacity (her other capacities stay as they were; the
// table shows the new one), then adds an agent with an email capacity of their own; the API
// answers what the form set.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, call, login, signIn } from './harness.mjs';

const skip = chromiumSkip();

let hub;
let base;
let browser;
let admin;
const pageErrors = [];

/** The agent with this email address, as GET /agents answers it. */
async function agentNamed(email) {
  const { status, body } = await call(base, 'GET', '/agents', admin);
  assert.equal(status, 200);
  return body.find((a) => a.email === email);
}

before(async () => {
  if (skip) return;
  hub = await startHub();
  base = hub.base;
  browser = await launchBrowser();
  admin = await login(base, 'admin@plugboard.example');
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (hub) await hub.stop();
});

test('the admin sets an agent\'s email capacity, editing one and adding one', { skip }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-US' });
  ctx.setDefaultTimeout(15_000);
  try {
    const page = await ctx.newPage();
    watchPage(page, 'admin', pageErrors);
    await signIn(page, base, 'admin@plugboard.example');
    await page.getByTestId('nav-admin-agents').click();

    const before = await agentNamed('dana@plugboard.example');
    const row = page.getByTestId('agent-row').filter({ hasText: 'Dana Silva' });
    assert.equal((await row.getByTestId('agent-email-capacity-cell').textContent()).trim(), String(before.capacity.email));
    await row.getByTestId('agent-edit').click();
    const field = page.getByTestId('agent-email-capacity');
    assert.equal(await field.inputValue(), String(before.capacity.email));
    const wanted = before.capacity.email === 2 ? 4 : 2;
    await field.fill(String(wanted));
    await page.getByTestId('agent-save').click();
    await row.getByTestId('agent-email-capacity-cell').filter({ hasText: String(wanted) }).waitFor();
    const after = await agentNamed('dana@plugboard.example');
    assert.deepEqual(after.capacity, { ...before.capacity, email: wanted }, 'only the email capacity changed');
    await shot(page, 'admin-agent-email-capacity');

    // A new agent: the form starts at 5; set 1.
    assert.equal(await field.inputValue(), '5');
    await page.getByTestId('agent-email').fill('erin@plugboard.example');
    await page.getByTestId('agent-name-input').fill('Erin Walsh');
    await page.getByTestId('agent-password').fill('erin-password-1');
    await field.fill('1');
    await page.getByTestId('agent-save').click();
    await page.getByTestId('agent-row').filter({ hasText: 'Erin Walsh' }).waitFor();
    const erin = await agentNamed('erin@plugboard.example');
    assert.equal(erin.capacity.email, 1);
    assert.equal(erin.capacity.chat, 3);
  } finally {
    await ctx.close();
  }
});

test('no page logged an error (CSP violations included)', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
