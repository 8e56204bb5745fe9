//! The mailbox end of the flow: one IMAP session on one folder, for the hub's fetch loop (connect,
//! then over and over `fetch_after` the last UID it committed, `mark_seen` or `move_to` what it
//! committed, `wait` for more). A thin async shell over async-imap on tokio: every network step has
//! a timeout, so a dead server is an error rather than a hang, and a wrong password is told apart
//! from a network fault so the hub can back off and say so.

use crate::server::tls_config;
pub use crate::server::{Security, Server};
use async_imap::error::Error as ImapError;
use async_imap::extensions::idle::IdleResponse;
use async_imap::imap_proto::{Response, Status};
use async_imap::types::UnsolicitedResponse;
use futures_util::StreamExt;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// RFC 2177 §3: a client re-issues IDLE at least every 29 minutes, or the server may log it out.
const MAX_IDLE: Duration = Duration::from_secs(29 * 60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server refused the user name or password: trying again soon will not help.
    #[error("the server refused the user name or password")]
    Auth,
    /// The server cannot be reached, the connection broke, or TLS failed.
    #[error("cannot reach the server: {0}")]
    Connect(String),
    /// The server answered something we cannot go on from (a missing folder, a refused command).
    #[error("the server refused: {0}")]
    Protocol(String),
    /// A network step took longer than the server's timeout.
    #[error("the server did not answer in time")]
    Timeout,
}

/// A mail as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub uid: u32,
    pub raw: Vec<u8>,
}

/// A logged-in session with one folder selected (read-write, so flags can be set).
pub struct Session {
    /// Taken while IDLE runs (async-imap's IDLE owns the session); `None` afterwards only if the
    /// connection broke in the middle, and then every call answers `Connect`.
    session: Option<async_imap::Session<Stream>>,
    uid_validity: u32,
    idle: bool,
    can_move: bool,
    uidplus: bool,
    timeout: Duration,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("uid_validity", &self.uid_validity)
            .field("idle", &self.idle)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Connects, logs in and selects `folder`.
    pub async fn connect(server: &Server, folder: &str) -> Result<Session, MailError> {
        let limit = server.timeout;
        let tcp = timeout(limit, TcpStream::connect((server.host.as_str(), server.port)))
            .await
            .map_err(|_| MailError::Timeout)?
            .map_err(|e| MailError::Connect(format!("{}:{}: {e}", server.host, server.port)))?;
        let _ = tcp.set_nodelay(true);
        let client = match server.security {
            Security::Plain => greeted(async_imap::Client::new(Stream::Plain(tcp)), limit).await?,
            Security::Tls => {
                let tls = handshake(server, tcp).await?;
                greeted(async_imap::Client::new(Stream::Tls(Box::new(tls))), limit).await?
            }
            Security::StartTls => {
                // RFC 3501 §6.2.1: STARTTLS, then the TLS handshake, then a fresh start (no
                // greeting, capabilities asked again).
                let mut client = greeted(async_imap::Client::new(Stream::Plain(tcp)), limit).await?;
                step(limit, client.run_command_and_check_ok("STARTTLS", None)).await?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    unreachable!("STARTTLS runs on a plain stream")
                };
                let tls = handshake(server, tcp).await?;
                async_imap::Client::new(Stream::Tls(Box::new(tls)))
            }
        };
        let mut session = match timeout(limit, client.login(&server.user, &server.password)).await {
            Err(_) => return Err(MailError::Timeout),
            Ok(Ok(session)) => session,
            // RFC 3501 §6.2.3: NO is a refused login; an unsendable password is one too.
            Ok(Err((ImapError::No(_) | ImapError::Validate(_), _))) => return Err(MailError::Auth),
            Ok(Err((e, _))) => return Err(imap_error(e)),
        };
        let capabilities = step(limit, session.capabilities()).await?;
        let mailbox = step(limit, session.select(mailbox_name(folder)))
            .await
            .map_err(|e| match e {
                MailError::Protocol(reason) => {
                    MailError::Protocol(format!("cannot open folder {folder:?}: {reason}"))
                }
                other => other,
            })?;
        let uid_validity = mailbox
            .uid_validity
            .ok_or_else(|| MailError::Protocol(format!("folder {folder:?} has no UIDVALIDITY")))?;
        tracing::debug!(host = %server.host, user = %server.user, folder, uid_validity, "IMAP session open");
        Ok(Session {
            session: Some(session),
            uid_validity,
            idle: capabilities.has_str("IDLE"),
            can_move: capabilities.has_str("MOVE"),
            uidplus: capabilities.has_str("UIDPLUS"),
            timeout: limit,
        })
    }

    /// The folder's UIDVALIDITY when it was selected: when it differs from the one the hub stored,
    /// the UIDs it stored mean nothing any more (RFC 3501 §2.3.1.1) and it starts again from 0,
    /// relying on Message-IDs to skip what it already has.
    pub fn uid_validity(&self) -> u32 {
        self.uid_validity
    }

    /// Whether the server offers IDLE (RFC 2177), so `wait` hears of new mail at once.
    pub fn supports_idle(&self) -> bool {
        self.idle
    }

    /// Up to `max` mails with a UID above `last_uid`, oldest first, without marking them `\Seen`
    /// (BODY.PEEK): a mail is only marked once the hub has committed it. No more than `max_bytes`
    /// in all, by the sizes the server gives, except that the first mail always comes (however
    /// big: the caller refuses it by its own limit), so a run of huge mails is fetched a few at a
    /// time rather than all at once.
    pub async fn fetch_after(
        &mut self,
        last_uid: u32,
        max: usize,
        max_bytes: u64,
    ) -> Result<Vec<Fetched>, MailError> {
        let limit = self.timeout;
        let session = self.session()?;
        if max == 0 || last_uid == u32::MAX {
            return Ok(Vec::new());
        }
        // RFC 3501 §6.1.2: NOOP is how a client asks for new mail. Servers (Dovecot among them)
        // bring a selected folder up to date between commands, so without it a search would not
        // see mail delivered since the last one. What it announces, the search below covers; news
        // arriving after it stays queued for `wait`.
        step(limit, session.noop()).await?;
        while session.unsolicited_responses.try_recv().is_ok() {}
        // RFC 3501 §6.4.8: `n:*` always includes the last mail, even when its UID is below n.
        let found = step(limit, session.uid_search(format!("UID {}:*", last_uid + 1))).await?;
        let mut uids: Vec<u32> = found.into_iter().filter(|uid| *uid > last_uid).collect();
        uids.sort_unstable();
        uids.truncate(max);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        if uids.len() > 1 {
            let mut sizes = Vec::with_capacity(uids.len());
            let mut answers = step(limit, session.uid_fetch(uid_set(&uids), "(UID RFC822.SIZE)")).await?;
            loop {
                let next = timeout(limit, answers.next())
                    .await
                    .map_err(|_| MailError::Timeout)?;
                let Some(fetch) = next else { break };
                let fetch = fetch.map_err(imap_error)?;
                if let (Some(uid), Some(size)) = (fetch.uid, fetch.size) {
                    sizes.push((uid, u64::from(size)));
                }
            }
            drop(answers);
            sizes.sort_unstable();
            let mut total = 0u64;
            let within = sizes
                .iter()
                .take_while(|(_, size)| {
                    total = total.saturating_add(*size);
                    total <= max_bytes
                })
                .count()
                .max(1);
            let last_within = sizes.get(within - 1).map(|(uid, _)| *uid);
            if let Some(last_within) = last_within {
                uids.retain(|uid| *uid <= last_within);
            }
        }
        let mut fetches = step(limit, session.uid_fetch(uid_set(&uids), "(UID BODY.PEEK[])")).await?;
        let mut mails = Vec::with_capacity(uids.len());
        loop {
            let next = timeout(limit, fetches.next())
                .await
                .map_err(|_| MailError::Timeout)?;
            let Some(fetch) = next else { break };
            let fetch = fetch.map_err(imap_error)?;
            // A FETCH without a UID is an unsolicited flag update for another mail.
            if let (Some(uid), Some(body)) = (fetch.uid, fetch.body())
                && uids.binary_search(&uid).is_ok()
            {
                mails.push(Fetched {
                    uid,
                    raw: body.to_vec(),
                });
            }
        }
        mails.sort_unstable_by_key(|m| m.uid);
        mails.dedup_by_key(|m| m.uid);
        Ok(mails)
    }

    /// Marks these mails `\Seen`, once the hub has committed them.
    pub async fn mark_seen(&mut self, uids: &[u32]) -> Result<(), MailError> {
        if uids.is_empty() {
            return Ok(());
        }
        self.store(uids, "+FLAGS.SILENT (\\Seen)").await
    }

    /// Moves these mails to `folder` (RFC 6851 MOVE where offered, else COPY, `\Deleted` and
    /// EXPUNGE, by UID where UIDPLUS allows, so no other deleted mail goes with them).
    pub async fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<(), MailError> {
        if uids.is_empty() {
            return Ok(());
        }
        let limit = self.timeout;
        let set = uid_set(uids);
        let folder = mailbox_name(folder);
        let (can_move, uidplus) = (self.can_move, self.uidplus);
        let session = self.session()?;
        if can_move {
            return step(limit, session.uid_mv(&set, &folder)).await;
        }
        step(limit, session.uid_copy(&set, &folder)).await?;
        self.store(uids, "+FLAGS.SILENT (\\Deleted)").await?;
        let session = self.session()?;
        if uidplus {
            let expunged = step(limit, session.uid_expunge(&set)).await?;
            drain(limit, expunged).await
        } else {
            let expunged = step(limit, session.expunge()).await?;
            drain(limit, expunged).await
        }
    }

    /// Waits until the folder changes or `max` passes (at most 29 minutes), whichever is first:
    /// IDLE where the server offers it, else a plain sleep (the hub polls). Returns at once when
    /// the server already said, during an earlier command, that mail arrived.
    pub async fn wait(&mut self, max: Duration) -> Result<(), MailError> {
        let limit = self.timeout;
        if !self.idle {
            tokio::time::sleep(max).await;
            return Ok(());
        }
        let session = self.session()?;
        let mut changed = false;
        while let Ok(news) = session.unsolicited_responses.try_recv() {
            if let UnsolicitedResponse::Other(data) = &news {
                stale(data.parsed())?;
            }
            changed |= matches!(
                news,
                UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
            );
        }
        if changed {
            return Ok(());
        }
        let session = self.session.take().expect("checked above");
        let mut idle = session.idle();
        step(limit, idle.init()).await?;
        let max = max.min(MAX_IDLE);
        let (news, stop) = idle.wait_with_timeout(max);
        // async-imap restarts its timeout after each keep-alive; this one bounds the whole wait.
        let outcome = timeout(max + limit, news).await;
        drop(stop);
        let session = step(limit, idle.done()).await?;
        self.session = Some(session);
        match outcome {
            Ok(Err(e)) => Err(imap_error(e)),
            Ok(Ok(IdleResponse::NewData(data))) => stale(data.parsed()),
            Ok(Ok(_)) | Err(_) => Ok(()),
        }
    }

    /// Logs out politely (the hub may also just drop the session).
    pub async fn logout(mut self) -> Result<(), MailError> {
        let limit = self.timeout;
        step(limit, self.session()?.logout()).await
    }

    fn session(&mut self) -> Result<&mut async_imap::Session<Stream>, MailError> {
        self.session
            .as_mut()
            .ok_or_else(|| MailError::Connect("the connection broke during IDLE".into()))
    }

    async fn store(&mut self, uids: &[u32], change: &str) -> Result<(), MailError> {
        let limit = self.timeout;
        let session = self.session()?;
        let updates = step(limit, session.uid_store(uid_set(uids), change)).await?;
        drain(limit, updates).await
    }
}

/// A folder name as IMAP carries it (RFC 3501 §5.1.3, "modified UTF-7"): ASCII as it is but `&`
/// as `&-`, every other run of characters as UTF-16 in base64 (with `,` for `/`) between `&` and
/// `-`. So a site can name its folder "已处理".
pub fn mailbox_name(name: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
    fn flush(utf16: &mut Vec<u8>, out: &mut String) {
        if utf16.is_empty() {
            return;
        }
        out.push('&');
        for chunk in utf16.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out.push('-');
        utf16.clear();
    }
    let mut out = String::with_capacity(name.len());
    let mut utf16 = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut utf16, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                utf16.extend_from_slice(&unit.to_be_bytes());
            }
        }
    }
    flush(&mut utf16, &mut out);
    out
}

/// RFC 3501 §9 sequence-set of UIDs: runs as `a:b`, the rest comma-separated.
fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// One network step, bounded by `limit`.
async fn step<T>(
    limit: Duration,
    work: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, MailError> {
    timeout(limit, work)
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(imap_error)
}

/// Reads a command's responses to the end, each within `limit`.
async fn drain<T>(
    limit: Duration,
    responses: impl futures_util::Stream<Item = async_imap::error::Result<T>>,
) -> Result<(), MailError> {
    let mut responses = std::pin::pin!(responses);
    loop {
        match timeout(limit, responses.next()).await {
            Err(_) => return Err(MailError::Timeout),
            Ok(None) => return Ok(()),
            Ok(Some(Err(e))) => return Err(imap_error(e)),
            Ok(Some(Ok(_))) => {}
        }
    }
}

fn imap_error(e: ImapError) -> MailError {
    match e {
        ImapError::Io(e) if e.kind() == io::ErrorKind::TimedOut => MailError::Timeout,
        ImapError::Io(e) => MailError::Connect(e.to_string()),
        ImapError::ConnectionLost => MailError::Connect("the server closed the connection".into()),
        ImapError::No(reason) | ImapError::Bad(reason) => MailError::Protocol(reason),
        // Never echo what could not be sent: it may have been part of a credential.
        ImapError::Validate(_) => MailError::Protocol("an argument has a character IMAP cannot send".into()),
        other => MailError::Protocol(other.to_string()),
    }
}

/// An untagged NO, BAD or BYE while the session waits: the server can no longer serve the folder
/// this session selected (Dovecot says `NO Internal error` to a session whose folder was deleted
/// and made again under it, and shows it nothing new after). The session ends, so the next one
/// selects the folder afresh and, finding a new UIDVALIDITY, fetches it all again; without this
/// the loop woke at once, fetched nothing and waited again, for ever.
fn stale(response: &Response<'_>) -> Result<(), MailError> {
    match response {
        Response::Data {
            status: Status::No | Status::Bad | Status::Bye,
            outcome,
        } => Err(MailError::Connect(format!(
            "the server can no longer serve the folder: {}",
            outcome.information.as_deref().unwrap_or("(no reason given)")
        ))),
        _ => Ok(()),
    }
}

/// Reads the server's greeting (RFC 3501 §7.1): OK goes on, BYE means it will not serve us.
async fn greeted(
    mut client: async_imap::Client<Stream>,
    limit: Duration,
) -> Result<async_imap::Client<Stream>, MailError> {
    let greeting = timeout(limit, client.read_response())
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(|e| MailError::Connect(e.to_string()))?
        .ok_or_else(|| MailError::Connect("the server closed the connection at once".into()))?;
    match greeting.parsed() {
        Response::Data {
            status: Status::Ok | Status::PreAuth,
            ..
        } => Ok(client),
        Response::Data {
            status: Status::Bye,
            outcome,
        } => Err(MailError::Connect(format!(
            "the server said goodbye: {}",
            outcome.information.as_deref().unwrap_or("")
        ))),
        _ => Err(MailError::Protocol("not an IMAP greeting".into())),
    }
}

async fn handshake(
    server: &Server,
    tcp: TcpStream,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, MailError> {
    let config = tls_config(server).map_err(MailError::Connect)?;
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|_| MailError::Connect(format!("{:?} is not a host name", server.host)))?;
    let connector = tokio_rustls::TlsConnector::from(config);
    timeout(server.timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| MailError::Timeout)?
        .map_err(|e| MailError::Connect(format!("TLS with {}: {e}", server.host)))
}

/// The connection under the IMAP client, with or without TLS.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_in_modified_utf7() {
        // RFC 3501 §5.1.3's own example.
        assert_eq!(
            mailbox_name("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(mailbox_name("INBOX"), "INBOX");
        assert_eq!(mailbox_name("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(mailbox_name("已处理"), "&XfJZBHQG-");
        assert_eq!(mailbox_name("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(mailbox_name("😀"), "&2D3eAA-");
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[1]), "1");
        assert_eq!(uid_set(&[3, 1, 2, 2]), "1:3");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
    }

    /// A server that accepts the connection and never says a word: connecting gives up after the
    /// timeout instead of hanging.
    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _hold = tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let mut server = Server::new("127.0.0.1", port, Security::Plain, "u", "p");
        server.timeout = Duration::from_millis(300);
        let started = std::time::Instant::now();
        let err = Session::connect(&server, "INBOX").await.unwrap_err();
        assert_eq!(err, MailError::Timeout);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    /// A server that greets with BYE (overloaded, shutting down) is a connection failure.
    #[tokio::test]
    async fn a_server_saying_bye_is_a_connect_error() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = socket.write_all(b"* BYE Too many connections\r\n").await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let server = Server::new("127.0.0.1", port, Security::Plain, "u", "p");
        match Session::connect(&server, "INBOX").await {
            Err(MailError::Connect(reason)) => assert!(reason.contains("Too many"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
