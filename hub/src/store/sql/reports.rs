//! `ReportStore` on both backends, one set of statements, expanded for SQLite and PostgreSQL by
//! `impl_report_store!` as `impl_store!` does for the rest of the store.

use super::super::reports::{ReportSettings, ReportStore};
use super::super::{Result, StoreError};
use super::rows::{json, to_json};
use super::{SqlStore, db};
use crate::domain::{AccountId, AgentState, Channel, CustomerId, InteractionId, Millis, TeamId};
use crate::reports::{ContactLog, Line, PresenceLine, Step};
use crate::teams::Team;
use sqlx::postgres::Postgres;
use sqlx::{Database, Sqlite};

mod q {
    pub const SETTINGS: &str = "SELECT time_zone, CAST(short_abandon_secs AS BIGINT), \
         CAST(fcr_window_hours AS BIGINT) FROM accounts WHERE id = $1";
    pub const SET_SETTINGS: &str = "UPDATE accounts SET time_zone = $2, short_abandon_secs = $3, \
         fcr_window_hours = $4 WHERE id = $1";
    /// Every counted line of the interactions with any line in the range (found by
    /// `interaction_events_at`), in log order. Offers and notes are left in the database.
    pub const CONTACT_LOGS: &str = "SELECT e.interaction_id, i.customer_id, i.channel, e.type, e.data, e.at \
         FROM interaction_events AS e JOIN interactions AS i \
         ON i.account_id = e.account_id AND i.id = e.interaction_id \
         WHERE e.account_id = $1 AND e.interaction_id IN (SELECT interaction_id FROM interaction_events \
         WHERE account_id = $1 AND at >= $2 AND at < $3) \
         AND e.type IN ('interaction.queued', 'interaction.reopened', 'interaction.overflowed', 'interaction.moved', \
         'interaction.transferred', 'interaction.accepted', 'interaction.abandoned', 'interaction.ended', \
         'interaction.wrapped_up', 'call.held', 'call.resumed', 'interaction.dialled', \
         'interaction.started', 'interaction.filed') \
         ORDER BY e.interaction_id, e.id";
    pub const ARRIVALS: &str = "SELECT customer_id, arrived_at FROM interactions \
         WHERE account_id = $1 AND arrived_at >= $2 AND arrived_at < $3";
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

macro_rules! impl_report_store {
    ($db:ty) => {
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

            async fn arrivals(
                &self,
                account: AccountId,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<(CustomerId, Millis)>> {
                let rows: Vec<(String, i64)> = self.range_rows(q::ARRIVALS, account, from, to).await?;
                rows.into_iter()
                    .map(|(c, at)| Ok((parse(&c)?, at)))
                    .collect()
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

impl_report_store!(Sqlite);
impl_report_store!(Postgres);
