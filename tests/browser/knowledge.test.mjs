// The knowledge base and canned responses in Chromium against the real hub (issue 15, item 6):
// a supervisor writes an article in Chinese (its preview rendered by the hub, a script in it
// inert) and a canned response; Bob finds the article by 退款 and reads it; in a chat, Bob types
// /ref in the reply box, picks the response with Enter, and the box holds it with the customer's
// name filled in; the use is counted. The article is suggested beside her chat.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHub, launchBrowser, chromiumSkip, watch as watchPage, shot, signIn, byTestId, startChat, login, call } from './harness.mjs';

const skip = chromiumSkip();
let hub;
let browser;
let sam;
let bob;
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

const BODY = '## 退款流程\n\n客户可以在 **三十天** 内申请退款。\n\n- 核对订单\n- 原路退回\n\n<script>window.ran = true</script>'
  + '<img src="x" onerror="window.ran = true">\n\n[说明](https://example.com/refunds)';

test('a supervisor writes an article in Chinese, with a preview the hub renders', { skip }, async () => {
  sam = await page('sam', 'sam@plugboard.example');
  await sam.getByTestId('nav-knowledge').click();
  await sam.getByTestId('knowledge').waitFor();
  await sam.getByTestId('article-new').click();
  await sam.getByTestId('article-title-input').fill('退款政策');
  await sam.getByTestId('article-category-input').fill('账单');
  await sam.getByTestId('article-tags-input').fill('Refund, 退款');
  await sam.getByTestId('article-body-input').fill(BODY);
  await sam.getByTestId('article-preview-button').click();
  await sam.getByTestId('article-preview').locator('strong', { hasText: '三十天' }).waitFor();
  assert.equal(await sam.getByTestId('article-preview').locator('script, [onerror]').count(), 0);
  await shot(sam, 'knowledge-editor');
  await sam.getByTestId('article-save').click();
  await sam.getByTestId('article-title').filter({ hasText: '退款政策' }).waitFor();
  await sam.getByTestId('article-result').filter({ hasText: '退款政策' }).waitFor();
  assert.equal(await sam.evaluate(() => window.ran), undefined, 'nothing in the article ran');
});

test('a supervisor writes a canned response for everyone', { skip }, async () => {
  await sam.getByTestId('nav-canned').click();
  await sam.getByTestId('canned-new').click();
  await sam.getByTestId('canned-shortcut').fill('refund');
  await sam.getByTestId('canned-title').fill('Refund on its way');
  await sam.getByTestId('canned-body').fill('Hello {{customer.name}}, your refund is on its way. {{agent.first_name}}');
  await sam.getByTestId('canned-save').click();
  await sam.getByTestId('canned-row').filter({ hasText: '/refund' }).waitFor();
  await shot(sam, 'knowledge-canned-admin');
});

test('Bob finds the article by 退款 and reads it, links opening in a new tab', { skip }, async () => {
  bob = await page('bob', 'bob@plugboard.example');
  await bob.getByTestId('nav-knowledge').click();
  await bob.getByTestId('knowledge-search').fill('退款');
  const result = bob.getByTestId('article-result').filter({ hasText: '退款政策' });
  await result.waitFor();
  assert.equal(await bob.getByTestId('article-result').count(), 1);
  await bob.getByTestId('knowledge-search').fill('没有这个');
  await bob.getByTestId('knowledge-empty').waitFor();
  await bob.getByTestId('knowledge-search').fill('退款');
  await result.click();
  const body = bob.getByTestId('article-body');
  await body.locator('strong', { hasText: '三十天' }).waitFor();
  assert.equal(await body.locator('script, [onerror]').count(), 0);
  const link = body.locator('a', { hasText: '说明' });
  assert.equal(await link.getAttribute('target'), '_blank');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  assert.equal(await bob.getByTestId('article-new').count(), 0, 'an agent does not write articles');
  assert.equal(await bob.evaluate(() => window.ran), undefined);
  await shot(bob, 'knowledge-agent-reads');
});

test('in a chat, /ref and Enter put the canned response in with the customer\'s name', { skip }, async () => {
  await bob.getByTestId('nav-workspace').click();
  await bob.getByTestId('state-available').click();
  await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();
  await startChat(browser, hub.base, contexts, watchPage, 'Mia Fischer', 'mia.kb@example.net', '你好，我想申请退款');
  const offer = bob.getByTestId('offer-card');
  await offer.waitFor();
  await offer.getByTestId('offer-accept').click();
  // Beside the chat: the article that may help with her message.
  await bob.getByTestId('suggested-article').filter({ hasText: '退款政策' }).waitFor();
  const box = bob.getByTestId('composer-input');
  await box.waitFor();
  await box.focus();
  await bob.keyboard.type('/ref');
  const list = bob.getByTestId('canned-list');
  await list.waitFor();
  assert.equal(await bob.getByTestId('canned-option').first().getAttribute('aria-selected'), 'true');
  await shot(bob, 'knowledge-composer-list');
  await bob.keyboard.press('Enter');
  await list.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), 'Hello Mia Fischer, your refund is on its way. Bob');
  await shot(bob, 'knowledge-composer-filled');
  // Escape closes the list without putting anything in.
  await bob.keyboard.type(' /');
  await list.waitFor();
  await bob.keyboard.press('Escape');
  await list.waitFor({ state: 'detached' });
  assert.equal(await box.inputValue(), 'Hello Mia Fischer, your refund is on its way. Bob /');
  const token = await login(hub.base, 'sam@plugboard.example');
  const { body } = await call(hub.base, 'GET', '/canned-responses', token);
  assert.equal(body.find((c) => c.shortcut === 'refund').uses, 1);
});

test('the pages in Chinese show no catalogue key', { skip }, async () => {
  await sam.getByTestId('locale-select').selectOption('zh-CN');
  await sam.getByTestId('nav-knowledge').click();
  await sam.getByTestId('knowledge').waitFor();
  await sam.getByTestId('article-new').filter({ hasText: '新建文章' }).waitFor();
  const text = await sam.getByTestId('knowledge').textContent();
  assert.doesNotMatch(text, /knowledge\.[a-z_]+/);
  assert.deepEqual(pageErrors, []);
});
