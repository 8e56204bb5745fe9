//! TLS certificates from PEM files, read again when the files change (a renewal by certbot or an
//! operator), for SIP over TLS and the hub's HTTPS alike: no restart, and calls and consoles
//! already connected keep their sessions. The files are looked at on a handshake, at most once a
//! second; a renewal that does not load (a key that does not match, half a file) is logged and
//! the certificate in use stays.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// How often a handshake may look at the files.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// A rustls server configuration presenting the chain in `cert` and its private key in `key`,
/// renewed as the files change: the ring provider (the one every crate here uses, so no
/// process-wide default is needed), TLS 1.2 and 1.3, no client certificates. An error when the
/// files do not hold a chain and its key now.
pub fn server_config(cert: &Path, key: &Path) -> io::Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = Reloading::new(cert, key, provider.clone())?;
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(cert, &e))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver)))
}

fn bad(what: &Path, e: &dyn std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", what.display()))
}

/// When each file was last changed, as far as the file system says.
type Stamp = (Option<SystemTime>, Option<SystemTime>);

#[derive(Debug)]
struct Reloading {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<CryptoProvider>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    stamp: Stamp,
    checked: Instant,
    current: Arc<CertifiedKey>,
}

impl Reloading {
    fn new(cert: &Path, key: &Path, provider: Arc<CryptoProvider>) -> io::Result<Reloading> {
        let stamp = stamp(cert, key);
        let current = Arc::new(load(cert, key, &provider)?);
        Ok(Reloading {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            state: Mutex::new(State {
                stamp,
                checked: Instant::now(),
                current,
            }),
        })
    }
}

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let changed = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (changed(cert), changed(key))
}

fn load(cert: &Path, key: &Path, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| bad(cert, &e))?;
    if chain.is_empty() {
        return Err(bad(cert, &"no certificate in the file"));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, &e))?;
    CertifiedKey::from_der(chain, private, provider).map_err(|e| bad(key, &e))
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.checked.elapsed() >= CHECK_EVERY {
            state.checked = Instant::now();
            let now = stamp(&self.cert, &self.key);
            if now != state.stamp {
                match load(&self.cert, &self.key, &self.provider) {
                    Ok(renewed) => {
                        tracing::info!(cert = %self.cert.display(), "TLS certificate renewed");
                        state.current = Arc::new(renewed);
                        state.stamp = now;
                    }
                    // Tried again at the next check: the renewal may be half written.
                    Err(e) => {
                        tracing::warn!(error = %e, "the renewed TLS certificate does not load: keeping the one in use")
                    }
                }
            }
        }
        Some(state.current.clone())
    }
}
