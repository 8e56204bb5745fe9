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

/// What a send's outcome makes of a message tried `tried` times before, at `now`: sent; failed
/// for good when the failure cannot pass, or when the shared schedule (`retry_delay`) has no
/// attempt left; else tried again after the wait the platform asked for (`after`: Telegram's
/// `retry_after`, a `Retry-After`), never sooner, or the schedule's own when it asked none. A
/// platform that answers 429 to every attempt gets as many as any other failure, not endless ones.
pub fn next_step(tried: u32, delivery: Delivery, after: Option<Duration>, now: Millis) -> DeliveryUpdate {
    let attempts = tried + 1;
    match delivery {
        Delivery::Sent { external_id } => DeliveryUpdate::Sent { external_id },
        Delivery::Failed { reason, permanent } => match retry_delay(attempts).filter(|_| !permanent) {
            Some(scheduled) => DeliveryUpdate::Retry {
                attempts,
                next_at: now + after.unwrap_or(scheduled).as_millis() as Millis,
                reason,
            },
            None => DeliveryUpdate::Failed { reason },
        },
    }
}

/// Records what became of a send; the agent holding the conversation sees it, or, once nobody
/// holds it (a chat's transcript mailed while its agent wraps up, a reply failing after the
/// thread was closed), the agent who last did.
pub async fn record(
    store: &DynStore,
    dispatcher: &Dispatcher,
    bus: &Bus,
    item: &OutboxItem,
    update: DeliveryUpdate,
) {
    tracing::info!(message = %item.message.id, entry_point = %item.entry_point, ?update, "delivery");
    let message = match store.record_delivery(item.account, item.message.id, update).await {
        Ok(message) => message,
        Err(e) => return tracing::error!(error = %e, message = %item.message.id, "recording a delivery"),
    };
    let mut agent = dispatcher.watcher(message.interaction_id).await;
    if agent.is_none() {
        agent = store
            .interaction(item.account, message.interaction_id)
            .await
            .ok()
            .and_then(|i| i.agent_id);
    }
    bus.to_agent_and_watchers(agent, message);
}

/// The agent whose console shows the interaction (its holder, or the agent it rings for) sees the
/// message as it now is: its delivery state, or the files fetched for it while the offer rang;
/// so does a supervisor watching the conversation.
pub async fn tell_watcher(dispatcher: &Dispatcher, bus: &Bus, message: Message) {
    let agent = dispatcher.watcher(message.interaction_id).await;
    bus.to_agent_and_watchers(agent, message);
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_700_000_000_000;
    const REASON: &str = "429: Too Many Requests";

    fn failed(permanent: bool) -> Delivery {
        Delivery::Failed {
            reason: REASON.into(),
            permanent,
        }
    }

    fn retry(attempts: u32, wait_secs: Millis) -> DeliveryUpdate {
        DeliveryUpdate::Retry {
            attempts,
            next_at: NOW + wait_secs * 1_000,
            reason: REASON.into(),
        }
    }

    fn gone() -> DeliveryUpdate {
        DeliveryUpdate::Failed {
            reason: REASON.into(),
        }
    }

    #[test]
    fn a_send_is_retried_when_the_platform_asks_but_no_more_often_than_the_schedule_allows() {
        let sent = || Delivery::Sent {
            external_id: "wamid.1".into(),
        };
        let was_sent = || DeliveryUpdate::Sent {
            external_id: "wamid.1".into(),
        };
        let secs = |n| Some(Duration::from_secs(n));
        let (transient, permanent) = (|| failed(false), || failed(true));
        // (what, attempts made before, outcome, the platform's wait, what becomes of the message).
        // The schedule waits 30 s, 60 s… 1,920 s after attempts 1 to 7, and gives up after the 8th.
        let cases = [
            ("sent", 0, sent(), None, was_sent()),
            ("sent, a wait asked", 2, sent(), secs(5), was_sent()),
            ("transient: 1st wait", 0, transient(), None, retry(1, 30)),
            ("transient: 4th wait", 3, transient(), None, retry(4, 240)),
            ("transient, 5 s asked", 0, transient(), secs(5), retry(1, 5)),
            ("2 h asked", 2, transient(), secs(7_200), retry(3, 7_200)),
            ("permanent", 0, permanent(), None, gone()),
            ("permanent, 5 s asked", 0, permanent(), secs(5), gone()),
            ("last retry", 6, transient(), None, retry(7, 1_920)),
            ("last retry, 5 s asked", 6, transient(), secs(5), retry(7, 5)),
            ("last attempt", 7, transient(), None, gone()),
            ("last attempt, 5 s asked", 7, transient(), secs(5), gone()),
        ];
        for (what, tried, delivery, after, expected) in cases {
            assert_eq!(next_step(tried, delivery, after, NOW), expected, "{what}");
        }
    }

    /// A platform that answers every attempt with a 429 and `retry_after` ends the message's
    /// attempts where a platform that is down does: after as many as the schedule allows.
    #[test]
    fn a_platform_that_always_says_wait_gets_as_many_attempts_as_the_schedule() {
        let attempts_until_failed = |after: Option<Duration>| {
            let asked = after.map_or(0, |a| a.as_millis() as Millis);
            let mut tried = 0;
            while tried < 100 {
                match next_step(tried, failed(false), after, NOW) {
                    DeliveryUpdate::Retry {
                        attempts: n, next_at, ..
                    } => {
                        assert!(next_at >= NOW + asked, "never sooner than asked");
                        tried = n;
                    }
                    DeliveryUpdate::Failed { .. } => return tried + 1,
                    DeliveryUpdate::Sent { .. } => unreachable!(),
                }
            }
            tried
        };
        let (second, day) = (Duration::from_secs(1), Duration::from_secs(86_400));
        let scheduled = attempts_until_failed(None);
        assert_eq!(scheduled, 8);
        assert_eq!(attempts_until_failed(Some(second)), scheduled);
        assert_eq!(attempts_until_failed(Some(day)), scheduled);
    }
}
