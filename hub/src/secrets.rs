//! Secrets the hub must keep and use again (mailbox passwords, platform tokens), sealed at rest
//! with the hub's key (XChaCha20-Poly1305): the database alone gives none of them away, and the
//! API never returns them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use std::path::Path;

const NONCE: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret key must be 32 bytes in base64")]
    BadKey,
    #[error("a sealed secret does not open with this hub's key (was secret_key changed?)")]
    WrongKey,
    #[error("could not read or make the secret key file: {0}")]
    File(#[from] std::io::Error),
}

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    pub fn from_base64(key: &str) -> Result<Sealer, SecretError> {
        let bytes = STANDARD.decode(key.trim()).map_err(|_| SecretError::BadKey)?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| SecretError::BadKey)?;
        Ok(Sealer { cipher })
    }

    /// The configured key, else the one in `data_dir/secret.key` (made there, readable by the
    /// owner only, the first time).
    pub fn load(configured: Option<&str>, data_dir: &Path) -> Result<Sealer, SecretError> {
        if let Some(key) = configured {
            return Sealer::from_base64(key);
        }
        let file = data_dir.join("secret.key");
        match std::fs::read_to_string(&file) {
            Ok(key) => Sealer::from_base64(&key),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir)?;
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                let text = STANDARD.encode(key);
                write_private(&file, &text)?;
                Sealer::from_base64(&text)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn seal(&self, secret: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&XNonce::from(nonce), secret.as_bytes())
            .expect("sealing a short secret cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    pub fn open(&self, sealed: &[u8]) -> Result<String, SecretError> {
        if sealed.len() < NONCE {
            return Err(SecretError::WrongKey);
        }
        let (nonce, body) = sealed.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().expect("split at NONCE");
        let plain = self
            .cipher
            .decrypt(&XNonce::from(nonce), body)
            .map_err(|_| SecretError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SecretError::WrongKey)
    }
}

fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(file)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = Sealer::load(None, dir.path()).unwrap();
        let sealed = a.seal("hunter2 密码");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        // The key made on first start is the one found on the next.
        let again = Sealer::load(None, dir.path()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "hunter2 密码");
        let other = Sealer::from_base64(&STANDARD.encode([7u8; 32])).unwrap();
        assert!(matches!(other.open(&sealed), Err(SecretError::WrongKey)));
        assert!(matches!(
            Sealer::from_base64("c2hvcnQ="),
            Err(SecretError::BadKey)
        ));
    }
}
