//! The search benchmark (issue 12): a million messages in the real hub's database, indexed by the
//! hub's own indexer, then searched and listed through the REST API as a supervisor (who sees
//! every conversation) and as an agent (who sees their own), timed at the client.
//!
//! The messages: `--conversations` chats of equal length, half in Chinese and half in English,
//! written straight into the database while the hub runs (the chat path's cost is the chat
//! benchmark's business; this one is about the index). A Chinese message is 6 to 14 words with no
//! spaces between them, an English one 6 to 14 words; words are drawn from a vocabulary of about
//! 50 each, skewed (a few words in many messages, most in few), and one message in twenty carries
//! an order number `sku<n>` seen once or twice in the whole set. Bob (an agent) holds one
//! conversation in a hundred.
//!
//! cargo build --release --bin plugboard --bin plugboard-searchload
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-searchload --messages 1000000
//! (add --postgres postgres://root@127.0.0.1:5432/test for PostgreSQL: a database of its own is
//! created and dropped; the queries wait until the index's statistics are fresh, which the hub's
//! indexer sees to after a bulk load, since the planner needs to know how common a term is)
//!
//! Flags (optional): --messages N (1000000) --conversations N (50000) --rounds N (30 per query)
//! --json FILE (appends one JSON object) --keep true (PostgreSQL: keep the database, for psql).

use anyhow::{Context, Result, bail};
use plugboard_tests::{DEMO_PASSWORD, Hub, append_json_line, scratch_dir};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const ZH: &[&str] = &[
    "退款", "订单", "发货", "快递", "地址", "客服", "您好", "谢谢", "请问", "什么", "时候", "收到", "商品",
    "质量", "问题", "换货", "尺码", "颜色", "价格", "优惠", "发票", "付款", "支付", "失败", "账号", "登录",
    "密码", "修改", "取消", "申请", "处理", "进度", "物流", "信息", "更新", "包裹", "破损", "投诉", "满意",
    "评价", "会员", "积分", "活动", "预约", "安装", "维修", "保修", "电池",
];
const EN: &[&str] = &[
    "hello",
    "thanks",
    "order",
    "refund",
    "delivery",
    "address",
    "parcel",
    "tracking",
    "please",
    "when",
    "will",
    "arrive",
    "broken",
    "damaged",
    "replace",
    "size",
    "colour",
    "price",
    "discount",
    "invoice",
    "payment",
    "failed",
    "account",
    "login",
    "password",
    "change",
    "cancel",
    "request",
    "status",
    "update",
    "courier",
    "missing",
    "complaint",
    "happy",
    "review",
    "member",
    "points",
    "booking",
    "install",
    "repair",
    "warranty",
    "battery",
    "screen",
    "charger",
    "return",
    "label",
    "weekend",
    "morning",
];

struct Args {
    messages: usize,
    conversations: usize,
    rounds: usize,
    postgres: Option<String>,
    json: Option<PathBuf>,
    keep: bool,
}

fn args() -> Result<Args> {
    let mut a = Args {
        messages: 1_000_000,
        conversations: 50_000,
        rounds: 30,
        postgres: None,
        json: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--messages" => a.messages = value.parse()?,
            "--conversations" => a.conversations = value.parse()?,
            "--rounds" => a.rounds = value.parse()?,
            "--postgres" => a.postgres = Some(value),
            "--json" => a.json = Some(value.into()),
            "--keep" => a.keep = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

/// xorshift64*: the same data on every run, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Skewed toward the start of a list: the square of a uniform draw.
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u) * n as f64) as usize
    }
}

fn body(rng: &mut Rng, chinese: bool, sku: &mut u64, probe: &mut Option<u64>, halfway: bool) -> String {
    let words = 6 + rng.below(9);
    let vocab = if chinese { ZH } else { EN };
    let mut parts: Vec<String> = (0..words)
        .map(|_| vocab[rng.skewed(vocab.len())].to_string())
        .collect();
    if rng.below(20) == 0 {
        *sku += 1 + rng.below(2) as u64;
        if halfway && probe.is_none() {
            *probe = Some(*sku);
        }
        parts.push(format!("sku{sku}"));
    }
    if chinese {
        parts.concat() + "。"
    } else {
        parts.join(" ") + "."
    }
}

/// The database, whichever it is, as the benchmark writes it.
enum Db {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Db {
    async fn execute(&mut self, sql: &str, values: &[Value]) -> Result<()> {
        // Values go in as one JSON array, unpacked by the database: one statement per batch.
        let json = Value::Array(values.to_vec()).to_string();
        match self {
            Db::Sqlite(c) => {
                sqlx::query(sqlx::AssertSqlSafe(sql.replace("ROWS", "json_each($1)")))
                    .bind(json)
                    .execute(c)
                    .await?;
            }
            Db::Postgres(c) => {
                sqlx::query(sqlx::AssertSqlSafe(
                    sql.replace("ROWS", "jsonb_array_elements($1::jsonb) AS v(value)"),
                ))
                .bind(json)
                .execute(c)
                .await?;
            }
        }
        Ok(())
    }

    async fn scalar(&mut self, sql: &str) -> Result<i64> {
        Ok(match self {
            Db::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(c).await?,
            Db::Postgres(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(c).await?,
        })
    }

    async fn text(&mut self, sql: &str) -> Result<String> {
        Ok(match self {
            Db::Sqlite(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(c).await?,
            Db::Postgres(c) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(c).await?,
        })
    }
}

/// SQL with `ROWS` (the batch, rows as JSON objects in `value`) for each backend to fill in.
const CUSTOMERS: &str = "INSERT INTO customers (id, account_id, name, name_search, tags, created_at, updated_at) \
     SELECT (value ->> 'id'), (value ->> 'a'), (value ->> 'n'), lower((value ->> 'n')), '[]', 0, 0 FROM ROWS";
const INTERACTIONS: &str = "INSERT INTO interactions (id, account_id, customer_id, channel, queue_id, state, priority, \
     arrived_at, agent_id, entry_point, offline, ended_at) \
     SELECT (value ->> 'id'), (value ->> 'a'), (value ->> 'c'), 'chat', (value ->> 'q'), (value ->> 's'), 0, CAST((value ->> 't') AS BIGINT), (value ->> 'g'), 'widget:bench', \
     (1 = 0), NULL FROM ROWS";
const MESSAGES: &str = "INSERT INTO messages (id, account_id, interaction_id, seq, sender, agent_id, body, client_id, created_at) \
     SELECT (value ->> 'id'), (value ->> 'a'), (value ->> 'i'), CAST((value ->> 's') AS BIGINT), (value ->> 'w'), (value ->> 'g'), (value ->> 'b'), (value ->> 'id'), CAST((value ->> 't') AS BIGINT) FROM ROWS";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dir = scratch_dir("searchload")?;
    let mut env: Vec<(&str, String)> = vec![(plugboard_tests::QUIET.0, plugboard_tests::QUIET.1.into())];
    let mut drop_db = None;
    let url = match &a.postgres {
        Some(server) => {
            let name = format!("pb_search_{}", std::process::id());
            let mut admin = sqlx::PgConnection::connect(server).await?;
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await?;
            let (base, _) = server
                .rsplit_once('/')
                .context("a postgres URL ends in /database")?;
            drop_db = Some((server.clone(), name.clone()));
            format!("{base}/{name}")
        }
        None => format!("sqlite://{}", dir.join("plugboard.db").display()),
    };
    env.push(("PLUGBOARD_DATABASE_URL", url.clone()));
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let hub = Hub::start(&dir, &env_ref).await?;
    let mut db = if a.postgres.is_some() {
        Db::Postgres(sqlx::PgConnection::connect(&url).await?)
    } else {
        Db::Sqlite(sqlx::SqliteConnection::connect(&url).await?)
    };
    let account = db.text("SELECT id FROM accounts LIMIT 1").await?;
    let queue = db.text("SELECT id FROM queues WHERE name = 'Support'").await?;
    let bob = db
        .text("SELECT id FROM agents WHERE email = 'bob@plugboard.example'")
        .await?;
    let before = db.scalar("SELECT COUNT(*) FROM messages").await?;

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let per = a.messages.div_ceil(a.conversations);
    let mut sku = 0u64;
    // An order number written once, halfway through: the rare term searched for.
    let mut probe = None;
    let started = Instant::now();
    let mut written = 0usize;
    let mut batch = Vec::new();
    for chunk in (0..a.conversations).collect::<Vec<_>>().chunks(500) {
        let mut customers = Vec::new();
        let mut interactions = Vec::new();
        for &n in chunk {
            let chinese = n % 2 == 0;
            let customer = uuid::Uuid::now_v7().to_string();
            let name = if chinese {
                format!("客户{n}")
            } else {
                format!("Customer {n}")
            };
            customers.push(json!({"id": customer, "a": account, "n": name}));
            let id = uuid::Uuid::now_v7().to_string();
            let held = n % 100 == 0;
            interactions.push(json!({"id": id, "a": account, "c": customer, "q": queue,
                "s": if held { "active" } else { "closed" }, "t": (n as i64 * 1000).to_string(),
                "g": held.then(|| bob.clone())}));
            for seq in 1..=per {
                if written >= a.messages {
                    break;
                }
                written += 1;
                let customer_says = seq % 2 == 1;
                batch.push(json!({"id": uuid::Uuid::now_v7().to_string(), "a": account, "i": id,
                    "s": seq.to_string(), "w": if customer_says { "customer" } else { "agent" },
                    "g": (!customer_says).then(|| bob.clone()), "b": body(&mut rng, chinese, &mut sku, &mut probe, written > a.messages / 2),
                    "t": (n as i64 * 1000 + seq as i64).to_string()}));
            }
        }
        db.execute(CUSTOMERS, &customers).await?;
        db.execute(INTERACTIONS, &interactions).await?;
        for rows in batch.chunks(5000) {
            db.execute(MESSAGES, rows).await?;
        }
        batch.clear();
    }
    let insert_secs = started.elapsed().as_secs_f64();
    eprintln!("{written} messages written in {insert_secs:.1} s; waiting for the indexer");

    // Indexed once the backlog is gone.
    let total = before + written as i64;
    let backlog = if a.postgres.is_some() {
        "SELECT COUNT(*) FROM search_pending"
    } else {
        "SELECT COUNT(*) FROM messages WHERE id NOT IN (SELECT message_id FROM search_docs)"
    };
    let indexed_count = if a.postgres.is_some() {
        "SELECT COUNT(*) FROM message_search"
    } else {
        "SELECT COUNT(*) FROM search_docs"
    };
    loop {
        let indexed = db.scalar(indexed_count).await?;
        if indexed >= total {
            break;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the index holds {indexed} of {total} after an hour");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let index_secs = started.elapsed().as_secs_f64();
    let left = db.scalar(backlog).await?;
    eprintln!("indexed {total} in {index_secs:.1} s from the first insert ({left} left)");
    if a.postgres.is_some() {
        // The indexer takes the index's statistics once a tenth of it is new (the statistics
        // counters reach the view within a second or so of each commit).
        let waited = Instant::now();
        let analyzed = "SELECT COUNT(*) FROM pg_stat_user_tables WHERE relname = 'message_search' \
             AND n_mod_since_analyze <= 1000 + n_live_tup / 10";
        while db.scalar(analyzed).await? == 0 {
            if waited.elapsed() > Duration::from_secs(120) {
                bail!("message_search's statistics were not taken within two minutes");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        eprintln!("statistics fresh {:.0} s later", waited.elapsed().as_secs_f64());
    }

    let client = reqwest::Client::new();
    let token = |email: &'static str| {
        let (client, base) = (client.clone(), hub.base.clone());
        async move {
            let res: Value = client
                .post(format!("{base}/api/v1/auth/login"))
                .json(&json!({"email": email, "password": DEMO_PASSWORD}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(res["token"].as_str().context("no token")?.to_string())
        }
    };
    let sam = token("sam@plugboard.example").await?;
    let bob_token = token("bob@plugboard.example").await?;
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "supervisor",
            "common Chinese word",
            "/conversations/search?q=退款".into(),
        ),
        (
            "supervisor",
            "less common Chinese word",
            "/conversations/search?q=电池".into(),
        ),
        (
            "supervisor",
            "Chinese phrase",
            "/conversations/search?q=申请退款".into(),
        ),
        (
            "supervisor",
            "one Chinese character",
            "/conversations/search?q=退".into(),
        ),
        (
            "supervisor",
            "common English word",
            "/conversations/search?q=refund".into(),
        ),
        (
            "supervisor",
            "two English words",
            "/conversations/search?q=battery%20warranty".into(),
        ),
        (
            "supervisor",
            "rare order number",
            format!("/conversations/search?q=sku{}", probe.unwrap_or(0)),
        ),
        (
            "supervisor",
            "customer name",
            "/conversations/search?q=Customer%2012345".into(),
        ),
        ("supervisor", "no match", "/conversations/search?q=zebra".into()),
        ("supervisor", "next page", String::new()),
        (
            "agent",
            "common Chinese word",
            "/conversations/search?q=退款".into(),
        ),
        (
            "agent",
            "rare order number",
            format!("/conversations/search?q=sku{}", probe.unwrap_or(0)),
        ),
        (
            "supervisor",
            "inbox: all, newest",
            "/conversations?folder=all".into(),
        ),
        (
            "supervisor",
            "inbox: all, oldest, label",
            "/conversations?folder=all&order=oldest&label=vip".into(),
        ),
        ("agent", "inbox: mine", "/conversations?folder=mine".into()),
        ("agent", "inbox: closed", "/conversations?folder=closed".into()),
    ];
    let mut results = Vec::new();
    println!("| who | query | hits on page 1 | p50 ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for (who, what, path) in &cases {
        let tok = if *who == "agent" { &bob_token } else { &sam };
        let mut path = path.clone();
        if *what == "next page" {
            let first: Value = client
                .get(format!("{}/api/v1/conversations/search?q=退款", hub.base))
                .bearer_auth(tok)
                .send()
                .await?
                .json()
                .await?;
            path = format!("/conversations/search?q=退款&before={}", first["next"]);
        }
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..a.rounds {
            let t = Instant::now();
            let res = client
                .get(format!("{}/api/v1{path}", hub.base))
                .bearer_auth(tok)
                .send()
                .await?;
            let status = res.status();
            let body: Value = res.json().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            if !status.is_success() {
                bail!("{path}: {status} {body}");
            }
            let count = |k: &str| body[k].as_array().map_or(0, Vec::len);
            hits = count("messages") + count("conversations");
        }
        times.sort_by(f64::total_cmp);
        let (p50, p95, max) = (
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1],
        );
        println!("| {who} | {what} | {hits} | {p50:.1} | {p95:.1} | {max:.1} |");
        results.push(
            json!({"who": who, "query": what, "hits": hits, "p50_ms": p50, "p95_ms": p95, "max_ms": max}),
        );
    }
    let record = json!({
        "bench": "search", "backend": if a.postgres.is_some() { "postgres" } else { "sqlite" },
        "messages": written, "conversations": a.conversations, "insert_secs": insert_secs,
        "indexed_secs": index_secs, "queries": results,
    });
    if let Some(path) = &a.json {
        append_json_line(path, &record)?;
    }
    drop(hub);
    drop(db);
    if let Some((server, name)) = drop_db.filter(|(server, name)| {
        if a.keep {
            eprintln!("kept the database {name} on {server}");
        }
        !a.keep
    }) {
        let mut admin = sqlx::PgConnection::connect(&server).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
            .await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
