//! The outbox's sending loop, one per channel that sends through a connector (email, messaging
//! apps): claim what is due from the channel's entry points, send a few at a time, and wait for
//! more (a queued message wakes it at once); then what a send's outcome makes of the message
//! (sent, tried again, failed), recorded and shown to the agent. What sending means is the
//! channel's.

use crate::bus::Bus;
use crate::dispatcher::Dispatcher;
use crate::domain::{Message, Millis, now_millis};
use crate::store::{DeliveryUpdate, DynStore, OutboxItem};
use futures_util::StreamExt;
use plugboard_channel::{Delivery, retry_delay};
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
    let claim = |now: Millis| store.claim_outbox(sending.kind, now, now + sending.claim_ms, sending.claim);
    let rounds = Rounds {
        what: sending.kind,
        at_once: sending.at_once,
        queued: sending.queued,
    };
    work_forever(rounds, sends_here, claim, send).await;
}

/// How a background worker takes its rows: `at_once` at a time, woken by `queued`.
pub struct Rounds<'a> {
    /// What it works on, for the log.
    pub what: &'static str,
    pub at_once: usize,
    pub queued: &'a Notify,
}

/// The loop under every durable queue the hub works through in the background (the outbox, media
/// to fetch): while `works_here`, claim what is due by now (`claim` marks each row as this node's
/// for a while), handle `at_once` at a time, then wait for more; a queued row wakes it at once,
/// and what comes due later is found within 5 seconds.
pub async fn work_forever<T, C, F>(
    rounds: Rounds<'_>,
    works_here: impl Fn() -> bool,
    claim: impl Fn(Millis) -> C,
    handle: impl Fn(T) -> F,
) where
    C: Future<Output = crate::store::Result<Vec<T>>>,
    F: Future<Output = ()>,
{
    loop {
        while !works_here() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let due = match claim(now_millis()).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, what = rounds.what, "claiming due work");
                Vec::new()
            }
        };
        let busy = !due.is_empty();
        futures_util::stream::iter(due)
            .for_each_concurrent(rounds.at_once, &handle)
            .await;
        if !busy {
            let _ = tokio::time::timeout(Duration::from_secs(5), rounds.queued.notified()).await;
        }
    }
}

/// What a send's outcome makes of a message tried `item.attempts` times before: sent; tried again
/// when the connector said when (`after`), else on the shared schedule (`retry_delay`) while it
/// lasts and the failure may pass; failed for good otherwise.
pub fn next_step(item: &OutboxItem, delivery: Delivery, after: Option<Duration>) -> DeliveryUpdate {
    let attempts = item.attempts + 1;
    match delivery {
        Delivery::Sent { external_id } => DeliveryUpdate::Sent { external_id },
        Delivery::Failed { reason, permanent } => {
            match after.or_else(|| retry_delay(attempts).filter(|_| !permanent)) {
                Some(wait) => DeliveryUpdate::Retry {
                    attempts,
                    next_at: now_millis() + wait.as_millis() as Millis,
                    reason,
                },
                None => DeliveryUpdate::Failed { reason },
            }
        }
    }
}

/// Records what became of a send; the agent holding the conversation sees it.
pub async fn record(
    store: &DynStore,
    dispatcher: &Dispatcher,
    bus: &Bus,
    item: &OutboxItem,
    update: DeliveryUpdate,
) {
    tracing::info!(message = %item.message.id, entry_point = %item.entry_point, ?update, "delivery");
    match store.record_delivery(item.account, item.message.id, update).await {
        Ok(message) => tell_watcher(dispatcher, bus, message).await,
        Err(e) => tracing::error!(error = %e, message = %item.message.id, "recording a delivery"),
    }
}

/// The agent whose console shows the interaction (its holder, or the agent it rings for) sees the
/// message as it now is: its delivery state, or the files fetched for it while the offer rang;
/// so does a supervisor watching the conversation.
pub async fn tell_watcher(dispatcher: &Dispatcher, bus: &Bus, message: Message) {
    let agent = dispatcher.watcher(message.interaction_id).await;
    bus.to_agent_and_watchers(agent, message);
}
