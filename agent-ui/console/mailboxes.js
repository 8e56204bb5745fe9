// The admin's mailbox form and the hub's mailbox settings (/api/v1/mailboxes), both ways. Pure.
// Passwords are write-only: a mailbox from the hub never fills a password field, and a change
// that leaves a password empty leaves it out, so the hub keeps the one it has.

export const SECURITY = ['tls', 'starttls', 'plain'];

const DEFAULT_PORTS = {
  imap: { tls: 993, starttls: 143, plain: 143 },
  smtp: { tls: 465, starttls: 587, plain: 25 },
};

/** The usual port of a mail server of `kind` ("imap" or "smtp") with that security. */
export function defaultPort(kind, security) {
  return DEFAULT_PORTS[kind][security] || '';
}

/**
 * The port after the admin picks another security: the new usual one if the port was empty or
 * the usual one of the old security, else what the admin typed.
 */
export function portAfterSecurity(kind, port, from, to) {
  const p = String(port ?? '').trim();
  return p === '' || p === String(defaultPort(kind, from)) ? String(defaultPort(kind, to)) : p;
}

const emptyServer = (kind) => ({ host: '', port: String(defaultPort(kind, 'tls')), security: 'tls', user: '', password: '' });

export function emptyMailboxForm(queueId = '') {
  return {
    address: '',
    display_name: '',
    queue_id: queueId,
    folder: 'INBOX',
    done_folder: '',
    signature: '',
    imap: emptyServer('imap'),
    smtp: emptyServer('smtp'),
  };
}

const serverForm = (s) => ({ host: s.host || '', port: String(s.port ?? ''), security: s.security || 'tls', user: s.user || '', password: '' });

/** The form for editing a mailbox the hub listed: its settings, never a password. */
export function mailboxToForm(m) {
  return {
    address: m.address || '',
    display_name: m.display_name || '',
    queue_id: m.queue_id || '',
    folder: m.folder || 'INBOX',
    done_folder: m.done_folder || '',
    signature: m.signature || '',
    imap: serverForm(m.imap || {}),
    smtp: serverForm(m.smtp || {}),
  };
}

function serverSpec(s, creating) {
  const spec = { host: s.host.trim(), port: Number(s.port) || 0, security: s.security, user: s.user.trim() };
  // A new mailbox sends both passwords (an SMTP relay on localhost may take an empty one); a
  // change sends only those the admin typed.
  if (creating || s.password !== '') spec.password = s.password;
  return spec;
}

/** The body of POST (creating) or PUT /mailboxes from the form. */
export function mailboxSpec(f, creating) {
  return {
    address: f.address.trim(),
    display_name: f.display_name.trim(),
    queue_id: f.queue_id,
    folder: f.folder.trim() || 'INBOX',
    done_folder: f.done_folder.trim() || null,
    signature: f.signature.trim() ? f.signature : null,
    imap: serverSpec(f.imap, creating),
    smtp: serverSpec(f.smtp, creating),
  };
}
