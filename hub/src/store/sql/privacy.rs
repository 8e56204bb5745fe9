//! `PrivacyStore` on both backends: one set of statements expanded for SQLite and PostgreSQL by
//! `impl_privacy_store!`, and each backend's own way of forgetting messages' search terms.

use super::super::privacy::{Erased, PrivacyStore};
use super::super::{Result, StoreError};
use super::{SqlStore, db};
use crate::domain::{AccountId, CustomerId, InteractionId, Millis};
use sqlx::postgres::Postgres;
use sqlx::{Database, Sqlite};

mod q {
    /// `$1` account, `$2` customer in every statement below.
    macro_rules! interactions {
        () => {
            "SELECT id FROM interactions WHERE account_id = $1 AND customer_id = $2"
        };
    }
    macro_rules! messages {
        () => {
            concat!(
                "SELECT id FROM messages WHERE account_id = $1 AND interaction_id IN (",
                interactions!(),
                ")"
            )
        };
    }

    pub const IDENTITIES: &str = "SELECT kind, value FROM identities WHERE account_id = $1 \
         AND customer_id = $2 ORDER BY id";
    pub const LOCK_CUSTOMER: &str = "UPDATE customers SET updated_at = updated_at \
         WHERE account_id = $1 AND id = $2 AND erased_at IS NULL";
    pub const OPEN: &str = "SELECT COUNT(*) FROM interactions WHERE account_id = $1 AND customer_id = $2 \
         AND state IN ('queued', 'offered', 'active', 'wrap_up')";
    pub const CALLS: &str = "SELECT id FROM interactions WHERE account_id = $1 AND customer_id = $2 \
         AND channel = 'voice'";
    pub const ATTACHMENT_FILES: &str = concat!(
        "SELECT DISTINCT sha256 FROM attachments WHERE account_id = $1 AND interaction_id IN (",
        interactions!(),
        ")"
    );
    /// `$1` a SHA-256: still named by a message or an upload after the erasure.
    pub const FILE_USED: &str = "SELECT (SELECT COUNT(*) FROM attachments WHERE sha256 = $1) \
         + (SELECT COUNT(*) FROM uploads WHERE sha256 = $1)";
    /// Writes, in this order.
    pub const ERASE: [&str; 14] = [
        concat!(
            "DELETE FROM attachments WHERE account_id = $1 AND interaction_id IN (",
            interactions!(),
            ")"
        ),
        concat!("DELETE FROM outbox WHERE message_id IN (", messages!(), ")"),
        concat!(
            "DELETE FROM media_fetches WHERE message_id IN (",
            messages!(),
            ")"
        ),
        concat!(
            "UPDATE message_details SET details = '{}', external_id = NULL, delivery_error = NULL \
             WHERE account_id = $1 AND interaction_id IN (",
            interactions!(),
            ")"
        ),
        "UPDATE interactions SET wrap_up_note = NULL, callback = NULL WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM notes WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM customer_events WHERE account_id = $1 AND customer_id = $2",
        // The scores stay for the reports; what the customer wrote goes.
        "UPDATE csat_ratings SET comment = NULL WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM follow_ups WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM opportunities WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM chat_sessions WHERE account_id = $1 AND customer_id = $2",
        "DELETE FROM identities WHERE account_id = $1 AND customer_id = $2",
        // `$3` the time. The tombstone: no name, no contact details, nobody's customer.
        "UPDATE customers SET name = '', name_search = '', email = NULL, phone = NULL, tier = NULL, \
         former_owner = NULL, tags = '[]', fields = '{}', claimed = NULL, owner_id = NULL, home_owner_id = NULL, \
         handover_id = NULL, stage = NULL, erased_at = $3, updated_at = $3 WHERE account_id = $1 AND id = $2",
        // Last, so the search index could still be told each message's old terms. A message's
        // client id may be a mail's Message-ID: it becomes the message's own id.
        concat!(
            "UPDATE messages SET body = '', client_id = id WHERE account_id = $1 AND interaction_id IN (",
            interactions!(),
            ")"
        ),
    ];

    pub const SQLITE_INDEXED: &str = concat!(
        "SELECT d.doc, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id \
         WHERE m.account_id = $1 AND m.interaction_id IN (",
        interactions!(),
        ")"
    );
    /// FTS5 forgets a row of a contentless table when told the terms it was given.
    pub const SQLITE_FORGET: &str =
        "INSERT INTO message_search (message_search, rowid, terms) VALUES ('delete', $1, $2)";
    /// Merges every segment into one, leaving out the rows deleted.
    pub const SQLITE_OPTIMIZE: &str = "INSERT INTO message_search (message_search) VALUES ('optimize')";
    /// Pending first: an indexer holding some of them (claimed, its terms not yet committed) is
    /// waited for, so the second statement, which sees what committed before it began, removes
    /// the terms it filed too; an indexer claiming later skips the rows this locks.
    pub const POSTGRES_FORGET: [&str; 2] = [
        concat!(
            "DELETE FROM search_pending WHERE message_id IN (",
            messages!(),
            ")"
        ),
        concat!(
            "DELETE FROM message_search WHERE message_id IN (",
            messages!(),
            ")"
        ),
    ];
}

impl SqlStore<Sqlite> {
    /// Removes the customer's messages from the full-text index, then merges its segments so that
    /// no segment holds their terms any more (FTS5 only marks a row deleted until a merge). The
    /// connection zeroes what the erasure frees (`secure_delete`) until `after_erase`.
    async fn forget_search(
        tx: &mut <Sqlite as Database>::Connection,
        account: AccountId,
        id: CustomerId,
    ) -> Result<()> {
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let indexed: Vec<(i64, String)> = sqlx::query_as(q::SQLITE_INDEXED)
            .bind(account.to_string())
            .bind(id.to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        for (doc, body) in indexed {
            sqlx::query(q::SQLITE_FORGET)
                .bind(doc)
                .bind(crate::tokenize::terms(&body).join(" "))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        sqlx::query(q::SQLITE_OPTIMIZE)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// Once committed: the freed space stops being zeroed, and the write-ahead log, which still
    /// holds the pages as they were before, is written back and emptied (best effort: a reader in
    /// the middle of a long read keeps it for now, and the next checkpoint overwrites it).
    async fn after_erase(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await.map_err(db)?;
        sqlx::query("PRAGMA secure_delete = OFF")
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
        {
            tracing::warn!(error = %e, "the write-ahead log could not be emptied after an erasure");
        }
        Ok(())
    }
}

impl SqlStore<Postgres> {
    async fn forget_search(
        tx: &mut <Postgres as Database>::Connection,
        account: AccountId,
        id: CustomerId,
    ) -> Result<()> {
        for sql in q::POSTGRES_FORGET {
            sqlx::query(sql)
                .bind(account.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    /// The old rows are dead tuples in PostgreSQL's own files until (auto)vacuum reclaims them.
    async fn after_erase(&self) -> Result<()> {
        Ok(())
    }
}

fn parse<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("not an id: {s:?}")))
}

macro_rules! impl_privacy_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl PrivacyStore for SqlStore<$db> {
            async fn customer_identities(
                &self,
                account: AccountId,
                id: CustomerId,
            ) -> Result<Vec<(String, String)>> {
                sqlx::query_as(q::IDENTITIES)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)
            }

            async fn erase_customer(&self, account: AccountId, id: CustomerId, at: Millis) -> Result<Erased> {
                let (a, c) = (account.to_string(), id.to_string());
                let mut tx = self.write().await?;
                let locked = sqlx::query(q::LOCK_CUSTOMER)
                    .bind(&a)
                    .bind(&c)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if locked.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let open: i64 = sqlx::query_scalar(q::OPEN)
                    .bind(&a)
                    .bind(&c)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                if open > 0 {
                    return Err(StoreError::Conflict {
                        constraint: "customer_has_open_contacts".into(),
                    });
                }
                let calls: Vec<String> = sqlx::query_scalar(q::CALLS)
                    .bind(&a)
                    .bind(&c)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                let shas: Vec<String> = sqlx::query_scalar(q::ATTACHMENT_FILES)
                    .bind(&a)
                    .bind(&c)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db)?;
                Self::forget_search(&mut tx, account, id).await?;
                let mut messages = 0;
                for (i, sql) in q::ERASE.into_iter().enumerate() {
                    let done = sqlx::query(sql)
                        .bind(&a)
                        .bind(&c)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    if i == q::ERASE.len() - 1 {
                        messages = done.rows_affected();
                    }
                }
                let mut files = Vec::new();
                for sha in shas {
                    let used: i64 = sqlx::query_scalar(q::FILE_USED)
                        .bind(&sha)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db)?;
                    if used == 0 {
                        files.push(sha);
                    }
                }
                self.commit_audited(tx).await?;
                self.after_erase().await?;
                Ok(Erased {
                    calls: calls
                        .iter()
                        .map(|c| parse::<InteractionId>(c))
                        .collect::<Result<_>>()?,
                    files,
                    messages,
                })
            }
        }
    };
}

impl_privacy_store!(Sqlite);
impl_privacy_store!(Postgres);
