//! Per-15-minute report cells, what reports read instead of the raw log: each quarter-hour's
//! tally per queue, agent and channel. Pure: which quarter-hours must be counted again after the
//! logs gained lines (`recount`), cut into runs; a report counted over quarter-hours turned into
//! cells (`cells`), and cells added back into a report's intervals (`report`). The shell
//! (`load::count`) reads the logs, counts the runs with `super::report` and writes the cells.
//!
//! A quarter-hour's figures come from the contacts that entered a queue in it (their waits, and
//! the handles and first-contact resolution that followed, whenever those ended) and from the
//! agents' time in it. So a new line changes the quarter-hours its interaction's stays entered
//! in, and everyone's time from the line on; a customer's return changes the resolution of their
//! earlier contacts; a presence line changes its agent's time from then on; and time passing
//! changes the quarter-hour under way.

use super::{Dimension, Interval, Key, Report, Tally, find, local_date};
use crate::domain::{CustomerId, InteractionId, Millis};
use crate::reports::ContactLog;
use crate::store::{Cell, Visit};
use jiff::tz::TimeZone;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const QUARTER: Millis = 15 * 60_000;

/// The most quarter-hours counted at once (a day): bounds what one count holds in memory.
pub const RUN_QUARTERS: i64 = 96;

/// Lines stamped this long before the last count are read again at the next: a line committed
/// after one with a higher id (two writers on PostgreSQL) is found by its time.
pub const RESCAN_MS: Millis = 10_000;

/// With nothing new in the logs, a count this soon after the last is skipped: the quarter-hour
/// under way's agent time lags by at most this much, and a burst of reports counts once.
pub const QUIET_MS: Millis = 5_000;

/// The start of the quarter-hour holding `at`.
pub fn quarter_of(at: Millis) -> Millis {
    at.div_euclid(QUARTER) * QUARTER
}

/// What the logs gained since the last count.
#[derive(Debug, Default)]
pub struct Changes<'a> {
    /// Every quarter-hour from this one to now is counted again (time passing, presence lines,
    /// the rest of open handles).
    pub since: Millis,
    /// The whole logs of the interactions that gained lines.
    pub touched: &'a [ContactLog],
    /// Each touched interaction's earliest new line.
    pub new_from: HashMap<InteractionId, Millis>,
    /// The whole logs of earlier contacts of customers who came back (`returned`).
    pub returned: &'a [ContactLog],
    /// When the new presence lines were stamped.
    pub presence: &'a [Millis],
}

/// The quarter-hours to count again, as runs `[start, end)` of at most `RUN_QUARTERS`, up to
/// the quarter-hour holding `now`.
pub fn recount(c: &Changes, now: Millis) -> Vec<(Millis, Millis)> {
    let mut tail = quarter_of(c.since);
    let mut points: BTreeSet<Millis> = BTreeSet::new();
    for log in c.touched {
        points.extend(log.lines.iter().map(|l| quarter_of(l.at)));
        if let Some(from) = c.new_from.get(&log.interaction) {
            tail = tail.min(quarter_of(*from));
        }
    }
    for log in c.returned {
        points.extend(log.lines.iter().map(|l| quarter_of(l.at)));
    }
    for at in c.presence {
        tail = tail.min(quarter_of(*at));
    }
    let last = quarter_of(now).max(points.last().copied().unwrap_or(Millis::MIN));
    let mut quarters = points.range(..tail).copied().collect::<Vec<_>>();
    quarters.extend((0..).map(|n| tail + n * QUARTER).take_while(|q| *q <= last));
    runs(&quarters)
}

/// Ordered quarter-hours joined into runs of consecutive ones, each at most `RUN_QUARTERS` long.
fn runs(quarters: &[Millis]) -> Vec<(Millis, Millis)> {
    let mut out: Vec<(Millis, Millis)> = Vec::new();
    for q in quarters {
        match out.last_mut() {
            Some((start, end)) if *end == *q && (*end - *start) / QUARTER < RUN_QUARTERS => {
                *end += QUARTER;
            }
            _ => out.push((*q, *q + QUARTER)),
        }
    }
    out
}

/// The earlier contacts whose first-contact resolution a return may change: for each arrival
/// (customer, when, the interaction that arrived), that customer's other interactions that
/// arrived before it and ended within `window` of it, or have not ended.
pub fn returned(
    arrivals: &[(CustomerId, Millis, InteractionId)],
    visits: &[Visit],
    window: Millis,
) -> Vec<InteractionId> {
    let mut by_customer: HashMap<CustomerId, Vec<&Visit>> = HashMap::new();
    for v in visits {
        by_customer.entry(v.customer).or_default().push(v);
    }
    let mut out: BTreeSet<InteractionId> = BTreeSet::new();
    for (customer, at, arrived) in arrivals {
        for v in by_customer.get(customer).into_iter().flatten() {
            if v.interaction != *arrived
                && v.arrived_at < *at
                && v.ended_at.is_none_or(|ended| ended + window >= *at)
            {
                out.insert(v.interaction);
            }
        }
    }
    out.into_iter().collect()
}

/// The intervals of the quarter-hours of `[start, end)`.
pub fn quarters(start: Millis, end: Millis) -> Vec<Interval> {
    (0..)
        .map(|n| start + n * QUARTER)
        .take_while(|q| *q < end)
        .map(|q| Interval {
            start: q,
            end: q + QUARTER,
            label: String::new(),
        })
        .collect()
}

/// The cells of `report`, counted over quarter-hours (`quarters`), the empty ones left out.
pub fn cells(report: &Report, dimension: Dimension, tz: &TimeZone) -> Vec<Cell> {
    let blank = Tally::default();
    let mut out = Vec::new();
    for (key, tallies) in &report.rows {
        for (iv, tally) in report.intervals.iter().zip(tallies) {
            if *tally == blank {
                continue;
            }
            out.push(Cell {
                dimension,
                quarter: iv.start,
                key: key.id(),
                day: local_date(iv.start, tz)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                tally: tally.clone(),
            });
        }
    }
    out
}

/// Cells (quarter-hours, or days summed by the store) added into the intervals of `ivs` that hold
/// them. A cell whose key does not read back is left out.
pub fn report(cells: Vec<Cell>, ivs: &[Interval]) -> Report {
    let mut rows: BTreeMap<Key, Vec<Tally>> = BTreeMap::new();
    for cell in cells {
        let (Some(n), Some(key)) = (find(ivs, cell.quarter), Key::parse(cell.dimension, &cell.key)) else {
            continue;
        };
        rows.entry(key)
            .or_insert_with(|| vec![Tally::default(); ivs.len()])[n]
            .add(&cell.tally);
    }
    Report {
        intervals: ivs.to_vec(),
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Channel, QueueId};
    use crate::reports::{Line, Step};

    const H: Millis = 3_600_000;

    fn id(n: u128) -> InteractionId {
        InteractionId(uuid::Uuid::from_u128(n))
    }

    fn log(n: u128, times: &[Millis]) -> ContactLog {
        ContactLog {
            interaction: id(n),
            customer: CustomerId(uuid::Uuid::from_u128(1)),
            channel: Channel::Voice,
            lines: times
                .iter()
                .map(|at| Line {
                    at: *at,
                    step: Step::Queued(Some(QueueId(uuid::Uuid::from_u128(7)))),
                })
                .collect(),
        }
    }

    #[test]
    fn time_passing_recounts_from_the_last_count_to_now() {
        let c = Changes {
            since: 10 * H + 20 * 60_000,
            ..Changes::default()
        };
        assert_eq!(
            recount(&c, 10 * H + 50 * 60_000),
            vec![(10 * H + QUARTER, 11 * H)]
        );
    }

    #[test]
    fn a_line_recounts_where_its_interaction_entered_queues_and_from_itself_on() {
        let new_from = HashMap::from([(id(1), 10 * H + 5 * 60_000)]);
        let touched = [log(1, &[2 * H, 5 * H + 1, 10 * H + 5 * 60_000])];
        let c = Changes {
            since: 10 * H + 14 * 60_000,
            touched: &touched,
            new_from,
            ..Changes::default()
        };
        assert_eq!(
            recount(&c, 10 * H + 14 * 60_000),
            vec![
                (2 * H, 2 * H + QUARTER),
                (5 * H, 5 * H + QUARTER),
                (10 * H, 10 * H + QUARTER)
            ]
        );
    }

    #[test]
    fn a_presence_line_stamped_late_recounts_from_its_time() {
        let presence = [8 * H + 40 * 60_000];
        let c = Changes {
            since: 9 * H,
            presence: &presence,
            ..Changes::default()
        };
        assert_eq!(
            recount(&c, 9 * H + 1),
            vec![(8 * H + 30 * 60_000, 9 * H + QUARTER)]
        );
    }

    #[test]
    fn long_stretches_are_cut_into_days_and_neighbours_join() {
        let quarters: Vec<Millis> = (0..200).map(|n| n * QUARTER).chain([300 * QUARTER]).collect();
        assert_eq!(
            runs(&quarters),
            vec![
                (0, 96 * QUARTER),
                (96 * QUARTER, 192 * QUARTER),
                (192 * QUARTER, 200 * QUARTER),
                (300 * QUARTER, 301 * QUARTER)
            ]
        );
    }

    #[test]
    fn a_return_reaches_the_contacts_it_can_change() {
        let customer = CustomerId(uuid::Uuid::from_u128(1));
        let other = CustomerId(uuid::Uuid::from_u128(2));
        let visit = |n, customer, arrived_at, ended_at| Visit {
            interaction: id(n),
            customer,
            arrived_at,
            ended_at,
        };
        let visits = [
            visit(1, customer, 0, Some(H)),         // ended an hour before the return: in
            visit(2, customer, 0, Some(-30 * H)),   // ended before the window: out
            visit(3, customer, H, None),            // still under way: in
            visit(4, customer, 2 * H, None),        // the return itself: out
            visit(5, other, 0, Some(H)),            // someone else: out
            visit(6, customer, 3 * H, Some(3 * H)), // arrived after the return: out
        ];
        assert_eq!(
            returned(&[(customer, 2 * H, id(4))], &visits, 24 * H),
            vec![id(1), id(3)]
        );
    }
}
