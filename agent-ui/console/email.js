// Email in the console, the parts with no DOM and no network: splitting a mail's quoted history
// from what the customer wrote now, who a reply or a reply-all goes to, and the document a mail's
// HTML is shown in (a sandboxed iframe's srcdoc with its own Content-Security-Policy). Runs under
// `node --test` as it is; the components only render what these return.
//
// The HTML these functions receive was sanitised by the hub (ammonia): no script, no event
// handlers, remote images as `data-remote-src`, inline images as `src="cid:..."`, every attribute
// value double-quoted. The iframe's sandbox (no allow-scripts) and CSP are what keep a mail from
// acting on the console; the rewriting here only decides which images the mail may show.

/** Whether an interaction (or an offer's interaction) is an email thread. */
export function isEmail(interaction) {
  return Boolean(interaction && interaction.channel === 'email');
}

/** The email parts of a message (`channel.details`), or null for a chat message. */
export function mailOf(message) {
  return (message && message.channel && message.channel.details) || null;
}

// Lines that start a quoted earlier mail: everything from such a line on is history.
//   Gmail/Apple Mail/Thunderbird: "On Tue, 3 Mar 2026 at 10:00, Li Wei <li@x> wrote:"
//   Chinese clients: "在 2026年3月3日 10:00，李伟 <li@x> 写道：" / "于 … 写道："
//   French, German, Spanish clients: "Le … a écrit :", "Am … schrieb …:", "El … escribió:"
//   Outlook: "-----Original Message-----" / "-----原始邮件-----"
//   Foxmail/QQ: "------------------ 原始邮件 ------------------"
//   Forwards: "---------- Forwarded message ---------", "---------- 转发的邮件 ---------",
//   "Begin forwarded message:"
const ATTRIBUTION = [
  /^\s*On\b.*\bwrote:\s*$/i,
  /^\s*(在|于).*写道[:：]\s*$/,
  /^\s*Le\b.*a écrit\s*:\s*$/i,
  /^\s*Am\b.*schrieb.*:\s*$/i,
  /^\s*El\b.*escribió:\s*$/i,
  /^\s*-{2,}\s*(Original Message|原始邮件|原始郵件)\s*-{2,}\s*$/i,
  /^\s*-{2,}\s*(Forwarded message|转发的邮件|轉寄的郵件|已转发邮件)\s*-{2,}\s*$/i,
  /^\s*Begin forwarded message:\s*$/i,
];

/** Whether `lines[i]` starts an attribution, alone or wrapped over up to three lines. */
function attributionAt(lines, i) {
  // Clients wrap a long "On …, Name <address> wrote:" over two or three lines.
  for (let n = 1; n <= 3 && i + n <= lines.length; n += 1) {
    const text = lines.slice(i, i + n).join(' ');
    if (ATTRIBUTION.some((re) => re.test(text))) return true;
  }
  return false;
}

const isQuoteLine = (line) => /^\s*>/.test(line);

/**
 * A mail's plain text cut into what the sender wrote now and the history they quoted:
 * `[{quoted: false, text}, {quoted: true, text}, …]`, in order. Every run of lines starting with
 * `>` is quoted, and so is everything from an attribution line ("On … wrote:", "-----Original
 * Message-----", a forward's banner) to the end. Text between quoted runs (an answer written inline)
 * stays visible. Joining every segment's text with "\n" gives the mail back.
 */
export function splitQuoted(text) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  const segments = [];
  const push = (quoted, line) => {
    const last = segments[segments.length - 1];
    if (last && last.quoted === quoted) last.lines.push(line);
    else segments.push({ quoted, lines: [line] });
  };
  for (let i = 0; i < lines.length; i += 1) {
    if (attributionAt(lines, i)) {
      for (const line of lines.slice(i)) push(true, line);
      break;
    }
    push(isQuoteLine(lines[i]), lines[i]);
  }
  return segments.map((s) => ({ quoted: s.quoted, text: s.lines.join('\n') }));
}

/** Whether a mail has quoted history worth a "show quoted text" toggle. */
export function hasVisibleText(segments) {
  return segments.some((s) => !s.quoted && s.text.trim() !== '');
}

/** Segments for display: blank lines at the edges of each trimmed, blank segments dropped. */
export function displaySegments(text) {
  return splitQuoted(text)
    .map((s) => ({ ...s, text: s.text.replace(/^(\s*\n)+/, '').replace(/\s+$/, '') }))
    .filter((s) => s.text !== '');
}

/** A mail's text without its quoted history, for one-line previews. */
export function freshText(text) {
  const segments = displaySegments(text);
  const own = segments.filter((s) => !s.quoted).map((s) => s.text).join('\n');
  return own || segments.map((s) => s.text).join('\n');
}

const lower = (s) => String(s || '').trim().toLowerCase();

/** "Li Wei <li.wei@example.com>", or the bare address when there is no name. */
export function formatAddress(a) {
  if (!a || !a.email) return '';
  return a.name ? `${a.name} <${a.email}>` : a.email;
}

/** Addresses typed into a To or Cc field ("a@x.com, B <b@y.com>; c@z") as bare addresses. */
export function parseAddressList(input) {
  const out = [];
  for (const part of String(input || '').split(/[,;\n]/)) {
    const s = part.trim();
    if (!s) continue;
    const angle = s.match(/<([^<>]+)>\s*$/);
    out.push((angle ? angle[1] : s).trim());
  }
  return out;
}

/** Whether a typed address looks like one (the hub checks it properly). */
export function looksLikeAddress(s) {
  return /^[^\s@<>,;]+@[^\s@<>,;]+\.[^\s@<>,;]+$/.test(s);
}

/** The customer's last mail in a thread (the one a reply answers), or null. */
export function lastCustomerMail(messages) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    if (messages[i].sender === 'customer' && mailOf(messages[i])) return messages[i];
  }
  return null;
}

/** The thread's subject: its first mail's, as the hub also takes it for a reply. */
export function threadSubject(messages) {
  for (const m of messages || []) {
    const d = mailOf(m);
    if (d && typeof d.subject === 'string' && d.subject.trim()) return d.subject.trim();
  }
  return '';
}

/** "Re: subject", unless it already says it answers something (in English or Chinese clients). */
export function replySubject(subject) {
  const s = String(subject || '').trim();
  if (/^(re|aw|sv|答复|回复|回覆)\s*[:：]/i.test(s)) return s;
  return `Re: ${s}`;
}

/**
 * Who a reply goes to. `mode` is "reply" (the customer only) or "all" (also everyone the
 * customer's last mail was to or copied to). The customer is that mail's Reply-To, else its From;
 * `own` are the mailbox's own addresses, never copied. Addresses are bare and unique, compared
 * without regard to case.
 */
export function replyRecipients(mail, mode, own = []) {
  if (!mail) return { to: [], cc: [] };
  const back = (mail.reply_to && mail.reply_to.email) || (mail.from && mail.from.email) || '';
  const to = back ? [back] : [];
  if (mode !== 'all') return { to, cc: [] };
  const skip = new Set([...own, back, mail.from && mail.from.email].map(lower).filter(Boolean));
  const cc = [];
  for (const a of [...(mail.to || []), ...(mail.cc || [])]) {
    const key = lower(a && a.email);
    if (!key || skip.has(key)) continue;
    skip.add(key);
    cc.push(a.email);
  }
  return { to, cc };
}

/** "12 KB", "1.4 MB": a size as the attachment list shows it. */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

/** The kinds of image a mail may show inline: raster only (an SVG is a document). */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/gif', 'image/jpeg', 'image/jpg', 'image/webp'];

/** The attachments an HTML body shows by `cid:`, by content id (no angle brackets). */
export function inlineImages(attachments) {
  const out = {};
  for (const a of attachments || []) {
    if (a.content_id && INLINE_IMAGE_TYPES.includes(lower(a.content_type))) out[a.content_id.replace(/^<|>$/g, '')] = a;
  }
  return out;
}

/** Whether sanitised HTML holds remote images the agent has not asked to see. */
export function hasRemoteImages(html) {
  return /<img\b[^<]*\sdata-remote-src="/i.test(String(html || ''));
}

/** The policy of the mail's frame: nothing but images from the mail itself and inline styles. */
export function frameCsp(showRemote) {
  return `default-src 'none'; img-src data: blob:${showRemote ? ' https:' : ''}; style-src 'unsafe-inline'`;
}

const escapeAttribute = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|quot|lt|gt|apos);/gi, (m, e) => {
    const k = e.toLowerCase();
    if (k === 'amp') return '&';
    if (k === 'quot') return '"';
    if (k === 'lt') return '<';
    if (k === 'gt') return '>';
    if (k === 'apos') return "'";
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : m;
  });
}

// An <img> tag as the hub's serialiser writes it: attributes with double-quoted values (which may
// hold ">"), never a bare "<" outside a tag.
const IMG_TAG = /<img((?:\s+[^\s"'>/=]+(?:\s*=\s*"[^"]*")?)*)\s*\/?>/gi;
const ATTRIBUTE = /\s+([^\s"'>/=]+)(?:\s*=\s*"([^"]*)")?/g;

/**
 * Rewrites each <img>: a `cid:` source becomes the matching inline image's URL from `cidUrls`
 * (by content id), or goes if there is none; with `showRemote`, `data-remote-src` becomes `src`.
 * Everything else in the tag is kept as it was.
 */
export function rewriteImages(html, { cidUrls = {}, showRemote = false } = {}) {
  return String(html || '').replace(IMG_TAG, (tag, attrs) => {
    const kept = [];
    let src = null;
    let remote = null;
    for (const [, name, value] of attrs.matchAll(ATTRIBUTE)) {
      const key = name.toLowerCase();
      if (key === 'src') src = value == null ? '' : decodeEntities(value);
      else if (key === 'data-remote-src') remote = value == null ? '' : decodeEntities(value);
      else kept.push(value == null ? ` ${name}` : ` ${name}="${value}"`);
    }
    let out = null;
    if (src != null && /^cid:/i.test(src)) {
      let id = src.slice(4);
      try {
        id = decodeURIComponent(id);
      } catch {
        // RFC 2392 says percent-encoded; a raw id is taken as it is.
      }
      id = id.replace(/^<|>$/g, '');
      out = cidUrls[id] || null;
    } else if (src != null) {
      out = src;
    }
    if (out == null && remote != null && showRemote && /^https?:/i.test(remote)) out = remote;
    const keepRemote = remote != null && !showRemote ? ` data-remote-src="${escapeAttribute(remote)}"` : '';
    return `<img${out != null ? ` src="${escapeAttribute(out)}"` : ''}${keepRemote}${kept.join('')}>`;
  });
}

/**
 * The whole document of a mail's frame (its `srcdoc`): the CSP first, before anything the mail
 * brings, then the mail's HTML with its images rewritten as `rewriteImages` says. The frame is
 * sandboxed without allow-scripts, so no script in it runs even if one got this far, and the CSP
 * (`default-src 'none'`) refuses everything but images from data:/blob: URLs (and https: once the
 * agent asked to see remote images) and inline styles.
 */
export function frameDocument(html, { cidUrls = {}, showRemote = false } = {}) {
  const csp = `<meta http-equiv="Content-Security-Policy" content="${escapeAttribute(frameCsp(showRemote))}">`;
  const meta = '<meta charset="utf-8"><meta name="referrer" content="no-referrer">';
  return `<!doctype html><html><head>${csp}${meta}</head><body>${rewriteImages(html, { cidUrls, showRemote })}</body></html>`;
}

/** The sandbox of a mail's frame: links may open a new tab (outside the sandbox), nothing else. */
export const FRAME_SANDBOX = 'allow-popups allow-popups-to-escape-sandbox';

/**
 * Why the hub filed a mail instead of routing it (`interaction.filed`'s `data.reason`, the header
 * rule that matched: "auto-submitted: auto-replied", "return-path: <>", "list-id"…) as one of a
 * few kinds the console has words for: auto_reply, bounce, bulk, or automated.
 */
export function filedKind(reason) {
  const r = lower(reason);
  if (/auto-replied|autorespond|autoreply|x-auto-response-suppress/.test(r)) return 'auto_reply';
  if (/multipart\/report|mailer-daemon|postmaster|return-path/.test(r)) return 'bounce';
  if (/precedence|list-id|list-unsubscribe/.test(r)) return 'bulk';
  return 'automated';
}

/** A delivery state the console shows for a reply: "queued", "sent", "failed", or null. */
export function deliveryOf(message) {
  const c = message && message.channel;
  return (c && c.delivery) || null;
}

/**
 * Who a follow-up goes to in a thread the agent opened (a new email) that the customer has not
 * answered yet: whoever the opening mail went to (and, for reply-all, was copied to).
 */
function openingRecipients(messages, mode) {
  const opening = (messages || []).find((m) => m.sender === 'agent' && mailOf(m) && !mailOf(m).forward_of);
  const d = opening ? mailOf(opening) : {};
  const emails = (list) => (list || []).map((a) => a && a.email).filter(Boolean);
  return { to: emails(d.to), cc: mode === 'all' ? emails(d.cc) : [] };
}

/**
 * What a new reply starts with: the recipients for `mode` ("reply" or "all") as the fields show
 * them, and "Re: " the thread's subject (empty when the thread has none: the hub then uses its own).
 */
export function draftDefaults(messages, mode, own = []) {
  const last = lastCustomerMail(messages || []);
  const { to, cc } = last ? replyRecipients(mailOf(last), mode, own) : openingRecipients(messages, mode);
  const subject = threadSubject(messages);
  return { mode, to: to.join(', '), cc: cc.join(', '), subject: subject ? replySubject(subject) : '' };
}

/** "Fwd: subject", unless it already says it is a forward (the hub's rule for its default too). */
export function forwardSubject(subject) {
  const s = String(subject || '').trim();
  if (/^(fwd?|转发|轉寄)\s*[:：]/i.test(s)) return s;
  return `Fwd: ${s}`;
}

/** Whether one of our mails is a forward (the hub marks its details with `forward_of`). */
export function isForward(message) {
  const d = mailOf(message);
  return Boolean(d && d.forward_of);
}
