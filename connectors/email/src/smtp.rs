//! The last step of a reply: the hub's `Outbound`, composed (`compose`), goes to the mailbox's
//! SMTP server, and what became of it comes back as a `Delivery`. A thin async shell over lettre:
//! a 5xx reply is a permanent failure (the address or the mail is refused; retrying cannot help),
//! a 4xx reply, a broken connection or a timeout a transient one for the hub to retry. The reason
//! is the server's own reply text, never the password.

use crate::compose::compose;
use crate::imap::MailError;
use crate::parse::Address;
pub use crate::server::{Security, Server};
use lettre::address::Envelope;
use lettre::transport::smtp::AsyncSmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncTransport, Tokio1Executor};
use plugboard_channel::{Delivery, Outbound};
use std::time::Duration;

/// Sends a mailbox's mail through its SMTP server, reusing connections between sends.
#[derive(Clone)]
pub struct Sender {
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
    timeout: Duration,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender")
            .field("usable", &self.transport.is_ok())
            .finish_non_exhaustive()
    }
}

impl Sender {
    /// A sender for `server`. Settings that cannot work (an unreadable CA file) make every send
    /// fail with the reason, transiently, so fixing them lets the queued mail go; `try_new` tells
    /// at once, for an admin saving the settings.
    pub fn new(server: &Server) -> Sender {
        Sender {
            transport: transport(server),
            timeout: server.timeout,
        }
    }

    pub fn try_new(server: &Server) -> Result<Sender, MailError> {
        let sender = Sender::new(server);
        match &sender.transport {
            Ok(_) => Ok(sender),
            Err(reason) => Err(MailError::Connect(reason.clone())),
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
    /// path, each of `recipients` (`a@b` or `Name <a@b>`) a RCPT TO.
    pub async fn send_raw(&self, from: &str, recipients: &[String], raw: &[u8]) -> Result<(), Delivery> {
        let failed = |reason: String, permanent| Delivery::Failed { reason, permanent };
        let transport = self
            .transport
            .as_ref()
            .map_err(|reason| failed(format!("mailbox SMTP settings: {reason}"), false))?;
        let envelope = envelope(from, recipients).map_err(|reason| failed(reason, true))?;
        // lettre bounds only the connect on tokio; this bounds the whole conversation, with time
        // for a large mail on a slow link.
        let limit = self.timeout * 4 + Duration::from_secs(raw.len() as u64 / 65_536);
        match tokio::time::timeout(limit, transport.send_raw(&envelope, raw)).await {
            Err(_) => Err(failed("the SMTP server did not answer in time".into(), false)),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(delivery_failure(&e)),
        }
    }

    /// Connects, says EHLO, logs in and leaves: whether this server takes our mail, for the
    /// mailbox's admin page.
    pub async fn check(&self) -> Result<(), MailError> {
        let transport = self
            .transport
            .as_ref()
            .map_err(|r| MailError::Connect(r.clone()))?;
        match tokio::time::timeout(self.timeout * 2, transport.test_connection()).await {
            Err(_) => Err(MailError::Timeout),
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(MailError::Connect("the SMTP server did not accept us".into())),
            Ok(Err(e)) if e.status().is_some_and(|c| c.to_string() == "535") => Err(MailError::Auth),
            Ok(Err(e)) if e.is_timeout() => Err(MailError::Timeout),
            Ok(Err(e)) => Err(MailError::Connect(reply_text(&e))),
        }
    }
}

fn transport(server: &Server) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.as_str())
        .port(server.port)
        .timeout(Some(server.timeout));
    if server.security != Security::Plain {
        let mut tls = TlsParameters::builder(server.host.clone());
        if let Some(path) = &server.ca_file {
            let pem = std::fs::read(path).map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
            let ca = Certificate::from_pem(&pem).map_err(|e| format!("CA file {}: {e}", path.display()))?;
            tls = tls.add_root_certificate(ca);
        }
        let tls = tls.build_rustls().map_err(|e| e.to_string())?;
        builder = builder.tls(match server.security {
            Security::StartTls => Tls::Required(tls),
            _ => Tls::Wrapper(tls),
        });
    }
    if !server.user.is_empty() {
        builder = builder.credentials(Credentials::new(server.user.clone(), server.password.clone()));
    }
    Ok(builder.build())
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

    #[test]
    fn the_password_is_not_in_the_settings_error() {
        let mut server = Server::new("smtp.example.com", 465, Security::Tls, "u", "s3cret-pass");
        server.ca_file = Some("/nonexistent/ca.pem".into());
        let err = Sender::try_new(&server).unwrap_err();
        assert!(!err.to_string().contains("s3cret-pass"));
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
