// The mail peers of the browser tests: Debian's Dovecot as the support mailbox, run as a private
// instance (its own config, directories and loopback port in a temp directory, never the system
// service), and a small SMTP sink that keeps what the hub sends and can refuse a recipient the way
// a real server does. Without Dovecot the email tests skip on a developer's machine and fail in CI.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, rm, chown, chmod } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { execFileSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export const DOVECOT = '/usr/sbin/dovecot';

/** A loopback port free right now (the peer binds it a moment later). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function idOf(flag, name) {
  return Number(execFileSync('id', [flag, name]).toString().trim());
}

/**
 * Who Dovecot's processes run as. Unprivileged, everything runs as the current user. As root,
 * Dovecot refuses root for its login and mail processes, so it takes the users Debian's package
 * created (dovenull for logins, dovecot for the rest and for the mail files).
 */
function dovecotUsers() {
  const me = userInfo();
  if (me.uid !== 0) {
    const group = execFileSync('id', ['-gn']).toString().trim();
    return { internal: me.username, login: me.username, group, uid: me.uid, gid: me.gid };
  }
  return { internal: 'dovecot', login: 'dovenull', group: 'dovecot', uid: idOf('-u', 'dovecot'), gid: idOf('-g', 'dovecot') };
}

/** One IMAP exchange at a time over a plain socket (RFC 9051 §6.3.12 APPEND with a literal). */
class ImapClient {
  constructor(socket) {
    this.socket = socket;
    this.buffer = '';
    this.waiters = [];
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      this.buffer += d;
      this.wake();
    });
  }

  wake() {
    for (const w of [...this.waiters]) {
      const m = this.buffer.match(w.re);
      if (m) {
        this.buffer = this.buffer.slice(m.index + m[0].length);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  expect(re) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`IMAP: no ${re} in ${JSON.stringify(this.buffer)}`)), 10_000);
      this.waiters.push({ re, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      this.wake();
    });
  }

  async command(tag, line) {
    this.socket.write(`${tag} ${line}\r\n`);
    const m = await this.expect(new RegExp(`^${tag} (OK|NO|BAD)([^\\r\\n]*)\\r\\n`, 'm'));
    if (m[1] !== 'OK') throw new Error(`IMAP ${line.split(' ')[0]}: ${m[1]}${m[2]}`);
  }
}

export async function startDovecot() {
  const dir = await mkdtemp(path.join(tmpdir(), 'plugboard-dovecot-'));
  const port = await freePort();
  const users = dovecotUsers();
  const user = 'support';
  const password = 'dovecot-test-1';
  for (const d of ['run', 'state', 'mail']) await mkdir(path.join(dir, d));
  if (userInfo().uid === 0) {
    // Dovecot's own users read the password file and write the mail.
    await chmod(dir, 0o755);
    await chown(path.join(dir, 'mail'), users.uid, users.gid);
  }
  await writeFile(path.join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`);
  const config = `
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = plugboard-browser-${port}
log_path = /dev/stderr
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:${dir}/mail/%u
first_valid_uid = 1
default_internal_user = ${users.internal}
default_internal_group = ${users.group}
default_login_user = ${users.login}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${users.uid} gid=${users.gid} home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
`;
  await writeFile(path.join(dir, 'dovecot.conf'), config);
  const proc = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log = (log + d).slice(-4000); });
  proc.stderr.on('data', (d) => { log = (log + d).slice(-4000); });

  async function session() {
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new ImapClient(socket);
    await client.expect(/^\* OK[^\r\n]*\r\n/m);
    await client.command('a1', `LOGIN ${user} ${password}`);
    return client;
  }

  async function stop() {
    if (proc.exitCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  }

  // Ready when it greets and takes the login; polled, never a fixed sleep.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`dovecot exited (${proc.exitCode}):\n${log}`);
    try {
      const c = await session();
      await c.command('a2', 'LOGOUT').catch(() => {});
      c.socket.destroy();
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`dovecot never took a login on ${port}: ${e.message}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    /** Put one raw mail (CRLF line ends) into INBOX, unseen, as a mail server delivering it would. */
    async append(raw) {
      const bytes = Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'utf8');
      const c = await session();
      c.socket.write(`a2 APPEND INBOX {${bytes.length}}\r\n`);
      await c.expect(/^\+[^\r\n]*\r\n/m);
      c.socket.write(Buffer.concat([bytes, Buffer.from('\r\n')]));
      await c.expect(/^a2 OK[^\r\n]*\r\n/m);
      await c.command('a3', 'LOGOUT').catch(() => {});
      c.socket.destroy();
    },
    stop,
  };
}

/**
 * An SMTP server (RFC 5321) on a loopback port that keeps every mail it accepts. A recipient in
 * `refuse` is answered with that reply instead (e.g. "550 5.1.1 ..."), as a real server refuses a
 * mailbox that does not exist.
 */
export async function startSmtpSink({ refuse = {} } = {}) {
  const messages = [];
  const server = createServer((socket) => {
    socket.setEncoding('utf8');
    let buffer = '';
    let data = null;
    let rcpt = [];
    const reply = (line) => socket.write(`${line}\r\n`);
    reply('220 sink.test ESMTP');
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (;;) {
        if (data !== null) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          data += buffer.slice(0, end);
          buffer = buffer.slice(end + 5);
          messages.push({ to: rcpt, raw: data.replace(/^\.\./gm, '.') });
          data = null;
          rcpt = [];
          reply('250 2.0.0 kept');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') reply('250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8');
        else if (verb === 'HELO') reply('250 sink.test');
        else if (verb === 'MAIL') reply('250 2.1.0 ok');
        else if (verb === 'RCPT') {
          const address = (line.match(/<([^>]*)>/) || [])[1] || '';
          if (refuse[address.toLowerCase()]) reply(refuse[address.toLowerCase()]);
          else {
            rcpt.push(address);
            reply('250 2.1.5 ok');
          }
        } else if (verb === 'DATA') {
          data = '';
          reply('354 go ahead');
        } else if (verb === 'RSET') {
          rcpt = [];
          reply('250 ok');
        } else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
        } else reply('250 ok');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    messages,
    stop: () => new Promise((r) => server.close(r)),
  };
}

export const haveDovecot = () => existsSync(DOVECOT);

/** A part's header block (folded lines unfolded) and its body. */
function splitPart(text) {
  const at = text.indexOf('\r\n\r\n');
  const head = (at < 0 ? text : text.slice(0, at)).replace(/\r\n[ \t]+/g, ' ');
  const headers = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: at < 0 ? '' : text.slice(at + 4) };
}

function decode(body, encoding) {
  const e = String(encoding || '7bit').toLowerCase();
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64');
  if (e === 'quoted-printable') {
    const soft = body.replace(/=\r\n/g, '');
    const bytes = [];
    for (let i = 0; i < soft.length; i += 1) {
      if (soft[i] === '=' && /^[0-9A-F]{2}$/i.test(soft.slice(i + 1, i + 3))) {
        bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(...Buffer.from(soft[i], 'utf8'));
    }
    return Buffer.from(bytes);
  }
  return Buffer.from(body.replace(/\r\n$/, ''), 'utf8');
}

/**
 * The leaf parts of a mail the sink kept (RFC 2046 multipart, RFC 2183 Content-Disposition), each
 * `{filename, type, attachment, data}` with its bytes decoded, in order. Enough MIME for what the
 * hub sends; file names are read as ASCII `filename="…"` (the tests use such names).
 */
function partsOf(raw) {
  const out = [];
  const walk = (text) => {
    const { headers, body } = splitPart(text);
    const type = headers['content-type'] || 'text/plain';
    const boundary = (type.match(/boundary="?([^";]+)"?/i) || [])[1];
    if (/^multipart\//i.test(type) && boundary) {
      const pieces = body.split(`--${boundary}`);
      for (const piece of pieces.slice(1)) {
        if (piece.startsWith('--')) break;
        walk(piece.replace(/^\r\n/, ''));
      }
      return;
    }
    const disposition = headers['content-disposition'] || '';
    const filename = (disposition.match(/filename="?([^";]+)"?/i) || [])[1] || '';
    const attachment = /^attachment/i.test(disposition);
    out.push({ filename, type: type.split(';')[0].trim().toLowerCase(), attachment, data: decode(body, headers['content-transfer-encoding']) });
  };
  walk(raw);
  return out;
}

/** The files of a mail the sink kept: `{filename, type, data}`. */
export function attachmentsOf(raw) {
  return partsOf(raw).filter((p) => p.attachment).map(({ filename, type, data }) => ({ filename, type, data }));
}

/** A mail's plain text (its first text/plain part that is not a file), decoded. */
export function textOf(raw) {
  const text = partsOf(raw).find((p) => !p.attachment && p.type === 'text/plain');
  return text ? text.data.toString('utf8').replace(/\r\n/g, '\n') : '';
}
