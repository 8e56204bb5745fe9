//! The last step of a reply: the hub's `Outbound`, composed (`compose`), goes to the mailbox's
//! SMTP server, and what became of it comes back as a `Delivery`. A thin async shell over lettre:
//! a 5xx reply is a permanent failure (the address or the mail is refused; retrying cannot help),
//! a 4xx reply, a broken connection or a timeout a transient one for the hub to retry. The reason
//! is the server's own reply text, never the password.

use crate::compose::compose;
use crate::parse::Address;
use crate::server::tls_config;
pub use crate::server::{Security, Server};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use plugboard_channel::{Delivery, Outbound};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Connections kept open between sends, at most.
const MAX_IDLE: usize = 4;
/// An idle connection older than this is not reused: servers drop idle clients (RFC 5321
/// §4.5.3.2.7 suggests after 5 minutes), and a fresh one costs less than a failed send.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// Sends a mailbox's mail through its SMTP server, reusing connections between sends. Clones
/// share the connections.
///
/// The connections are ours rather than lettre's pool, to set TCP_NODELAY: lettre writes a
/// mail's end (`.`) apart from its text, and with Nagle's algorithm that last write waits for the
/// server's delayed ACK, about 40 ms a mail (22 mails/s measured, whatever the server).
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    server: Server,
    /// For STARTTLS and implicit TLS; an unreadable CA file is a reason every send fails with
    /// (transiently, so fixing it lets the queued mail go).
    tls: Result<Option<TlsParameters>, String>,
    idle: Mutex<Vec<(Instant, AsyncSmtpConnection)>>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("server", &self.inner.server)
            .finish_non_exhaustive()
    }
}

impl Sender {
    pub fn new(server: &Server) -> Sender {
        Sender {
            inner: Arc::new(Inner {
                server: server.clone(),
                tls: tls_parameters(server),
                idle: Mutex::default(),
            }),
        }
    }

    /// Composes `out` (see `compose::compose`) and sends it from `from` to its To and Cc.
    pub async fn send(
        &self,
        out: &Outbound,
        from: &Address,
        signature: Option<&str>,
        domain: &str,
    ) -> Delivery {
        let (raw, message_id) = match compose(out, from, signature, domain) {
            Ok(composed) => composed,
            Err(e) => {
                return Delivery::Failed {
                    reason: e.to_string(),
                    permanent: true,
                };
            }
        };
        let mut recipients = out.to.clone();
        if let Some(cc) = out.details.get("cc").and_then(|cc| cc.as_array()) {
            recipients.extend(cc.iter().filter_map(|a| a.as_str()).map(str::to_owned));
        }
        match self.send_raw(&from.email, &recipients, &raw).await {
            Ok(()) => Delivery::Sent {
                external_id: message_id,
            },
            Err(failed) => failed,
        }
    }

    /// Sends mail already composed, with this envelope (RFC 5321 §3.3): `from` the return
    /// path, each of `recipients` (`a@b` or `Name <a@b>`) a RCPT TO. A kept connection the
    /// server has closed meanwhile is replaced once, without counting as a failed attempt.
    pub async fn send_raw(&self, from: &str, recipients: &[String], raw: &[u8]) -> Result<(), Delivery> {
        let envelope = envelope(from, recipients).map_err(|reason| Delivery::Failed {
            reason,
            permanent: true,
        })?;
        if let Some(mut kept) = self.kept() {
            match self.send_on(&mut kept, &envelope, raw).await {
                Ok(()) => {
                    self.keep(kept);
                    return Ok(());
                }
                // The server answered: that is the answer. Otherwise the connection was stale.
                Err(Some(e)) if e.status().is_some() => return Err(delivery_failure(&e)),
                Err(_) => {}
            }
        }
        let mut fresh = self.connect().await?;
        match self.send_on(&mut fresh, &envelope, raw).await {
            Ok(()) => {
                self.keep(fresh);
                Ok(())
            }
            Err(Some(e)) => Err(delivery_failure(&e)),
            Err(None) => Err(transient("the SMTP server did not answer in time".into())),
        }
    }

    /// One mail on one connection, bounded in time; `Err(None)` is a timeout.
    async fn send_on(
        &self,
        connection: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        raw: &[u8],
    ) -> Result<(), Option<lettre::transport::smtp::Error>> {
        // Time for a large mail on a slow link.
        let limit = self.inner.server.timeout * 4 + Duration::from_secs(raw.len() as u64 / 65_536);
        match tokio::time::timeout(limit, connection.send(envelope, raw)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Some(e)),
            Err(_) => Err(None),
        }
    }

    fn kept(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((since, connection)) = idle.pop() {
            if since.elapsed() < IDLE_FOR && !connection.has_broken() {
                return Some(connection);
            }
        }
        None
    }

    fn keep(&self, connection: AsyncSmtpConnection) {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE && !connection.has_broken() {
            idle.push((Instant::now(), connection));
        }
    }

    /// A new connection: TCP (with TCP_NODELAY), TLS at once or after STARTTLS as the server's
    /// settings say, EHLO, and the login when there is a user.
    async fn connect(&self) -> Result<AsyncSmtpConnection, Delivery> {
        let server = &self.inner.server;
        let tls = self
            .inner
            .tls
            .clone()
            .map_err(|reason| transient(format!("mailbox SMTP settings: {reason}")))?;
        let limit = server.timeout;
        let within = |what: &str| transient(format!("{what}: the SMTP server did not answer in time"));
        let tcp = tokio::time::timeout(limit, TcpStream::connect((server.host.as_str(), server.port)))
            .await
            .map_err(|_| within("connecting"))?
            .map_err(|e| transient(format!("connecting to {}:{}: {e}", server.host, server.port)))?;
        tcp.set_nodelay(true)
            .map_err(|e| transient(format!("connecting to {}: {e}", server.host)))?;
        let stream: Box<dyn AsyncTokioStream> = if server.security == Security::Tls {
            Box::new(implicit_tls(server, tcp).await?)
        } else {
            Box::new(tcp)
        };
        let hello = ClientId::default();
        let mut connection =
            tokio::time::timeout(limit, AsyncSmtpConnection::connect_with_transport(stream, &hello))
                .await
                .map_err(|_| within("greeting"))?
                .map_err(|e| delivery_failure(&e))?;
        // Parameters are there for STARTTLS only.
        if let Some(parameters) = tls {
            tokio::time::timeout(limit, connection.starttls(parameters, &hello))
                .await
                .map_err(|_| within("STARTTLS"))?
                .map_err(|e| delivery_failure(&e))?;
        }
        if !server.user.is_empty() {
            let credentials = Credentials::new(server.user.clone(), server.password.clone());
            tokio::time::timeout(
                limit,
                connection.auth(&[Mechanism::Plain, Mechanism::Login], &credentials),
            )
            .await
            .map_err(|_| within("login"))?
            .map_err(|e| delivery_failure(&e))?;
        }
        Ok(connection)
    }
}

fn transient(reason: String) -> Delivery {
    Delivery::Failed {
        reason,
        permanent: false,
    }
}

/// lettre's TLS settings for STARTTLS (the server's CA when one is given), `None` for plain
/// connections and for implicit TLS (which we set up ourselves, with `tls_config`).
fn tls_parameters(server: &Server) -> Result<Option<TlsParameters>, String> {
    match server.security {
        Security::Plain => Ok(None),
        Security::Tls => tls_config(server).map(|_| None),
        Security::StartTls => {
            let mut tls = TlsParameters::builder(server.host.clone());
            if let Some(path) = &server.ca_file {
                let pem =
                    std::fs::read(path).map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
                let ca =
                    Certificate::from_pem(&pem).map_err(|e| format!("CA file {}: {e}", path.display()))?;
                tls = tls.add_root_certificate(ca);
            }
            tls.build_rustls().map(Some).map_err(|e| e.to_string())
        }
    }
}

/// SMTP over TLS from the first byte (RFC 8314, port 465).
async fn implicit_tls(server: &Server, tcp: TcpStream) -> Result<TlsConnection, Delivery> {
    let config =
        tls_config(server).map_err(|reason| transient(format!("mailbox SMTP settings: {reason}")))?;
    let name =
        rustls::pki_types::ServerName::try_from(server.host.clone()).map_err(|_| Delivery::Failed {
            reason: format!("{:?} is not a host name", server.host),
            permanent: true,
        })?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let stream = tokio::time::timeout(server.timeout, connector.connect(name, tcp))
        .await
        .map_err(|_| transient("TLS: the SMTP server did not answer in time".into()))?
        .map_err(|e| transient(format!("TLS with {}: {e}", server.host)))?;
    Ok(TlsConnection(stream))
}

/// A TLS connection as lettre takes one.
#[derive(Debug)]
struct TlsConnection(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncTokioStream for TlsConnection {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

fn envelope(from: &str, recipients: &[String]) -> Result<Envelope, String> {
    let address = |a: &str| -> Result<lettre::Address, String> {
        let a = a.trim();
        if let Ok(mailbox) = a.parse::<lettre::message::Mailbox>() {
            return Ok(mailbox.email);
        }
        a.parse().map_err(|_| format!("not an email address: {a}"))
    };
    let to = recipients
        .iter()
        .map(|r| address(r))
        .collect::<Result<Vec<_>, _>>()?;
    Envelope::new(Some(address(from)?), to).map_err(|e| e.to_string())
}

/// RFC 5321 §4.2.1: 5yz is a permanent negative reply, 4yz a transient one. Anything that is not a
/// reply (the connection, TLS, a timeout) may pass, so it is transient too.
fn delivery_failure(e: &lettre::transport::smtp::Error) -> Delivery {
    Delivery::Failed {
        reason: reply_text(e),
        permanent: e.is_permanent(),
    }
}

/// The server's reply as it said it (`550 5.1.1 <x@y>: Recipient address rejected`), or what went
/// wrong on the way.
fn reply_text(e: &lettre::transport::smtp::Error) -> String {
    match (e.status(), std::error::Error::source(e)) {
        (Some(code), Some(text)) => format!("{code} {text}"),
        (Some(code), None) => code.to_string(),
        _ if e.is_timeout() => "the SMTP server did not answer in time".into(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_channel::Channel;
    use serde_json::json;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A tiny SMTP server for one connection: answers each command from `script` in turn
    /// (RFC 5321 §4.1), so a test decides which reply a step gets, then says yes to anything.
    async fn one_shot(script: &'static [&'static str]) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
            for reply in script {
                if lines.next_line().await.unwrap().is_none() {
                    return;
                }
                write.write_all(format!("{reply}\r\n").as_bytes()).await.unwrap();
            }
            // Whatever follows (RSET, QUIT) is fine by us.
            while let Ok(Some(_)) = lines.next_line().await {
                let _ = write.write_all(b"250 2.0.0 Ok\r\n").await;
            }
        });
        port
    }

    fn out() -> Outbound {
        Outbound {
            id: "0190f3a2-9000-7abc-9def-0123456789ab".into(),
            channel: Channel::Email,
            entry_point: "mailbox:support".into(),
            to: vec!["customer@example.net".into()],
            body: "Hello".into(),
            details: json!({"interaction_id": "0190f3a2-7b1c-7cde-8f00-1234567890ab", "subject": "Hi"}),
            attachments: vec![],
        }
    }

    fn support() -> Address {
        Address {
            name: None,
            email: "support@example.com".into(),
        }
    }

    #[tokio::test]
    async fn a_refused_recipient_is_permanent_and_says_why() {
        let port = one_shot(&[
            "250 sink",
            "250 2.1.0 Ok",
            "550 5.1.1 <customer@example.net>: Recipient address rejected",
        ])
        .await;
        let mut server = Server::new("127.0.0.1", port, Security::Plain, "", "");
        server.timeout = Duration::from_secs(2);
        let sender = Sender::new(&server);
        match sender.send(&out(), &support(), None, "example.com").await {
            Delivery::Failed { reason, permanent } => {
                assert!(permanent);
                assert!(reason.starts_with("550 "), "{reason}");
                assert!(reason.contains("Recipient address rejected"), "{reason}");
            }
            sent => panic!("{sent:?}"),
        }
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_transient() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (_socket, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let mut server = Server::new("127.0.0.1", port, Security::Plain, "", "");
        server.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        let delivery = Sender::new(&server)
            .send(&out(), &support(), None, "example.com")
            .await;
        assert!(
            matches!(delivery, Delivery::Failed { permanent: false, .. }),
            "{delivery:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn what_cannot_be_composed_is_never_retried() {
        let sender = Sender::new(&Server::new("127.0.0.1", 9, Security::Plain, "", ""));
        let mut bad = out();
        bad.details = json!({"subject": "no interaction"});
        let delivery = sender.send(&bad, &support(), None, "example.com").await;
        assert!(
            matches!(delivery, Delivery::Failed { permanent: true, .. }),
            "{delivery:?}"
        );
    }

    #[tokio::test]
    async fn an_unreadable_ca_file_fails_sends_with_its_name_and_never_the_password() {
        let mut server = Server::new("127.0.0.1", 9, Security::StartTls, "u", "s3cret-pass");
        server.ca_file = Some("/nonexistent/ca.pem".into());
        match Sender::new(&server)
            .send(&out(), &support(), None, "example.com")
            .await
        {
            Delivery::Failed { reason, permanent } => {
                assert!(!permanent, "fixing the settings lets the mail go");
                assert!(reason.contains("/nonexistent/ca.pem"), "{reason}");
                assert!(!reason.contains("s3cret-pass"), "{reason}");
            }
            sent => panic!("{sent:?}"),
        }
    }
}
