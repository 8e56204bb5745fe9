//! `KnowledgeStore` on both backends: the same statements for SQLite and PostgreSQL, expanded by
//! `impl_knowledge_store!`. An article's terms are replaced in the transaction that writes it; a
//! search asks for each term's articles and keeps those that have them all.

use super::super::knowledge::KnowledgeStore;
use super::super::{Result, StoreError};
use super::rows::{json, parse, parse_opt, to_json};
use super::{SqlStore, db};
use crate::domain::{AccountId, AgentId, ArticleId, CannedId};
use crate::knowledge::{Article, Canned, MAX_QUERY_TERMS, index_terms};
use crate::tokenize::QueryTerm;
use sqlx::Sqlite;
use sqlx::postgres::Postgres;
use std::collections::HashMap;

mod q {
    macro_rules! article_columns {
        () => {
            "SELECT k.id, k.title, k.body, k.category, k.tags, k.queues, k.stages, k.author_id, \
             (SELECT a.name FROM agents AS a WHERE a.account_id = k.account_id AND a.id = k.author_id), \
             k.created_at, k.updated_at FROM kb_articles AS k"
        };
    }
    macro_rules! canned_columns {
        () => {
            "SELECT id, owner_id, shortcut, title, body, uses, updated_at FROM canned_responses"
        };
    }
    pub const PUT_ARTICLE: &str = "INSERT INTO kb_articles (id, account_id, title, body, category, tags, \
         queues, stages, author_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, \
         category = excluded.category, tags = excluded.tags, queues = excluded.queues, \
         stages = excluded.stages, updated_at = excluded.updated_at \
         WHERE kb_articles.account_id = excluded.account_id";
    pub const ARTICLE: &str = concat!(article_columns!(), " WHERE k.account_id = $1 AND k.id = $2");
    pub const ARTICLES: &str = concat!(
        article_columns!(),
        " WHERE k.account_id = $1 ORDER BY k.updated_at DESC, k.id"
    );
    pub const DELETE_TERMS: &str = "DELETE FROM kb_terms WHERE account_id = $1 AND article_id = $2";
    pub const DELETE_ARTICLE: &str = "DELETE FROM kb_articles WHERE account_id = $1 AND id = $2";
    /// Rows of terms per insert: four parameters each, well under either backend's limit.
    pub const TERMS_PER_INSERT: usize = 200;
    pub const TERM_HITS: &str = "SELECT article_id, MAX(title) FROM kb_terms \
         WHERE account_id = $1 AND term = $2 GROUP BY article_id";
    pub const PREFIX_HITS: &str = "SELECT article_id, MAX(title) FROM kb_terms \
         WHERE account_id = $1 AND substr(term, 1, $3) = $2 GROUP BY article_id";

    pub const CANNED_FOR: &str = concat!(
        canned_columns!(),
        " WHERE account_id = $1 AND (owner_id IS NULL OR owner_id = $2)"
    );
    pub const CANNED: &str = concat!(canned_columns!(), " WHERE account_id = $1 AND id = $2");
    pub const PUT_CANNED: &str = "INSERT INTO canned_responses (id, account_id, owner_id, shortcut, title, \
         body, uses, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
         ON CONFLICT (id) DO UPDATE SET shortcut = excluded.shortcut, title = excluded.title, \
         body = excluded.body, updated_at = excluded.updated_at \
         WHERE canned_responses.account_id = excluded.account_id";
    pub const DELETE_CANNED: &str = "DELETE FROM canned_responses WHERE account_id = $1 AND id = $2";
    pub const USE_CANNED: &str = "UPDATE canned_responses SET uses = uses + 1 \
         WHERE account_id = $1 AND id = $2 RETURNING uses";
}

type ArticleRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
);

fn article(row: ArticleRow) -> Result<Article> {
    let (id, title, body, category, tags, queues, stages, author, author_name, created_at, updated_at) = row;
    Ok(Article {
        id: parse("kb_articles.id", &id)?,
        title,
        body,
        category,
        tags: json("kb_articles.tags", &tags)?,
        queues: json("kb_articles.queues", &queues)?,
        stages: json("kb_articles.stages", &stages)?,
        author_id: parse("kb_articles.author_id", &author)?,
        author_name,
        created_at,
        updated_at,
    })
}

type CannedRow = (String, Option<String>, String, String, String, i64, i64);

fn canned(row: CannedRow) -> Result<Canned> {
    let (id, owner, shortcut, title, body, uses, updated_at) = row;
    Ok(Canned {
        id: parse("canned_responses.id", &id)?,
        owner_id: parse_opt("canned_responses.owner_id", owner.as_deref())?,
        shortcut,
        title,
        body,
        uses: u64::try_from(uses)
            .map_err(|_| StoreError::Corrupt(format!("canned_responses.uses: {uses}")))?,
        updated_at,
    })
}

/// `INSERT INTO kb_terms` for `rows` rows, numbered parameters four by four.
fn insert_terms(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
        .collect();
    format!(
        "INSERT INTO kb_terms (account_id, term, article_id, title) VALUES {}",
        values.join(", ")
    )
}

macro_rules! impl_knowledge_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl KnowledgeStore for SqlStore<$db> {
            async fn put_article(&self, account: AccountId, a: &Article) -> Result<()> {
                let mut tx = self.write().await?;
                let written = sqlx::query(q::PUT_ARTICLE)
                    .bind(a.id.to_string())
                    .bind(account.to_string())
                    .bind(&a.title)
                    .bind(&a.body)
                    .bind(&a.category)
                    .bind(to_json(&a.tags))
                    .bind(to_json(&a.queues))
                    .bind(to_json(&a.stages))
                    .bind(a.author_id.to_string())
                    .bind(a.created_at)
                    .bind(a.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if written.rows_affected() == 0 {
                    // The id is another account's.
                    return Err(StoreError::NotFound);
                }
                sqlx::query(q::DELETE_TERMS)
                    .bind(account.to_string())
                    .bind(a.id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let terms = index_terms(&a.title, &a.body, &a.tags);
                for chunk in terms.chunks(q::TERMS_PER_INSERT) {
                    // Only numbered placeholders: the terms are bound.
                    let mut insert = sqlx::query(sqlx::AssertSqlSafe(insert_terms(chunk.len())));
                    for (term, title) in chunk {
                        insert = insert
                            .bind(account.to_string())
                            .bind(term)
                            .bind(a.id.to_string())
                            .bind(i64::from(*title));
                    }
                    insert.execute(&mut *tx).await.map_err(db)?;
                }
                self.commit_audited(tx).await
            }

            async fn article(&self, account: AccountId, id: ArticleId) -> Result<Article> {
                let row: ArticleRow = sqlx::query_as(q::ARTICLE)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                article(row)
            }

            async fn articles(&self, account: AccountId) -> Result<Vec<Article>> {
                let rows: Vec<ArticleRow> = sqlx::query_as(q::ARTICLES)
                    .bind(account.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter().map(article).collect()
            }

            async fn search_articles(
                &self,
                account: AccountId,
                terms: &[QueryTerm],
            ) -> Result<HashMap<ArticleId, u32>> {
                let mut found: Option<HashMap<ArticleId, u32>> = None;
                for term in terms.iter().take(MAX_QUERY_TERMS) {
                    let query = if term.prefix {
                        let chars = i32::try_from(term.text.chars().count()).unwrap_or(i32::MAX);
                        sqlx::query_as(q::PREFIX_HITS)
                            .bind(account.to_string())
                            .bind(&term.text)
                            .bind(chars)
                    } else {
                        sqlx::query_as(q::TERM_HITS)
                            .bind(account.to_string())
                            .bind(&term.text)
                    };
                    let rows: Vec<(String, i64)> = query.fetch_all(&self.pool).await.map_err(db)?;
                    let mut these = HashMap::with_capacity(rows.len());
                    for (id, title) in rows {
                        let id: ArticleId = parse("kb_terms.article_id", &id)?;
                        let before = match &found {
                            None => Some(0),
                            Some(f) => f.get(&id).copied(),
                        };
                        if let Some(before) = before {
                            these.insert(id, before + u32::from(title > 0));
                        }
                    }
                    if these.is_empty() {
                        return Ok(these);
                    }
                    found = Some(these);
                }
                Ok(found.unwrap_or_default())
            }

            async fn delete_article(&self, account: AccountId, id: ArticleId) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::DELETE_TERMS)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let gone = sqlx::query(q::DELETE_ARTICLE)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if gone.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn canned_responses(&self, account: AccountId, agent: AgentId) -> Result<Vec<Canned>> {
                let rows: Vec<CannedRow> = sqlx::query_as(q::CANNED_FOR)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut list = rows.into_iter().map(canned).collect::<Result<Vec<_>>>()?;
                // Ordered here, the same on both backends (they sort NULLs and text apart).
                list.sort_by(|a, b| {
                    b.uses
                        .cmp(&a.uses)
                        .then_with(|| a.shortcut.cmp(&b.shortcut))
                        .then_with(|| a.owner_id.is_some().cmp(&b.owner_id.is_some()))
                });
                Ok(list)
            }

            async fn canned_response(&self, account: AccountId, id: CannedId) -> Result<Canned> {
                let row: CannedRow = sqlx::query_as(q::CANNED)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                canned(row)
            }

            async fn put_canned(&self, account: AccountId, c: &Canned) -> Result<()> {
                let mut tx = self.write().await?;
                let written = sqlx::query(q::PUT_CANNED)
                    .bind(c.id.to_string())
                    .bind(account.to_string())
                    .bind(c.owner_id.map(|o| o.to_string()))
                    .bind(&c.shortcut)
                    .bind(&c.title)
                    .bind(&c.body)
                    .bind(c.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if written.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn delete_canned(&self, account: AccountId, id: CannedId) -> Result<()> {
                let mut tx = self.write().await?;
                let gone = sqlx::query(q::DELETE_CANNED)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if gone.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn use_canned(&self, account: AccountId, id: CannedId) -> Result<u64> {
                let uses: i64 = sqlx::query_scalar(q::USE_CANNED)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(u64::try_from(uses).unwrap_or(0))
            }
        }
    };
}

impl_knowledge_store!(Sqlite);
impl_knowledge_store!(Postgres);
