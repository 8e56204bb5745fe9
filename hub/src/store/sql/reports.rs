//! `ReportStore` on both backends, one set of statements, expanded for SQLite and PostgreSQL by
//! `impl_report_store!` as `impl_store!` does for the rest of the store.

use super::super::reports::{
    Cell, CellMark, LogSpan, NewLine, NewPresence, ReportSettings, ReportStore, Visit,
};
use super::super::{Result, StoreError};
use super::rows::{json, to_json};
use super::{SqlStore, db};
use crate::domain::{AccountId, AgentState, Channel, CustomerId, InteractionId, Millis, TeamId};
use crate::reports::{ContactLog, Dimension, Line, PresenceLine, Step, Tally};
use crate::teams::Team;
use sqlx::postgres::Postgres;
use sqlx::{Database, Sqlite};
use std::collections::BTreeMap;

mod q {
    pub const SETTINGS: &str = "SELECT time_zone, CAST(short_abandon_secs AS BIGINT), \
         CAST(fcr_window_hours AS BIGINT) FROM accounts WHERE id = $1";
    pub const SET_SETTINGS: &str = "UPDATE accounts SET time_zone = $2, short_abandon_secs = $3, \
         fcr_window_hours = $4 WHERE id = $1";
    /// The ids in the JSON array bound to `$2`, one a row: on each database.
    macro_rules! sqlite_list {
        () => {
            "SELECT value FROM json_each($2)"
        };
    }
    macro_rules! postgres_list {
        () => {
            "SELECT jsonb_array_elements_text(CAST($2 AS jsonb))"
        };
    }
    /// The log lines reports count.
    macro_rules! counted {
        () => {
            "e.type IN ('interaction.queued', 'interaction.reopened', 'interaction.overflowed', \
             'interaction.moved', 'interaction.transferred', 'interaction.accepted', 'interaction.abandoned', \
             'interaction.ended', 'interaction.wrapped_up', 'call.held', 'call.resumed', 'interaction.dialled', \
             'interaction.started', 'interaction.filed')"
        };
    }
    /// Every counted line of the interactions `$ids` selects, in log order. Offers and notes are
    /// left in the database.
    macro_rules! logs_of {
        ($ids:expr) => {
            concat!(
                "SELECT e.interaction_id, i.customer_id, i.channel, e.type, e.data, e.at \
                 FROM interaction_events AS e JOIN interactions AS i \
                 ON i.account_id = e.account_id AND i.id = e.interaction_id \
                 WHERE e.account_id = $1 AND e.interaction_id IN (",
                $ids,
                ") AND ",
                counted!(),
                " ORDER BY e.interaction_id, e.id"
            )
        };
    }
    /// The interactions with any line in the range (found by `interaction_events_at`), and those
    /// under way across it without one (a long call: `interactions_ended`, or still open).
    pub const CONTACT_LOGS: &str = logs_of!(
        "SELECT interaction_id FROM interaction_events WHERE account_id = $1 AND at >= $2 AND at < $3 \
         UNION SELECT id FROM interactions WHERE account_id = $1 AND arrived_at < $2 AND ended_at >= $2 \
         UNION SELECT id FROM interactions WHERE account_id = $1 AND arrived_at < $2 AND ended_at IS NULL \
         AND state IN ('queued', 'offered', 'active', 'wrap_up')"
    );
    pub const SQLITE_LOGS_OF: &str = logs_of!(sqlite_list!());
    pub const POSTGRES_LOGS_OF: &str = logs_of!(postgres_list!());
    macro_rules! of_customers {
        ($columns:literal, $ids:expr) => {
            concat!(
                "SELECT ",
                $columns,
                " FROM interactions WHERE account_id = $1 AND customer_id IN (",
                $ids,
                ") AND arrived_at >= $3"
            )
        };
    }
    pub const SQLITE_ARRIVALS: &str = of_customers!("customer_id, arrived_at", sqlite_list!());
    pub const POSTGRES_ARRIVALS: &str = of_customers!("customer_id, arrived_at", postgres_list!());
    pub const SQLITE_VISITS: &str = of_customers!("id, customer_id, arrived_at, ended_at", sqlite_list!());
    pub const POSTGRES_VISITS: &str =
        of_customers!("id, customer_id, arrived_at, ended_at", postgres_list!());
    pub const LOG_SPAN: &str = "SELECT (SELECT MIN(at) FROM (SELECT MIN(at) AS at FROM interaction_events \
         WHERE account_id = $1 UNION ALL SELECT MIN(at) FROM agent_events WHERE account_id = $1) AS firsts), \
         (SELECT COALESCE(MAX(id), 0) FROM interaction_events), (SELECT COALESCE(MAX(id), 0) FROM agent_events)";
    pub const MARK: &str =
        "SELECT rules, event_mark, presence_mark, counted_to FROM report_marks WHERE account_id = $1";
    pub const NEW_LINES: &str = concat!(
        "SELECT e.id, e.interaction_id, i.customer_id, i.arrived_at, e.at FROM interaction_events AS e \
         JOIN interactions AS i ON i.account_id = e.account_id AND i.id = e.interaction_id \
         WHERE e.account_id = $1 AND e.id IN (SELECT id FROM interaction_events WHERE id > $2 \
         UNION SELECT id FROM interaction_events WHERE account_id = $1 AND at >= $3) AND ",
        counted!(),
        " ORDER BY e.id"
    );
    /// Either way in by an index (an `OR` of the two would read the whole log).
    pub const NEW_PRESENCE: &str = "SELECT id, agent_id, at FROM agent_events WHERE account_id = $1 \
         AND id IN (SELECT id FROM agent_events WHERE id > $2 \
         UNION SELECT id FROM agent_events WHERE account_id = $1 AND at >= $3) ORDER BY id";
    pub const INSERT_MARK: &str = "INSERT INTO report_marks (account_id, rules, event_mark, presence_mark, \
         counted_to) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO NOTHING";
    pub const MOVE_MARK: &str = "UPDATE report_marks SET rules = $2, event_mark = $3, presence_mark = $4, \
         counted_to = $5 WHERE account_id = $1 AND rules = $6 AND event_mark = $7 AND presence_mark = $8 \
         AND counted_to = $9";
    pub const CLEAR_CELLS: &str = "DELETE FROM report_cells WHERE account_id = $1";
    /// Each dimension named, so the primary key finds the run's rows.
    pub const CLEAR_RUN: &str = "DELETE FROM report_cells WHERE account_id = $1 \
         AND dimension IN ('queue', 'agent', 'channel') AND quarter >= $2 AND quarter < $3";
    macro_rules! figures {
        () => {
            "offered, answered, answered_in_sl, abandoned, short_abandoned, answer_wait_ms, abandon_wait_ms, \
             longest_wait_ms, handled, talk_ms, hold_ms, wrap_up_ms, transfers, fcr_judged, fcr_resolved, \
             available_ms, busy_ms, wrap_up_state_ms, break_ms, answered_offline"
        };
    }
    macro_rules! put_cells {
        ($rows:literal) => {
            concat!(
                "INSERT INTO report_cells (account_id, dimension, quarter, key, day, ",
                figures!(),
                ", breaks) SELECT $1, j.value ->> 'dimension', CAST(j.value ->> 'quarter' AS BIGINT), \
                 j.value ->> 'key', j.value ->> 'day', \
                 CAST(j.value ->> 'offered' AS BIGINT), CAST(j.value ->> 'answered' AS BIGINT), \
                 CAST(j.value ->> 'answered_in_sl' AS BIGINT), CAST(j.value ->> 'abandoned' AS BIGINT), \
                 CAST(j.value ->> 'short_abandoned' AS BIGINT), CAST(j.value ->> 'answer_wait_ms' AS BIGINT), \
                 CAST(j.value ->> 'abandon_wait_ms' AS BIGINT), CAST(j.value ->> 'longest_wait_ms' AS BIGINT), \
                 CAST(j.value ->> 'handled' AS BIGINT), CAST(j.value ->> 'talk_ms' AS BIGINT), \
                 CAST(j.value ->> 'hold_ms' AS BIGINT), CAST(j.value ->> 'wrap_up_ms' AS BIGINT), \
                 CAST(j.value ->> 'transfers' AS BIGINT), CAST(j.value ->> 'fcr_judged' AS BIGINT), \
                 CAST(j.value ->> 'fcr_resolved' AS BIGINT), CAST(j.value ->> 'available_ms' AS BIGINT), \
                 CAST(j.value ->> 'busy_ms' AS BIGINT), CAST(j.value ->> 'wrap_up_state_ms' AS BIGINT), \
                 CAST(j.value ->> 'break_ms' AS BIGINT), CAST(j.value ->> 'answered_offline' AS BIGINT), \
                 j.value ->> 'breaks' FROM ",
                $rows
            )
        };
    }
    pub const SQLITE_PUT_CELLS: &str = put_cells!("json_each($2) AS j");
    pub const POSTGRES_PUT_CELLS: &str = put_cells!("json_array_elements(CAST($2 AS json)) AS j");
    pub const CELLS: &str = concat!(
        "SELECT key, quarter, day, ",
        figures!(),
        ", breaks FROM report_cells WHERE account_id = $1 AND dimension = $2 AND quarter >= $3 AND quarter < $4 \
         ORDER BY key, quarter"
    );
    /// A day's sums, by day (`YYYY-MM-DD`, from `$3` to `$4`).
    pub const DAY_CELLS: &str = concat!(
        "SELECT key, quarter, day, ",
        figures!(),
        ", '{}' AS breaks FROM report_days WHERE account_id = $1 AND dimension = $2 AND day >= $3 \
         AND day <= $4 ORDER BY key, day"
    );
    /// The break time per reason of a day's sum: its quarter-hours' with any.
    pub const DAY_BREAKS: &str = "SELECT key, day, breaks FROM report_cells WHERE account_id = $1 \
         AND day >= $3 AND day <= $4 AND dimension = $2 AND break_ms > 0";
    /// The day sums of the cells `$cells` names (the table, or on SQLite the table through its
    /// day index: without statistics its planner takes the primary key for `account_id = $1` and
    /// reads every cell of the account, 1.4 s instead of 80 ms for a day of a month of 1M
    /// contacts), for the days `$days` picks.
    macro_rules! roll_up {
        ($cells:expr, $days:expr) => {
            concat!(
                "INSERT INTO report_days (account_id, dimension, day, key, quarter, ",
                figures!(),
                ") SELECT account_id, dimension, day, key, MIN(quarter), \
                 SUM(offered), SUM(answered), SUM(answered_in_sl), SUM(abandoned), SUM(short_abandoned), \
                 SUM(answer_wait_ms), SUM(abandon_wait_ms), MAX(longest_wait_ms), SUM(handled), SUM(talk_ms), \
                 SUM(hold_ms), SUM(wrap_up_ms), SUM(transfers), SUM(fcr_judged), SUM(fcr_resolved), \
                 SUM(available_ms), SUM(busy_ms), SUM(wrap_up_state_ms), SUM(break_ms), SUM(answered_offline) \
                 FROM ",
                $cells,
                " WHERE account_id = $1",
                $days,
                " GROUP BY account_id, dimension, day, key"
            )
        };
    }
    pub const CLEAR_DAYS: &str = "DELETE FROM report_days WHERE account_id = $1";
    pub const ROLL_UP_ALL: &str = roll_up!("report_cells", "");
    macro_rules! some_days {
        ($list:expr) => {
            concat!(" AND day IN (", $list, ")")
        };
    }
    pub const SQLITE_CLEAR_SOME_DAYS: &str = concat!(
        "DELETE FROM report_days WHERE account_id = $1",
        some_days!(sqlite_list!())
    );
    pub const POSTGRES_CLEAR_SOME_DAYS: &str = concat!(
        "DELETE FROM report_days WHERE account_id = $1",
        some_days!(postgres_list!())
    );
    pub const SQLITE_ROLL_UP_SOME: &str = roll_up!(
        "report_cells INDEXED BY report_cells_day",
        some_days!(sqlite_list!())
    );
    pub const POSTGRES_ROLL_UP_SOME: &str = roll_up!("report_cells", some_days!(postgres_list!()));
    pub const PRESENCE: &str = "SELECT agent_id, state, reason, at FROM agent_events \
         WHERE account_id = $1 AND ((at >= $2 AND at < $3) OR id IN \
         (SELECT MAX(id) FROM agent_events WHERE account_id = $1 AND at < $2 GROUP BY agent_id)) \
         ORDER BY at, id";
    pub const TEAMS: &str =
        "SELECT id, name, leads, members, queues FROM teams WHERE account_id = $1 ORDER BY name, id";
    pub const PUT_TEAM: &str = "INSERT INTO teams (id, account_id, name, leads, members, queues, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET name = excluded.name, \
         leads = excluded.leads, members = excluded.members, queues = excluded.queues \
         WHERE teams.account_id = excluded.account_id";
    pub const DELETE_TEAM: &str = "DELETE FROM teams WHERE account_id = $1 AND id = $2";
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("not an id: {s:?}")))
}

/// Groups rows of `CONTACT_LOGS` (ordered by interaction) into logs.
fn logs(rows: Vec<(String, String, String, String, String, i64)>) -> Result<Vec<ContactLog>> {
    let mut out: Vec<ContactLog> = Vec::new();
    for (interaction, customer, channel, kind, data, at) in rows {
        let interaction: InteractionId = parse(&interaction)?;
        if out.last().is_none_or(|l| l.interaction != interaction) {
            out.push(ContactLog {
                interaction,
                customer: parse(&customer)?,
                channel: Channel::parse(&channel)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown channel {channel:?}")))?,
                lines: Vec::new(),
            });
        }
        let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        if let (Some(step), Some(log)) = (Step::parse(&kind, &data), out.last_mut()) {
            log.lines.push(Line { at, step });
        }
    }
    Ok(out)
}

/// The statements that differ between the backends: a JSON array of ids read as rows.
struct Sql {
    logs_of: &'static str,
    arrivals: &'static str,
    visits: &'static str,
    put_cells: &'static str,
    clear_some_days: &'static str,
    roll_up_some: &'static str,
}

const SQLITE: Sql = Sql {
    logs_of: q::SQLITE_LOGS_OF,
    arrivals: q::SQLITE_ARRIVALS,
    visits: q::SQLITE_VISITS,
    put_cells: q::SQLITE_PUT_CELLS,
    clear_some_days: q::SQLITE_CLEAR_SOME_DAYS,
    roll_up_some: q::SQLITE_ROLL_UP_SOME,
};

const POSTGRES: Sql = Sql {
    logs_of: q::POSTGRES_LOGS_OF,
    arrivals: q::POSTGRES_ARRIVALS,
    visits: q::POSTGRES_VISITS,
    put_cells: q::POSTGRES_PUT_CELLS,
    clear_some_days: q::POSTGRES_CLEAR_SOME_DAYS,
    roll_up_some: q::POSTGRES_ROLL_UP_SOME,
};

/// A `report_cells` row (`CELLS` and `DAY_CELLS` name their columns alike).
#[derive(sqlx::FromRow)]
struct CellRow {
    key: String,
    quarter: i64,
    day: String,
    offered: i64,
    answered: i64,
    answered_in_sl: i64,
    answered_offline: i64,
    abandoned: i64,
    short_abandoned: i64,
    answer_wait_ms: i64,
    abandon_wait_ms: i64,
    longest_wait_ms: i64,
    handled: i64,
    talk_ms: i64,
    hold_ms: i64,
    wrap_up_ms: i64,
    transfers: i64,
    fcr_judged: i64,
    fcr_resolved: i64,
    available_ms: i64,
    busy_ms: i64,
    wrap_up_state_ms: i64,
    break_ms: i64,
    breaks: String,
}

impl CellRow {
    fn cell(self, dimension: Dimension) -> Result<Cell> {
        let n = |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("a negative count: {v}")));
        Ok(Cell {
            dimension,
            quarter: self.quarter,
            key: self.key,
            day: self.day,
            tally: Tally {
                offered: n(self.offered)?,
                answered: n(self.answered)?,
                answered_in_sl: n(self.answered_in_sl)?,
                answered_offline: n(self.answered_offline)?,
                abandoned: n(self.abandoned)?,
                short_abandoned: n(self.short_abandoned)?,
                answer_wait_ms: self.answer_wait_ms,
                abandon_wait_ms: self.abandon_wait_ms,
                longest_wait_ms: self.longest_wait_ms,
                handled: n(self.handled)?,
                talk_ms: self.talk_ms,
                hold_ms: self.hold_ms,
                wrap_up_ms: self.wrap_up_ms,
                transfers: n(self.transfers)?,
                fcr_judged: n(self.fcr_judged)?,
                fcr_resolved: n(self.fcr_resolved)?,
                available_ms: self.available_ms,
                busy_ms: self.busy_ms,
                wrap_up_state_ms: self.wrap_up_state_ms,
                break_ms: self.break_ms,
                breaks: json("report_cells.breaks", &self.breaks)?,
            },
        })
    }
}

/// Cells as the JSON array `PUT_CELLS` reads: the tally's fields beside the cell's place, the
/// break reasons as JSON text.
fn cells_json(cells: &[Cell]) -> String {
    let rows: Vec<serde_json::Value> = cells
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(&c.tally).expect("a tally serialises");
            if let Some(o) = v.as_object_mut() {
                o.insert("breaks".into(), to_json(&c.tally.breaks).into());
                o.insert("dimension".into(), c.dimension.as_str().into());
                o.insert("quarter".into(), c.quarter.into());
                o.insert("key".into(), c.key.clone().into());
                o.insert("day".into(), c.day.clone().into());
            }
            v
        })
        .collect();
    to_json(&rows)
}

fn id_list<T: ToString>(ids: &[T]) -> String {
    to_json(&ids.iter().map(|i| i.to_string()).collect::<Vec<_>>())
}

macro_rules! impl_report_store {
    ($db:ty, $sql:expr) => {
        impl SqlStore<$db> {
            /// The rows of a statement over `account` and a range `[from, to)` (`$1`, `$2`, `$3`).
            async fn range_rows<R>(
                &self,
                sql: &'static str,
                account: AccountId,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<R>>
            where
                R: for<'r> sqlx::FromRow<'r, <$db as Database>::Row> + Send + Unpin,
            {
                sqlx::query_as(sql)
                    .bind(account.to_string())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)
            }
        }

        #[async_trait::async_trait]
        impl ReportStore for SqlStore<$db> {
            async fn report_settings(&self, account: AccountId) -> Result<ReportSettings> {
                let (time_zone, short, window): (String, i64, i64) = sqlx::query_as(q::SETTINGS)
                    .bind(account.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(ReportSettings {
                    time_zone,
                    short_abandon_secs: u32::try_from(short).unwrap_or(0),
                    fcr_window_hours: u32::try_from(window).unwrap_or(0),
                })
            }

            async fn set_report_settings(&self, account: AccountId, s: &ReportSettings) -> Result<()> {
                let mut tx = self.write().await?;
                let done = sqlx::query(q::SET_SETTINGS)
                    .bind(account.to_string())
                    .bind(&s.time_zone)
                    .bind(i32::try_from(s.short_abandon_secs).unwrap_or(i32::MAX))
                    .bind(i32::try_from(s.fcr_window_hours).unwrap_or(i32::MAX))
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn contact_logs(
                &self,
                account: AccountId,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<ContactLog>> {
                logs(self.range_rows(q::CONTACT_LOGS, account, from, to).await?)
            }

            async fn interaction_logs(
                &self,
                account: AccountId,
                ids: &[InteractionId],
            ) -> Result<Vec<ContactLog>> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                let rows = sqlx::query_as($sql.logs_of)
                    .bind(account.to_string())
                    .bind(id_list(ids))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                logs(rows)
            }

            async fn arrivals(
                &self,
                account: AccountId,
                customers: &[CustomerId],
                from: Millis,
            ) -> Result<Vec<(CustomerId, Millis)>> {
                if customers.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, i64)> = sqlx::query_as($sql.arrivals)
                    .bind(account.to_string())
                    .bind(id_list(customers))
                    .bind(from)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|(c, at)| Ok((parse(&c)?, at)))
                    .collect()
            }

            async fn visits(&self, account: AccountId, customers: &[CustomerId]) -> Result<Vec<Visit>> {
                if customers.is_empty() {
                    return Ok(Vec::new());
                }
                let rows: Vec<(String, String, i64, Option<i64>)> = sqlx::query_as($sql.visits)
                    .bind(account.to_string())
                    .bind(id_list(customers))
                    .bind(Millis::MIN)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|(id, customer, arrived_at, ended_at)| {
                        Ok(Visit {
                            interaction: parse(&id)?,
                            customer: parse(&customer)?,
                            arrived_at,
                            ended_at,
                        })
                    })
                    .collect()
            }

            async fn log_span(&self, account: AccountId) -> Result<LogSpan> {
                let (first_at, event_mark, presence_mark): (Option<i64>, i64, i64) =
                    sqlx::query_as(q::LOG_SPAN)
                        .bind(account.to_string())
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db)?;
                Ok(LogSpan {
                    first_at,
                    event_mark,
                    presence_mark,
                })
            }

            async fn cell_mark(&self, account: AccountId) -> Result<Option<CellMark>> {
                let row: Option<(String, i64, i64, i64)> = sqlx::query_as(q::MARK)
                    .bind(account.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(
                    row.map(|(rules, event_mark, presence_mark, counted_to)| CellMark {
                        rules,
                        event_mark,
                        presence_mark,
                        counted_to,
                    }),
                )
            }

            async fn news(
                &self,
                account: AccountId,
                mark: &CellMark,
                rescan_from: Millis,
            ) -> Result<(Vec<NewLine>, Vec<NewPresence>)> {
                let lines: Vec<(i64, String, String, i64, i64)> = self
                    .range_rows(q::NEW_LINES, account, mark.event_mark, rescan_from)
                    .await?;
                let presence: Vec<(i64, String, i64)> = self
                    .range_rows(q::NEW_PRESENCE, account, mark.presence_mark, rescan_from)
                    .await?;
                let lines = lines
                    .into_iter()
                    .map(|(id, interaction, customer, arrived_at, at)| {
                        Ok(NewLine {
                            id,
                            interaction: parse(&interaction)?,
                            customer: parse(&customer)?,
                            arrived_at,
                            at,
                        })
                    })
                    .collect::<Result<_>>()?;
                let presence = presence
                    .into_iter()
                    .map(|(id, agent, at)| {
                        Ok(NewPresence {
                            id,
                            agent: parse(&agent)?,
                            at,
                        })
                    })
                    .collect::<Result<_>>()?;
                Ok((lines, presence))
            }

            async fn put_cells(
                &self,
                account: AccountId,
                read: Option<&CellMark>,
                mark: &CellMark,
                runs: Option<(&[(Millis, Millis)], &[String])>,
                cells: &[Cell],
            ) -> Result<bool> {
                let mut tx = self.write().await?;
                let set = sqlx::query(if read.is_some() {
                    q::MOVE_MARK
                } else {
                    q::INSERT_MARK
                })
                .bind(account.to_string())
                .bind(&mark.rules)
                .bind(mark.event_mark)
                .bind(mark.presence_mark)
                .bind(mark.counted_to);
                let set = match read {
                    Some(read) => set
                        .bind(&read.rules)
                        .bind(read.event_mark)
                        .bind(read.presence_mark)
                        .bind(read.counted_to),
                    None => set,
                };
                let moved = set.execute(&mut *tx).await.map_err(db)?;
                if moved.rows_affected() == 0 {
                    return Ok(false);
                }
                match runs {
                    None => {
                        for clear in [q::CLEAR_CELLS, q::CLEAR_DAYS] {
                            sqlx::query(clear)
                                .bind(account.to_string())
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                        }
                    }
                    Some((runs, days)) => {
                        for (from, to) in runs {
                            sqlx::query(q::CLEAR_RUN)
                                .bind(account.to_string())
                                .bind(from)
                                .bind(to)
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                        }
                        sqlx::query($sql.clear_some_days)
                            .bind(account.to_string())
                            .bind(to_json(&days))
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                }
                // A few thousand cells a statement keeps each JSON argument small.
                for chunk in cells.chunks(2_000) {
                    sqlx::query($sql.put_cells)
                        .bind(account.to_string())
                        .bind(cells_json(chunk))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                match runs {
                    None => sqlx::query(q::ROLL_UP_ALL).bind(account.to_string()),
                    Some((_, days)) => sqlx::query($sql.roll_up_some)
                        .bind(account.to_string())
                        .bind(to_json(&days)),
                }
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(true)
            }

            async fn cells(
                &self,
                account: AccountId,
                dimension: Dimension,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<Cell>> {
                let rows: Vec<CellRow> = sqlx::query_as(q::CELLS)
                    .bind(account.to_string())
                    .bind(dimension.as_str())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter().map(|r| r.cell(dimension)).collect()
            }

            async fn day_cells(
                &self,
                account: AccountId,
                dimension: Dimension,
                first: &str,
                last: &str,
            ) -> Result<Vec<Cell>> {
                let rows: Vec<CellRow> = sqlx::query_as(q::DAY_CELLS)
                    .bind(account.to_string())
                    .bind(dimension.as_str())
                    .bind(first)
                    .bind(last)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut cells = rows
                    .into_iter()
                    .map(|r| r.cell(dimension))
                    .collect::<Result<Vec<_>>>()?;
                if dimension == Dimension::Agent {
                    let breaks: Vec<(String, String, String)> = sqlx::query_as(q::DAY_BREAKS)
                        .bind(account.to_string())
                        .bind(dimension.as_str())
                        .bind(first)
                        .bind(last)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db)?;
                    let mut per_day: BTreeMap<(String, String), BTreeMap<String, i64>> = BTreeMap::new();
                    for (key, day, reasons) in breaks {
                        let reasons: BTreeMap<String, i64> = json("report_cells.breaks", &reasons)?;
                        let sum = per_day.entry((key, day)).or_default();
                        for (reason, ms) in reasons {
                            *sum.entry(reason).or_default() += ms;
                        }
                    }
                    for c in &mut cells {
                        if let Some(b) = per_day.remove(&(c.key.clone(), c.day.clone())) {
                            c.tally.breaks = b;
                        }
                    }
                }
                Ok(cells)
            }

            async fn presence_lines(
                &self,
                account: AccountId,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<PresenceLine>> {
                let rows: Vec<(String, String, Option<String>, i64)> =
                    self.range_rows(q::PRESENCE, account, from, to).await?;
                rows.into_iter()
                    .map(|(agent, state, reason, at)| {
                        Ok(PresenceLine {
                            agent: parse(&agent)?,
                            at,
                            state: AgentState::from_word(&state, reason)
                                .ok_or_else(|| StoreError::Corrupt(format!("unknown state {state:?}")))?,
                        })
                    })
                    .collect()
            }

            async fn teams(&self, account: AccountId) -> Result<Vec<Team>> {
                let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(q::TEAMS)
                    .bind(account.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|(id, name, leads, members, queues)| {
                        Ok(Team {
                            id: parse(&id)?,
                            name,
                            leads: json("teams.leads", &leads)?,
                            members: json("teams.members", &members)?,
                            queues: json("teams.queues", &queues)?,
                        })
                    })
                    .collect()
            }

            async fn put_team(&self, account: AccountId, team: &Team, at: Millis) -> Result<()> {
                let done = sqlx::query(q::PUT_TEAM)
                    .bind(team.id.to_string())
                    .bind(account.to_string())
                    .bind(&team.name)
                    .bind(to_json(&team.leads))
                    .bind(to_json(&team.members))
                    .bind(to_json(&team.queues))
                    .bind(at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                // Another account's team with this id is left alone, and not found.
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            async fn delete_team(&self, account: AccountId, id: TeamId) -> Result<()> {
                let done = sqlx::query(q::DELETE_TEAM)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }
        }
    };
}

impl_report_store!(Sqlite, SQLITE);
impl_report_store!(Postgres, POSTGRES);
