//! `plugboard backup --to FILE`: a consistent copy of the embedded SQLite database taken while the
//! hub keeps serving. `VACUUM INTO` reads inside one read transaction, which on a WAL database is a
//! snapshot: the hub's writer carries on, and the copy holds exactly the transactions committed
//! before it began (no message without its interaction, no half of a transition).
//! Restoring is the file put back while the hub is stopped (deploy/README.md).

use super::{Conn, redact};
use crate::config::Config;
use anyhow::{Context, bail};
use sqlx::Row;
use std::path::{Path, PathBuf};

/// What a backup holds, read back from the file once it is on disk.
#[derive(Debug)]
pub struct Backup {
    pub file: PathBuf,
    pub bytes: u64,
    /// Rows per table, in the file.
    pub tables: Vec<(String, i64)>,
    /// Call recordings beside the database: not in the file, to be copied on their own.
    pub recordings: usize,
}

pub async fn backup(config: &Config, to: &Path) -> anyhow::Result<Backup> {
    let url = config.database_url();
    if !url.starts_with("sqlite:") {
        bail!(
            "backup copies the embedded SQLite database; {} is not one. Back PostgreSQL up with \
             its own tools, e.g. `pg_dump --format=custom --file=plugboard.dump` (restore with \
             pg_restore)",
            redact(&url)
        );
    }
    let mut conn = Conn::open(&url).await?;
    let Conn::Sqlite(live) = &mut conn else {
        unreachable!("a sqlite: URL opens SQLite")
    };
    if to.exists() {
        bail!(
            "{} already exists; a backup never overwrites a file",
            to.display()
        );
    }
    // Written beside the target under another name and renamed once on disk, so a backup cut
    // short never leaves a file that looks whole.
    let partial = partial_name(to)?;
    let _ = std::fs::remove_file(&partial);
    let destination = partial
        .to_str()
        .context("the backup's path is not UTF-8")?
        .to_string();
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(&destination)
        .execute(&mut *live)
        .await
        .context("copying the database (VACUUM INTO)");
    drop(conn);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    // SQLite does not fsync what VACUUM INTO writes.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("flushing {}", partial.display()))?;
    let tables = check(&partial).await;
    let tables = match tables {
        Ok(tables) => tables,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, to).with_context(|| format!("renaming the backup to {}", to.display()))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The rename itself survives a power cut only once the directory is flushed.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    let recordings = std::fs::read_dir(config.data_dir.join("recordings"))
        .map(|entries| entries.filter_map(Result::ok).count())
        .unwrap_or(0);
    Ok(Backup {
        file: to.to_path_buf(),
        bytes: std::fs::metadata(to)?.len(),
        tables,
        recordings,
    })
}

fn partial_name(to: &Path) -> anyhow::Result<PathBuf> {
    let name = to
        .file_name()
        .with_context(|| format!("{} names no file", to.display()))?;
    let mut partial = name.to_os_string();
    partial.push(".partial");
    Ok(to.with_file_name(partial))
}

/// Opens the copy on its own, checks it page by page and counts its rows.
async fn check(file: &Path) -> anyhow::Result<Vec<(String, i64)>> {
    let url = format!("sqlite://{}", file.display());
    let mut conn = Conn::open(&url).await?;
    let Conn::Sqlite(c) = &mut conn else {
        unreachable!("a sqlite:// URL opens SQLite")
    };
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut *c)
        .await
        .context("checking the backup")?;
    if verdict != "ok" {
        bail!("the backup failed SQLite's integrity check: {verdict}");
    }
    let mut tables = Vec::new();
    for table in conn.tables().await? {
        let Conn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *c).await?;
        tables.push((table, row.try_get(0)?));
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn backup_refuses_postgres_and_points_at_pg_dump() {
        let config = Config {
            database_url: "postgres://nobody@127.0.0.1:1/none".into(),
            ..Config::default()
        };
        // Refused from the URL alone: there is no server at that address to ask.
        let dir = tempfile::tempdir().unwrap();
        let error = backup(&config, &dir.path().join("b.db")).await.unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("pg_dump"), "{text}");
        assert!(!dir.path().join("b.db").exists());
    }
}

#[cfg(test)]
mod snapshot {
    use super::*;
    use crate::domain::{AccountId, Channel, Sender, now_millis};
    use crate::store::{NewInteraction, NewMessage, QueueSpec};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A backup taken while messages are being committed holds every message acknowledged before
    /// it began, and nothing torn: every message has its interaction, and each interaction's
    /// messages run 1, 2, 3... without a gap.
    #[tokio::test]
    async fn a_backup_under_writes_is_a_consistent_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let store = crate::server::open_store(&config).await.unwrap();
        let account = AccountId::DEFAULT;
        let queue = store
            .create_queue(account, QueueSpec::named("Support"))
            .await
            .unwrap();
        let customer = store
            .resolve_customer(
                account,
                &[("email".into(), "ann@example.com".into())],
                Some("Ann"),
            )
            .await
            .unwrap();
        let mut chats = Vec::new();
        for _ in 0..4 {
            let new = NewInteraction {
                customer_id: customer.id,
                channel: Channel::Chat,
                queue_id: queue.id,
                priority: 0,
                entry_point: "widget".into(),
                offline: false,
                arrived_at: now_millis(),
            };
            chats.push(store.create_interaction(account, new).await.unwrap().id);
        }
        let acked = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = chats
            .iter()
            .map(|&interaction_id| {
                let (store, acked) = (store.clone(), acked.clone());
                tokio::spawn(async move {
                    for n in 0.. {
                        let message = NewMessage {
                            interaction_id,
                            sender: Sender::Customer,
                            agent_id: None,
                            body: format!("message {n}"),
                            client_id: format!("m{n}"),
                        };
                        if store
                            .append_message(account, message, now_millis())
                            .await
                            .is_err()
                        {
                            return;
                        }
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        while acked.load(Ordering::SeqCst) < 200 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let before = acked.load(Ordering::SeqCst);
        let file = dir.path().join("backup.db");
        let done = backup(&config, &file).await.unwrap();
        let after = acked.load(Ordering::SeqCst);
        writers.iter().for_each(|w| w.abort());

        let messages = done.tables.iter().find(|(t, _)| t == "messages").unwrap().1 as usize;
        assert!(
            messages >= before,
            "{messages} messages in the backup, {before} acknowledged before it"
        );
        assert!(
            after > before,
            "nothing was written while the backup ran: a weak test"
        );
        let mut conn = Conn::open(&format!("sqlite://{}", file.display())).await.unwrap();
        let Conn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        let torn: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM messages m WHERE NOT EXISTS \
             (SELECT 1 FROM interactions i WHERE i.id = m.interaction_id)) + (SELECT COUNT(*) FROM \
             (SELECT interaction_id FROM messages GROUP BY interaction_id HAVING COUNT(*) <> MAX(seq)))",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap();
        assert_eq!(torn, 0, "a message without its interaction, or a gap in the seqs");
        assert!(
            backup(&config, &file).await.is_err(),
            "a second backup to the same file must not overwrite it"
        );
    }
}
