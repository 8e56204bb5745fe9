//! The wallboard, between the routers and `/ws/supervisor`: one task per account on each node
//! that, when the live figures change (at most every `PUSH_GAP`) and while any supervisor
//! watches, reads the routers' live figures and today's totals once and hands the board to every
//! wallboard socket of the node, each of which shows its supervisor's teams of it.
//!
//! Today's totals are each queue's and agent's tallies since the account's midnight, counted by
//! the reports' own rules (`crate::reports`), brought up to date by re-reading only the contacts
//! whose logs moved since the last read (with an overlap for commits that land late), so a push
//! costs what changed, not the whole day. Queues' totals are kept per 15 minutes, which the page
//! draws as the day's volume and service level, and added up for the day. Agents' time in each state (occupancy) comes from the
//! day's agent report, at most every `AGENT_TIME_EVERY`.

use crate::dispatcher::{Dispatcher, Live};
use crate::domain::{AccountId, AgentId, InteractionId, Millis, QueueId, now_millis};
use crate::reports::load::{self, Ask, LoadError};
use crate::reports::{
    ContactLog, Dimension, Figures, Granularity, Interval, Key, Report, Rules, Tally, intervals, local_date,
    report,
};
use crate::store::DynStore;
use jiff::civil::Date;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, watch};

/// The shortest time between two boards: changes in between go out together.
pub const PUSH_GAP: Duration = Duration::from_millis(250);

/// How far before the last read a read starts again: a line committed late (a slow node, a
/// group still in flight) with an earlier time is still found.
const OVERLAP_MS: Millis = 10_000;

/// How often agents' time in each state is read again (a report over the day's presence).
const AGENT_TIME_EVERY: Duration = Duration::from_secs(30);

/// A queue's day so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueueToday {
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    /// As docs/metrics.md defines it; `null` while nothing counted.
    pub service_level: Option<f64>,
    pub asa_ms: Option<f64>,
    pub aht_ms: Option<f64>,
    /// The longest a contact answered or abandoned today had waited.
    pub longest_wait_ms: i64,
    /// Contacts offered per 15 minutes from the day's start, up to the last interval with any.
    pub offered_per_15m: Vec<u64>,
    /// The service level per 15 minutes, as `offered_per_15m`; `null` where nothing counted.
    pub service_level_per_15m: Vec<Option<f64>>,
}

/// An agent's day so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgentToday {
    pub answered: u64,
    /// Contacts finished (wrapped up or handed on).
    pub handled: u64,
    pub aht_ms: Option<f64>,
    /// Busy and wrap-up time over time logged in, as of the last read of agent time.
    pub occupancy: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TodayFigures {
    /// How many 15-minute intervals the day has (96; 92 or 100 on a DST change).
    pub quarter_hours: usize,
    pub queues: HashMap<QueueId, QueueToday>,
    pub agents: HashMap<AgentId, AgentToday>,
}

/// What one contact adds to today's rows: to a queue's 15-minute interval (by its index), and to
/// an agent's day.
#[derive(Debug, Default)]
struct Contribution {
    queues: Vec<(QueueId, usize, Tally)>,
    agents: Vec<(AgentId, Tally)>,
}

struct Day {
    date: Date,
    today: Interval,
    quarters: Vec<Interval>,
    rules: Rules,
    /// Contact logs are read up to here.
    read_to: Millis,
    contacts: HashMap<InteractionId, Contribution>,
    occupancy: HashMap<AgentId, Option<f64>>,
    /// When rules and agent time were last read.
    refreshed: Instant,
}

/// One board: the routers' live figures and today's totals, as of `at`.
#[derive(Debug, Clone)]
pub struct Board {
    pub at: Millis,
    pub live: Live,
    pub today: TodayFigures,
}

type Boards = watch::Receiver<Option<Arc<Board>>>;
/// Where a task puts its boards, and how a new watcher asks it for a fresh one.
type Task = (watch::Sender<Option<Arc<Board>>>, Arc<Notify>);

/// The wallboard tasks of this node, one per account that anyone has watched.
pub struct Wallboards {
    dispatcher: Dispatcher,
    store: DynStore,
    tasks: Mutex<HashMap<AccountId, Task>>,
}

impl Wallboards {
    pub fn new(dispatcher: Dispatcher, store: DynStore) -> Wallboards {
        Wallboards {
            dispatcher,
            store,
            tasks: Mutex::new(HashMap::new()),
        }
    }

    /// The account's boards from now on: the latest at once (when there is one), and a fresh
    /// one shortly.
    pub fn subscribe(&self, account: AccountId) -> Boards {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        let (tx, poke) = tasks.entry(account).or_insert_with(|| {
            let (tx, _) = watch::channel(None);
            let poke = Arc::new(Notify::new());
            tokio::spawn(run(
                self.dispatcher.clone(),
                self.store.clone(),
                account,
                tx.clone(),
                poke.clone(),
            ));
            (tx, poke)
        });
        let boards = tx.subscribe();
        poke.notify_one();
        boards
    }
}

/// Makes a board whenever the live figures changed, while anyone watches.
async fn run(
    dispatcher: Dispatcher,
    store: DynStore,
    account: AccountId,
    tx: watch::Sender<Option<Arc<Board>>>,
    poke: Arc<Notify>,
) {
    let mut changes = dispatcher.live_watch();
    let mut day: Option<Day> = None;
    loop {
        if tx.receiver_count() == 0 {
            // Nobody watches: nothing to read until someone does (their `subscribe` pokes).
            poke.notified().await;
            changes.mark_unchanged();
        }
        let now = now_millis();
        let board = async {
            let live = dispatcher.live(account).await.map_err(|e| e.to_string())?;
            let today = today(&mut day, &store, account, now)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(Board { at: now, live, today })
        };
        match board.await {
            Ok(board) => {
                tx.send_replace(Some(Arc::new(board)));
            }
            Err(e) => tracing::warn!(error = %e, "the wallboard's figures"),
        }
        tokio::time::sleep(PUSH_GAP).await;
        tokio::select! {
            changed = changes.changed() => if changed.is_err() { return },
            () = poke.notified() => {}
        }
    }
}

/// Today's figures as of `now`, reading what changed since the last call into `day`.
async fn today(
    day: &mut Option<Day>,
    store: &DynStore,
    account: AccountId,
    now: Millis,
) -> Result<TodayFigures, LoadError> {
    if day
        .as_ref()
        .is_none_or(|d| d.refreshed.elapsed() >= AGENT_TIME_EVERY)
    {
        let load::Loaded { tz, rules, .. } = load::rules(store, account).await?;
        let date = local_date(now, &tz).ok_or(LoadError::Range(crate::reports::RangeError::Backwards))?;
        let today = intervals(&tz, date, date, Granularity::Day)?.remove(0);
        let quarters = intervals(&tz, date, date, Granularity::QuarterHour)?;
        let ask = Ask {
            dimension: Dimension::Agent,
            granularity: Granularity::Day,
            from: date,
            to: date,
            now,
        };
        let occupancy = load::named(store, account, ask, &crate::teams::Scope::All)
            .await?
            .rows
            .into_iter()
            .filter_map(|row| Some((row.key.parse().ok()?, row.total.occupancy)))
            .collect();
        match day {
            Some(d) if d.date == date => {
                d.rules = rules;
                d.occupancy = occupancy;
                d.refreshed = Instant::now();
            }
            _ => {
                *day = Some(Day {
                    date,
                    read_to: today.start,
                    today,
                    quarters,
                    rules,
                    contacts: HashMap::new(),
                    occupancy,
                    refreshed: Instant::now(),
                });
            }
        }
    }
    let Some(d) = day.as_mut() else {
        return Ok(TodayFigures::default());
    };
    let from = (d.read_to - OVERLAP_MS).max(d.today.start);
    for log in store.contact_logs(account, from, Millis::MAX).await? {
        let c = contribution(&log, &d.rules, &d.today, &d.quarters, now);
        d.contacts.insert(log.interaction, c);
    }
    d.read_to = now;
    Ok(d.figures())
}

/// What `log` adds to today's queue rows (per 15 minutes) and agent rows.
fn contribution(
    log: &ContactLog,
    rules: &Rules,
    today: &Interval,
    quarters: &[Interval],
    now: Millis,
) -> Contribution {
    let logs = std::slice::from_ref(log);
    let mut c = Contribution::default();
    for (key, cells) in report(logs, &[], &[], rules, quarters, Dimension::Queue, now).rows {
        if let Key::Queue(q) = key {
            let counted = cells
                .into_iter()
                .enumerate()
                .filter(|(_, cell)| *cell != Tally::default());
            c.queues.extend(counted.map(|(n, cell)| (q, n, cell)));
        }
    }
    let ivs = std::slice::from_ref(today);
    for (key, cells) in report(logs, &[], &[], rules, ivs, Dimension::Agent, now).rows {
        if let (Key::Agent(a), Some(cell)) = (key, cells.into_iter().next()) {
            c.agents.push((a, cell));
        }
    }
    c
}

impl Day {
    fn figures(&self) -> TodayFigures {
        let mut queues: HashMap<QueueId, Vec<Tally>> = HashMap::new();
        let mut agents: HashMap<AgentId, Tally> = HashMap::new();
        for c in self.contacts.values() {
            for (q, n, t) in &c.queues {
                let cells = queues.entry(*q).or_default();
                if cells.len() <= *n {
                    cells.resize(n + 1, Tally::default());
                }
                cells[*n].add(t);
            }
            for (a, t) in &c.agents {
                agents.entry(*a).or_default().add(t);
            }
        }
        let mut out = TodayFigures {
            quarter_hours: self.quarters.len(),
            ..TodayFigures::default()
        };
        for (q, cells) in queues {
            let t = Report::total(&cells);
            let f = Figures::from(&t);
            out.queues.insert(
                q,
                QueueToday {
                    offered: t.offered,
                    answered: t.answered,
                    abandoned: t.abandoned,
                    service_level: f.service_level,
                    asa_ms: f.asa_ms,
                    aht_ms: f.aht_ms,
                    longest_wait_ms: t.longest_wait_ms,
                    offered_per_15m: cells.iter().map(|c| c.offered).collect(),
                    service_level_per_15m: cells.iter().map(|c| Figures::from(c).service_level).collect(),
                },
            );
        }
        for (a, t) in agents {
            let f = Figures::from(&t);
            out.agents.insert(
                a,
                AgentToday {
                    answered: t.answered,
                    handled: t.handled,
                    aht_ms: f.aht_ms,
                    occupancy: None,
                },
            );
        }
        for (a, occupancy) in &self.occupancy {
            out.agents.entry(*a).or_default().occupancy = *occupancy;
        }
        out
    }
}
