// The admin's messaging-inbox form and the hub's inboxes (/api/v1/inboxes), one way: an inbox is
// added or deleted, never changed, and its secrets are write-only (the hub never lists them). Pure.
//
// What each platform requires is the hub's to say: its 400 names the missing field, and the page
// shows that answer by the form. The console checks only what the hub would take now and that
// would fail later, far from this form: an API base that is no http(s) URL (every send would
// fail), and a Telegram secret token that Telegram's setWebhook refuses.

export const PLATFORMS = ['whatsapp', 'telegram', 'wechat', 'sms', 'webhook'];

/**
 * The settings and secrets each platform's form shows, in order. `required`: the hub refuses the
 * inbox without it; `generated`: a token the admin makes up for the platform to send back, which
 * the console suggests (random) so they need not invent one; `hint`: the catalogue explains it
 * (`inboxes.hint.<name>`).
 */
export const FIELDS = {
  whatsapp: {
    settings: [{ name: 'phone_number_id', required: true, hint: true }, { name: 'api_base', hint: true }, { name: 'api_version' }],
    secrets: [{ name: 'access_token', required: true }, { name: 'app_secret', required: true }, { name: 'verify_token', required: true, generated: true, hint: true }],
  },
  telegram: {
    settings: [{ name: 'api_base', hint: true }],
    secrets: [{ name: 'bot_token', required: true, hint: true }, { name: 'secret_token', required: true, generated: true, hint: true }],
  },
  // WeChat's Token is 3 to 32 letters or digits (`alnum`); without an EncodingAESKey the account
  // runs in plaintext mode.
  wechat: {
    settings: [{ name: 'app_id', required: true, hint: true }, { name: 'api_base', hint: true }],
    secrets: [{ name: 'token', required: true, generated: true, alnum: true, hint: true }, { name: 'app_secret', required: true }, { name: 'encoding_aes_key', hint: true }],
  },
  // A Twilio-style provider signs the URL it posts to: the hub must know its public address.
  sms: {
    settings: [{ name: 'account_sid', required: true }, { name: 'from', required: true, hint: true }, { name: 'public_url', required: true, hint: true }, { name: 'api_base', hint: true }],
    secrets: [{ name: 'auth_token', required: true }],
  },
  // Our own signed webhook, for any other system: replies are posted to its URL.
  webhook: {
    settings: [{ name: 'url', required: true, hint: true }],
    secrets: [{ name: 'secret', required: true, generated: true, hint: true }],
  },
};

/** The secret the admin gives the platform themselves with the webhook URL, if any. */
export const HANDED_OVER = { whatsapp: 'verify_token', wechat: 'token', webhook: 'secret' };

const TOKEN_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// Telegram's setWebhook: "1-256 characters. Only characters A-Z, a-z, 0-9, _ and - are allowed."
const TELEGRAM_SECRET = /^[A-Za-z0-9_-]{1,256}$/;

const browserRandom = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

/**
 * A random token of `length` characters from A-Z a-z 0-9 - _ (6 bits each), which both Telegram
 * and Meta take. `random(n)` gives n random bytes.
 */
export function randomToken(length = 32, random = browserRandom, alnum = false) {
  return [...random(length)].map((b) => (alnum ? TOKEN_ALPHABET[b % 62] : TOKEN_ALPHABET[b & 63])).join('');
}

const namesOf = (kind) => [...new Set(PLATFORMS.flatMap((p) => FIELDS[p][kind].map((f) => f.name)))];

/**
 * A new inbox's form. It holds every platform's fields, so switching platform and back keeps what
 * was typed; the generated tokens come filled in.
 */
export function emptyInboxForm(queueId = '', platform = 'whatsapp', random = browserRandom) {
  const settings = Object.fromEntries(namesOf('settings').map((n) => [n, '']));
  const secrets = Object.fromEntries(namesOf('secrets').map((n) => [n, '']));
  for (const p of PLATFORMS) {
    for (const f of FIELDS[p].secrets) if (f.generated) secrets[f.name] = randomToken(32, random, Boolean(f.alnum));
  }
  return { platform, name: '', queue_id: queueId, settings, secrets };
}

/** "https://hub.example/" and "/webhooks/x" → "https://hub.example/webhooks/x". */
export function webhookUrl(origin, path) {
  return `${String(origin).replace(/\/+$/, '')}/${String(path).replace(/^\/+/, '')}`;
}

/** An API base as the hub joins it ("{base}/bot…", "{base}/{version}/…"): trimmed, no trailing slash. */
function apiBase(s) {
  return s.trim().replace(/\/+$/, '');
}

/**
 * The body of POST /inboxes: the chosen platform's fields only, trimmed (a pasted token often
 * brings a newline), and the empty ones left out so the hub uses its default or names what is
 * missing.
 */
export function inboxSpec(f) {
  const fields = FIELDS[f.platform] || { settings: [], secrets: [] };
  const settings = {};
  for (const { name } of fields.settings) {
    const v = name === 'api_base' ? apiBase(f.settings[name] || '') : (f.settings[name] || '').trim();
    if (v) settings[name] = v;
  }
  const secrets = {};
  for (const { name } of fields.secrets) {
    const v = (f.secrets[name] || '').trim();
    if (v) secrets[name] = v;
  }
  return { platform: f.platform, name: f.name.trim(), queue_id: f.queue_id, settings, secrets };
}

/**
 * What the console can tell is wrong before sending: `[{field, key}]`, `field` the form's path
 * ("settings.api_base") and `key` the catalogue's explanation. Empty when it may be sent.
 */
export function inboxProblems(f) {
  const problems = [];
  const fields = FIELDS[f.platform];
  if (!fields) return [{ field: 'platform', key: 'inboxes.problem.platform' }];
  if (fields.settings.some((s) => s.name === 'api_base')) {
    const base = apiBase(f.settings.api_base || '');
    if (base && !isHttpUrl(base)) problems.push({ field: 'settings.api_base', key: 'inboxes.problem.api_base' });
  }
  if (f.platform === 'telegram') {
    const token = (f.secrets.secret_token || '').trim();
    if (token && !TELEGRAM_SECRET.test(token)) problems.push({ field: 'secrets.secret_token', key: 'inboxes.problem.secret_token' });
  }
  return problems;
}

function isHttpUrl(s) {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/**
 * The form field a hub's 400 names ("secrets.bot_token is required", "a WhatsApp inbox needs
 * settings.phone_number_id"), to mark and focus it; null when it names none the form has.
 */
export function fieldOfError(message) {
  const m = /\b(settings|secrets)\.([a-z_]+)\b/.exec(message || '');
  if (!m || !namesOf(m[1]).includes(m[2])) return null;
  return `${m[1]}.${m[2]}`;
}
