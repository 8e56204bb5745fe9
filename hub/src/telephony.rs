//! Where the SIP connector plugs into the hub: agents' phones, kept in the store, are the
//! registrar's directory, and `serve` starts the SIP server when `sip.listen` is set. Calls are
//! not routed yet: the connector answers INVITE 480 until its B2BUA lands.

use crate::config::Sip;
use crate::store::{DynStore, NewPhone, StoreError};
use anyhow::Context;
use plugboard_sip::digest::Algorithm;
use plugboard_sip::server::{ServerConfig, SipServer};
use plugboard_sip::service::{PhoneCredentials, PhoneDirectory, ServiceConfig};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Every phone's digests by SIP username. The registrar asks on each REGISTER, synchronously, so
/// they live in memory: loaded at start, changed by the phones API in the same process.
#[derive(Default)]
pub struct Phones {
    by_username: RwLock<HashMap<String, PhoneCredentials>>,
}

impl Phones {
    pub async fn load(store: &DynStore) -> Result<Arc<Phones>, StoreError> {
        let phones = Phones::default();
        for phone in store.phone_secrets().await? {
            phones.put(&phone);
        }
        Ok(Arc::new(phones))
    }

    pub fn put(&self, phone: &NewPhone) {
        let credentials = PhoneCredentials {
            username: phone.username.clone(),
            realm: phone.realm.clone(),
            ha1_md5: phone.ha1_md5.clone(),
            ha1_sha256: phone.ha1_sha256.clone(),
        };
        self.write().insert(phone.username.clone(), credentials);
    }

    pub fn remove(&self, username: &str) {
        self.write().remove(username);
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, PhoneCredentials>> {
        self.by_username.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl PhoneDirectory for Phones {
    fn credentials(&self, user: &str) -> Option<PhoneCredentials> {
        self.by_username
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .cloned()
    }
}

fn algorithm(name: &str) -> anyhow::Result<Algorithm> {
    match name.to_ascii_uppercase().as_str() {
        "MD5" => Ok(Algorithm::Md5),
        "SHA-256" => Ok(Algorithm::Sha256),
        other => {
            anyhow::bail!("sip.algorithms: unknown digest algorithm {other:?} (use \"SHA-256\" or \"MD5\")")
        }
    }
}

/// Starts the SIP server on `sip.listen`, or nothing when it is unset.
pub async fn start(config: &Sip, phones: Arc<Phones>) -> anyhow::Result<Option<SipServer>> {
    let Some(listen) = config.listen else {
        return Ok(None);
    };
    let algorithms = config
        .algorithms
        .iter()
        .map(|a| algorithm(a))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        !algorithms.is_empty(),
        "sip.algorithms: offer at least one digest algorithm"
    );
    let service = ServiceConfig {
        realm: config.realm.clone(),
        algorithms,
        ..ServiceConfig::default()
    };
    let server = SipServer::start(
        ServerConfig {
            udp: listen,
            tcp: listen,
            service,
        },
        phones,
    )
    .await
    .with_context(|| format!("listening for SIP on {listen}"))?;
    Ok(Some(server))
}
