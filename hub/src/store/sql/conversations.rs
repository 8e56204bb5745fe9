//! `ConversationStore` on both backends. The inbox lists are the same SQL on both but for how a JSON
//! list of queue ids is read and labels are joined; search differs outright: an FTS5 table on
//! SQLite, a tsvector under GIN on PostgreSQL, both holding the terms of `crate::tokenize`.

use super::super::conversations::{
    Conversation, ConversationCursor, ConversationOrder, ConversationPage, ConversationQuery,
    ConversationStore, MessageHit, Preview, SearchPage, SearchQuery, Viewer,
};
use super::super::{Result, StoreError};
use super::rows::{InteractionRow, to_json};
use super::{SqlStore, db, like_escape};
use crate::domain::{AccountId, AgentId, Interaction, InteractionId, InteractionState, Millis, Sender};
use crate::tokenize::QueryTerm;
use sqlx::postgres::Postgres;
use sqlx::{Row, Sqlite};

/// The columns of a conversation line. `$2` is the viewer (for their unread count). The last
/// message shown is the last one written by someone: the hub's own lines (a mailed transcript's
/// record) are not the conversation.
macro_rules! conversation_select {
    ($labels:literal) => {
        concat!(
            "SELECT i.id, i.account_id, i.customer_id, i.channel, i.queue_id, i.state, i.priority, \
             i.arrived_at, i.agent_id, i.entry_point, i.offline, i.callback, i.snoozed_until, i.disposition, i.wrap_up_note, \
             i.ended_at, i.arrival_seq, c.name AS customer_name, lm.seq AS last_seq, \
             lm.sender AS last_sender, lm.body AS last_body, lm.created_at AS last_at, \
             (SELECT COUNT(*) FROM messages u WHERE u.interaction_id = i.id AND u.sender = 'customer' \
               AND u.seq > COALESCE((SELECT r.read_seq FROM conversation_reads r \
               WHERE r.agent_id = $2 AND r.interaction_id = i.id), 0)) AS unread, \
             (SELECT ",
            $labels,
            " FROM interaction_labels l WHERE l.interaction_id = i.id) AS labels \
             FROM interactions i JOIN customers c ON c.id = i.customer_id \
             LEFT JOIN messages lm ON lm.interaction_id = i.id \
               AND lm.seq = (SELECT mx.seq FROM messages mx WHERE mx.interaction_id = i.id \
               AND mx.sender <> 'system' ORDER BY mx.seq DESC LIMIT 1) "
        )
    };
}

/// The ids under `$key` of the JSON object in parameter `$p` (`viewer_json`), as a subquery.
macro_rules! sqlite_ids {
    ($p:literal, $key:literal) => {
        concat!("SELECT value FROM json_each(", $p, ", '$.", $key, "')")
    };
}
macro_rules! postgres_ids {
    ($p:literal, $key:literal) => {
        concat!(
            "SELECT jsonb_array_elements_text(",
            $p,
            "::jsonb -> '",
            $key,
            "')"
        )
    };
}

/// What the viewer may see: `$agent` the agent, `$all` whether they see everything, `$p` the
/// JSON object (`viewer_json`) of the queues whose waiting conversations they may take, the
/// queues whose every conversation they see and the people whose conversations they see, read
/// by `$ids` (`sqlite_ids` or `postgres_ids`).
macro_rules! visible {
    ($ids:ident, $agent:literal, $all:literal, $p:literal) => {
        concat!(
            " (",
            $all,
            " OR i.agent_id = ",
            $agent,
            " OR (i.state IN ('queued', 'offered') AND i.queue_id IN (",
            $ids!($p, "waiting"),
            "))",
            " OR i.queue_id IN (",
            $ids!($p, "queues"),
            ") OR i.agent_id IN (",
            $ids!($p, "agents"),
            ")) "
        )
    };
}

/// The inbox list: `$5` folder, `$6` channel, `$7` queue, `$8` label, `$9` state, `$10`/`$11`
/// the cursor, `$12` the limit.
macro_rules! inbox_list {
    ($labels:literal, $ids:ident, $after:literal, $order:literal) => {
        concat!(
            conversation_select!($labels),
            "WHERE i.account_id = $1 AND",
            visible!($ids, "$2", "$3", "$4"),
            "AND ($5 <> 'mine' OR (i.agent_id = $2 AND i.state IN ('active', 'wrap_up'))) \
             AND ($5 <> 'unassigned' OR (i.state IN ('queued', 'offered') AND i.snoozed_until IS NULL)) \
             AND ($5 <> 'snoozed' OR (i.agent_id = $2 AND i.snoozed_until IS NOT NULL)) \
             AND ($5 <> 'closed' OR i.state IN ('closed', 'abandoned')) \
             AND ($6 IS NULL OR i.channel = $6) AND ($7 IS NULL OR i.queue_id = $7) \
             AND ($8 IS NULL OR EXISTS (SELECT 1 FROM interaction_labels fl \
               WHERE fl.interaction_id = i.id AND fl.label = $8)) \
             AND ($9 IS NULL OR i.state = $9) AND ($10 IS NULL OR ",
            $after,
            ") ORDER BY ",
            $order,
            " LIMIT $12"
        )
    };
}

/// One conversation (`$5`) if the viewer may see it.
macro_rules! one_conversation {
    ($labels:literal, $ids:ident) => {
        concat!(
            conversation_select!($labels),
            "WHERE i.account_id = $1 AND",
            visible!($ids, "$2", "$3", "$4"),
            "AND i.id = $5"
        )
    };
}

/// Conversations whose customer matches by name (`$5`, a LIKE pattern) or identity (`$6`), or
/// that carry the label `$7`; newest first, `$8` of them. The matches are found first (customers,
/// identities and labels by their indexes) and only they are read and sorted: walking the
/// account's conversations newest first and testing each cost 37 ms a search at 50,000
/// conversations when nothing matched. `$account` is how the outer query names the account:
/// SQLite's `+i.account_id` keeps its planner off the arrival index, which it would otherwise
/// walk to spare itself the sort.
macro_rules! by_customer_or_label {
    ($labels:literal, $ids:ident, $account:literal) => {
        concat!(
            conversation_select!($labels),
            "WHERE ",
            $account,
            " = $1 AND",
            visible!($ids, "$2", "$3", "$4"),
            "AND i.id IN (SELECT i2.id FROM interactions i2 WHERE i2.account_id = $1 AND i2.customer_id IN \
               (SELECT cs.id FROM customers cs WHERE cs.account_id = $1 AND cs.name_search LIKE $5 ESCAPE '\\' \
                UNION SELECT ci.customer_id FROM identities ci WHERE ci.account_id = $1 AND ci.value = $6) \
              UNION SELECT ml.interaction_id FROM interaction_labels ml WHERE ml.account_id = $1 AND ml.label = $7) \
             ORDER BY i.arrived_at DESC, i.arrival_seq DESC LIMIT $8"
        )
    };
}

/// The columns of a search's message hit (`HitRow`), its doc being `$doc`.
macro_rules! hit_columns {
    ($doc:literal) => {
        concat!(
            "SELECT i.id, i.account_id, i.customer_id, i.channel, i.queue_id, i.state, i.priority, \
             i.arrived_at, i.agent_id, i.entry_point, i.offline, i.callback, i.snoozed_until, i.disposition, i.wrap_up_note, \
             i.ended_at, c.name AS customer_name, m.seq AS m_seq, m.sender AS m_sender, \
             m.body AS m_body, m.created_at AS m_at, ",
            $doc,
            " AS doc "
        )
    };
}

/// Messages matching `$1`, newest indexed first, before the doc `$2`, as the viewer may see
/// them; `$3` the account, `$7` the limit. Visibility uses `$4`-`$6` like `visible!` does `$2`-`$4`.
macro_rules! message_hits {
    ($from:literal, $join:literal, $match:literal, $doc:literal, $ids:ident) => {
        concat!(
            hit_columns!($doc),
            "FROM ",
            $from,
            " ",
            $join,
            " interactions i ON i.id = m.interaction_id ",
            $join,
            " customers c ON c.id = i.customer_id WHERE ",
            $match,
            " AND ",
            $doc,
            " < $2 AND i.account_id = $3 \
             AND",
            visible!($ids, "$4", "$5", "$6"),
            "ORDER BY ",
            $doc,
            " DESC LIMIT $7"
        )
    };
}

/// The statements that differ between the backends.
struct Sql {
    newest: &'static str,
    oldest: &'static str,
    one: &'static str,
    by_customer_or_label: &'static str,
    message_hits: &'static str,
}

const SQLITE: Sql = Sql {
    newest: inbox_list!(
        "group_concat(l.label, char(31))",
        sqlite_ids,
        "i.arrived_at < $10 OR (i.arrived_at = $10 AND i.arrival_seq < $11)",
        "i.arrived_at DESC, i.arrival_seq DESC"
    ),
    oldest: inbox_list!(
        "group_concat(l.label, char(31))",
        sqlite_ids,
        "i.arrived_at > $10 OR (i.arrived_at = $10 AND i.arrival_seq > $11)",
        "i.arrived_at, i.arrival_seq"
    ),
    one: one_conversation!("group_concat(l.label, char(31))", sqlite_ids),
    by_customer_or_label: by_customer_or_label!(
        "group_concat(l.label, char(31))",
        sqlite_ids,
        "+i.account_id"
    ),
    // FTS5 walks its matches by rowid, newest first, and the walk stops at the limit. CROSS JOIN
    // keeps it the outer loop: SQLite's planner otherwise put it inside a scan of the
    // interactions, one full-text query per conversation (a minute on 50,000 messages).
    message_hits: message_hits!(
        "message_search CROSS JOIN search_docs d ON d.doc = message_search.rowid \
         CROSS JOIN messages m ON m.id = d.message_id",
        "CROSS JOIN",
        "message_search MATCH $1",
        "message_search.rowid",
        sqlite_ids
    ),
};

const POSTGRES: Sql = Sql {
    newest: inbox_list!(
        "string_agg(l.label, chr(31))",
        postgres_ids,
        "i.arrived_at < $10 OR (i.arrived_at = $10 AND i.arrival_seq < $11)",
        "i.arrived_at DESC, i.arrival_seq DESC"
    ),
    oldest: inbox_list!(
        "string_agg(l.label, chr(31))",
        postgres_ids,
        "i.arrived_at > $10 OR (i.arrived_at = $10 AND i.arrival_seq > $11)",
        "i.arrived_at, i.arrival_seq"
    ),
    one: one_conversation!("string_agg(l.label, chr(31))", postgres_ids),
    by_customer_or_label: by_customer_or_label!("string_agg(l.label, chr(31))", postgres_ids, "i.account_id"),
    message_hits: message_hits!(
        "message_search s JOIN messages m ON m.id = s.message_id",
        "JOIN",
        // `ts_match_vq` is `@@` that the terms' index cannot serve: this is the walk (`planned`).
        "ts_match_vq(s.terms, $1::tsquery) AND s.account_id = $3",
        "s.doc",
        postgres_ids
    ),
};

/// PostgreSQL's other ways to a search's messages. Asked for the newest 20 matches, its planner
/// walks the index newest first whatever the term: 5 ms for a common word a supervisor sees, but
/// 370 ms for a word in no message and 2.2 s for a common word in few of an agent's conversations
/// (a million messages, docs/benchmarks.md); and where it guesses a phrase of common words rare
/// it reads all their matches (8,697 for 申请退款) to sort them, 255 ms. So the search chooses:
/// an agent who sees few conversations has only their messages matched (`SEEN`, then
/// `IN_SEEN`); otherwise a term with few matches (`MATCHES`) has them all read by its index and
/// the newest kept (`FEW`), and a common one walks (`POSTGRES.message_hits`, which the terms'
/// index cannot serve), where matches are dense. Each is planned with its values (never a
/// generic plan, which guesses how common a term is).
pub(super) mod planned {
    /// The matches of `$1` in the account `$2` before the doc `$3`, counted up to `$4`.
    pub const MATCHES: &str = "SELECT COUNT(*) FROM (SELECT 1 FROM message_search s \
         WHERE s.terms @@ $1::tsquery AND s.account_id = $2 AND s.doc < $3 LIMIT $4) x";
    /// `message_hits` over every match, read by the terms' index first.
    pub const FEW: &str = concat!(
        "WITH hits AS MATERIALIZED (SELECT s.doc, s.message_id FROM message_search s \
         WHERE s.terms @@ $1::tsquery AND s.account_id = $3 AND s.doc < $2) ",
        message_hits!(
            "hits s JOIN messages m ON m.id = s.message_id",
            "JOIN",
            "true",
            "s.doc",
            postgres_ids
        )
    );
    /// The conversations the viewer sees (`visible!` with `$2`-`$4`) in account `$1`, up to `$5`.
    pub const SEEN: &str = concat!(
        "SELECT i.id FROM interactions i WHERE i.account_id = $1 AND",
        visible!(postgres_ids, "$2", "$3", "$4"),
        "LIMIT $5"
    );
    /// The matches of `$1` before the doc `$2` in account `$3`'s conversations `$4`, newest first,
    /// `$5` of them: found by their interaction, the term tested on each (`ts_match_vq` is `@@`
    /// that the terms' index cannot serve, so the planner does not read every match first).
    pub const IN_SEEN: &str = concat!(
        hit_columns!("s.doc"),
        "FROM message_search s JOIN messages m ON m.id = s.message_id \
         JOIN interactions i ON i.id = m.interaction_id JOIN customers c ON c.id = i.customer_id \
         WHERE s.interaction_id = ANY($4) AND ts_match_vq(s.terms, $1::tsquery) AND s.doc < $2 \
         AND s.account_id = $3 ORDER BY s.doc + 0 DESC LIMIT $5"
    );
    /// Up to this many conversations seen, an agent's search starts from them.
    pub const SEEN_MOST: i64 = 5_000;
    /// Under this many matches, a term's are all read by its index.
    pub const FEW_MOST: i64 = 1_000;

    /// The three ways; a test forces each in turn and sees each finds what the others do (on
    /// small data the choice would always be the same).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Way {
        InSeen,
        Few,
        Walk,
    }

    #[cfg(test)]
    pub static FORCED: std::sync::Mutex<Option<Way>> = std::sync::Mutex::new(None);

    /// The way a test forced, if any.
    pub fn forced() -> Option<Way> {
        #[cfg(test)]
        return *FORCED.lock().unwrap_or_else(|p| p.into_inner());
        #[cfg(not(test))]
        None
    }

    /// Whether a tenth of the index (and a thousand rows) changed since its statistics were
    /// taken (`analyze_if_stale`).
    pub const STALE: &str = "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'message_search' \
         AND n_mod_since_analyze > 1000 + n_live_tup / 10";
}

const MARK_READ: &str = "INSERT INTO conversation_reads (account_id, agent_id, interaction_id, read_seq) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (agent_id, interaction_id) \
     DO UPDATE SET read_seq = excluded.read_seq WHERE excluded.read_seq > conversation_reads.read_seq";
const DELETE_LABELS: &str = "DELETE FROM interaction_labels WHERE account_id = $1 AND interaction_id = $2";
const INSERT_LABEL: &str =
    "INSERT INTO interaction_labels (account_id, interaction_id, label) VALUES ($1, $2, $3)";

/// SQLite: the messages after the last one indexed, by rowid (the order they were written in,
/// which VACUUM keeps even where it renumbers).
const SQLITE_UNINDEXED: &str = "SELECT m.id, m.body FROM messages m WHERE m.rowid > COALESCE(\
     (SELECT m2.rowid FROM search_docs d JOIN messages m2 ON m2.id = d.message_id \
      ORDER BY d.doc DESC LIMIT 1), 0) ORDER BY m.rowid LIMIT $1";
const SQLITE_INSERT_DOCS: &str =
    "INSERT INTO search_docs (message_id) SELECT j.value ->> 'id' FROM json_each($1) AS j";
/// The terms of a message erased since they were read (`privacy`: its body is emptied) are left
/// out: the erasure, committed before this write, could not forget what was not filed yet.
const SQLITE_INSERT_TERMS: &str = "INSERT INTO message_search (rowid, terms) \
     SELECT d.doc, j.value ->> 't' FROM json_each($1) AS j JOIN search_docs d ON d.message_id = j.value ->> 'id' \
     JOIN messages m ON m.id = d.message_id WHERE m.body <> ''";

/// PostgreSQL: pending messages, claimed by this node until it commits (another node skips them).
const POSTGRES_CLAIM: &str = "DELETE FROM search_pending WHERE message_id IN \
     (SELECT message_id FROM search_pending LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING message_id";
const POSTGRES_BODIES: &str = "SELECT id, account_id, body FROM messages WHERE id = ANY($1)";
const POSTGRES_INSERT_TERMS: &str = "INSERT INTO message_search (message_id, account_id, interaction_id, terms) \
     SELECT j ->> 'id', j ->> 'a', m.interaction_id, \
     array_to_tsvector(ARRAY(SELECT jsonb_array_elements_text(j -> 't'))) \
     FROM jsonb_array_elements($1::jsonb) AS j JOIN messages m ON m.id = j ->> 'id' \
     ON CONFLICT (message_id) DO NOTHING";

/// An FTS5 query: every term required, quoted (a term is letters and digits, but a quote stays
/// a quote), a prefix term starred.
fn fts5_query(terms: &[QueryTerm]) -> String {
    terms
        .iter()
        .map(|t| {
            format!(
                "\"{}\"{}",
                t.text.replace('"', "\"\""),
                if t.prefix { "*" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// A tsquery: every term required, quoted as a lexeme verbatim, a prefix term `:*`.
fn tsquery(terms: &[QueryTerm]) -> String {
    terms
        .iter()
        .map(|t| {
            let quoted = t.text.replace('\\', "\\\\").replace('\'', "''");
            format!("'{quoted}'{}", if t.prefix { ":*" } else { "" })
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

#[derive(sqlx::FromRow)]
struct ConversationRow {
    #[sqlx(flatten)]
    interaction: InteractionRow,
    arrival_seq: i64,
    customer_name: String,
    last_seq: Option<i64>,
    last_sender: Option<String>,
    last_body: Option<String>,
    last_at: Option<i64>,
    unread: i64,
    labels: Option<String>,
}

impl ConversationRow {
    fn into_line(self) -> Result<(Conversation, ConversationCursor)> {
        let interaction = Interaction::try_from(self.interaction)?;
        let last_message = match (self.last_seq, self.last_sender, self.last_body, self.last_at) {
            (Some(seq), Some(sender), Some(body), Some(at)) => {
                Some(Preview::new(seq, sender_of(&sender)?, &body, at))
            }
            _ => None,
        };
        let waiting_since = waiting_since(&interaction, last_message.as_ref());
        let mut labels: Vec<String> = self
            .labels
            .map(|l| l.split('\u{1f}').map(str::to_string).collect())
            .unwrap_or_default();
        labels.sort();
        let cursor = ConversationCursor {
            arrived_at: interaction.arrived_at,
            arrival_seq: self.arrival_seq,
        };
        Ok((
            Conversation {
                interaction,
                customer_name: self.customer_name,
                labels,
                unread: u32::try_from(self.unread).unwrap_or(u32::MAX),
                last_message,
                waiting_since,
            },
            cursor,
        ))
    }
}

fn sender_of(s: &str) -> Result<Sender> {
    Sender::parse(s).ok_or_else(|| StoreError::Corrupt(format!("messages.sender {s:?}")))
}

/// See `Conversation::waiting_since`.
fn waiting_since(i: &Interaction, last: Option<&Preview>) -> Option<Millis> {
    match i.state {
        InteractionState::Queued | InteractionState::Offered => Some(i.arrived_at),
        InteractionState::Active => last
            .filter(|m| m.sender == Sender::Customer)
            .map(|m| m.created_at),
        _ => None,
    }
}

#[derive(sqlx::FromRow)]
struct HitRow {
    #[sqlx(flatten)]
    interaction: InteractionRow,
    customer_name: String,
    m_seq: i64,
    m_sender: String,
    m_body: String,
    m_at: i64,
    doc: i64,
}

/// The viewer's lists as the queries' `visible!` reads them.
fn viewer_json(viewer: &Viewer) -> String {
    fn ids<T: ToString>(list: &[T]) -> Vec<String> {
        list.iter().map(T::to_string).collect()
    }
    to_json(&serde_json::json!({
        "waiting": ids(&viewer.queues), "queues": ids(&viewer.team_queues), "agents": ids(&viewer.team_agents),
    }))
}

/// The bodies shared by both backends; `$sql` names their `Sql`, `$match` turns query terms
/// into what the backend's full-text match takes.
macro_rules! impl_conversation_store {
    ($db:ty, $sql:expr, $match:expr) => {
        #[async_trait::async_trait]
        impl ConversationStore for SqlStore<$db> {
            async fn conversations(
                &self,
                account: AccountId,
                viewer: &Viewer,
                query: &ConversationQuery,
            ) -> Result<ConversationPage> {
                let sql = match query.order {
                    ConversationOrder::Newest => $sql.newest,
                    ConversationOrder::Oldest => $sql.oldest,
                };
                let limit = query.limit.clamp(1, 200);
                let rows = sqlx::query_as::<_, ConversationRow>(sql)
                    .bind(account.to_string())
                    .bind(viewer.agent.to_string())
                    .bind(viewer.sees_all)
                    .bind(viewer_json(viewer))
                    .bind(query.folder.as_str())
                    .bind(query.channel.map(|c| c.as_str()))
                    .bind(query.queue.map(|q| q.to_string()))
                    .bind(query.label.as_deref())
                    .bind(query.state.map(|s| s.as_str()))
                    .bind(query.after.map(|c| c.arrived_at))
                    .bind(query.after.map(|c| c.arrival_seq))
                    .bind(i64::from(limit) + 1)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let more = rows.len() > limit as usize;
                let mut conversations = Vec::with_capacity(rows.len());
                let mut last = None;
                for row in rows.into_iter().take(limit as usize) {
                    let (line, cursor) = row.into_line()?;
                    conversations.push(line);
                    last = Some(cursor);
                }
                Ok(ConversationPage {
                    conversations,
                    next: last.filter(|_| more).map(ConversationCursor::encode),
                })
            }

            async fn conversation(
                &self,
                account: AccountId,
                viewer: &Viewer,
                id: InteractionId,
            ) -> Result<Conversation> {
                let row = sqlx::query_as::<_, ConversationRow>($sql.one)
                    .bind(account.to_string())
                    .bind(viewer.agent.to_string())
                    .bind(viewer.sees_all)
                    .bind(viewer_json(viewer))
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(row.into_line()?.0)
            }

            async fn mark_read(
                &self,
                account: AccountId,
                agent: AgentId,
                id: InteractionId,
                seq: i64,
            ) -> Result<()> {
                sqlx::query(MARK_READ)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .bind(id.to_string())
                    .bind(seq)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn set_labels(
                &self,
                account: AccountId,
                id: InteractionId,
                labels: &[String],
            ) -> Result<()> {
                use crate::store::Store;
                self.interaction(account, id).await?;
                let mut tx = self.write().await?;
                sqlx::query(DELETE_LABELS)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                for label in labels {
                    sqlx::query(INSERT_LABEL)
                        .bind(account.to_string())
                        .bind(id.to_string())
                        .bind(label)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            }

            async fn search(
                &self,
                account: AccountId,
                viewer: &Viewer,
                query: &SearchQuery,
            ) -> Result<SearchPage> {
                let limit = query.limit.clamp(1, 100);
                let visible = viewer_json(viewer);
                let mut conversations = Vec::new();
                if query.before.is_none() && !query.text.is_empty() {
                    let rows = sqlx::query_as::<_, ConversationRow>($sql.by_customer_or_label)
                        .bind(account.to_string())
                        .bind(viewer.agent.to_string())
                        .bind(viewer.sees_all)
                        .bind(&visible)
                        .bind(format!("%{}%", like_escape(&query.text)))
                        .bind(&query.text)
                        .bind(&query.text)
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db)?;
                    for row in rows {
                        conversations.push(row.into_line()?.0);
                    }
                }
                let mut messages = Vec::new();
                let mut next = None;
                if !query.terms.is_empty() {
                    let hits = Hits {
                        account,
                        viewer,
                        visible: &visible,
                        terms: $match(&query.terms),
                        before: query.before.unwrap_or(i64::MAX),
                        limit: i64::from(limit) + 1,
                    };
                    let rows = self.message_hits(&hits).await?;
                    let more = rows.len() > limit as usize;
                    for row in rows.into_iter().take(limit as usize) {
                        next = Some(row.doc);
                        messages.push(MessageHit {
                            message: Preview::new(
                                row.m_seq,
                                sender_of(&row.m_sender)?,
                                &row.m_body,
                                row.m_at,
                            ),
                            interaction: Interaction::try_from(row.interaction)?,
                            customer_name: row.customer_name,
                        });
                    }
                    next = next.filter(|_| more);
                }
                Ok(SearchPage {
                    conversations,
                    messages,
                    next,
                })
            }

            async fn index_messages(&self, limit: u32) -> Result<(usize, bool)> {
                self.index_batch(i64::from(limit.max(1))).await
            }
        }
    };
}

impl_conversation_store!(Sqlite, SQLITE, fts5_query);
impl_conversation_store!(Postgres, POSTGRES, tsquery);

/// One message's terms as the indexers hand them to the database.
fn doc(id: &str, account: Option<&str>, body: &str) -> serde_json::Value {
    let terms = crate::tokenize::terms(body);
    match account {
        // FTS5 takes the terms as one text, separated where the tokenizer cut.
        None => serde_json::json!({"id": id, "t": terms.join(" ")}),
        Some(a) => serde_json::json!({"id": id, "a": a, "t": terms}),
    }
}

/// What a search's message hits are asked with.
struct Hits<'a> {
    account: AccountId,
    viewer: &'a Viewer,
    /// `viewer_json`.
    visible: &'a str,
    /// The backend's match (`fts5_query`, `tsquery`).
    terms: String,
    /// Docs before this one.
    before: i64,
    limit: i64,
}

/// `message_hits!`'s statement `$sql`, bound from `Hits`, run on `$pool`; kept prepared where
/// `$persistent` (PostgreSQL plans each search with its values: see `planned`).
macro_rules! walk {
    ($hits:expr, $sql:expr, $pool:expr, $persistent:literal) => {
        sqlx::query_as::<_, HitRow>($sql)
            .bind(&$hits.terms)
            .bind($hits.before)
            .bind($hits.account.to_string())
            .bind($hits.viewer.agent.to_string())
            .bind($hits.viewer.sees_all)
            .bind($hits.visible)
            .bind($hits.limit)
            .persistent($persistent)
            .fetch_all($pool)
            .await
            .map_err(db)
    };
}

impl SqlStore<Sqlite> {
    async fn message_hits(&self, hits: &Hits<'_>) -> Result<Vec<HitRow>> {
        walk!(hits, SQLITE.message_hits, &self.pool, true)
    }

    /// Indexes the next messages in the order they were written. Their bodies are read and cut
    /// into terms on the indexer's own connection, beside the writer; only the inserts take the
    /// writer's turn between the chat group commits (reading and cutting 2,000 messages inside
    /// it held every message behind it: 7,057 against 7,973 delivered a second without the
    /// indexer, at 10,000 offered). A batch ends at `limit` messages or once `INDEX_BATCH_BYTES`
    /// of text is read, so a flood of large messages is indexed a few at a time.
    async fn index_batch(&self, limit: i64) -> Result<(usize, bool)> {
        let (docs, n, full) = self.unindexed(limit).await?;
        if n == 0 {
            return Ok((0, false));
        }
        self.file(&docs).await?;
        Ok((n, full || n as i64 == limit))
    }

    /// Files a batch read by `unindexed`, in one write transaction.
    async fn file(&self, docs: &str) -> Result<()> {
        let mut tx = self.write().await?;
        for sql in [SQLITE_INSERT_DOCS, SQLITE_INSERT_TERMS] {
            sqlx::query(sql).bind(docs).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    /// The next batch's terms as one JSON list (`doc`), how many messages it holds, and whether
    /// it ended at `INDEX_BATCH_BYTES`.
    async fn unindexed(&self, limit: i64) -> Result<(String, usize, bool)> {
        use futures_util::TryStreamExt;
        let (mut docs, mut bytes, mut full) = (Vec::new(), 0, false);
        let mut rows = sqlx::query(SQLITE_UNINDEXED).bind(limit).fetch(&self.indexing);
        while let Some(row) = rows.try_next().await.map_err(db)? {
            let body: &str = row.get(1);
            bytes += body.len();
            docs.push(doc(row.get::<&str, _>(0), None, body));
            if bytes >= INDEX_BATCH_BYTES {
                full = true;
                break;
            }
        }
        let n = docs.len();
        Ok((serde_json::Value::Array(docs).to_string(), n, full))
    }
}

/// The text one SQLite indexing batch reads at most (`index_batch`).
const INDEX_BATCH_BYTES: usize = 1 << 20;

impl SqlStore<Postgres> {
    /// A search's message hits, the way `planned` chooses (or a test forced).
    async fn message_hits(&self, hits: &Hits<'_>) -> Result<Vec<HitRow>> {
        use planned::Way;
        let forced = planned::forced();
        let mut seen = None;
        if !hits.viewer.sees_all && forced.is_none_or(|w| w == Way::InSeen) {
            let ids: Vec<String> = sqlx::query_scalar(planned::SEEN)
                .bind(hits.account.to_string())
                .bind(hits.viewer.agent.to_string())
                .bind(hits.viewer.sees_all)
                .bind(hits.visible)
                .bind(planned::SEEN_MOST + 1)
                .persistent(false)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            seen = Some(ids).filter(|ids| ids.len() as i64 <= planned::SEEN_MOST);
        }
        let way = match (forced, &seen) {
            (Some(way), _) => way,
            (None, Some(_)) => Way::InSeen,
            (None, None) => {
                let matches: i64 = sqlx::query_scalar(planned::MATCHES)
                    .bind(&hits.terms)
                    .bind(hits.account.to_string())
                    .bind(hits.before)
                    .bind(planned::FEW_MOST)
                    .persistent(false)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                if matches < planned::FEW_MOST {
                    Way::Few
                } else {
                    Way::Walk
                }
            }
        };
        match (way, seen) {
            (Way::InSeen, Some(seen)) => sqlx::query_as::<_, HitRow>(planned::IN_SEEN)
                .bind(&hits.terms)
                .bind(hits.before)
                .bind(hits.account.to_string())
                .bind(&seen)
                .bind(hits.limit)
                .persistent(false)
                .fetch_all(&self.pool)
                .await
                .map_err(db),
            // Forced to start from what a viewer who sees everything sees: the few way.
            (Way::InSeen | Way::Few, _) => walk!(hits, planned::FEW, &self.pool, false),
            (Way::Walk, _) => walk!(hits, POSTGRES.message_hits, &self.pool, false),
        }
    }

    /// Claims pending messages (skipping those another node holds), files their terms, and
    /// commits both at once: a node that dies mid-way leaves them pending.
    async fn index_batch(&self, limit: i64) -> Result<(usize, bool)> {
        let mut tx = self.write().await?;
        let ids: Vec<String> = sqlx::query_scalar(POSTGRES_CLAIM)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        if ids.is_empty() {
            self.analyze_if_stale().await?;
            return Ok((0, false));
        }
        let rows = sqlx::query(POSTGRES_BODIES)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db)?;
        let docs: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                doc(
                    r.get::<&str, _>(0),
                    Some(r.get::<&str, _>(1)),
                    r.get::<&str, _>(2),
                )
            })
            .collect();
        sqlx::query(POSTGRES_INSERT_TERMS)
            .bind(serde_json::Value::Array(docs).to_string())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let more = ids.len() as i64 == limit;
        if !more {
            self.analyze_if_stale().await?;
        }
        Ok((ids.len(), more))
    }

    /// The search asks the planner how common a term is: once a tenth of the index is new
    /// since its statistics were taken, the indexer takes them again (when no backlog waits, so
    /// a bulk load is analyzed once it is in), whether autovacuum runs or not.
    async fn analyze_if_stale(&self) -> Result<()> {
        let stale: i64 = sqlx::query_scalar(planned::STALE)
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        if stale > 0 {
            sqlx::query("ANALYZE message_search")
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A migrated SQLite store in `dir` and a connection beside it that writes messages
    /// without their conversations (foreign keys off), as only the indexer's reads matter here.
    async fn sqlite(dir: &std::path::Path) -> (SqlStore<Sqlite>, sqlx::SqliteConnection) {
        use sqlx::Connection;
        let url = format!("sqlite://{}", dir.join("hub.db").display());
        let (pool, writer, indexing) = super::super::sqlite_pools(&url).await.unwrap();
        let store = SqlStore {
            pool,
            group: super::super::GroupWriter::sqlite(writer.clone()),
            writer,
            indexing,
            audit: None,
        };
        store.migrate().await.unwrap();
        let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut raw)
            .await
            .unwrap();
        (store, raw)
    }

    async fn message(raw: &mut sqlx::SqliteConnection, n: i64, body: &str) {
        sqlx::query(
            "INSERT INTO messages (id, account_id, interaction_id, seq, sender, body, client_id, created_at) \
             VALUES ($1, 'a', 'i', $2, 'customer', $3, $1, 0)",
        )
        .bind(format!("m{n}"))
        .bind(n)
        .bind(body)
        .execute(raw)
        .await
        .unwrap();
    }

    async fn hits(store: &SqlStore<Sqlite>, term: &str) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM message_search WHERE message_search MATCH $1")
            .bind(term)
            .fetch_one(&store.pool)
            .await
            .unwrap()
    }

    /// A batch of large messages ends at `INDEX_BATCH_BYTES` and says more is waiting.
    #[tokio::test]
    async fn a_batch_ends_at_its_bytes_and_says_more_is_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut raw) = sqlite(dir.path()).await;
        let large = "zanzibar ".repeat(INDEX_BATCH_BYTES / 9 * 2 / 3);
        for n in 1..=3 {
            message(&mut raw, n, &large).await;
        }
        message(&mut raw, 4, "refund").await;
        assert_eq!(store.index_batch(2000).await.unwrap(), (2, true));
        assert_eq!(store.index_batch(2000).await.unwrap(), (2, false));
        assert_eq!(store.index_batch(2000).await.unwrap(), (0, false));
        assert_eq!(
            (hits(&store, "zanzibar").await, hits(&store, "refund").await),
            (3, 1)
        );
    }

    /// The bodies are read outside the write: a message erased in between (its body emptied
    /// by `privacy`) is filed as indexed but its old terms are not, and nothing is read again.
    #[tokio::test]
    async fn a_message_erased_while_its_batch_was_read_leaves_no_terms() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut raw) = sqlite(dir.path()).await;
        message(&mut raw, 1, "zanzibar refund").await;
        message(&mut raw, 2, "zanzibar trip").await;
        let (docs, n, _) = store.unindexed(2000).await.unwrap();
        assert_eq!(n, 2);
        sqlx::query("UPDATE messages SET body = '' WHERE id = 'm1'")
            .execute(&mut raw)
            .await
            .unwrap();
        store.file(&docs).await.unwrap();
        assert_eq!(
            (hits(&store, "zanzibar").await, hits(&store, "refund").await),
            (1, 0)
        );
        assert_eq!(store.index_batch(2000).await.unwrap(), (0, false));
    }

    #[test]
    fn match_expressions_quote_every_term() {
        // A term is letters and digits, but quoting must hold whatever comes.
        let terms = [
            QueryTerm {
                text: "退款".into(),
                prefix: false,
            },
            QueryTerm {
                text: "ref\"u'nd".into(),
                prefix: true,
            },
        ];
        assert_eq!(fts5_query(&terms), "\"退款\" AND \"ref\"\"u'nd\"*");
        assert_eq!(tsquery(&terms), "'退款' & 'ref\"u''nd':*");
    }
}
