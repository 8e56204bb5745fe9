//! Contact-center reports, computed from the interaction event log and the agents' presence log.
//! The store loads the lines of a date range (`load`, the shell); this module (pure: no IO, no
//! clock of its own) turns them into figures per queue, agent or channel and interval; the API
//! serves them as JSON and CSV. Every formula is written out in docs/metrics.md.
//!
//! Figures are kept as sums (`Tally`) so that a report over a range is exactly the sum of its
//! intervals; ratios and averages (`Figures`) are derived from the sums last.

pub mod cells;
pub mod erlang;
pub mod generate;
mod intervals;
pub mod load;
#[cfg(test)]
mod tests;

pub use intervals::{
    Granularity, Interval, RangeError, add_days, find, intervals, local_date, same_time_weeks_before,
    time_zone,
};

use crate::domain::{
    AgentId, AgentState, CALL_HELD, CALL_RESUMED, Channel, CustomerId, InteractionEvent, InteractionId,
    Millis, QUEUED, QueueId,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// One line of an interaction's log, as reports read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: Millis,
    pub step: Step,
}

/// The steps of an interaction's log that reports count.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// It waits in a queue: its arrival, or (`None`) reopened in the queue it was in last.
    Queued(Option<QueueId>),
    /// It arrived in a queue with nobody on the line (a voicemail, an offline chat message).
    QueuedOffline(Option<QueueId>),
    /// Nobody waits on the line from here on (the caller chose a callback).
    Offline,
    /// Moved to another queue while waiting (overflow).
    Overflowed(QueueId),
    /// The agent handling it handed it on: to a queue, or (`None`) to a named colleague, through
    /// the queue it was in.
    Transferred(Option<QueueId>),
    Answered(AgentId),
    Abandoned,
    Ended,
    WrappedUp,
    Held,
    Resumed,
    /// An agent started it (a call they dialled, an email they wrote): never offered.
    Outbound(AgentId),
    /// Kept on the timeline but never routed (an auto-reply, a bounce).
    Filed,
    /// The agent set it aside until later: their handling stops here, and until it is answered
    /// again it is no stay in a queue (no second offer, no abandon).
    Snoozed,
}

impl Step {
    /// Reads a stored log line; `None` for lines reports do not use (offers, notes...).
    pub fn parse(kind: &str, data: &serde_json::Value) -> Option<Step> {
        fn id<T: std::str::FromStr>(data: &serde_json::Value, k: &str) -> Option<T> {
            data.get(k).and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
        }
        match kind {
            // A voicemail or an offline chat message: nobody waits on the line for it.
            QUEUED if data.get("offline").and_then(|o| o.as_bool()) == Some(true) => {
                return Some(Step::QueuedOffline(id(data, "queue_id")));
            }
            QUEUED => return Some(Step::Queued(id(data, "queue_id"))),
            CALL_HELD => return Some(Step::Held),
            CALL_RESUMED => return Some(Step::Resumed),
            _ => {}
        }
        use InteractionEvent as E;
        Some(match InteractionEvent::from_log_type(kind)? {
            E::Reopened => Step::Queued(None),
            E::Overflowed => Step::Overflowed(id(data, "to")?),
            // A move to another queue ends the stay like an overflow; to a named agent in the
            // same queue it changes no stay.
            E::Moved => Step::Overflowed(id(data, "to")?),
            E::Transferred => Step::Transferred(id(data, "to")),
            // A callback nobody answered waits again in its queue.
            E::Rescheduled => Step::Transferred(id(data, "to")),
            E::Accepted => Step::Answered(id(data, "agent_id")?),
            E::Abandoned => Step::Abandoned,
            E::Ended => Step::Ended,
            E::WrappedUp => Step::WrappedUp,
            E::Dialled | E::Started => Step::Outbound(id(data, "agent_id")?),
            E::Filed => Step::Filed,
            E::CallbackRequested => Step::Offline,
            E::Snoozed => Step::Snoozed,
            // Back for its agent first: they answer it again (a handle), it waits in no queue.
            E::Offered | E::Declined | E::OfferTimedOut | E::Woken => return None,
        })
    }
}

/// One interaction's log.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactLog {
    pub interaction: InteractionId,
    pub customer: CustomerId,
    pub channel: Channel,
    /// In log order.
    pub lines: Vec<Line>,
}

/// An agent chose a presence (`agent.state_changed`).
#[derive(Debug, Clone, PartialEq)]
pub struct PresenceLine {
    pub agent: AgentId,
    pub at: Millis,
    pub state: AgentState,
}

/// The account's rules for counting.
#[derive(Debug, Clone)]
pub struct Rules {
    /// An abandon after less wait than this is a short abandon: counted, but left out of the
    /// service level and the abandonment rate.
    pub short_abandon_ms: Millis,
    /// A handled contact is resolved at first contact when the customer does not come back
    /// within this long after it ended.
    pub fcr_window_ms: Millis,
    /// Each queue's service-level threshold.
    pub sl_threshold_ms: HashMap<QueueId, Millis>,
    /// The threshold of a queue not in `sl_threshold_ms` (one since deleted).
    pub default_sl_threshold_ms: Millis,
}

/// What a report's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Queue,
    Agent,
    Channel,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Dimension> {
        match s {
            "queue" => Some(Dimension::Queue),
            "agent" => Some(Dimension::Agent),
            "channel" => Some(Dimension::Channel),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Queue => "queue",
            Dimension::Agent => "agent",
            Dimension::Channel => "channel",
        }
    }
}

/// A report row's key. Channel rows are counted per channel and queue, so that a supervisor's
/// channel report can add up the queues of their teams (`Report::channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    Queue(QueueId),
    Agent(AgentId),
    Channel(Channel, QueueId),
}

impl Key {
    /// The key as text: a queue's or agent's id, or `voice <queue id>`.
    pub fn id(&self) -> String {
        match self {
            Key::Queue(q) => q.to_string(),
            Key::Agent(a) => a.to_string(),
            Key::Channel(c, q) => format!("{} {q}", c.as_str()),
        }
    }

    /// Reads `id`'s text back, for a row of `dimension`.
    pub fn parse(dimension: Dimension, s: &str) -> Option<Key> {
        Some(match dimension {
            Dimension::Queue => Key::Queue(s.parse().ok()?),
            Dimension::Agent => Key::Agent(s.parse().ok()?),
            Dimension::Channel => {
                let (channel, queue) = s.split_once(' ')?;
                Key::Channel(Channel::parse(channel)?, queue.parse().ok()?)
            }
        })
    }
}

/// The sums a report's figures are derived from. Adding two tallies gives the tally of both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// Entered the queue (once per queue waited in).
    pub offered: u64,
    /// Answered while someone waited on the line.
    pub answered: u64,
    /// Answered with nobody waiting on the line (a voicemail, an offline message, a callback):
    /// apart from `answered`, so the service level and the speed of answer are the waits of
    /// people holding on.
    pub answered_offline: u64,
    /// Answered within the queue's service-level threshold.
    pub answered_in_sl: u64,
    pub abandoned: u64,
    /// Abandoned within the short-abandon threshold.
    pub short_abandoned: u64,
    /// Sum of the waits of answered contacts.
    pub answer_wait_ms: i64,
    /// Sum of the waits of abandoned contacts (with `answer_wait_ms`, the time callers spent
    /// waiting: how patient they are, for Erlang A).
    pub abandon_wait_ms: i64,
    /// The longest wait of a contact answered or abandoned.
    pub longest_wait_ms: i64,
    /// Handles finished (wrapped up or transferred).
    pub handled: u64,
    pub talk_ms: i64,
    pub hold_ms: i64,
    pub wrap_up_ms: i64,
    /// Handles that ended in a transfer.
    pub transfers: u64,
    /// Handled contacts whose first-contact resolution can be judged, and those resolved.
    pub fcr_judged: u64,
    pub fcr_resolved: u64,
    /// Agent time (agent rows only).
    pub available_ms: i64,
    pub busy_ms: i64,
    pub wrap_up_state_ms: i64,
    pub break_ms: i64,
    /// Break time per reason.
    pub breaks: BTreeMap<String, i64>,
}

impl Tally {
    pub fn add(&mut self, o: &Tally) {
        self.offered += o.offered;
        self.answered += o.answered;
        self.answered_offline += o.answered_offline;
        self.answered_in_sl += o.answered_in_sl;
        self.abandoned += o.abandoned;
        self.short_abandoned += o.short_abandoned;
        self.answer_wait_ms += o.answer_wait_ms;
        self.abandon_wait_ms += o.abandon_wait_ms;
        self.longest_wait_ms = self.longest_wait_ms.max(o.longest_wait_ms);
        self.handled += o.handled;
        self.talk_ms += o.talk_ms;
        self.hold_ms += o.hold_ms;
        self.wrap_up_ms += o.wrap_up_ms;
        self.transfers += o.transfers;
        self.fcr_judged += o.fcr_judged;
        self.fcr_resolved += o.fcr_resolved;
        self.available_ms += o.available_ms;
        self.busy_ms += o.busy_ms;
        self.wrap_up_state_ms += o.wrap_up_state_ms;
        self.break_ms += o.break_ms;
        for (reason, ms) in &o.breaks {
            *self.breaks.entry(reason.clone()).or_default() += ms;
        }
    }

    fn time_in(&mut self, state: &AgentTime, ms: i64) {
        match state {
            AgentTime::Busy => self.busy_ms += ms,
            AgentTime::WrapUp => self.wrap_up_state_ms += ms,
            AgentTime::Presence(AgentState::Available) => self.available_ms += ms,
            AgentTime::Presence(AgentState::Break(reason)) => {
                self.break_ms += ms;
                *self.breaks.entry(reason.clone()).or_default() += ms;
            }
            AgentTime::Presence(AgentState::Offline) => {}
        }
    }
}

/// The figures of a tally, as docs/metrics.md defines them. `None` where the denominator is 0.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    #[serde(flatten)]
    pub tally: Tally,
    /// answered in SL ÷ (answered + abandoned − short abandoned).
    pub service_level: Option<f64>,
    /// answered in SL ÷ answered.
    pub service_level_answered: Option<f64>,
    /// (abandoned − short abandoned) ÷ (offered − short abandoned).
    pub abandon_rate: Option<f64>,
    pub asa_ms: Option<f64>,
    pub aht_ms: Option<f64>,
    pub avg_talk_ms: Option<f64>,
    pub avg_hold_ms: Option<f64>,
    pub avg_wrap_up_ms: Option<f64>,
    pub fcr_rate: Option<f64>,
    /// (busy + wrap-up) ÷ (available + busy + wrap-up).
    pub occupancy: Option<f64>,
}

fn ratio(n: f64, d: f64) -> Option<f64> {
    (d > 0.0).then(|| n / d)
}

impl From<&Tally> for Figures {
    fn from(t: &Tally) -> Figures {
        let counted = (t.answered + t.abandoned - t.short_abandoned) as f64;
        let handled = t.handled as f64;
        let working = (t.busy_ms + t.wrap_up_state_ms) as f64;
        Figures {
            service_level: ratio(t.answered_in_sl as f64, counted),
            service_level_answered: ratio(t.answered_in_sl as f64, t.answered as f64),
            abandon_rate: ratio(
                (t.abandoned - t.short_abandoned) as f64,
                t.offered.saturating_sub(t.short_abandoned + t.answered_offline) as f64,
            ),
            asa_ms: ratio(t.answer_wait_ms as f64, t.answered as f64),
            aht_ms: ratio((t.talk_ms + t.hold_ms + t.wrap_up_ms) as f64, handled),
            avg_talk_ms: ratio(t.talk_ms as f64, handled),
            avg_hold_ms: ratio(t.hold_ms as f64, handled),
            avg_wrap_up_ms: ratio(t.wrap_up_ms as f64, handled),
            fcr_rate: ratio(t.fcr_resolved as f64, t.fcr_judged as f64),
            occupancy: ratio(working, working + t.available_ms as f64),
            tally: t.clone(),
        }
    }
}

/// A report: one row per key that has anything in the range, one tally per interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub intervals: Vec<Interval>,
    pub rows: BTreeMap<Key, Vec<Tally>>,
}

impl Report {
    /// A row's tallies added up: the whole range.
    pub fn total(cells: &[Tally]) -> Tally {
        let mut total = Tally::default();
        for cell in cells {
            total.add(cell);
        }
        total
    }

    /// The channel rows added up per channel, over the queues `keep` holds.
    pub fn channels(&self, keep: impl Fn(QueueId) -> bool) -> BTreeMap<Channel, Vec<Tally>> {
        let mut out: BTreeMap<Channel, Vec<Tally>> = BTreeMap::new();
        for (key, cells) in &self.rows {
            let Key::Channel(channel, queue) = key else {
                continue;
            };
            if !keep(*queue) {
                continue;
            }
            let sum = out
                .entry(*channel)
                .or_insert_with(|| vec![Tally::default(); cells.len()]);
            for (s, c) in sum.iter_mut().zip(cells) {
                s.add(c);
            }
        }
        out
    }
}

// --- from log lines to waits and handles ---

/// How a stay in a queue ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Answered(AgentId),
    Abandoned,
    /// Overflowed to another queue, or sent elsewhere by a supervisor.
    Moved,
}

/// One stay in one queue.
#[derive(Debug, Clone)]
struct Segment {
    queue: QueueId,
    entered: Millis,
    /// Nobody waited on the line for it (a voicemail, an offline message, a callback): its answer
    /// is counted apart, out of the service level and the speed of answer.
    offline: bool,
    left: Option<(Millis, Outcome)>,
    /// The handle that followed its answer.
    handle: Option<usize>,
    /// For the interaction's first answered stay: whether it was resolved at first contact, if
    /// that can be told yet.
    fcr: Option<bool>,
}

/// An agent's work on one interaction, from answer (or start) to wrap-up or transfer.
#[derive(Debug, Clone)]
struct Handle {
    agent: AgentId,
    started: Millis,
    hold_ms: i64,
    hold_since: Option<Millis>,
    /// When the conversation ended (wrap-up starts).
    ended: Option<Millis>,
    /// Wrapped up or handed on: the handle is over.
    closed: Option<Millis>,
    transferred: bool,
}

impl Handle {
    fn new(agent: AgentId, at: Millis) -> Handle {
        Handle {
            agent,
            started: at,
            hold_ms: 0,
            hold_since: None,
            ended: None,
            closed: None,
            transferred: false,
        }
    }

    fn stop_hold(&mut self, at: Millis) {
        if let Some(since) = self.hold_since.take() {
            self.hold_ms += at - since;
        }
    }

    fn end(&mut self, at: Millis) {
        if self.ended.is_none() {
            self.stop_hold(at);
            self.ended = Some(at);
        }
    }

    fn close(&mut self, at: Millis) {
        self.end(at);
        self.closed = Some(at);
    }

    /// (talk, hold, wrap-up) of a finished handle.
    fn split(&self) -> Option<(i64, i64, i64)> {
        let (ended, closed) = (self.ended?, self.closed?);
        Some((ended - self.started - self.hold_ms, self.hold_ms, closed - ended))
    }
}

/// What one interaction's log comes to.
#[derive(Debug, Default)]
struct Contact {
    segments: Vec<Segment>,
    handles: Vec<Handle>,
    /// When it was reopened.
    reopened: Vec<Millis>,
}

fn read(log: &ContactLog) -> Contact {
    let mut c = Contact::default();
    let mut queue: Option<QueueId> = None;
    let mut waiting: Option<Segment> = None;
    let mut handling: Option<usize> = None;
    // Whether the contact waits with nobody on the line from here on.
    let mut offline = false;
    let enter = |q: QueueId, at: Millis, offline: bool| Segment {
        queue: q,
        entered: at,
        offline,
        left: None,
        handle: None,
        fcr: None,
    };
    for line in &log.lines {
        let at = line.at;
        match &line.step {
            Step::Queued(q) | Step::QueuedOffline(q) => {
                if q.is_none() {
                    c.reopened.push(at);
                }
                offline = matches!(line.step, Step::QueuedOffline(_));
                if let Some(q) = q.or(queue) {
                    queue = Some(q);
                    if let Some(mut s) = waiting.replace(enter(q, at, offline)) {
                        s.left = Some((at, Outcome::Moved));
                        c.segments.push(s);
                    }
                }
            }
            Step::Offline => {
                offline = true;
                if let Some(s) = &mut waiting {
                    s.offline = true;
                }
            }
            Step::Overflowed(to) | Step::Transferred(Some(to)) if waiting.is_some() => {
                if let Some(mut s) = waiting.replace(enter(*to, at, offline)) {
                    s.left = Some((at, Outcome::Moved));
                    c.segments.push(s);
                }
                queue = Some(*to);
            }
            Step::Overflowed(to) => {
                queue = Some(*to);
                waiting = Some(enter(*to, at, offline));
            }
            Step::Transferred(to) => {
                if let Some(h) = handling.take() {
                    c.handles[h].transferred = true;
                    c.handles[h].close(at);
                }
                if let Some(q) = to.or(queue) {
                    queue = Some(q);
                    waiting = Some(enter(q, at, offline));
                }
            }
            Step::Answered(agent) => {
                if let Some(h) = handling.take() {
                    c.handles[h].close(at);
                }
                c.handles.push(Handle::new(*agent, at));
                handling = Some(c.handles.len() - 1);
                if let Some(mut s) = waiting.take() {
                    s.left = Some((at, Outcome::Answered(*agent)));
                    s.handle = handling;
                    c.segments.push(s);
                }
            }
            Step::Abandoned => {
                if let Some(mut s) = waiting.take() {
                    s.left = Some((at, Outcome::Abandoned));
                    c.segments.push(s);
                }
            }
            Step::Ended => {
                if let Some(h) = handling {
                    c.handles[h].end(at);
                }
            }
            Step::WrappedUp => {
                if let Some(h) = handling.take() {
                    c.handles[h].close(at);
                }
            }
            Step::Held => {
                if let Some(h) = handling {
                    c.handles[h].hold_since.get_or_insert(at);
                }
            }
            Step::Resumed => {
                if let Some(h) = handling {
                    c.handles[h].stop_hold(at);
                }
            }
            Step::Outbound(agent) => {
                // Never offered: its first line is not a wait.
                waiting = None;
                c.handles.push(Handle::new(*agent, at));
                handling = Some(c.handles.len() - 1);
            }
            Step::Filed => waiting = None,
            Step::Snoozed => {
                if let Some(h) = handling.take() {
                    c.handles[h].close(at);
                }
                waiting = None;
            }
        }
    }
    c.segments.extend(waiting);
    c
}

/// Marks each contact's first answered stay resolved or not: resolved when the customer did not
/// come back (any later contact with them, or this one reopened) within the window after its
/// first handle ended. Not judged while that handle is under way. `later` adds the contacts
/// that began after the logs' range.
fn judge_fcr(
    contacts: &mut [(CustomerId, Contact)],
    logs: &[ContactLog],
    later: &[(CustomerId, Millis)],
    window: Millis,
) {
    let mut arrivals: HashMap<CustomerId, Vec<Millis>> = HashMap::new();
    let first = logs
        .iter()
        .filter_map(|log| log.lines.first().map(|l| (log.customer, l.at)));
    for (customer, at) in first.chain(later.iter().copied()) {
        arrivals.entry(customer).or_default().push(at);
    }
    for list in arrivals.values_mut() {
        list.sort_unstable();
    }
    for (customer, c) in contacts.iter_mut() {
        let Some(first) = c.segments.iter().position(|s| s.handle.is_some()) else {
            continue;
        };
        let Some(ended) = c.segments[first].handle.and_then(|h| c.handles[h].ended) else {
            continue;
        };
        let arrived = c.segments[first].entered;
        let later = arrivals.get(customer).is_some_and(|list| {
            let from = list.partition_point(|t| *t <= arrived);
            list.get(from).is_some_and(|t| *t <= ended + window)
        });
        let reopened = c.reopened.iter().any(|t| *t > arrived && *t <= ended + window);
        c.segments[first].fcr = Some(!later && !reopened);
    }
}

/// What an agent is doing at a moment: working overrides the presence they chose.
#[derive(Debug, Clone, PartialEq)]
enum AgentTime {
    Busy,
    WrapUp,
    Presence(AgentState),
}

/// Adds `ms` of `what` to the cells `[from, to)` overlaps, clipped to the intervals.
fn slice(cells: &mut [Tally], ivs: &[Interval], from: Millis, to: Millis, what: &AgentTime) {
    if from >= to {
        return;
    }
    let first = ivs.partition_point(|iv| iv.end <= from);
    for (iv, cell) in ivs[first..].iter().zip(&mut cells[first..]) {
        if iv.start >= to {
            break;
        }
        let ms = to.min(iv.end) - from.max(iv.start);
        if ms > 0 {
            cell.time_in(what, ms);
        }
    }
}

/// The report over `ivs` (from `intervals`) by `dimension`. `later` are the customers' contacts
/// that began after the range (for first-contact resolution); `until` is now: whatever is still
/// under way is counted up to it.
pub fn report(
    logs: &[ContactLog],
    later: &[(CustomerId, Millis)],
    presence: &[PresenceLine],
    rules: &Rules,
    ivs: &[Interval],
    dimension: Dimension,
    until: Millis,
) -> Report {
    let mut one = reports(logs, later, presence, rules, ivs, &[dimension], until);
    one.remove(0)
}

/// The reports by each of `dimensions` (as [`report`] gives each), the logs read and first
/// contacts judged once for all of them.
pub fn reports(
    logs: &[ContactLog],
    later: &[(CustomerId, Millis)],
    presence: &[PresenceLine],
    rules: &Rules,
    ivs: &[Interval],
    dimensions: &[Dimension],
    until: Millis,
) -> Vec<Report> {
    let mut contacts: Vec<(CustomerId, Contact)> = logs.iter().map(|log| (log.customer, read(log))).collect();
    judge_fcr(&mut contacts, logs, later, rules.fcr_window_ms);
    dimensions
        .iter()
        .map(|d| tally(&contacts, logs, presence, rules, ivs, *d, until))
        .collect()
}

/// One dimension's report of contacts already read and judged.
fn tally(
    contacts: &[(CustomerId, Contact)],
    logs: &[ContactLog],
    presence: &[PresenceLine],
    rules: &Rules,
    ivs: &[Interval],
    dimension: Dimension,
    until: Millis,
) -> Report {
    let mut rows: BTreeMap<Key, Vec<Tally>> = BTreeMap::new();
    let blank = || vec![Tally::default(); ivs.len()];
    for ((_, c), log) in contacts.iter().zip(logs) {
        for s in &c.segments {
            let Some(n) = find(ivs, s.entered) else { continue };
            let answered_by = match s.left {
                Some((_, Outcome::Answered(agent))) => Some(agent),
                _ => None,
            };
            let key = match dimension {
                Dimension::Queue => Key::Queue(s.queue),
                Dimension::Channel => Key::Channel(log.channel, s.queue),
                Dimension::Agent => match answered_by {
                    Some(agent) => Key::Agent(agent),
                    None => continue,
                },
            };
            let cell = &mut rows.entry(key).or_insert_with(blank)[n];
            cell.offered += 1;
            let threshold = rules
                .sl_threshold_ms
                .get(&s.queue)
                .copied()
                .unwrap_or(rules.default_sl_threshold_ms);
            match s.left {
                // Nobody waited on the line: counted apart, and never an abandon.
                Some((_, Outcome::Answered(_))) if s.offline => cell.answered_offline += 1,
                Some((_, Outcome::Abandoned)) if s.offline => {}
                Some((at, Outcome::Answered(_))) => {
                    let wait = at - s.entered;
                    cell.answered += 1;
                    cell.answer_wait_ms += wait;
                    cell.answered_in_sl += u64::from(wait <= threshold);
                    cell.longest_wait_ms = cell.longest_wait_ms.max(wait);
                }
                Some((at, Outcome::Abandoned)) => {
                    let wait = at - s.entered;
                    cell.abandoned += 1;
                    cell.abandon_wait_ms += wait;
                    cell.short_abandoned += u64::from(wait < rules.short_abandon_ms);
                    cell.longest_wait_ms = cell.longest_wait_ms.max(wait);
                }
                Some((_, Outcome::Moved)) | None => {}
            }
            if let Some((talk, hold, wrap)) = s.handle.and_then(|h| c.handles[h].split()) {
                cell.handled += 1;
                cell.talk_ms += talk;
                cell.hold_ms += hold;
                cell.wrap_up_ms += wrap;
                cell.transfers += u64::from(s.handle.is_some_and(|h| c.handles[h].transferred));
            }
            if let Some(resolved) = s.fcr {
                cell.fcr_judged += 1;
                cell.fcr_resolved += u64::from(resolved);
            }
        }
    }

    if dimension == Dimension::Agent {
        agent_time(contacts, presence, ivs, until, &mut rows);
    }
    Report {
        intervals: ivs.to_vec(),
        rows,
    }
}

/// Each agent's time per state, sliced into the intervals: a sweep over the moments their
/// presence, or the number of contacts they handle or wrap up, changes.
fn agent_time(
    contacts: &[(CustomerId, Contact)],
    presence: &[PresenceLine],
    ivs: &[Interval],
    until: Millis,
    rows: &mut BTreeMap<Key, Vec<Tally>>,
) {
    let (Some(first), Some(last)) = (ivs.first(), ivs.last()) else {
        return;
    };
    let (start, end) = (first.start, last.end.min(until));
    /// A change at a moment: a presence, or +1/−1 on the busy or wrap-up count.
    enum Change<'a> {
        Presence(&'a AgentState),
        Busy(i32),
        Wrap(i32),
    }
    let mut changes: HashMap<AgentId, Vec<(Millis, Change)>> = HashMap::new();
    for p in presence {
        changes
            .entry(p.agent)
            .or_default()
            .push((p.at, Change::Presence(&p.state)));
    }
    for (_, c) in contacts {
        for h in &c.handles {
            let list = changes.entry(h.agent).or_default();
            let talk_end = h.ended.unwrap_or(until);
            list.push((h.started, Change::Busy(1)));
            list.push((talk_end, Change::Busy(-1)));
            if let Some(ended) = h.ended {
                list.push((ended, Change::Wrap(1)));
                list.push((h.closed.unwrap_or(until).max(ended), Change::Wrap(-1)));
            }
        }
    }
    for (agent, mut list) in changes {
        // Stable: lines of one moment keep their log order.
        list.sort_by_key(|(at, _)| *at);
        let offline = AgentState::Offline;
        let (mut chosen, mut busy, mut wrap) = (&offline, 0, 0);
        let mut since = Millis::MIN;
        let mut cells = rows
            .remove(&Key::Agent(agent))
            .unwrap_or_else(|| vec![Tally::default(); ivs.len()]);
        let doing = |busy: i32, wrap: i32, chosen: &AgentState| {
            if busy > 0 {
                AgentTime::Busy
            } else if wrap > 0 {
                AgentTime::WrapUp
            } else {
                AgentTime::Presence(chosen.clone())
            }
        };
        for (at, change) in list {
            slice(
                &mut cells,
                ivs,
                since.max(start),
                at.min(end),
                &doing(busy, wrap, chosen),
            );
            since = at;
            match change {
                Change::Presence(state) => chosen = state,
                Change::Busy(d) => busy += d,
                Change::Wrap(d) => wrap += d,
            }
        }
        slice(&mut cells, ivs, since.max(start), end, &doing(busy, wrap, chosen));
        if cells.iter().any(|c| *c != Tally::default()) {
            rows.insert(Key::Agent(agent), cells);
        }
    }
}
