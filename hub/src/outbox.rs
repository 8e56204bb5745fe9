//! The outbox's sending loop, one per channel that sends through a connector (email, messaging
//! apps): claim what is due from the channel's entry points, send a few at a time, and wait for
//! more (a queued message wakes it at once). What sending means, and what is recorded after, is
//! the channel's.

use crate::domain::{Millis, now_millis};
use crate::store::{DynStore, OutboxItem};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::Notify;

/// How one channel's sender claims and sends.
pub struct Sending<'a> {
    /// The entry points it sends for: `mailbox:`, `inbox:`.
    pub kind: &'static str,
    /// Rows claimed per round.
    pub claim: u32,
    /// How long a claimed row is this sender's before another may try it.
    pub claim_ms: Millis,
    /// Messages sent at once.
    pub at_once: usize,
    pub queued: &'a Notify,
}

/// Sends for ever. `sends_here` is asked before every round (with several nodes a channel may
/// send from one node only); `send` sends one message and records what became of it.
pub async fn send_forever<F>(
    store: &DynStore,
    sending: Sending<'_>,
    sends_here: impl Fn() -> bool,
    send: impl Fn(OutboxItem) -> F,
) where
    F: Future<Output = ()>,
{
    loop {
        while !sends_here() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let now = now_millis();
        let due = match store
            .claim_outbox(sending.kind, now, now + sending.claim_ms, sending.claim)
            .await
        {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, kind = sending.kind, "reading the outbox");
                Vec::new()
            }
        };
        let busy = !due.is_empty();
        futures_util::stream::iter(due)
            .for_each_concurrent(sending.at_once, &send)
            .await;
        if !busy {
            let _ = tokio::time::timeout(Duration::from_secs(5), sending.queued.notified()).await;
        }
    }
}
