//! A realistic month of contact-center traffic, written straight into the store's tables, and the
//! plain SQL GROUP BY that computes a report's waiting figures from the raw log: what the reports
//! benchmark (`hub/benches/reports.rs`) measures, and what the CI check compares the report
//! engine with. `Traffic` is pure (a seed in, rows out, one day at a time); `write_day_*` is the
//! shell that inserts a day's rows in one transaction.
//!
//! What makes it realistic: arrivals follow a two-humped curve through the day (a morning peak at
//! 10:00, an afternoon one at 14:00, little at night), weekdays carry twice a Sunday's volume;
//! half the contacts are calls, the rest chat, email and messaging; waits grow with the load of
//! the hour and callers with less patience than their wait abandon (a few within seconds: short
//! abandons); voice calls are sometimes held; some contacts are transferred to another queue;
//! every handle ends with wrap-up; a share of customers come back within days (first-contact
//! resolution); agents work shifts with coffee breaks and lunch.

use crate::domain::{
    AccountId, AgentId, CALL_HELD, CALL_RESUMED, Channel, CustomerId, InteractionId, Millis, QUEUED, QueueId,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::VecDeque;
use uuid::Uuid;

const SECOND: Millis = 1000;
const MINUTE: Millis = 60 * SECOND;
const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

/// Relative arrivals per local hour of the day.
const HOURLY: [f64; 24] = [
    0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.8, 2.0, 5.0, 8.0, 9.0, 8.5, 7.0, 7.5, 9.0, 8.0, 7.0, 5.5, 4.0, 3.0, 2.2,
    1.5, 0.8, 0.4,
];

/// Relative arrivals per weekday, Monday first.
const WEEKLY: [f64; 7] = [1.15, 1.0, 1.0, 1.0, 0.95, 0.55, 0.4];

/// A share of contacts from a customer seen in the last `RECENT` contacts.
const REPEAT_SHARE: f64 = 0.18;
const RECENT: usize = 20_000;
const TRANSFER_SHARE: f64 = 0.06;

/// The month to make: `interactions` spread over `days` from `start` (a Monday, midnight UTC).
#[derive(Debug, Clone)]
pub struct Month {
    pub account: AccountId,
    pub start: Millis,
    pub days: u32,
    pub interactions: u64,
    pub seed: u64,
    /// The queues, each with its service-level threshold in seconds.
    pub queues: Vec<(QueueId, u32)>,
    pub agents: Vec<AgentId>,
}

/// One interaction row and its log, in order.
#[derive(Debug, Clone)]
pub struct Contact {
    pub id: InteractionId,
    pub customer: CustomerId,
    pub channel: Channel,
    pub queue: QueueId,
    pub state: &'static str,
    pub arrived_at: Millis,
    pub agent: Option<AgentId>,
    pub ended_at: Option<Millis>,
    pub events: Vec<Event>,
}

/// A line of `interaction_events`.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: &'static str,
    pub data: String,
    pub at: Millis,
}

/// A line of `agent_events`.
#[derive(Debug, Clone)]
pub struct Presence {
    pub agent: AgentId,
    pub state: &'static str,
    pub reason: Option<&'static str>,
    pub at: Millis,
}

/// One day's rows.
#[derive(Debug, Default)]
pub struct Day {
    /// Customers first seen that day, with when.
    pub customers: Vec<(CustomerId, Millis)>,
    pub contacts: Vec<Contact>,
    pub presence: Vec<Presence>,
}

/// The generator: deterministic for a seed, one day after the other.
pub struct Traffic {
    month: Month,
    rng: StdRng,
    /// Each queue's share of arrivals (cumulative), skewed: a few big queues, many small.
    queue_weights: Vec<f64>,
    customers: u64,
    contacts: u64,
    recent: VecDeque<CustomerId>,
}

/// An agent's shift on a day: `[start, end)` from local midnight, if they work that day.
fn shift(agent: usize, weekday: usize) -> Option<(Millis, Millis)> {
    if weekday >= 5 && agent % 5 >= 2 {
        return None;
    }
    let start = if agent % 10 == 9 {
        15 * HOUR + 30 * MINUTE
    } else {
        [6, 7, 8, 8, 9, 9, 10, 12, 14][agent % 9] * HOUR + (agent as i64 % 4) * 15 * MINUTE
    };
    Some((start, (start + 8 * HOUR + 30 * MINUTE).min(DAY)))
}

/// Cumulative weights, for picking an index in proportion to its weight.
fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    weights
        .into_iter()
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

fn pick(rng: &mut StdRng, cumulative: &[f64]) -> usize {
    let r = rng.random::<f64>() * cumulative.last().copied().unwrap_or(0.0);
    cumulative.partition_point(|c| *c <= r).min(cumulative.len() - 1)
}

/// Exponentially distributed with `mean`.
fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// Log-normal around `mean` (a σ of 0.6: most handles near the mean, a long tail).
fn log_normal(rng: &mut StdRng, mean: f64) -> f64 {
    let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    mean * (0.6 * z - 0.18).exp()
}

fn secs(x: f64) -> Millis {
    (x * 1000.0) as Millis
}

fn agent_data(agent: AgentId) -> String {
    format!(r#"{{"agent_id":"{agent}"}}"#)
}

impl Traffic {
    pub fn new(month: Month) -> Traffic {
        let queue_weights = cumulative((0..month.queues.len()).map(|k| 1.0 / ((k + 1) as f64).powf(0.8)));
        Traffic {
            rng: StdRng::seed_from_u64(month.seed),
            month,
            queue_weights,
            customers: 0,
            contacts: 0,
            recent: VecDeque::with_capacity(RECENT),
        }
    }

    pub fn month(&self) -> &Month {
        &self.month
    }

    fn id(&self, kind: u128, n: u64) -> Uuid {
        Uuid::from_u128((u128::from(self.month.seed) << 96) | (kind << 64) | u128::from(n))
    }

    /// How many arrivals day `d` gets: the month's total in proportion to the weekdays.
    fn arrivals_on(&self, d: u32) -> u64 {
        let weight = |d: u32| WEEKLY[d as usize % 7];
        let total: f64 = (0..self.month.days).map(weight).sum();
        let before: f64 = (0..d).map(weight).sum();
        let n = self.month.interactions as f64;
        ((before + weight(d)) / total * n).round() as u64 - (before / total * n).round() as u64
    }

    /// The rows of day `d` (0-based).
    pub fn day(&mut self, d: u32) -> Day {
        let midnight = self.month.start + i64::from(d) * DAY;
        let weekday = d as usize % 7;
        let mut day = Day::default();
        let agents = self.month.agents.clone();
        let mut on_shift: Vec<Option<(Millis, Millis)>> = Vec::with_capacity(agents.len());
        for (n, agent) in agents.iter().enumerate() {
            let hours = shift(n, weekday);
            on_shift.push(hours);
            let Some((start, end)) = hours else { continue };
            let mut at = |offset: Millis, state, reason| {
                day.presence.push(Presence {
                    agent: *agent,
                    state,
                    reason,
                    at: midnight + start + offset,
                })
            };
            at(0, "available", None);
            at(2 * HOUR, "break", Some("coffee"));
            at(2 * HOUR + 15 * MINUTE, "available", None);
            at(4 * HOUR, "break", Some("lunch"));
            at(4 * HOUR + 30 * MINUTE, "available", None);
            at(6 * HOUR + 30 * MINUTE, "break", Some("coffee"));
            at(6 * HOUR + 45 * MINUTE, "available", None);
            day.presence.push(Presence {
                agent: *agent,
                state: "offline",
                reason: None,
                at: midnight + end,
            });
        }
        day.presence.sort_by_key(|p| p.at);

        let hourly = cumulative(HOURLY);
        let mut times: Vec<Millis> = (0..self.arrivals_on(d))
            .map(|_| {
                let hour = pick(&mut self.rng, &hourly) as Millis;
                midnight + hour * HOUR + self.rng.random_range(0..HOUR)
            })
            .collect();
        times.sort_unstable();
        for arrived in times {
            let load = HOURLY[((arrived - midnight) / HOUR) as usize] / 9.0;
            let contact = self.contact(arrived, load, midnight, &on_shift, &mut day.customers);
            day.contacts.push(contact);
        }
        day
    }

    /// An agent of `queue`'s pool (the agents whose number is the queue's, or the next queue's,
    /// modulo the number of queues), preferring one on shift at `at`.
    fn agent_for(
        &mut self,
        queue: usize,
        at: Millis,
        midnight: Millis,
        on_shift: &[Option<(Millis, Millis)>],
    ) -> AgentId {
        let queues = self.month.queues.len();
        let pool: Vec<usize> = (0..self.month.agents.len())
            .skip(queue % queues)
            .step_by(queues)
            .chain(
                (0..self.month.agents.len())
                    .skip((queue + 1) % queues)
                    .step_by(queues),
            )
            .collect();
        let working: Vec<usize> = pool
            .iter()
            .copied()
            .filter(|n| on_shift[*n].is_some_and(|(s, e)| (s..e).contains(&(at - midnight))))
            .collect();
        let from = if working.is_empty() { &pool } else { &working };
        self.month.agents[from[self.rng.random_range(0..from.len())]]
    }

    fn contact(
        &mut self,
        arrived: Millis,
        load: f64,
        midnight: Millis,
        on_shift: &[Option<(Millis, Millis)>],
        new_customers: &mut Vec<(CustomerId, Millis)>,
    ) -> Contact {
        let rng = &mut self.rng;
        let channel = match rng.random::<f64>() {
            r if r < 0.5 => Channel::Voice,
            r if r < 0.8 => Channel::Chat,
            r if r < 0.95 => Channel::Email,
            _ => Channel::Messaging,
        };
        let customer = if !self.recent.is_empty() && rng.random::<f64>() < REPEAT_SHARE {
            self.recent[rng.random_range(0..self.recent.len())]
        } else {
            self.customers += 1;
            let c = CustomerId(self.id(3, self.customers));
            new_customers.push((c, arrived));
            c
        };
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(customer);
        self.contacts += 1;
        let id = InteractionId(self.id(4, self.contacts));
        let q = pick(&mut self.rng, &self.queue_weights);
        let queue = self.month.queues[q].0;
        let mut c = Contact {
            id,
            customer,
            channel,
            queue,
            state: "closed",
            arrived_at: arrived,
            agent: None,
            ended_at: None,
            events: vec![Event {
                kind: QUEUED,
                data: format!(r#"{{"queue_id":"{queue}"}}"#),
                at: arrived,
            }],
        };
        // (mean wait at full load, mean patience, mean handle) in seconds, per channel.
        let (wait, patience, handle) = match channel {
            Channel::Voice => (40.0, 150.0, 270.0),
            Channel::Chat => (60.0, 300.0, 540.0),
            Channel::Messaging => (300.0, 3_600.0, 600.0),
            Channel::Email => (1_800.0, f64::INFINITY, 420.0),
        };
        let mut at = arrived;
        let mut queue_n = q;
        for stay in 0..2 {
            let rng = &mut self.rng;
            let waited = secs(exponential(rng, wait * (0.3 + load)).min(8.0 * 3600.0));
            // A few callers hang up within seconds (short abandons); the rest give up when their
            // patience runs out before an agent answers.
            let gives_up = if channel == Channel::Voice && rng.random::<f64>() < 0.02 {
                secs(rng.random::<f64>() * 5.0)
            } else {
                secs(exponential(rng, patience).min(1e9))
            };
            if stay == 0 && gives_up < waited {
                at += gives_up;
                c.events.push(Event {
                    kind: "interaction.abandoned",
                    data: "{}".into(),
                    at,
                });
                c.state = "abandoned";
                c.ended_at = Some(at);
                return c;
            }
            at += waited;
            let agent = self.agent_for(queue_n, at, midnight, on_shift);
            let rng = &mut self.rng;
            c.events.push(Event {
                kind: "interaction.offered",
                data: agent_data(agent),
                at: at - SECOND.min(waited),
            });
            c.events.push(Event {
                kind: "interaction.accepted",
                data: agent_data(agent),
                at,
            });
            c.agent = Some(agent);
            let talk = secs(log_normal(rng, handle));
            if channel == Channel::Voice && rng.random::<f64>() < 0.25 {
                let held = at + talk / 3;
                let hold = secs(rng.random_range(20.0..120.0));
                c.events.push(Event {
                    kind: CALL_HELD,
                    data: agent_data(agent),
                    at: held,
                });
                c.events.push(Event {
                    kind: CALL_RESUMED,
                    data: agent_data(agent),
                    at: held + hold,
                });
                at += hold;
            }
            at += talk;
            if stay == 0 && rng.random::<f64>() < TRANSFER_SHARE {
                // Handed on to a neighbouring queue: a second stay.
                queue_n = (q + 1 + rng.random_range(0..3)) % self.month.queues.len();
                let to = self.month.queues[queue_n].0;
                c.events.push(Event {
                    kind: "interaction.transferred",
                    data: format!(r#"{{"agent_id":"{agent}","to":"{to}"}}"#),
                    at,
                });
                c.queue = to;
                continue;
            }
            c.events.push(Event {
                kind: "interaction.ended",
                data: agent_data(agent),
                at,
            });
            c.ended_at = Some(at);
            at += secs(rng.random_range(15.0..90.0));
            c.events.push(Event {
                kind: "interaction.wrapped_up",
                data: format!(r#"{{"agent_id":"{agent}","disposition":"resolved"}}"#),
                at,
            });
            break;
        }
        c
    }
}

/// Rows per multi-row INSERT: under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const BATCH: usize = 2_000;

macro_rules! write_day {
    ($name:ident, $db:ty) => {
        /// Inserts a day's rows in one transaction.
        pub async fn $name(pool: &sqlx::Pool<$db>, account: AccountId, day: &Day) -> Result<(), sqlx::Error> {
            let account = account.to_string();
            let mut tx = pool.begin().await?;
            for chunk in day.customers.chunks(BATCH) {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO customers (id, account_id, name, name_search, tags, created_at, updated_at) ",
                );
                b.push_values(chunk, |mut row, (id, at)| {
                    row.push_bind(id.to_string())
                        .push_bind(&account)
                        .push_bind("")
                        .push_bind("")
                        .push_bind("[]")
                        .push_bind(*at)
                        .push_bind(*at);
                });
                b.build().execute(&mut *tx).await?;
            }
            for chunk in day.contacts.chunks(BATCH / 2) {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO interactions (id, account_id, customer_id, channel, queue_id, state, priority, \
                     arrived_at, agent_id, entry_point, offline, ended_at) ",
                );
                b.push_values(chunk, |mut row, c| {
                    row.push_bind(c.id.to_string())
                        .push_bind(&account)
                        .push_bind(c.customer.to_string())
                        .push_bind(c.channel.as_str())
                        .push_bind(c.queue.to_string())
                        .push_bind(c.state)
                        .push_bind(0_i32)
                        .push_bind(c.arrived_at)
                        .push_bind(c.agent.map(|a| a.to_string()))
                        .push_bind("bench")
                        .push_bind(false)
                        .push_bind(c.ended_at);
                });
                b.build().execute(&mut *tx).await?;
            }
            let events: Vec<(InteractionId, &Event)> = day
                .contacts
                .iter()
                .flat_map(|c| c.events.iter().map(move |e| (c.id, e)))
                .collect();
            for chunk in events.chunks(BATCH) {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO interaction_events (account_id, interaction_id, type, data, at) ",
                );
                b.push_values(chunk, |mut row, (id, e)| {
                    row.push_bind(&account)
                        .push_bind(id.to_string())
                        .push_bind(e.kind)
                        .push_bind(&e.data)
                        .push_bind(e.at);
                });
                b.build().execute(&mut *tx).await?;
            }
            for chunk in day.presence.chunks(BATCH) {
                let mut b = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO agent_events (account_id, agent_id, state, reason, at) ",
                );
                b.push_values(chunk, |mut row, p| {
                    row.push_bind(&account)
                        .push_bind(p.agent.to_string())
                        .push_bind(p.state)
                        .push_bind(p.reason)
                        .push_bind(p.at);
                });
                b.build().execute(&mut *tx).await?;
            }
            tx.commit().await
        }
    };
}

write_day!(write_day_sqlite, sqlx::Sqlite);
write_day!(write_day_postgres, sqlx::Postgres);

/// The naive way to a queue report's waiting figures: one GROUP BY over `interaction_events`.
/// Each stay in a queue starts at a `queued` line (or a transfer to a queue) and ends at the next
/// `accepted` or `abandoned` line of the same interaction (`LEAD` over the log). Binds: `$1`
/// account, `$2` the range's start, `$3` its end, `$4` the interval length in ms (intervals of
/// fixed length from `$2`: days or quarter-hours of a UTC account). Rows: queue, interval index,
/// offered, answered, answered in SL, abandoned, short abandoned, the answered contacts' waits.
pub fn plain_group_by(postgres: bool) -> String {
    let field = |name: &str| {
        if postgres {
            format!("CAST(data AS json) ->> '{name}'")
        } else {
            format!("json_extract(data, '$.{name}')")
        }
    };
    format!(
        "WITH e AS (SELECT type, at, \
           CASE type WHEN 'interaction.queued' THEN {queued} ELSE {to} END AS queue_id, \
           LEAD(type) OVER w AS next_type, LEAD(at) OVER w AS next_at \
         FROM interaction_events WHERE account_id = $1 AND at >= $2 AND at < $3 + 86400000 \
           AND type IN ('interaction.queued', 'interaction.transferred', 'interaction.accepted', \
             'interaction.abandoned') \
         WINDOW w AS (PARTITION BY interaction_id ORDER BY id)) \
         SELECT e.queue_id, CAST((e.at - $2) / $4 AS BIGINT) AS bucket, COUNT(*) AS offered, \
           CAST(SUM(CASE WHEN next_type = 'interaction.accepted' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN next_type = 'interaction.accepted' \
             AND next_at - e.at <= q.sl_target_secs * 1000 THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN next_type = 'interaction.abandoned' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN next_type = 'interaction.abandoned' \
             AND next_at - e.at < a.short_abandon_secs * 1000 THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN next_type = 'interaction.accepted' THEN next_at - e.at ELSE 0 END) AS BIGINT) \
         FROM e JOIN queues AS q ON q.account_id = $1 AND q.id = e.queue_id \
           JOIN accounts AS a ON a.id = $1 \
         WHERE e.at < $3 AND e.type IN ('interaction.queued', 'interaction.transferred') \
         GROUP BY e.queue_id, bucket ORDER BY e.queue_id, bucket",
        queued = field("queue_id"),
        to = field("to"),
    )
}

/// A row of `plain_group_by`.
pub type PlainRow = (String, i64, i64, i64, i64, i64, i64, i64);

/// Where a queue report and the plain GROUP BY's rows disagree on the figures both compute, if
/// anywhere: each (queue, interval) either has the same offered, answered, answered in SL,
/// abandoned, short abandoned and answer wait, or is absent from one and zero in the other.
pub fn disagreement(report: &super::load::Named, plain: &[PlainRow]) -> Option<String> {
    use std::collections::BTreeMap;
    let mut want: BTreeMap<(String, i64), [i64; 6]> = BTreeMap::new();
    for row in &report.rows {
        for (n, f) in row.intervals.iter().enumerate() {
            let t = &f.tally;
            let figures = [
                t.offered as i64,
                t.answered as i64,
                t.answered_in_sl as i64,
                t.abandoned as i64,
                t.short_abandoned as i64,
                t.answer_wait_ms,
            ];
            if figures != [0; 6] {
                want.insert((row.key.clone(), n as i64), figures);
            }
        }
    }
    let got: BTreeMap<(String, i64), [i64; 6]> = plain
        .iter()
        .map(|(q, n, a, b, c, d, e, f)| ((q.clone(), *n), [*a, *b, *c, *d, *e, *f]))
        .collect();
    if want == got {
        return None;
    }
    let cells = want.keys().chain(got.keys());
    cells
        .filter(|k| want.get(*k) != got.get(*k))
        .map(|k| format!("{k:?}: report {:?}, GROUP BY {:?}", want.get(k), got.get(k)))
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(interactions: u64) -> Month {
        Month {
            account: AccountId::DEFAULT,
            // Monday 2 November 2026, midnight UTC.
            start: 1_793_577_600_000,
            days: 7,
            interactions,
            seed: 7,
            queues: (0..5)
                .map(|n| (QueueId(Uuid::from_u128(0x100 + n)), 20))
                .collect(),
            agents: (0..50).map(|n| AgentId(Uuid::from_u128(0x200 + n))).collect(),
        }
    }

    #[test]
    fn a_week_has_every_arrival_busier_days_and_the_expected_mix() {
        let mut traffic = Traffic::new(month(14_000));
        let days: Vec<Day> = (0..7).map(|d| traffic.day(d)).collect();
        let counts: Vec<usize> = days.iter().map(|d| d.contacts.len()).collect();
        assert_eq!(counts.iter().sum::<usize>(), 14_000);
        assert!(counts[0] > 2 * counts[6], "Monday over twice Sunday: {counts:?}");
        let all: Vec<&Contact> = days.iter().flat_map(|d| &d.contacts).collect();
        let share =
            |f: &dyn Fn(&Contact) -> bool| all.iter().filter(|c| f(c)).count() as f64 / all.len() as f64;
        let voice = share(&|c| c.channel == Channel::Voice);
        assert!((0.45..0.55).contains(&voice), "voice {voice}");
        let abandoned = share(&|c| c.state == "abandoned");
        assert!((0.03..0.3).contains(&abandoned), "abandoned {abandoned}");
        let transferred = share(&|c| c.events.iter().any(|e| e.kind == "interaction.transferred"));
        assert!((0.03..0.09).contains(&transferred), "transferred {transferred}");
        let customers: usize = days.iter().map(|d| d.customers.len()).sum();
        assert!(
            customers < all.len() * 9 / 10,
            "some customers come back: {customers}"
        );
        // The morning peak outweighs the small hours.
        let at_hour = |h: i64| all.iter().filter(|c| (c.arrived_at % DAY) / HOUR == h).count();
        assert!(at_hour(10) > 20 * at_hour(3));
        for c in &all {
            assert!(
                c.events.windows(2).all(|w| w[0].at <= w[1].at),
                "a log in time order"
            );
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_month() {
        let a = Traffic::new(month(500)).day(0);
        let b = Traffic::new(month(500)).day(0);
        let key = |d: &Day| {
            d.contacts
                .iter()
                .map(|c| (c.id, c.arrived_at, c.events.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
    }
}
