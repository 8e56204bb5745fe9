//! The shell around the pure report: reads a range's lines and the account's rules from the
//! store, runs `report`, names the rows, and derives staffing from a queue's report. The REST
//! handlers call these and only shape the answer (JSON or CSV).

use super::erlang::{self, Load, Outcome};
use super::{
    Dimension, Figures, Granularity, Interval, Key, RangeError, Report, Rules, Tally, cells, intervals,
    local_date, reports, time_zone,
};
use crate::domain::{AccountId, InteractionId, Millis, Queue, QueueId, has_skills};
use crate::store::{CellMark, DynStore, ReportSettings, StoreError};
use crate::teams::Scope;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::HashMap;

/// The most intervals one report may have (a quarter of 15-minute intervals is 8,832).
pub const MAX_INTERVALS: usize = 9_000;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error(
        "a report may have at most {MAX_INTERVALS} intervals; choose a longer interval or a shorter range"
    )]
    TooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One row of a report, named, with its figures per interval and over the range.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamedRow {
    /// The queue's or agent's id, or the channel.
    pub key: String,
    pub name: String,
    pub intervals: Vec<Figures>,
    pub total: Figures,
}

/// A report as the API serves it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Named {
    pub time_zone: String,
    #[schema(value_type = String)]
    pub dimension: Dimension,
    #[schema(value_type = String)]
    pub granularity: Granularity,
    pub intervals: Vec<Interval>,
    pub rows: Vec<NamedRow>,
}

/// What a report is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Ask {
    pub dimension: Dimension,
    pub granularity: Granularity,
    pub from: Date,
    pub to: Date,
    pub now: Millis,
}

/// What reports of an account are counted and named by, read once per report.
pub struct Loaded {
    pub settings: ReportSettings,
    pub tz: TimeZone,
    pub rules: Rules,
    pub queues: Vec<Queue>,
}

/// The account's settings, its time zone, the rules reports count by and its queues.
pub async fn rules(store: &DynStore, account: AccountId) -> Result<Loaded, LoadError> {
    let settings = store.report_settings(account).await?;
    let tz = time_zone(&settings.time_zone)?;
    let queues = store.queues(account).await?;
    let rules = Rules {
        short_abandon_ms: i64::from(settings.short_abandon_secs) * 1000,
        fcr_window_ms: i64::from(settings.fcr_window_hours) * 3_600_000,
        sl_threshold_ms: queues
            .iter()
            .map(|q| (q.id, i64::from(q.sl_target_secs) * 1000))
            .collect(),
        default_sl_threshold_ms: 20_000,
    };
    Ok(Loaded {
        settings,
        tz,
        rules,
        queues,
    })
}

/// The intervals `ask` cuts its range into, checked against `MAX_INTERVALS`.
fn cut(tz: &TimeZone, ask: &Ask) -> Result<Vec<Interval>, LoadError> {
    // Cheap to check before cutting: 96 quarter-hours a day at most, plus a DST hour.
    let days = (ask.to - ask.from).get_days().max(0) as usize + 1;
    if ask.granularity == Granularity::QuarterHour && days * 96 > MAX_INTERVALS {
        return Err(LoadError::TooLong);
    }
    let ivs = intervals(tz, ask.from, ask.to, ask.granularity)?;
    if ivs.len() > MAX_INTERVALS {
        return Err(LoadError::TooLong);
    }
    if ivs.is_empty() {
        return Err(LoadError::Range(RangeError::Backwards));
    }
    Ok(ivs)
}

/// The report over `ivs` by each of `dimensions`, counted from the raw logs: every line of the
/// interactions with a line in the range or under way across it, their customers' later
/// arrivals (first-contact resolution) and the agents' presence lines.
pub async fn from_logs(
    store: &DynStore,
    account: AccountId,
    rules: &Rules,
    ivs: &[Interval],
    dimensions: &[Dimension],
    now: Millis,
) -> Result<Vec<Report>, LoadError> {
    let (Some(first), Some(last)) = (ivs.first(), ivs.last()) else {
        return Err(LoadError::Range(RangeError::Backwards));
    };
    let (start, end) = (first.start, last.end);
    let logs = store.contact_logs(account, start, end).await?;
    let mut customers: Vec<_> = logs.iter().map(|l| l.customer).collect();
    customers.sort_unstable();
    customers.dedup();
    let later = store.arrivals(account, &customers, end).await?;
    let presence = store.presence_lines(account, start, end).await?;
    Ok(reports(&logs, &later, &presence, rules, ivs, dimensions, now))
}

/// The rules as the cells remember them: other rules (or another time zone) count them anew.
fn fingerprint(settings: &ReportSettings, rules: &Rules) -> String {
    let thresholds: std::collections::BTreeMap<String, Millis> = rules
        .sl_threshold_ms
        .iter()
        .map(|(q, ms)| (q.to_string(), *ms))
        .collect();
    serde_json::json!({
        "time_zone": settings.time_zone,
        "short_abandon_ms": rules.short_abandon_ms,
        "fcr_window_ms": rules.fcr_window_ms,
        "sl_threshold_ms": thresholds,
        "default_sl_threshold_ms": rules.default_sl_threshold_ms,
    })
    .to_string()
}

/// Brings the account's report cells up to `now`: counts again the quarter-hours the lines
/// written since the last count changed (`cells::recount`), or all of them when there was no
/// count yet or it was made by other rules. When another node counted meanwhile, its count
/// stands and this one is dropped. Gives how many cells it wrote.
pub async fn count(store: &DynStore, account: AccountId, now: Millis) -> Result<usize, LoadError> {
    count_by(store, account, &rules(store, account).await?, now).await
}

/// `count` with the account's rules already read. Each run of quarter-hours (a day at most) is
/// written in a transaction of its own, so counting a long history (the first count after an
/// upgrade, or new rules) never holds the store's writer for long: the runs before the last keep
/// the mark as it was read (or, counting everything anew, move it to the end of the run), and
/// only the last moves it to `now`. Stopped halfway, the next count goes on from there.
async fn count_by(
    store: &DynStore,
    account: AccountId,
    loaded: &Loaded,
    now: Millis,
) -> Result<usize, LoadError> {
    let Loaded {
        settings, tz, rules, ..
    } = loaded;
    let fingerprint = fingerprint(settings, rules);
    let read = store.cell_mark(account).await?;
    // `hold`: where the mark stays between runs; none when counting anew (it follows the runs).
    let (runs, whole, mark, hold) = match read.as_ref().filter(|m| m.rules == fingerprint) {
        Some(m) => {
            let (lines, presence) = store
                .news(account, m, m.counted_to.min(now) - cells::RESCAN_MS)
                .await?;
            if lines.is_empty() && presence.is_empty() && (0..cells::QUIET_MS).contains(&(now - m.counted_to))
            {
                return Ok(0);
            }
            let mut new_from: HashMap<InteractionId, Millis> = HashMap::new();
            for l in &lines {
                let from = new_from.entry(l.interaction).or_insert(l.at);
                *from = (*from).min(l.at);
            }
            // An interaction whose first line is new is a customer arriving (or coming back).
            let arrivals: Vec<_> = lines
                .iter()
                .filter(|l| {
                    new_from
                        .get(&l.interaction)
                        .is_some_and(|from| *from >= l.arrived_at)
                })
                .map(|l| (l.customer, l.arrived_at, l.interaction))
                .collect();
            let ids: Vec<InteractionId> = new_from.keys().copied().collect();
            let touched = store.interaction_logs(account, &ids).await?;
            let mut customers: Vec<_> = arrivals.iter().map(|a| a.0).collect();
            customers.sort_unstable();
            customers.dedup();
            let visits = store.visits(account, &customers).await?;
            let returned = cells::returned(&arrivals, &visits, rules.fcr_window_ms);
            let returned = store.interaction_logs(account, &returned).await?;
            let stamped: Vec<Millis> = presence.iter().map(|p| p.at).collect();
            let changes = cells::Changes {
                since: m.counted_to.min(now) - cells::RESCAN_MS,
                touched: &touched,
                new_from,
                returned: &returned,
                presence: &stamped,
            };
            let mark = CellMark {
                rules: fingerprint,
                event_mark: lines.iter().map(|l| l.id).fold(m.event_mark, i64::max),
                presence_mark: presence.iter().map(|p| p.id).fold(m.presence_mark, i64::max),
                counted_to: now,
            };
            let runs = cells::recount(&changes, now);
            (Some(runs.clone()), runs, mark, Some(m.clone()))
        }
        None => {
            // Read the marks first: a line written while counting is read again next time.
            let span = store.log_span(account).await?;
            let mark = CellMark {
                rules: fingerprint,
                event_mark: span.event_mark,
                presence_mark: span.presence_mark,
                counted_to: now,
            };
            let whole = match span.first_at {
                Some(first) => cells::recount(
                    &cells::Changes {
                        since: first,
                        ..cells::Changes::default()
                    },
                    now,
                ),
                None => Vec::new(),
            };
            (None, whole, mark, None)
        }
    };
    let dimensions = [Dimension::Queue, Dimension::Agent, Dimension::Channel];
    let mut read = read;
    let mut written = 0;
    let last = whole.len().saturating_sub(1);
    for (n, run) in whole.iter().enumerate() {
        let ivs = cells::quarters(run.0, run.1);
        let counted = from_logs(store, account, rules, &ivs, &dimensions, now).await?;
        let out: Vec<_> = counted
            .iter()
            .zip(dimensions)
            .flat_map(|(r, d)| cells::cells(r, d, tz))
            .collect();
        let mut days: Vec<String> = ivs
            .iter()
            .filter_map(|q| local_date(q.start, tz).map(|d| d.to_string()))
            .collect();
        days.dedup();
        let step = match &hold {
            _ if n == last => mark.clone(),
            Some(hold) => hold.clone(),
            None => CellMark {
                counted_to: run.1,
                ..mark.clone()
            },
        };
        // Counting everything anew, the first run clears the cells of the rules before.
        let replace = (runs.is_some() || n > 0).then_some((std::slice::from_ref(run), &days[..]));
        if !store
            .put_cells(account, read.as_ref(), &step, replace, &out)
            .await?
        {
            return Ok(written);
        }
        written += out.len();
        read = Some(step);
    }
    if whole.is_empty() {
        // Nothing to count: the mark moves all the same.
        let replace = runs.as_ref().map(|_| (&[][..], &[][..]));
        store
            .put_cells(account, read.as_ref(), &mark, replace, &[])
            .await?;
    }
    Ok(written)
}

/// The account's rules and the report they give from the cells, counted up to `ask.now` first,
/// rows unnamed.
pub async fn run(store: &DynStore, account: AccountId, ask: Ask) -> Result<(Loaded, Report), LoadError> {
    let loaded = rules(store, account).await?;
    let ivs = cut(&loaded.tz, &ask)?;
    count_by(store, account, &loaded, ask.now).await?;
    let found = match ask.granularity {
        Granularity::Day | Granularity::Week => {
            let (first, last) = (ask.from.to_string(), ask.to.to_string());
            store.day_cells(account, ask.dimension, &first, &last).await?
        }
        Granularity::QuarterHour | Granularity::Hour => {
            let (start, end) = (ivs[0].start, ivs[ivs.len() - 1].end);
            store.cells(account, ask.dimension, start, end).await?
        }
    };
    Ok((loaded, cells::report(found, &ivs)))
}

/// The report counted straight from the raw logs, as `named` would give it from the cells: what
/// the cells are checked against (tests, the reports benchmark).
pub async fn recount(store: &DynStore, account: AccountId, ask: Ask) -> Result<Report, LoadError> {
    let Loaded { tz, rules, .. } = rules(store, account).await?;
    let ivs = cut(&tz, &ask)?;
    let mut reports = from_logs(store, account, &rules, &ivs, &[ask.dimension], ask.now).await?;
    Ok(reports.remove(0))
}

/// The report, its rows named and ordered by name: the queues and agents `scope` holds.
pub async fn named(
    store: &DynStore,
    account: AccountId,
    ask: Ask,
    scope: &Scope,
) -> Result<Named, LoadError> {
    let (loaded, r) = run(store, account, ask).await?;
    let mut names: HashMap<String, String> = HashMap::new();
    match ask.dimension {
        Dimension::Queue => {
            for q in &loaded.queues {
                names.insert(q.id.to_string(), q.name.clone());
            }
        }
        Dimension::Agent => {
            for a in store.agents(account).await? {
                names.insert(a.id.to_string(), a.name);
            }
        }
        Dimension::Channel => {}
    }
    let named_row = |id: String, cells: &[Tally]| NamedRow {
        name: names.get(&id).cloned().unwrap_or_else(|| id.clone()),
        key: id,
        intervals: cells.iter().map(Figures::from).collect(),
        total: Figures::from(&Report::total(cells)),
    };
    let mut rows: Vec<NamedRow> = match ask.dimension {
        Dimension::Channel => r
            .channels(|q| scope.queue(q))
            .iter()
            .map(|(channel, cells)| named_row(channel.as_str().to_string(), cells))
            .collect(),
        _ => r
            .rows
            .iter()
            .filter(|(key, _)| match key {
                Key::Queue(q) => scope.queue(*q),
                Key::Agent(a) => scope.agent(*a),
                Key::Channel(..) => false,
            })
            .map(|(key, cells)| named_row(key.id(), cells))
            .collect(),
    };
    rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
    Ok(Named {
        time_zone: loaded.settings.time_zone,
        dimension: ask.dimension,
        granularity: ask.granularity,
        intervals: r.intervals,
        rows,
    })
}

/// A report as CSV: a line per row and interval, then the row's total (interval `total`).
pub fn csv(named: &Named) -> String {
    let mut out = String::from(
        "key,name,interval,offered,answered,answered_in_sl,abandoned,short_abandoned,service_level,\
         service_level_answered,abandon_rate,asa_s,aht_s,avg_talk_s,avg_hold_s,avg_wrap_up_s,\
         longest_wait_s,handled,transfers,fcr_rate,occupancy,available_s,busy_s,wrap_up_state_s,break_s,\
         answered_offline\n",
    );
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let ratio = |r: Option<f64>| r.map(|r| format!("{r:.4}")).unwrap_or_default();
    let secs = |ms: Option<f64>| ms.map(|ms| format!("{:.1}", ms / 1000.0)).unwrap_or_default();
    let whole = |ms: i64| format!("{:.1}", ms as f64 / 1000.0);
    for row in &named.rows {
        let labelled = named
            .intervals
            .iter()
            .map(|i| i.label.as_str())
            .zip(&row.intervals)
            .chain([("total", &row.total)]);
        for (label, f) in labelled {
            let t = &f.tally;
            let cells = [
                field(&row.key),
                field(&row.name),
                label.to_string(),
                t.offered.to_string(),
                t.answered.to_string(),
                t.answered_in_sl.to_string(),
                t.abandoned.to_string(),
                t.short_abandoned.to_string(),
                ratio(f.service_level),
                ratio(f.service_level_answered),
                ratio(f.abandon_rate),
                secs(f.asa_ms),
                secs(f.aht_ms),
                secs(f.avg_talk_ms),
                secs(f.avg_hold_ms),
                secs(f.avg_wrap_up_ms),
                whole(t.longest_wait_ms),
                t.handled.to_string(),
                t.transfers.to_string(),
                ratio(f.fcr_rate),
                ratio(f.occupancy),
                whole(t.available_ms),
                whole(t.busy_ms),
                whole(t.wrap_up_state_ms),
                whole(t.break_ms),
                // Last, so the columns before it keep their places for scripts reading them.
                t.answered_offline.to_string(),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// Abandonment above this share makes staffing use Erlang A (callers who give up free agents).
pub const SIGNIFICANT_ABANDONMENT: f64 = 0.05;

/// The most weeks of history a staffing forecast averages.
pub const MAX_FORECAST_WEEKS: u32 = 12;

/// One interval of a staffing report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StaffingInterval {
    pub interval: Interval,
    /// Contacts offered in the interval (none yet for one still to come).
    pub offered: u64,
    /// With `forecast_weeks`: the contacts forecast, the average of the same local time on the
    /// same weekday over the weeks before.
    pub forecast: Option<f64>,
    /// The AHT used: the interval's own (or its weeks' when forecast), or the range's where it
    /// handled nothing.
    pub aht_secs: Option<f64>,
    /// Agents needed for the target, and what they would achieve.
    pub needed: Option<Outcome>,
    /// Agents who could serve the queue and were logged in and not on break, on average.
    pub staffed: f64,
}

/// Agents needed per interval next to those staffed, from a queue's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Staffing {
    pub time_zone: String,
    /// `erlang_c`, or `erlang_a` when abandonment was significant.
    pub model: &'static str,
    /// The callers' average patience estimated from the history (waiting time ÷ abandons), when
    /// Erlang A is used.
    pub patience_secs: Option<f64>,
    pub target: f64,
    pub threshold_secs: u32,
    /// When set, the agents needed are for a forecast from this many weeks before each day
    /// (the range may lie ahead: tomorrow); otherwise for what each interval was offered.
    pub forecast_weeks: Option<u32>,
    pub intervals: Vec<StaffingInterval>,
}

/// Staffing for `queue` over a range: each interval's contacts and AHT through Erlang C (or A),
/// beside the agents who could take the queue's contacts and were staffed. The contacts are
/// what each interval was offered or, with `forecast_weeks`, the average of the same local time
/// on the same weekday over that many weeks before it, with those weeks' handle times and
/// abandons: how many agents tomorrow needs.
pub async fn staffing(
    store: &DynStore,
    account: AccountId,
    queue: QueueId,
    ask: Ask,
    target: f64,
    forecast_weeks: Option<u32>,
) -> Result<Staffing, LoadError> {
    let q = store.queue(account, queue).await?;
    let by = |dimension| Ask { dimension, ..ask };
    let (loaded, by_queue) = run(store, account, by(Dimension::Queue)).await?;
    let (_, by_agent) = run(store, account, by(Dimension::Agent)).await?;
    let blank = vec![Tally::default(); by_queue.intervals.len()];
    let cells = by_queue.rows.get(&Key::Queue(queue)).unwrap_or(&blank);
    // Per interval: the contacts to staff for, and the tally their handle times and waits
    // come from.
    let (contacts, tallies): (Vec<f64>, Vec<Tally>) = match forecast_weeks {
        None => cells.iter().map(|c| (c.offered as f64, c.clone())).collect(),
        Some(weeks) => {
            let back = |date, days| super::add_days(date, days).ok_or(RangeError::OutOfRange);
            let history = Ask {
                dimension: Dimension::Queue,
                from: back(ask.from, -7 * i64::from(weeks))?,
                to: back(ask.to, -7)?,
                ..ask
            };
            let (_, past) = run(store, account, history).await?;
            let none = vec![Tally::default(); past.intervals.len()];
            let past_cells = past.rows.get(&Key::Queue(queue)).unwrap_or(&none);
            super::same_time_weeks_before(&by_queue.intervals, &past.intervals, weeks)
                .into_iter()
                .map(|found| {
                    let mut sum = Tally::default();
                    for &n in &found {
                        sum.add(&past_cells[n]);
                    }
                    let contacts = sum.offered as f64 / found.len().max(1) as f64;
                    (contacts, sum)
                })
                .collect()
        }
    };
    let total = Report::total(&tallies);
    let range_aht = Figures::from(&total).aht_ms.map(|ms| ms / 1000.0);
    let abandonment = Figures::from(&total).abandon_rate.unwrap_or(0.0);
    let waited_ms = total.answer_wait_ms + total.abandon_wait_ms;
    let patience_secs = (abandonment >= SIGNIFICANT_ABANDONMENT && total.abandoned > 0)
        .then(|| waited_ms as f64 / 1000.0 / total.abandoned as f64);
    let servers: Vec<Key> = store
        .agents(account)
        .await?
        .into_iter()
        .filter(|a| has_skills(&a.skills, &q.required_skills))
        .map(|a| Key::Agent(a.id))
        .collect();
    let intervals = by_queue
        .intervals
        .iter()
        .enumerate()
        .map(|(n, iv)| {
            let (contacts, tally) = (&contacts[n], &tallies[n]);
            let aht_secs = Figures::from(tally).aht_ms.map(|ms| ms / 1000.0).or(range_aht);
            let length_ms = (iv.end - iv.start) as f64;
            let load = aht_secs.map(|aht| Load {
                contacts: *contacts,
                interval_secs: length_ms / 1000.0,
                aht_secs: aht,
                patience_secs,
            });
            let needed = match load {
                Some(load) => erlang::agents_needed(&load, target, f64::from(q.sl_target_secs)),
                None if *contacts == 0.0 => erlang::agents_needed(
                    &Load {
                        contacts: 0.0,
                        interval_secs: length_ms / 1000.0,
                        aht_secs: 0.0,
                        patience_secs: None,
                    },
                    target,
                    0.0,
                ),
                None => None,
            };
            let staffed_ms: i64 = servers
                .iter()
                .filter_map(|k| by_agent.rows.get(k))
                .map(|cells| cells[n].available_ms + cells[n].busy_ms + cells[n].wrap_up_state_ms)
                .sum();
            StaffingInterval {
                interval: iv.clone(),
                offered: cells[n].offered,
                forecast: forecast_weeks.map(|_| *contacts),
                aht_secs,
                needed,
                staffed: staffed_ms as f64 / length_ms,
            }
        })
        .collect();
    Ok(Staffing {
        time_zone: loaded.settings.time_zone,
        model: if patience_secs.is_some() {
            "erlang_a"
        } else {
            "erlang_c"
        },
        patience_secs,
        target,
        threshold_secs: q.sl_target_secs,
        forecast_weeks,
        intervals,
    })
}
