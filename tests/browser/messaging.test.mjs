// A WhatsApp conversation end to end in the console: the real hub, a local fake of WhatsApp's
// Graph API (it answers a send as Meta documents, and keeps what it got), the documented webhook
// payloads signed with the app secret, and Debian's Chromium.
//
// Run: cd tests/browser && npm ci && node --test messaging.test.mjs   (Screenshot: artifacts/messaging-*.png)
//
// Scenario: the admin adds a WhatsApp inbox. A customer's message arrives; Bob is offered it as a
// messaging conversation with the customer's WhatsApp name and the text, accepts, and answers in
// the composer. The reply reaches the fake's /messages endpoint for the customer's number, shows
// "Sent", then "Read" when WhatsApp reports it read; the customer's next message joins the same
// conversation. The conversation's 24 hours being over (the documented payload is old), the
// console says so, and Bob sends an approved template from its form.
//
// Then a photo, a voice note and a document arrive: the console says it is fetching them, then
// shows the photo inline, a player for the voice note and a download for the document, each
// fetched by the hub from the fake's media endpoints. Bob links the conversation from the card to
// Maria Garcia, found by search: her card replaces Sheena's, and the link is on the timeline.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, launchBrowser, chromiumSkip, watch, shot, byTestId, signIn, call, login } from './harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PAYLOADS = path.join(HERE, '../../connectors/im/tests/payloads/whatsapp');
const ADMIN = 'admin@plugboard.example';
const BOB = 'bob@plugboard.example';
const PHONE_NUMBER_ID = '106540352242922';
const APP_SECRET = 'browser-app-secret';
const REPLY = 'Yes — blue and green are in stock.';

const skip = chromiumSkip();

let hub;
let fake;
let browser;
let webhook;
const pageErrors = [];

/** A 1×1 PNG: the customer's photo. */
const PHOTO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
/** Each documented media id's type and bytes. */
const MEDIA = {
  1003383421387256: ['image/png', PHOTO],
  1003383421387257: ['audio/ogg', Buffer.from('OggS fake voice note')],
  1003383421387259: ['application/pdf', Buffer.from('%PDF-1.4 fake invoice')],
};

/**
 * WhatsApp's Graph API as far as the hub uses it: sends answer a wamid; a media id answers where
 * its file is (here), and the file is served with the bearer token; every request is kept.
 */
async function startFakeGraph() {
  const requests = [];
  let base;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: body ? JSON.parse(body) : null });
      const [, first, second] = req.url.split('/');
      if (req.method === 'GET' && first === 'media' && MEDIA[second] && req.headers.authorization === 'Bearer graph-token') {
        res.writeHead(200, { 'content-type': MEDIA[second][0] });
        res.end(MEDIA[second][1]);
        return;
      }
      if (req.method === 'GET' && MEDIA[second]) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ messaging_product: 'whatsapp', url: `${base}/media/${second}`, mime_type: MEDIA[second][0], file_size: MEDIA[second][1].length, id: second }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        messaging_product: 'whatsapp',
        contacts: [{ input: '16505551234', wa_id: '16505551234' }],
        messages: [{ id: `wamid.browser${requests.length}` }],
      }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  return { base, requests, stop: () => new Promise((r) => server.close(r)) };
}

async function documented(name, change) {
  const v = JSON.parse(await readFile(path.join(PAYLOADS, name), 'utf8'));
  change(v.entry[0].changes[0].value);
  return JSON.stringify(v);
}

/** Posts a delivery signed as Meta signs it. */
async function deliver(body) {
  const signature = `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}`;
  const r = await fetch(webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
  assert.equal(r.status, 200, await r.text());
}

const media = (name, id) => documented(name, (v) => { v.messages[0].id = id; });
const text = (id, body) => documented('text.json', (v) => { v.messages[0].id = id; v.messages[0].text.body = body; });
const read = (id) => documented('status_read.json', (v) => { v.statuses[0].id = id; });

async function eventually(what, f, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (skip) return;
  hub = await startHub();
  fake = await startFakeGraph();
  browser = await launchBrowser();
  const admin = await login(hub.base, ADMIN);
  const queues = await call(hub.base, 'GET', '/queues', admin);
  const support = queues.body.find((q) => q.name === 'Support');
  const created = await call(hub.base, 'POST', '/inboxes', admin, {
    platform: 'whatsapp', name: 'Shop WhatsApp', queue_id: support.id,
    settings: { phone_number_id: PHONE_NUMBER_ID, api_base: fake.base },
    secrets: { access_token: 'graph-token', app_secret: APP_SECRET, verify_token: 'let-me-in' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  webhook = `${hub.base}${created.body.webhook_path}`;
});

after(async () => {
  if (browser) await browser.close();
  if (fake) await fake.stop();
  if (hub) await hub.stop();
});

let page;

test('a WhatsApp message is offered, answered from the console, and its reply shows read', { skip }, async () => {
  page = await browser.newPage();
  watch(page, 'bob', pageErrors);
  await signIn(page, hub.base, BOB);
  await page.getByTestId('state-available').click();
  await byTestId(page, 'state-current', 'data-state', 'available').waitFor();

  await deliver(await text('wamid.in1', 'Does it come in another color?'));
  const offer = page.getByTestId('offer-card');
  await offer.waitFor();
  assert.equal(await offer.getByTestId('offer-customer').textContent(), 'Sheena Nelson');
  assert.equal(await offer.getByTestId('offer-preview').textContent(), 'Does it come in another color?');
  await offer.getByTestId('offer-accept').click();
  await page.getByTestId('chat-pane').waitFor();

  await page.getByTestId('composer-input').fill(REPLY);
  await page.getByTestId('composer-input').press('Enter');
  const sent = await eventually('the reply at the fake', () => fake.requests.find((r) => r.method === 'POST'));
  assert.equal(sent.url, `/v21.0/${PHONE_NUMBER_ID}/messages`);
  assert.equal(sent.headers.authorization, 'Bearer graph-token');
  assert.equal(sent.body.to, '16505551234');
  assert.equal(sent.body.text.body, REPLY);
  await byTestId(page, 'message-delivery', 'data-delivery', 'sent').waitFor();

  await deliver(await read('wamid.browser1'));
  await byTestId(page, 'message-delivery', 'data-delivery', 'read').waitFor();
  await deliver(await text('wamid.in2', 'Great, blue please'));
  await byTestId(page, 'message', 'data-sender', 'customer').filter({ hasText: 'Great, blue please' }).waitFor();
  assert.equal(await page.getByTestId('message').count(), 3, 'one conversation: two from the customer, one reply');
  assert.equal(fake.requests.length, 1, 'sent once');
  // The documented message is from 2025: its 24 hours are long over, and the console says so and
  // offers an approved template instead.
  await byTestId(page, 'reply-window', 'data-open', 'false').waitFor();
  await page.getByTestId('template-name').fill('order_update');
  await page.getByTestId('template-language').fill('en_US');
  await page.getByTestId('template-params').fill('4411\nMonday');
  await page.getByTestId('template-send').click();
  const template = await eventually('the template at the fake', () => fake.requests.filter((r) => r.method === 'POST')[1]);
  assert.equal(template.body.type, 'template');
  assert.equal(template.body.template.name, 'order_update');
  assert.deepEqual(template.body.template.components[0].parameters.map((p) => p.text), ['4411', 'Monday']);
  await page.getByTestId('message-body').filter({ hasText: '[order_update] 4411 · Monday' }).waitFor();
  await shot(page, 'messaging-whatsapp');
  assert.deepEqual(pageErrors, []);
});

test("a customer's photo, voice note and document show in the conversation, and Bob links it to a known customer", { skip }, async () => {
  await deliver(await media('image.json', 'wamid.photo'));
  await deliver(await media('audio_voice.json', 'wamid.voice'));
  await deliver(await media('document.json', 'wamid.invoice'));
  const image = page.getByTestId('media-image');
  await image.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="media-image"]');
    return img && img.complete && img.naturalWidth === 1;
  });
  assert.match(await image.getAttribute('src'), /^blob:/);
  await page.getByTestId('media-audio').waitFor({ state: 'attached' });
  assert.match(await page.getByTestId('media-audio').getAttribute('src'), /^blob:/);
  await page.getByTestId('media-download').filter({ hasText: 'invoice-4411.pdf' }).waitFor();
  assert.equal(await page.getByTestId('media-failed').count(), 0);
  const fetched = fake.requests.filter((r) => r.method === 'GET' && r.url.startsWith('/media/')).map((r) => r.url).sort();
  assert.deepEqual(fetched, ['/media/1003383421387256', '/media/1003383421387257', '/media/1003383421387259']);

  // Sheena is Maria Garcia, writing from another phone: Bob finds her and links the conversation.
  await page.getByTestId('card-link-open').click();
  await page.getByTestId('card-link-query').fill('maria.garcia@example.com');
  await page.getByTestId('card-link-search').click();
  await page.getByTestId('card-link-confirm').first().click();
  await page.getByTestId('card-name').filter({ hasText: 'Maria Garcia' }).waitFor();
  const maria = await page.getByTestId('customer-card').getAttribute('data-customer-id');
  const admin = await login(hub.base, ADMIN);
  const found = await call(hub.base, 'GET', '/customers?q=16505551234', admin);
  assert.equal(found.body.length, 1);
  assert.equal(found.body[0].id, maria, 'the WhatsApp number is hers now');
  const timeline = await call(hub.base, 'GET', `/customers/${maria}/timeline`, admin);
  const linked = timeline.body.entries.flatMap((e) => e.events).find((e) => e.type === 'customer.linked');
  assert.equal(linked.data.agent_name, 'Bob Martin');
  await shot(page, 'messaging-media');
  assert.deepEqual(pageErrors, []);
});
