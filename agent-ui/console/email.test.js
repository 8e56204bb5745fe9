// Unit tests for the console's email helpers: tables of mails as real clients write them and what
// the agent should see of each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  forwardSubject, isForward,
  splitQuoted, displaySegments, freshText, replyRecipients, replySubject, threadSubject, lastCustomerMail,
  parseAddressList, looksLikeAddress, formatSize, rewriteImages, frameDocument, frameCsp, hasRemoteImages,
  inlineImages, filedKind, draftDefaults, FRAME_SANDBOX,
} from './email.js';

const visible = (text) => splitQuoted(text).filter((s) => !s.quoted).map((s) => s.text).join('\n').trim();
const quoted = (text) => splitQuoted(text).filter((s) => s.quoted).map((s) => s.text).join('\n').trim();

test('quoted history is cut off where each client starts it', () => {
  const cases = [
    ['Gmail', 'Thanks, that worked.\n\nOn Tue, 3 Mar 2026 at 10:00, Shop Support <support@shop.example> wrote:\n> Try again\n> please', 'Thanks, that worked.'],
    ['Gmail, attribution wrapped', 'Yes.\n\nOn Tue, 3 Mar 2026 at 10:00, Shop Support <\nsupport@shop.example> wrote:\n\n> Try again', 'Yes.'],
    ['Apple Mail', 'Got it\n\nOn 3 Mar 2026, at 10:00, Shop Support <support@shop.example> wrote:\n\nTry again', 'Got it'],
    ['QQ Mail / Foxmail', '好的，谢谢\n\n在 2026年3月3日 10:00，Shop Support <support@shop.example> 写道：\n> 请再试一次', '好的，谢谢'],
    ['Chinese with 于', '收到\n于 2026-03-03 10:00 写道:\n原来的内容', '收到'],
    ['Foxmail original', '已付款\n------------------ 原始邮件 ------------------\n发件人: "Shop"<support@shop.example>', '已付款'],
    ['Outlook', 'See below\n\n-----Original Message-----\nFrom: Shop Support\nSent: Tuesday\nSubject: Order', 'See below'],
    ['Gmail forward', 'FYI\n\n---------- Forwarded message ---------\nFrom: Carrier <noreply@carrier.example>\nParcel delayed', 'FYI'],
    ['Gmail forward, Chinese', '请看\n---------- 转发的邮件 ---------\n发件人：快递', '请看'],
    ['Apple forward', 'Look\n\nBegin forwarded message:\n\nFrom: a@b', 'Look'],
  ];
  for (const [client, text, own] of cases) {
    assert.equal(visible(text), own, client);
    assert.ok(quoted(text).length > 0, `${client}: the history is kept, behind the toggle`);
  }
});

test('every run of ">" lines is quoted; an answer written between them stays visible', () => {
  const text = '> Which order?\n> And when?\n4471, last Monday.\n> Anything else?\nNo, thanks.';
  assert.deepEqual(splitQuoted(text), [
    { quoted: true, text: '> Which order?\n> And when?' },
    { quoted: false, text: '4471, last Monday.' },
    { quoted: true, text: '> Anything else?' },
    { quoted: false, text: 'No, thanks.' },
  ]);
});

test('nothing is lost: the segments joined are the mail', () => {
  const text = 'Hi\r\n\r\nOn Mon, X wrote:\r\n> a\r\n> b\r\n';
  assert.equal(splitQuoted(text).map((s) => s.text).join('\n'), text.replace(/\r\n/g, '\n'));
});

test('a mail with no history is one visible segment; a line that merely mentions "wrote" is not history', () => {
  assert.deepEqual(splitQuoted('Hello,\nmy order has not arrived.'), [{ quoted: false, text: 'Hello,\nmy order has not arrived.' }]);
  assert.equal(quoted('On Monday my son wrote: a letter to you.\nIt was nice.'), '');
  assert.equal(quoted('I wrote: "please call me"'), '');
  assert.deepEqual(splitQuoted(''), [{ quoted: false, text: '' }]);
  assert.deepEqual(splitQuoted(null), [{ quoted: false, text: '' }]);
});

test('display segments drop blank edges; a preview keeps only what was written now', () => {
  const text = 'Thanks!\n\n\nOn Tue, Shop <s@shop.example> wrote:\n> old';
  assert.deepEqual(displaySegments(text), [
    { quoted: false, text: 'Thanks!' },
    { quoted: true, text: 'On Tue, Shop <s@shop.example> wrote:\n> old' },
  ]);
  assert.equal(freshText(text), 'Thanks!');
  // A mail that is all history (a bare forward) previews as that history.
  assert.equal(freshText('> only a quote'), '> only a quote');
});

const MAIL = {
  subject: 'Order 4471',
  from: { name: 'Li Wei', email: 'Li.Wei@qq.example' },
  to: [{ name: 'Shop Support', email: 'Support@Shop.example' }, { name: 'Zhang', email: 'zhang@qq.example' }],
  cc: [{ name: null, email: 'li.wei@qq.example' }, { name: 'Boss', email: 'boss@qq.example' }, { name: null, email: 'ZHANG@qq.example' }],
  reply_to: null,
};

test('reply goes to the sender; reply-all copies the others, never the mailbox or the customer twice', () => {
  assert.deepEqual(replyRecipients(MAIL, 'reply', ['support@shop.example']), { to: ['Li.Wei@qq.example'], cc: [] });
  assert.deepEqual(replyRecipients(MAIL, 'all', ['support@shop.example']), { to: ['Li.Wei@qq.example'], cc: ['zhang@qq.example', 'boss@qq.example'] });
});

test('Reply-To wins over From, and the From address is not copied either', () => {
  const mail = { ...MAIL, reply_to: { name: null, email: 'orders@qq.example' } };
  assert.deepEqual(replyRecipients(mail, 'reply', []), { to: ['orders@qq.example'], cc: [] });
  assert.deepEqual(replyRecipients(mail, 'all', ['support@shop.example']).cc, ['zhang@qq.example', 'boss@qq.example']);
});

test('without the mailbox address reply-all keeps it (the agent sees it in Cc); without a mail, nobody', () => {
  assert.deepEqual(replyRecipients(MAIL, 'all', []).cc, ['Support@Shop.example', 'zhang@qq.example', 'boss@qq.example']);
  assert.deepEqual(replyRecipients(null, 'all', []), { to: [], cc: [] });
  assert.deepEqual(replyRecipients({ from: { email: 'a@b.example' } }, 'all', []), { to: ['a@b.example'], cc: [] });
});

test('the thread subject is the first mail\'s; a reply says Re: once', () => {
  const messages = [
    { sender: 'customer', body: 'x', channel: { details: { subject: '  订单 1001 ' } } },
    { sender: 'agent', body: 'y', channel: { details: { subject: 'Re: 订单 1001' } } },
    { sender: 'customer', body: 'z', channel: { details: { subject: 'Re: Re: 订单 1001', from: { email: 'li@x.example' } } } },
    { sender: 'system', body: 'note' },
  ];
  assert.equal(threadSubject(messages), '订单 1001');
  assert.equal(lastCustomerMail(messages).body, 'z');
  assert.equal(threadSubject([]), '');
  assert.equal(replySubject('订单 1001'), 'Re: 订单 1001');
  assert.equal(replySubject('RE: Order'), 'RE: Order');
  assert.equal(replySubject('回复：订单'), '回复：订单');
  assert.equal(replySubject('Return policy'), 'Re: Return policy');
});

test('address fields take commas, semicolons and "Name <address>"', () => {
  assert.deepEqual(parseAddressList(' a@x.example, Boss <boss@y.example>;c@z.example ,, '), ['a@x.example', 'boss@y.example', 'c@z.example']);
  assert.deepEqual(parseAddressList(''), []);
  assert.ok(looksLikeAddress('li.wei@qq.example'));
  assert.ok(!looksLikeAddress('li.wei'));
  assert.ok(!looksLikeAddress('a b@c.example'));
});

test('sizes read as B, KB, MB', () => {
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(12 * 1024 + 100), '12 KB');
  assert.equal(formatSize(1.45 * 1024 * 1024), '1.4 MB');
});

const SANITISED = '<p>Hello <b>there</b></p>'
  + '<img src="cid:logo%40shop" alt="logo">'
  + '<img data-remote-src="https://tracker.example/pixel.gif?u=1&amp;v=2" alt="a &quot;b&quot; > c" width="1">'
  + '<img src="cid:missing@x">'
  + '<img src="data:image/png;base64,AAAA">';

test('images: cid: becomes the inline attachment, remote images only when asked for', () => {
  const cidUrls = { 'logo@shop': 'data:image/png;base64,TE9HTw==' };
  const held = rewriteImages(SANITISED, { cidUrls });
  assert.match(held, /<img src="data:image\/png;base64,TE9HTw==" alt="logo">/);
  assert.ok(!/\ssrc="https:/.test(held), 'no remote src before the click');
  assert.match(held, /<img data-remote-src="https:\/\/tracker\.example\/pixel\.gif\?u=1&amp;v=2" alt="a &quot;b&quot; > c" width="1">/);
  assert.ok(!held.includes('cid:'), 'an unresolved cid: is dropped rather than requested');
  assert.match(held, /<img src="data:image\/png;base64,AAAA">/);

  const shown = rewriteImages(SANITISED, { cidUrls, showRemote: true });
  assert.match(shown, /<img src="https:\/\/tracker\.example\/pixel\.gif\?u=1&amp;v=2" alt="a &quot;b&quot; > c" width="1">/);
  assert.ok(!shown.includes('data-remote-src'));
  assert.match(shown, /<p>Hello <b>there<\/b><\/p>/, 'the rest of the mail is untouched');
});

test('only web addresses become sources when remote images are shown', () => {
  const out = rewriteImages('<img data-remote-src="javascript:alert(1)">', { showRemote: true });
  assert.ok(!out.includes('src="javascript'), out);
});

test('the frame document starts with its CSP; remote images widen img-src to https: only then', () => {
  const doc = frameDocument('<p>Hi</p>');
  assert.ok(doc.startsWith('<!doctype html><html><head><meta http-equiv="Content-Security-Policy"'), doc.slice(0, 120));
  assert.ok(doc.includes(`content="default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'"`), doc);
  assert.ok(doc.indexOf('Content-Security-Policy') < doc.indexOf('<p>Hi</p>'));
  assert.ok(frameDocument('<p>Hi</p>', { showRemote: true }).includes("img-src data: blob: https:;"));
  assert.equal(frameCsp(false), "default-src 'none'; img-src data: blob:; style-src 'unsafe-inline'");
  assert.ok(!/script-src|allow-scripts/.test(doc + FRAME_SANDBOX), 'nothing lets a script run');
  assert.ok(!FRAME_SANDBOX.includes('allow-same-origin'), 'the frame never shares the console\'s origin');
});

test('a script that reached the frame could not run: the CSP forbids it whatever the mail says', () => {
  // The hub's sanitiser removes scripts; if one got through, the frame's own policy (first in the
  // document, so a later <meta> can only narrow it) has default-src 'none' and no script-src.
  const doc = frameDocument('<script>parent.document.title="owned"</script><img src=x onerror="alert(1)"><meta http-equiv="Content-Security-Policy" content="script-src *">');
  const first = doc.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/)[1];
  assert.ok(first.startsWith("default-src 'none'"), first);
  assert.ok(!first.includes('script-src'), first);
  assert.ok(doc.indexOf(first) < doc.indexOf('<script>'));
});

test('remote images are noticed so the "show images" button appears only when it does something', () => {
  assert.ok(hasRemoteImages(SANITISED));
  assert.ok(!hasRemoteImages('<img src="cid:x"><p>data-remote-src="</p>'));
  assert.ok(!hasRemoteImages(null));
});

test('inline images are the raster attachments with a content id', () => {
  const atts = [
    { id: '1', filename: 'logo.png', content_type: 'image/png', size: 10, content_id: 'logo@shop' },
    { id: '2', filename: 'x.svg', content_type: 'image/svg+xml', size: 10, content_id: 'svg@shop' },
    { id: '3', filename: 'invoice.pdf', content_type: 'application/pdf', size: 10, content_id: null },
  ];
  assert.deepEqual(Object.keys(inlineImages(atts)), ['logo@shop']);
});

test('a filed mail\'s reason reads as a kind the agent knows', () => {
  const cases = [
    ['auto-submitted: auto-replied', 'auto_reply'],
    ['x-autoreply', 'auto_reply'],
    ['x-auto-response-suppress: oof', 'auto_reply'],
    ['content-type: multipart/report', 'bounce'],
    ['from: mailer-daemon', 'bounce'],
    ['return-path: <>', 'bounce'],
    ['precedence: bulk', 'bulk'],
    ['list-id', 'bulk'],
    ['auto-submitted: auto-generated', 'automated'],
    [undefined, 'automated'],
  ];
  for (const [reason, kind] of cases) assert.equal(filedKind(reason), kind, String(reason));
});

test('a new reply starts addressed to the customer\'s last mail, with the thread\'s subject', () => {
  const messages = [
    { sender: 'customer', body: 'a', channel: { details: { subject: 'Order 4471', from: { email: 'old@qq.example' }, to: [], cc: [] } } },
    { sender: 'agent', body: 'b', channel: { details: { subject: 'Re: Order 4471', to: [{ email: 'old@qq.example' }], cc: [] } } },
    { sender: 'customer', body: 'c', channel: { details: { subject: 'Re: Order 4471', ...MAIL, subject: 'Re: Order 4471' } } },
  ];
  assert.deepEqual(draftDefaults(messages, 'reply', ['support@shop.example']), { mode: 'reply', to: 'Li.Wei@qq.example', cc: '', subject: 'Re: Order 4471' });
  assert.deepEqual(draftDefaults(messages, 'all', ['support@shop.example']).cc, 'zhang@qq.example, boss@qq.example');
  assert.deepEqual(draftDefaults([], 'reply'), { mode: 'reply', to: '', cc: '', subject: '' });
});

test('a forward says Fwd: once, in the prefixes clients write', () => {
  assert.equal(forwardSubject('订单 1001'), 'Fwd: 订单 1001');
  assert.equal(forwardSubject('Re: Order'), 'Fwd: Re: Order');
  assert.equal(forwardSubject('FW: Order'), 'FW: Order');
  assert.equal(forwardSubject('转发：订单'), '转发：订单');
  assert.equal(forwardSubject(''), 'Fwd: ');
  assert.equal(isForward({ channel: { details: { forward_of: 'm1' } } }), true);
  assert.equal(isForward({ channel: { details: { subject: 'x' } } }), false);
  assert.equal(isForward({ body: 'chat' }), false);
});

test('in a thread the agent opened, a follow-up goes where the opening mail went until the customer answers', () => {
  const opening = { sender: 'agent', channel: { details: { subject: 'Your refund', to: [{ email: 'li@qq.example' }], cc: [{ email: 'boss@qq.example' }] } } };
  const forward = { sender: 'agent', channel: { details: { subject: 'Fwd: x', to: [{ email: 'warehouse@shop.example' }], forward_of: 'm0' } } };
  assert.deepEqual(draftDefaults([forward, opening], 'reply'), { mode: 'reply', to: 'li@qq.example', cc: '', subject: 'Re: Fwd: x' });
  assert.deepEqual(draftDefaults([opening], 'all'), { mode: 'all', to: 'li@qq.example', cc: 'boss@qq.example', subject: 'Re: Your refund' });
  const answer = { sender: 'customer', channel: { details: { subject: 'Re: Your refund', from: { email: 'li.wei@qq.example' } } } };
  assert.equal(draftDefaults([opening, answer], 'reply').to, 'li.wei@qq.example');
});
