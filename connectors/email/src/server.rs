//! Where a mailbox's mail servers are and how to log in to them: the settings `imap::Session` and
//! `smtp::Sender` connect with, and the one TLS configuration (rustls with ring, the web PKI roots,
//! plus a CA file of the site's own) that IMAP uses. No IO apart from reading that CA file.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long one network step (connect, TLS handshake, login, one command) may take by default
/// before the server counts as dead.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// No TLS: only for a server on the same machine or a trusted network (and the tests).
    Plain,
    /// Plain connect, then STARTTLS before logging in (IMAP on 143, SMTP submission on 587).
    StartTls,
    /// TLS from the first byte (IMAPS on 993, SMTPS on 465).
    Tls,
}

/// One mail server and the account on it.
#[derive(Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub user: String,
    /// Never logged, never in an error, left out of `Debug`.
    pub password: String,
    /// A PEM file of CA certificates trusted besides the web PKI roots: for a site whose mail
    /// server has a certificate from its own CA. There is deliberately no "accept any
    /// certificate" switch.
    pub ca_file: Option<PathBuf>,
    /// How long one network step may take (`DEFAULT_TIMEOUT` unless set).
    pub timeout: Duration,
}

impl Server {
    pub fn new(
        host: impl Into<String>,
        port: u16,
        security: Security,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Server {
        Server {
            host: host.into(),
            port,
            security,
            user: user.into(),
            password: password.into(),
            ca_file: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The client TLS configuration for `server`: ring as the one crypto provider (as lettre's
/// rustls uses, so no process-wide default has to be installed), the web PKI roots and the
/// server's own CA file if it has one.
pub(crate) fn tls_config(server: &Server) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &server.ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("reading CA file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("CA file {}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let server = Server::new("imap.example.com", 993, Security::Tls, "support", "hunter2");
        assert!(!format!("{server:?}").contains("hunter2"));
    }

    #[test]
    fn a_missing_ca_file_is_an_error_not_a_panic() {
        let mut server = Server::new("imap.example.com", 993, Security::Tls, "u", "p");
        assert!(tls_config(&server).is_ok());
        server.ca_file = Some("/nonexistent/ca.pem".into());
        let err = tls_config(&server).unwrap_err();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    }
}
