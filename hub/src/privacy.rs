//! A customer's data protection rights, for admins: everything the hub holds about one customer
//! exported as one JSON document, and a customer erased on request. The store does the rows in
//! one transaction (`PrivacyStore`); here the files in the data directory follow: the customer's
//! call recordings, and attachment files nobody else's message names. Both are written to the
//! audit log by the API.

use crate::domain::{AccountId, CustomerId, InteractionId, now_millis};
use crate::intake::Files;
use crate::store::{DynStore, Erased, StoreError};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The most interactions an export carries (the timeline's limit): a customer with more gets
/// the newest.
const EXPORT_INTERACTIONS: u32 = 10_000;

/// Where a call's recording is kept.
pub fn recording_path(data_dir: &Path, interaction: InteractionId) -> PathBuf {
    data_dir.join("recordings").join(format!("{interaction}.wav"))
}

/// One customer's data: their profile and identities, every interaction with its messages
/// (attachments listed with them) and log, whether a recording of it is kept, their notes,
/// their own log and their follow-ups.
pub async fn export(
    store: &DynStore,
    data_dir: &Path,
    account: AccountId,
    id: CustomerId,
) -> Result<Value, StoreError> {
    let customer = store.customer(account, id).await?;
    let identities: Vec<Value> = store
        .customer_identities(account, id)
        .await?
        .into_iter()
        .map(|(kind, value)| json!({"kind": kind, "value": value}))
        .collect();
    let mut interactions = Vec::new();
    for interaction in store
        .customer_interactions(account, id, EXPORT_INTERACTIONS)
        .await?
    {
        let recorded = tokio::fs::try_exists(recording_path(data_dir, interaction.id))
            .await
            .unwrap_or(false);
        interactions.push(json!({
            "messages": store.messages(account, interaction.id, 0).await?,
            "events": store.events(account, interaction.id).await?,
            "recording": recorded.then(|| format!("recordings/{}.wav", interaction.id)),
            "interaction": interaction,
        }));
    }
    Ok(json!({
        "exported_at": now_millis(),
        "customer": customer,
        "identities": identities,
        "interactions": interactions,
        "notes": store.notes(account, id).await?,
        "events": store.customer_events(account, id).await?,
        "follow_ups": store.customer_follow_ups(account, id).await?,
        "csat_ratings": store.customer_ratings(account, id).await?,
    }))
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erasure {
    /// Messages whose text, details and attachments went.
    pub messages: u64,
    /// Call recordings removed from the data directory.
    pub recordings: usize,
    /// Attachment files removed (a file another message also names stays).
    pub files: usize,
}

/// Erases a customer (see `PrivacyStore::erase_customer`), then their files. `store` is the
/// audited store, so the erasure and its audit line commit together. A file that cannot be
/// removed is logged and left: the rows are gone and nothing serves it any more.
pub async fn erase(
    store: &DynStore,
    data_dir: &Path,
    account: AccountId,
    id: CustomerId,
) -> Result<Erasure, StoreError> {
    let Erased {
        calls,
        files,
        messages,
    } = store.erase_customer(account, id, now_millis()).await?;
    let attachments = Files::new(data_dir);
    let recordings = calls.iter().map(|call| recording_path(data_dir, *call));
    Ok(Erasure {
        messages,
        recordings: remove(recordings).await,
        files: remove(files.iter().map(|sha| attachments.path(sha))).await,
    })
}

/// Removes the files that are there; answers how many it removed.
async fn remove(paths: impl Iterator<Item = PathBuf>) -> usize {
    let mut removed = 0;
    for path in paths {
        match tokio::fs::remove_file(&path).await {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "an erased customer's file could not be removed")
            }
        }
    }
    removed
}
