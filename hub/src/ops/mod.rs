//! The operator's commands around the hub, not inside it: `plugboard migrate` (bring a database up
//! to this binary's schema and exit), `backup` (an online snapshot of the SQLite site) and `copy`
//! (a whole site from one database into another, e.g. SQLite into PostgreSQL). They run beside
//! or instead of `serve`, on one plain connection each, never through the hub's pools or router.

pub mod backup;
pub mod copy;

use crate::config::Config;
use anyhow::Context;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row, SqliteConnection};
use std::str::FromStr;
use std::time::Duration;

/// A migration this binary or a database knows: version and description (`2`, `phones`).
pub type Migration = (i64, String);

/// What `plugboard migrate` did.
#[derive(Debug)]
pub struct Migrated {
    /// The database, its password hidden.
    pub url: String,
    pub applied: Vec<Migration>,
    pub now: Vec<Migration>,
}

/// `plugboard migrate`: applies the pending migrations to the configured database (creating a
/// SQLite file when there is none) and says which ones it applied.
pub async fn migrate(config: &Config) -> anyhow::Result<Migrated> {
    let url = config.database_url();
    let before = match Conn::open(&url).await {
        Ok(mut conn) => conn.migrations().await?,
        // No database yet: every migration is pending.
        Err(_) => Vec::new(),
    };
    let store = crate::server::open_store(config).await?;
    drop(store);
    let now = Conn::open(&url).await?.migrations().await?;
    let applied = now.iter().filter(|m| !before.contains(m)).cloned().collect();
    Ok(Migrated {
        url: redact(&url),
        applied,
        now,
    })
}

/// `plugboard reports rebuild`: forgets the default account's report cells and counts them again
/// from the raw logs. Gives how many cells the count made.
pub async fn rebuild_reports(config: &Config) -> anyhow::Result<usize> {
    let store = crate::server::open_store(config).await?;
    let account = crate::domain::AccountId::DEFAULT;
    let now = crate::domain::now_millis();
    if let Some(read) = store.cell_mark(account).await? {
        // A mark of no rules: the next count finds other rules and counts everything.
        let forgotten = crate::store::CellMark {
            rules: String::new(),
            ..read.clone()
        };
        store
            .put_cells(account, Some(&read), &forgotten, None, &[])
            .await?;
    }
    Ok(crate::reports::load::count(&store, account, now).await?)
}

/// One connection to either database, opened the way an operator's command needs it: never
/// creating a SQLite file, never changing its journal mode (the hub owns those).
pub(crate) enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl Conn {
    pub(crate) async fn open(url: &str) -> anyhow::Result<Conn> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(false)
                // The hub's writer may hold the database for a moment.
                .busy_timeout(Duration::from_secs(10));
            let conn = SqliteConnection::connect_with(&options)
                .await
                .with_context(|| format!("opening {}", redact(url)))?;
            Ok(Conn::Sqlite(conn))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let conn = PgConnection::connect(url)
                .await
                .with_context(|| format!("opening {}", redact(url)))?;
            Ok(Conn::Postgres(conn))
        } else {
            anyhow::bail!("{}: not a sqlite:// or postgres:// URL", redact(url))
        }
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    pub(crate) async fn execute(&mut self, sql: &str) -> sqlx::Result<()> {
        let sql = AssertSqlSafe(sql.to_string());
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(drop),
        }
    }

    /// Tables in the database (the current schema on PostgreSQL), SQLite's own left out.
    pub(crate) async fn tables(&mut self) -> sqlx::Result<Vec<String>> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                     AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
                )
                .fetch_all(c)
                .await
            }
            Conn::Postgres(c) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
                )
                .fetch_all(c)
                .await
            }
        }
    }

    /// The migrations applied to this database, oldest first; none when it was never migrated.
    pub(crate) async fn migrations(&mut self) -> sqlx::Result<Vec<Migration>> {
        if !self.tables().await?.iter().any(|t| t == "_sqlx_migrations") {
            return Ok(Vec::new());
        }
        let sql = "SELECT version, description FROM _sqlx_migrations WHERE success ORDER BY version";
        let rows = match self {
            Conn::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<sqlx::Result<_>>()?,
            Conn::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<sqlx::Result<_>>()?,
        };
        Ok(rows)
    }
}

/// A database URL fit to print: any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_string();
    };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..]),
        None => url.to_string(),
    }
}

/// How a list of migrations reads to an operator: `1 init, 2 phones`.
pub fn describe(migrations: &[Migration]) -> String {
    migrations
        .iter()
        .map(|(v, d)| format!("{v} {d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_screen() {
        assert_eq!(
            redact("postgres://plugboard:s3cr@t@db.internal:5432/plugboard?sslmode=require"),
            "postgres://plugboard:***@db.internal:5432/plugboard?sslmode=require"
        );
        assert_eq!(
            redact("postgres://root@127.0.0.1/test"),
            "postgres://root@127.0.0.1/test"
        );
        assert_eq!(
            redact("sqlite://plugboard-data/plugboard.db"),
            "sqlite://plugboard-data/plugboard.db"
        );
        assert_eq!(
            redact("postgres:///plugboard?user=a"),
            "postgres:///plugboard?user=a"
        );
    }

    #[tokio::test]
    async fn migrate_applies_every_migration_once_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let first = migrate(&config).await.unwrap();
        assert!(!first.applied.is_empty());
        assert_eq!(first.applied, first.now);
        assert_eq!(first.applied[0], (1, "init".to_string()));
        let again = migrate(&config).await.unwrap();
        assert!(again.applied.is_empty(), "{again:?}");
        assert_eq!(again.now, first.now);
    }
}
