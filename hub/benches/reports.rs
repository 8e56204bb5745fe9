//! Reports over a generated month (issue 13): 1,000,000 interactions for 50 queues and 500
//! agents written straight into the store, counted into per-15-minute cells from nothing (timed),
//! then a 30-day per-queue daily report and a one-day per-queue 15-minute report from the cells
//! (`reports::load::named`, what the REST API serves), each beside the same report counted from
//! the raw log (`load::recount`), which must be equal, and the plain SQL GROUP BY over the raw
//! log (`generate::plain_group_by`) for the figures it computes, which must agree.
//!
//! `cargo bench -p plugboard-hub --bench reports -- --db sqlite:///tmp/reports.db`
//! (or `--db postgres://root@127.0.0.1:5432/test`; `--interactions N`, `--runs N`, `--json FILE`).
//! A database that already holds the bench's queues is measured as it is, not written again.

use anyhow::{Context, bail};
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use plugboard_hub::domain::{AccountId, Capacity, Role};
use plugboard_hub::reports::generate::{self, Month, PlainRow, Traffic};
use plugboard_hub::reports::load::{Ask, Named, count, named, recount, run};
use plugboard_hub::reports::{Dimension, Granularity, add_days};
use plugboard_hub::store::{DynStore, NewAgent, QueueSpec, connect};
use plugboard_hub::teams::Scope;
use std::time::{Duration, Instant};

const ACCOUNT: AccountId = AccountId::DEFAULT;
const QUEUES: usize = 50;
const AGENTS: usize = 500;
const DAYS: u32 = 30;

struct Args {
    db: String,
    interactions: u64,
    runs: usize,
    json: String,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        db: "sqlite:///tmp/plugboard-reports.db".into(),
        interactions: 1_000_000,
        runs: 5,
        // The workspace's bench/ (cargo runs benches from the package's directory).
        json: concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../bench/reports/results/latest.jsonl"
        )
        .into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => a.db = value()?,
            "--interactions" => a.interactions = value()?.parse()?,
            "--runs" => a.runs = value()?.parse()?,
            "--json" => a.json = value()?,
            // cargo bench passes this to every bench binary.
            "--bench" => {}
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn first_day() -> Date {
    // A Monday.
    date(2026, 11, 2)
}

/// "Now" for every report: a month after the generated one, when all of it is over.
fn now() -> i64 {
    ms(first_day()) + i64::from(DAYS + 30) * generate::DAY
}

fn ms(d: Date) -> i64 {
    d.to_zoned_datetime(TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// Creates the queues and agents, then writes the month a day per transaction.
async fn fill(store: &DynStore, db: &str, interactions: u64) -> anyhow::Result<()> {
    let mut queues = Vec::new();
    for n in 0..QUEUES {
        let mut spec = QueueSpec::named(&format!("bench-q{n:02}"));
        spec.sl_target_secs = [20, 30, 60][n % 3];
        let q = store.create_queue(ACCOUNT, spec).await?;
        queues.push((q.id, q.sl_target_secs));
    }
    let mut agents = Vec::new();
    for n in 0..AGENTS {
        let agent = NewAgent {
            email: format!("bench-agent-{n:03}@example.com"),
            name: format!("Agent {n:03}"),
            role: Role::Agent,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Capacity::default(),
            password_hash: "!".into(),
        };
        agents.push(store.create_agent(ACCOUNT, agent).await?.id);
    }
    let mut traffic = Traffic::new(Month {
        account: ACCOUNT,
        start: ms(first_day()),
        days: DAYS,
        interactions,
        seed: 13,
        queues,
        agents,
    });
    let started = Instant::now();
    if db.starts_with("sqlite:") {
        let options: sqlx::sqlite::SqliteConnectOptions = db.parse()?;
        let pool =
            sqlx::SqlitePool::connect_with(options.synchronous(sqlx::sqlite::SqliteSynchronous::Normal))
                .await?;
        for d in 0..DAYS {
            generate::write_day_sqlite(&pool, ACCOUNT, &traffic.day(d)).await?;
        }
        sqlx::query("ANALYZE").execute(&pool).await?;
    } else {
        let pool = sqlx::PgPool::connect(db).await?;
        for d in 0..DAYS {
            generate::write_day_postgres(&pool, ACCOUNT, &traffic.day(d)).await?;
        }
        sqlx::query("ANALYZE").execute(&pool).await?;
    }
    println!(
        "wrote {interactions} interactions in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The plain GROUP BY's rows over `[from, to)` in intervals of `step` ms, on a fresh pool.
async fn plain(db: &str, pool: &Plain, from: i64, to: i64, step: i64) -> anyhow::Result<Vec<PlainRow>> {
    let sql = generate::plain_group_by(!db.starts_with("sqlite:"));
    let account = ACCOUNT.to_string();
    macro_rules! rows {
        ($pool:expr) => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(&account)
                .bind(from)
                .bind(to)
                .bind(step)
                .fetch_all($pool)
                .await?
        };
    }
    Ok(match pool {
        Plain::Sqlite(p) => rows!(p),
        Plain::Postgres(p) => rows!(p),
    })
}

enum Plain {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

async fn plain_pool(db: &str) -> anyhow::Result<Plain> {
    Ok(if db.starts_with("sqlite:") {
        Plain::Sqlite(sqlx::SqlitePool::connect(db).await?)
    } else {
        Plain::Postgres(sqlx::PgPool::connect(db).await?)
    })
}

/// The first run on fresh connections, then p50 and p99 of `runs` more.
#[derive(Debug, serde::Serialize)]
struct Timing {
    first_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn timing(first: Duration, mut warm: Vec<Duration>) -> Timing {
    warm.sort();
    let at = |q: f64| warm[((warm.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0;
    Timing {
        first_ms: first.as_secs_f64() * 1000.0,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
    }
}

async fn measure(
    a: &Args,
    name: &str,
    from: Date,
    to: Date,
    granularity: Granularity,
) -> anyhow::Result<serde_json::Value> {
    let (start, end) = (ms(from), ms(to) + generate::DAY);
    let step = match granularity {
        Granularity::Day => generate::DAY,
        Granularity::QuarterHour => 15 * 60_000,
        _ => bail!("the plain GROUP BY cuts days and quarter-hours only"),
    };
    let ask = Ask {
        dimension: Dimension::Queue,
        granularity,
        from,
        to,
        now: now(),
    };
    let cells = |store: DynStore| async move {
        let t = Instant::now();
        let r: Named = named(&store, ACCOUNT, ask, &Scope::All).await?;
        anyhow::Ok((t.elapsed(), r))
    };
    let (first, report) = cells(connect(&a.db).await?).await?;
    let store = connect(&a.db).await?;
    let mut warm = Vec::new();
    for _ in 0..a.runs {
        warm.push(cells(store.clone()).await?.0);
    }
    let engine = timing(first, warm);

    let t = Instant::now();
    let raw = recount(&store, ACCOUNT, ask).await?;
    let raw_ms = t.elapsed().as_secs_f64() * 1000.0;
    let (_, from_cells) = run(&store, ACCOUNT, ask).await?;
    if from_cells != raw {
        bail!("{name}: the cells and the raw log disagree");
    }

    let t = Instant::now();
    let rows = plain(&a.db, &plain_pool(&a.db).await?, start, end, step).await?;
    let first = t.elapsed();
    let pool = plain_pool(&a.db).await?;
    let mut warm = Vec::new();
    for _ in 0..a.runs {
        let t = Instant::now();
        plain(&a.db, &pool, start, end, step).await?;
        warm.push(t.elapsed());
    }
    let group_by = timing(first, warm);
    let agree = generate::disagreement(&report, &rows);
    let offered: u64 = report.rows.iter().map(|r| r.total.tally.offered).sum();
    println!(
        "{name}: {offered} offered in {} rows × {} intervals; cells first {:.0} ms, p50 {:.1} ms, p99 {:.1} ms; \
         raw log {raw_ms:.0} ms (equal); GROUP BY first {:.0} ms, p50 {:.0} ms, p99 {:.0} ms; figures {}",
        report.rows.len(),
        report.intervals.len(),
        engine.first_ms,
        engine.p50_ms,
        engine.p99_ms,
        group_by.first_ms,
        group_by.p50_ms,
        group_by.p99_ms,
        agree.as_deref().unwrap_or("agree"),
    );
    if let Some(why) = agree {
        bail!("the engine and the GROUP BY disagree: {why}");
    }
    Ok(serde_json::json!({
        "report": name,
        "offered": offered,
        "rows": report.rows.len(),
        "intervals": report.intervals.len(),
        "cells": engine,
        "raw_log_ms": raw_ms,
        "group_by": group_by,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let store = connect(&a.db).await?;
    store.migrate().await?;
    let existing = store.queues(ACCOUNT).await?;
    if existing.iter().any(|q| q.name == "bench-q00") {
        println!("measuring the month already in {}", a.db);
    } else if existing.is_empty() {
        fill(&store, &a.db, a.interactions).await?;
    } else {
        bail!(
            "{} has queues of its own: give the benchmark an empty database",
            a.db
        );
    }
    // Counted from nothing: the cells of every quarter-hour of the month, as after an upgrade or
    // `plugboard reports recount`.
    match plain_pool(&a.db).await? {
        Plain::Sqlite(p) => sqlx::query("DELETE FROM report_marks")
            .execute(&p)
            .await?
            .rows_affected(),
        Plain::Postgres(p) => sqlx::query("DELETE FROM report_marks")
            .execute(&p)
            .await?
            .rows_affected(),
    };
    let t = Instant::now();
    count(&store, ACCOUNT, now()).await?;
    let count_s = t.elapsed().as_secs_f64();
    println!("counted the month into cells in {count_s:.1} s");
    let month = measure(
        &a,
        "30 days, daily",
        first_day(),
        add_days(first_day(), i64::from(DAYS) - 1).unwrap(),
        Granularity::Day,
    )
    .await?;
    let monday = add_days(first_day(), 14).unwrap();
    let day = measure(&a, "1 day, 15 minutes", monday, monday, Granularity::QuarterHour).await?;
    let record = serde_json::json!({
        "bench": "reports",
        "db": if a.db.starts_with("sqlite:") { "sqlite" } else { "postgres" },
        "interactions": a.interactions,
        "runs": a.runs,
        "count_s": count_s,
        "reports": [month, day],
    });
    if let Some(dir) = std::path::Path::new(&a.json).parent() {
        std::fs::create_dir_all(dir)?;
    }
    use std::io::Write;
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.json)?;
    writeln!(out, "{record}")?;
    Ok(())
}
