//! `AuditStore` on both backends, and how an audited write commits its line: `commit_audited`
//! adds the store view's entry (`Store::audited`) to the write's transaction, then commits.

use super::super::audit::{AuditEntry, AuditPage, AuditQuery, AuditStore, MAX_AUDIT_PAGE};
use super::super::{Result, StoreError};
use super::{SqlStore, db};
use crate::domain::AccountId;
use sqlx::Sqlite;
use sqlx::postgres::Postgres;

mod q {
    /// An entry written twice (an action that wrote twice through one view) keeps one line.
    pub const INSERT: &str = "INSERT INTO audit_log \
         (id, account_id, at, actor_id, actor_email, action, target, detail, client_addr) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING";
    pub const PAGE: &str = "SELECT id, at, actor_id, actor_email, action, target, detail, client_addr \
         FROM audit_log WHERE account_id = $1 AND ($2 IS NULL OR actor_id = $2) \
         AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR at < $5) \
         AND ($6 IS NULL OR id < $6) ORDER BY id DESC LIMIT $7";
}

type Row = (
    String,
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
);

fn entry(account: AccountId, row: Row) -> Result<AuditEntry> {
    let (id, at, actor, actor_email, action, target, detail, client_addr) = row;
    Ok(AuditEntry {
        id,
        account_id: account,
        at,
        actor_id: actor
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("not an agent id: {actor:?}")))?,
        actor_email,
        action,
        target,
        detail: serde_json::from_str(&detail)
            .map_err(|_| StoreError::Corrupt(format!("audit detail {detail:?}")))?,
        client_addr,
    })
}

macro_rules! impl_audit_store {
    ($db:ty) => {
        impl SqlStore<$db> {
            pub(super) async fn insert_audit<'e>(
                executor: impl sqlx::Executor<'e, Database = $db>,
                e: &AuditEntry,
            ) -> Result<()> {
                sqlx::query(q::INSERT)
                    .bind(&e.id)
                    .bind(e.account_id.to_string())
                    .bind(e.at)
                    .bind(e.actor_id.to_string())
                    .bind(&e.actor_email)
                    .bind(&e.action)
                    .bind(&e.target)
                    .bind(e.detail.to_string())
                    .bind(&e.client_addr)
                    .execute(executor)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            /// Commits a write, with this view's audit line in the same transaction.
            pub(super) async fn commit_audited(&self, mut tx: sqlx::Transaction<'static, $db>) -> Result<()> {
                if let Some(entry) = &self.audit {
                    Self::insert_audit(&mut *tx, entry).await?;
                }
                tx.commit().await.map_err(db)
            }
        }

        #[async_trait::async_trait]
        impl AuditStore for SqlStore<$db> {
            async fn audit(&self, entry: &AuditEntry) -> Result<()> {
                Self::insert_audit(&self.writer, entry).await
            }

            async fn audit_log(&self, account: AccountId, query: &AuditQuery) -> Result<AuditPage> {
                let limit = query.limit.clamp(1, MAX_AUDIT_PAGE);
                let rows: Vec<Row> = sqlx::query_as(q::PAGE)
                    .bind(account.to_string())
                    .bind(query.actor.map(|a| a.to_string()))
                    .bind(&query.action)
                    .bind(query.from)
                    .bind(query.to)
                    .bind(&query.before)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let entries = rows
                    .into_iter()
                    .map(|row| entry(account, row))
                    .collect::<Result<Vec<_>>>()?;
                let next = (entries.len() == limit as usize)
                    .then(|| entries.last().map(|e| e.id.clone()))
                    .flatten();
                Ok(AuditPage { entries, next })
            }
        }
    };
}

impl_audit_store!(Sqlite);
impl_audit_store!(Postgres);
