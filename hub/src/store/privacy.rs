//! A customer's data protection rights on the store's side: everything of one customer read out
//! (for an export), and a customer erased on request, leaving an anonymous tombstone so that
//! reports still count their contacts. The hub (`crate::privacy`) adds the files on disk.

use super::Result;
use crate::domain::{AccountId, CustomerId, InteractionId, Millis};

/// What an erasure left for the hub to remove from the data directory, once committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// The customer's calls: their recordings (`recordings/<id>.wav`) go.
    pub calls: Vec<InteractionId>,
    /// Attachment files (by SHA-256) no other message or upload names any more.
    pub files: Vec<String>,
    /// How many messages had their text removed.
    pub messages: u64,
}

#[async_trait::async_trait]
pub trait PrivacyStore: Send + Sync + 'static {
    /// The customer's identities as `(kind, value)`, oldest first.
    async fn customer_identities(&self, account: AccountId, id: CustomerId) -> Result<Vec<(String, String)>>;
    /// Erases a customer in one transaction: their identities, claims, notes, follow-ups, own
    /// log and widget sessions go; their messages keep their place but lose their text, details
    /// and attachments; their rows in the search index go; the customer row stays as an
    /// anonymous tombstone (`erased_at`), so their interactions and their log (which hold only
    /// routing facts) still count in reports. `Conflict` while one of their contacts is still
    /// open (waiting, offered, being handled or wrapped up); `NotFound` for an unknown or
    /// already erased customer.
    async fn erase_customer(&self, account: AccountId, id: CustomerId, at: Millis) -> Result<Erased>;
}
