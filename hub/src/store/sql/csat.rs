//! `CsatStore` on both backends: the same statements and bodies for SQLite and PostgreSQL,
//! expanded by `impl_csat_store!` as `impl_store!` does for the rest of the store.

use super::super::crm::CustomerEventKind;
use super::super::csat::CsatStore;
use super::super::{Result, StoreError};
use super::rows::{all, parse, parse_opt, to_json};
use super::{SqlStore, db};
use crate::csat::{DoneFollowUp, Rating, Score};
use crate::domain::{AccountId, Channel, CustomerId, InteractionId, Millis};
use sqlx::Sqlite;
use sqlx::postgres::Postgres;

mod q {
    macro_rules! rating_columns {
        () => {
            "interaction_id, customer_id, agent_id, queue_id, channel, score, comment, at FROM csat_ratings"
        };
    }
    /// Nothing when the interaction is rated already.
    pub const INSERT: &str = "INSERT INTO csat_ratings \
         (account_id, interaction_id, customer_id, agent_id, queue_id, channel, score, comment, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (account_id, interaction_id) DO NOTHING";
    pub const RATING: &str = concat!(
        "SELECT ",
        rating_columns!(),
        " WHERE account_id = $1 AND interaction_id = $2"
    );
    pub const OF_CUSTOMER: &str = concat!(
        "SELECT ",
        rating_columns!(),
        " WHERE account_id = $1 AND customer_id = $2 ORDER BY at DESC, interaction_id DESC"
    );
    pub const BETWEEN: &str = concat!(
        "SELECT ",
        rating_columns!(),
        " WHERE account_id = $1 AND at >= $2 AND at < $3 ORDER BY at, interaction_id"
    );
    pub const INSERT_EVENT: &str = "INSERT INTO customer_events (account_id, customer_id, type, data, at) \
         VALUES ($1, $2, $3, $4, $5)";
    pub const DONE_BETWEEN: &str = "SELECT owner_id, due_at, done_at FROM follow_ups \
         WHERE account_id = $1 AND state = 'done' AND done_at >= $2 AND done_at < $3";
}

#[derive(sqlx::FromRow)]
struct RatingRow {
    interaction_id: String,
    customer_id: String,
    agent_id: Option<String>,
    queue_id: String,
    channel: String,
    score: i32,
    comment: Option<String>,
    at: i64,
}

impl TryFrom<RatingRow> for Rating {
    type Error = StoreError;
    fn try_from(r: RatingRow) -> Result<Rating> {
        let corrupt =
            |what: &str, value: String| StoreError::Corrupt(format!("csat_ratings.{what}: {value:?}"));
        Ok(Rating {
            interaction_id: parse("csat_ratings.interaction_id", &r.interaction_id)?,
            customer_id: parse("csat_ratings.customer_id", &r.customer_id)?,
            agent_id: parse_opt("csat_ratings.agent_id", r.agent_id.as_deref())?,
            queue_id: parse("csat_ratings.queue_id", &r.queue_id)?,
            channel: Channel::parse(&r.channel).ok_or_else(|| corrupt("channel", r.channel.clone()))?,
            score: Score::try_from(i64::from(r.score)).map_err(|_| corrupt("score", r.score.to_string()))?,
            comment: r.comment,
            at: r.at,
        })
    }
}

macro_rules! impl_csat_store {
    ($db:ty) => {
        impl SqlStore<$db> {
            async fn ratings_where(
                &self,
                sql: &'static str,
                account: AccountId,
                key: Option<String>,
                range: Option<(Millis, Millis)>,
            ) -> Result<Vec<Rating>> {
                let mut query = sqlx::query_as::<_, RatingRow>(sql).bind(account.to_string());
                if let Some(key) = key {
                    query = query.bind(key);
                }
                if let Some((from, to)) = range {
                    query = query.bind(from).bind(to);
                }
                all(query.fetch_all(&self.pool).await.map_err(db)?)
            }
        }

        #[async_trait::async_trait]
        impl CsatStore for SqlStore<$db> {
            async fn rate(&self, account: AccountId, r: &Rating, agent_name: &str) -> Result<(Rating, bool)> {
                let mut tx = self.write().await?;
                let added = sqlx::query(q::INSERT)
                    .bind(account.to_string())
                    .bind(r.interaction_id.to_string())
                    .bind(r.customer_id.to_string())
                    .bind(r.agent_id.map(|a| a.to_string()))
                    .bind(r.queue_id.to_string())
                    .bind(r.channel.as_str())
                    .bind(i32::from(r.score.get()))
                    .bind(r.comment.as_deref())
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected()
                    == 1;
                if !added {
                    let kept =
                        Self::one::<RatingRow, _>(&mut *tx, q::RATING, account, r.interaction_id.to_string()).await?;
                    return Ok((kept, false));
                }
                let data = serde_json::json!({
                    "interaction_id": r.interaction_id,
                    "score": r.score,
                    "comment": r.comment,
                    "agent": r.agent_id.map(|id| serde_json::json!({"id": id, "name": agent_name})),
                    "queue_id": r.queue_id,
                    "channel": r.channel,
                });
                sqlx::query(q::INSERT_EVENT)
                    .bind(account.to_string())
                    .bind(r.customer_id.to_string())
                    .bind(CustomerEventKind::CsatRated.as_str())
                    .bind(to_json(&data))
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok((r.clone(), true))
            }

            async fn rating(&self, account: AccountId, interaction: InteractionId) -> Result<Option<Rating>> {
                let mut found = self
                    .ratings_where(q::RATING, account, Some(interaction.to_string()), None)
                    .await?;
                Ok(found.pop())
            }

            async fn customer_ratings(&self, account: AccountId, customer: CustomerId) -> Result<Vec<Rating>> {
                self.ratings_where(q::OF_CUSTOMER, account, Some(customer.to_string()), None)
                    .await
            }

            async fn ratings_between(&self, account: AccountId, from: Millis, to: Millis) -> Result<Vec<Rating>> {
                self.ratings_where(q::BETWEEN, account, None, Some((from, to))).await
            }

            async fn follow_ups_done_between(
                &self,
                account: AccountId,
                from: Millis,
                to: Millis,
            ) -> Result<Vec<DoneFollowUp>> {
                let rows: Vec<(String, i64, Option<i64>)> = sqlx::query_as(q::DONE_BETWEEN)
                    .bind(account.to_string())
                    .bind(from)
                    .bind(to)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|(owner, due_at, done_at)| {
                        Ok(DoneFollowUp {
                            owner: parse("follow_ups.owner_id", &owner)?,
                            due_at,
                            done_at: done_at.unwrap_or(due_at),
                        })
                    })
                    .collect()
            }
        }
    };
}

impl_csat_store!(Sqlite);
impl_csat_store!(Postgres);
