//! The operations team's live figures on `/metrics` (the listener of `http.metrics_listen`): the
//! wallboard's figures read from the router at each scrape, and today's service level from the
//! reports, so a fresh hub answers every gauge (as zeros) from the moment it starts instead of an
//! empty body until something happens. Counters and histograms stay where they are counted.

use crate::dispatcher::Dispatcher;
use crate::domain::{AccountId, Channel, now_millis};
use crate::reports::load::{self, Ask};
use crate::reports::{Dimension, Granularity, local_date, time_zone};
use crate::store::DynStore;
use std::time::{Duration, Instant};

/// The states agents are counted in: their presence, or busy while they hold a contact.
const AGENT_STATES: [&str; 4] = ["offline", "available", "break", "busy"];

/// How long today's service level is reused between scrapes: it is a report over the day.
const SERVICE_LEVEL_EVERY: Duration = Duration::from_secs(30);

/// Every gauge at zero and the build's version, once the recorder is installed.
pub fn at_start() {
    metrics::gauge!("plugboard_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    for name in [
        "plugboard_agent_sockets",
        "plugboard_chat_sockets",
        "plugboard_live_interactions",
        "plugboard_calls_in_progress",
    ] {
        metrics::gauge!(name).set(0.0);
    }
    for state in AGENT_STATES {
        metrics::gauge!("plugboard_agents", "state" => state).set(0.0);
    }
    for channel in Channel::ALL {
        metrics::gauge!("plugboard_channel_waiting", "channel" => channel.as_str()).set(0.0);
        metrics::gauge!("plugboard_channel_active", "channel" => channel.as_str()).set(0.0);
    }
}

/// Service level per queue name; `None` where no contact counted.
type Levels = Vec<(String, Option<f64>)>;

/// Reads the live figures into the gauges; called by each scrape.
pub struct Gauges {
    dispatcher: Dispatcher,
    store: DynStore,
    /// Today's service level per queue name, and when it was computed.
    service_levels: tokio::sync::Mutex<Option<(Instant, Levels)>>,
}

impl Gauges {
    pub fn new(dispatcher: Dispatcher, store: DynStore) -> Gauges {
        Gauges {
            dispatcher,
            store,
            service_levels: tokio::sync::Mutex::new(None),
        }
    }

    /// The default account's live figures (the only account a hub serves today).
    pub async fn refresh(&self) {
        let account = AccountId::DEFAULT;
        match self.dispatcher.live(account).await {
            Ok(live) => {
                for q in &live.queues {
                    let queue = q.name.clone();
                    metrics::gauge!("plugboard_queue_waiting", "queue" => queue.clone())
                        .set(q.waiting as f64);
                    let longest = q.oldest_wait_ms.unwrap_or(0) as f64 / 1000.0;
                    metrics::gauge!("plugboard_queue_longest_wait_seconds", "queue" => queue.clone())
                        .set(longest);
                    metrics::gauge!("plugboard_queue_agents_available", "queue" => queue.clone())
                        .set(q.agents_available as f64);
                    metrics::gauge!("plugboard_queue_agents_staffed", "queue" => queue.clone())
                        .set(q.agents_staffed as f64);
                    metrics::gauge!("plugboard_queue_agents_busy", "queue" => queue.clone())
                        .set(q.agents_busy as f64);
                    metrics::gauge!("plugboard_queue_agents_on_break", "queue" => queue)
                        .set(q.agents_on_break as f64);
                }
                for state in AGENT_STATES {
                    let n = live
                        .agents
                        .iter()
                        .filter(|a| {
                            if a.held > 0 {
                                state == "busy"
                            } else {
                                a.state == state
                            }
                        })
                        .count();
                    metrics::gauge!("plugboard_agents", "state" => state).set(n as f64);
                }
                for c in &live.channels {
                    let channel = c.channel.to_string();
                    metrics::gauge!("plugboard_channel_waiting", "channel" => channel.clone())
                        .set(c.waiting as f64);
                    metrics::gauge!("plugboard_channel_active", "channel" => channel.clone())
                        .set(c.active as f64);
                    if channel == Channel::Voice.as_str() {
                        metrics::gauge!("plugboard_calls_in_progress").set((c.waiting + c.active) as f64);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "live figures for /metrics"),
        }
        for (queue, level) in self.service_levels(account).await {
            // No contact counted today: the gauge is left out rather than shown as 0 or 100 %.
            if let Some(level) = level {
                metrics::gauge!("plugboard_queue_service_level", "queue" => queue).set(level);
            }
        }
    }

    /// Today's service level per queue (docs/metrics.md), in the account's time zone.
    async fn service_levels(&self, account: AccountId) -> Levels {
        let mut cached = self.service_levels.lock().await;
        if let Some((at, levels)) = cached.as_ref()
            && at.elapsed() < SERVICE_LEVEL_EVERY
        {
            return levels.clone();
        }
        let now = now_millis();
        let today = async {
            let settings = self.store.report_settings(account).await.ok()?;
            local_date(now, &time_zone(&settings.time_zone).ok()?)
        };
        let Some(today) = today.await else {
            return Vec::new();
        };
        let ask = Ask {
            dimension: Dimension::Queue,
            granularity: Granularity::Day,
            from: today,
            to: today,
            now,
        };
        let levels: Levels = match load::named(&self.store, account, ask, &crate::teams::Scope::All).await {
            Ok(report) => report
                .rows
                .into_iter()
                .map(|row| (row.name, row.total.service_level))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "today's service level for /metrics");
                Vec::new()
            }
        };
        *cached = Some((Instant::now(), levels.clone()));
        levels
    }
}
