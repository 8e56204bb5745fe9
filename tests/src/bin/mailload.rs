//! The email benchmark: one hub on SQLite taking in a full mailbox from a real Dovecot, side by
//! side in the same run with a plain IMAP client that only downloads the same mails from the same
//! Dovecot (the floor), then the hub sending replies into the SMTP sink beside a plain SMTP client
//! sending the same number straight to it.
//!
//! In: `--mails` mails of about `--kb` KiB each (a text and an HTML part, the headers a real mail
//! carries; one in ten in GB18030) are APPENDed to INBOX before anything is timed. Half are new
//! threads, half answer that sender's previous mail (In-Reply-To and References), so the hub
//! threads as much as it opens. The floor fetches everything with the connector's own IMAP
//! session (400 per FETCH, BODY.PEEK, as the hub does) before and after the hub, so drift shows.
//! The hub's time runs from the admin adding the mailbox to its own count of mails taken in
//! reaching `--mails`; then its database is read: every mail stored exactly once (by Message-ID),
//! no failed intake, and the interactions opened and continued as the threads say.
//!
//! Out: an agent writes a new mail to each of `--replies` customers (16 requests in flight; each
//! opens a thread that is the agent's at once); the time runs from the first request to the sink
//! holding every one, and every one is `sent` in the hub's records and in the sink once (by
//! Message-ID). The floor sends as many composed mails through one
//! `plugboard_email::smtp::Sender`, one after another.
//!
//! cargo build --release --bin plugboard --bin plugboard-mailload
//! PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-mailload --mails 10000 --replies 1000
//!
//! Flags (optional): --mails N (10000) --kb N (10) --replies N (1000, at most --mails / 2) --json FILE (appends one
//! JSON object).

use anyhow::{Context, Result, bail, ensure};
use futures_util::StreamExt;
use plugboard_email::imap::Session;
use plugboard_email::smtp::Sender;
use plugboard_email::{Address, Server};
use plugboard_tests::mail::{Dovecot, SmtpSink};
use plugboard_tests::{DEMO_PASSWORD, Hub, append_json_line, cpu_secs, scratch_dir};
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Args {
    mails: usize,
    kb: usize,
    replies: usize,
    json: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut a = Args {
        mails: 10_000,
        kb: 10,
        replies: 1000,
        json: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        match pair {
            [flag, n] if flag == "--mails" => a.mails = n.parse().context("--mails")?,
            [flag, n] if flag == "--kb" => a.kb = n.parse().context("--kb")?,
            [flag, n] if flag == "--replies" => a.replies = n.parse().context("--replies")?,
            [flag, f] if flag == "--json" => a.json = Some(f.into()),
            _ => bail!("flags: --mails N --kb N --replies N --json FILE"),
        }
    }
    ensure!(
        a.replies <= a.mails / 2,
        "--replies is at most --mails / 2 (one a customer)"
    );
    Ok(a)
}

const SENTENCE: &str = "Thank you for getting back to me so quickly. The parcel arrived on \
    Tuesday but the box was damaged and two of the cups inside were broken; I attach nothing \
    here but can send photos if you need them. Could you send replacements or refund them? ";
const SENTENCE_ZH: &str = "您好，我上周订购的茶具今天收到了，但是包装盒破损，里面有两个杯子碎了。\
    请问可以补发或者退款吗？如果需要照片我可以再发给您。谢谢！";

/// Mail number `n` of the run: from customer `n / 2` (so every customer writes twice), the second
/// answering the first.
fn mail(n: usize, kb: usize) -> (String, Vec<u8>) {
    let customer = n / 2;
    let id = format!("bench-{n}@customer{customer}.example");
    let mut head = format!(
        "Return-Path: <c{customer}@customer{customer}.example>\r\n\
         Received: from mx{r}.customer{customer}.example (mx{r}.customer{customer}.example [192.0.2.{r}])\r\n\
         \tby mail.shop.example (Postfix) with ESMTPS id 4Z{n:08X}\r\n\
         \tfor <support@shop.example>; Sat, 28 Nov 2026 09:{m:02}:00 +0000 (UTC)\r\n\
         DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=customer{customer}.example; s=s1;\r\n\
         \th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\r\n\
         \tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR\r\n\
         From: Customer {customer} <c{customer}@customer{customer}.example>\r\n\
         To: Shop Support <support@shop.example>\r\n\
         Date: Sat, 28 Nov 2026 09:{m:02}:00 +0000\r\n\
         Message-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\n",
        r = n % 250 + 1,
        m = n % 60,
    );
    if n % 2 == 1 {
        let first = format!("bench-{}@customer{customer}.example", n - 1);
        head.push_str(&format!(
            "Subject: Re: Order {customer} arrived damaged\r\nIn-Reply-To: <{first}>\r\nReferences: <{first}>\r\n"
        ));
    } else {
        head.push_str(&format!("Subject: Order {customer} arrived damaged\r\n"));
    }
    let target = kb * 1024;
    // A third of the size in the text part, the rest in the HTML part (as mail clients send).
    let chinese = n.is_multiple_of(10);
    let sentence = if chinese { SENTENCE_ZH } else { SENTENCE };
    let mut text = String::new();
    while text.len() < target / 3 {
        text.push_str(sentence);
        text.push_str("\r\n");
    }
    let mut html = String::from("<html><body><div style=\"font-family:Arial\">");
    while html.len() < target * 2 / 3 - head.len() {
        html.push_str("<p>");
        html.push_str(sentence);
        html.push_str("</p>\r\n");
    }
    html.push_str("</div></body></html>");
    let (charset, text, html) = if chinese {
        ("gb18030", encoding_gb18030(&text), encoding_gb18030(&html))
    } else {
        ("utf-8", text.into_bytes(), html.into_bytes())
    };
    let boundary = format!("b{n}");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(
        format!("Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
    );
    raw.extend_from_slice(&text);
    raw.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: text/html; charset={charset}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes(),
    );
    raw.extend_from_slice(&html);
    raw.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (id, raw)
}

fn encoding_gb18030(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

/// The floor: every mail in INBOX downloaded with the connector's IMAP session, nothing else.
/// Answers (mails, bytes, seconds).
async fn download_all(server: &Server) -> Result<(usize, usize, f64)> {
    let started = Instant::now();
    let mut session = Session::connect(server, "INBOX")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut last, mut mails, mut bytes) = (0u32, 0usize, 0usize);
    loop {
        let batch = session
            .fetch_after(last, 400, u64::MAX)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(newest) = batch.last() else { break };
        last = newest.uid;
        mails += batch.len();
        bytes += batch.iter().map(|m| m.raw.len()).sum::<usize>();
    }
    let secs = started.elapsed().as_secs_f64();
    session.logout().await.ok();
    Ok((mails, bytes, secs))
}

async fn mailbox_fetched(hub: &Hub, admin: &str) -> Result<u64> {
    let (status, list) = hub.call("GET", "/mailboxes", Some(admin), None).await?;
    ensure!(status == 200, "GET /mailboxes: {status} {list}");
    Ok(list[0]["status"]["fetched"].as_u64().unwrap_or(0))
}

#[tokio::main]
async fn main() -> Result<()> {
    let a = args()?;
    let dovecot = Dovecot::start().context("dovecot is not installed (bash .ci/install)")?;
    let sink = SmtpSink::start().context("aiosmtpd is not installed (bash .ci/install)")?;

    // The mailbox, filled before anything is timed.
    let mails: Vec<(String, Vec<u8>)> = (0..a.mails).map(|n| mail(n, a.kb)).collect();
    let total_bytes: usize = mails.iter().map(|(_, raw)| raw.len()).sum();
    let filling = Instant::now();
    let raws: Vec<Vec<u8>> = mails.iter().map(|(_, raw)| raw.clone()).collect();
    dovecot.append_all(&raws).await;
    eprintln!(
        "INBOX holds {} mails, {:.1} KiB on average (appended in {:.1} s)",
        a.mails,
        total_bytes as f64 / a.mails as f64 / 1024.0,
        filling.elapsed().as_secs_f64()
    );
    // Once untimed, so Dovecot has indexed and cached the folder for all the timed runs.
    download_all(&dovecot.server()).await?;
    let (n, bytes, floor_before) = download_all(&dovecot.server()).await?;
    ensure!(
        n == a.mails && bytes == total_bytes,
        "the floor downloaded {n} mails, {bytes} bytes"
    );

    // Parsing alone, on one core, over the same mails: what the hub's own work starts from.
    let parsing = Instant::now();
    for (_, raw) in &mails {
        plugboard_email::parse(raw, 25 << 20).map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let parse_secs = parsing.elapsed().as_secs_f64();

    // The hub: the admin adds the mailbox, the hub takes the whole INBOX in.
    let dir = scratch_dir("mailload")?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let hub = Hub::start(
        &dir,
        &[("PLUGBOARD_EMAIL__POLL_SECS", "1"), plugboard_tests::QUIET],
    )
    .await?;
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await?;
    let support = hub.named(&admin, "/queues", "Support").await?;
    let imap = dovecot.server();
    let settings = json!({
        "address": "support@shop.example",
        "display_name": "Shop Support",
        "queue_id": support["id"],
        "imap": {"host": imap.host, "port": imap.port, "security": "plain", "user": imap.user, "password": imap.password},
        "smtp": {"host": "127.0.0.1", "port": sink.server().port, "security": "plain", "user": "", "password": ""},
    });
    let cpu_before = cpu_secs(hub.pid());
    let started = Instant::now();
    let (status, body) = hub
        .call("POST", "/mailboxes", Some(&admin), Some(settings))
        .await?;
    ensure!(status == 201, "adding the mailbox: {status} {body}");
    let mailbox = body["id"].as_str().context("mailbox id")?.to_owned();
    let mut last_progress = (0u64, Instant::now());
    loop {
        let fetched = mailbox_fetched(&hub, &admin).await?;
        if fetched as usize >= a.mails {
            break;
        }
        if fetched > last_progress.0 {
            last_progress = (fetched, Instant::now());
        }
        ensure!(
            last_progress.1.elapsed() < Duration::from_secs(60),
            "the hub took in {fetched} of {} mails and has not moved for a minute",
            a.mails
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    let ingest_cpu = cpu_secs(hub.pid()) - cpu_before;
    let (_, _, floor_after) = download_all(&dovecot.server()).await?;
    eprintln!(
        "in: floor {:.0} and {:.0} mails/s, hub {:.0} mails/s ({:.2} ms CPU a mail), parsing alone {:.0} mails/s",
        a.mails as f64 / floor_before,
        a.mails as f64 / floor_after,
        a.mails as f64 / ingest_secs,
        ingest_cpu * 1000.0 / a.mails as f64,
        a.mails as f64 / parse_secs
    );

    // The hub's own records: every mail once, nothing failed, threads as the mails say.
    let entry_point = format!("mailbox:{mailbox}");
    let db = dir.join("plugboard.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await?;
    let stored: Vec<String> =
        sqlx::query("SELECT external_id FROM message_details WHERE entry_point = ? AND delivery IS NULL")
            .bind(&entry_point)
            .fetch_all(&mut conn)
            .await?
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
    let unique: HashSet<&str> = stored.iter().map(String::as_str).collect();
    let wanted: HashSet<String> = mails.iter().map(|(id, _)| id.clone()).collect();
    let missing = wanted.iter().filter(|id| !unique.contains(id.as_str())).count();
    let duplicated = stored.len() - unique.len();
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbound_failures")
        .fetch_one(&mut conn)
        .await?;
    let threads: i64 = sqlx::query_scalar(
        "SELECT COUNT(DISTINCT interaction_id) FROM message_details WHERE entry_point = ?",
    )
    .bind(&entry_point)
    .fetch_one(&mut conn)
    .await?;
    drop(conn);
    ensure!(
        missing == 0 && duplicated == 0 && failed == 0,
        "the hub's records: {missing} mails missing, {duplicated} stored twice, {failed} failed"
    );
    let expected_threads = a.mails.div_ceil(2);
    ensure!(
        threads as usize == expected_threads,
        "{threads} threads, expected {expected_threads}: replies did not join their threads"
    );

    // Out, the floor: the same number of mails composed and sent straight to the sink.
    let from = Address {
        name: Some("Shop Support".into()),
        email: "support@shop.example".into(),
    };
    let sender = Sender::new(&sink.server());
    let body_text = SENTENCE.repeat(4);
    let floor_started = Instant::now();
    for n in 0..a.replies {
        let out = plugboard_channel::Outbound {
            id: format!("floor-{n}"),
            channel: plugboard_channel::Channel::Email,
            entry_point: entry_point.clone(),
            to: vec!["c0@customer0.example".into()],
            body: body_text.clone(),
            details: json!({
                "interaction_id": "0192f5c4-0000-7000-8000-000000000000",
                "subject": "Re: Order 0 arrived damaged",
                "in_reply_to": "bench-0@customer0.example",
            }),
            attachments: vec![],
        };
        match sender.send(&out, &from, None, "shop.example").await {
            plugboard_channel::Delivery::Sent { .. } => {}
            failed => bail!("the floor's send failed: {failed:?}"),
        }
    }
    let smtp_floor_secs = floor_started.elapsed().as_secs_f64();
    ensure!(
        sink.count() == a.replies,
        "the sink holds {} of the floor's mails",
        sink.count()
    );

    // Out, the hub: an agent writes a new mail to each of `replies` customers (their threads
    // are the agent's at once: the admin gives them room for that many).
    let (_, bob) = hub.call("GET", "/agents", Some(&admin), None).await?;
    let bob = bob
        .as_array()
        .and_then(|all| all.iter().find(|a| a["email"] == "bob@plugboard.example"))
        .context("bob")?["id"]
        .as_str()
        .context("bob's id")?
        .to_owned();
    let room = json!({"capacity": {"voice": 1, "chat": 3, "email": a.replies, "messaging": 3}});
    let (status, body) = hub
        .call("PATCH", &format!("/agents/{bob}"), Some(&admin), Some(room))
        .await?;
    ensure!(status == 200, "bob's capacity: {status} {body}");
    let agent = hub.login("bob@plugboard.example", DEMO_PASSWORD).await?;
    let customers: Vec<Result<String>> = futures_util::stream::iter(0..a.replies)
        .map(|n| {
            let (hub, agent) = (&hub, &agent);
            async move {
                let (_, found) = hub
                    .call(
                        "GET",
                        &format!("/customers?q=c{n}@customer{n}.example"),
                        Some(agent),
                        None,
                    )
                    .await?;
                Ok(found[0]["id"].as_str().context("a customer")?.to_owned())
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let customers = customers.into_iter().collect::<Result<Vec<_>>>()?;
    let sent_before = sink.count();
    let out_cpu_before = cpu_secs(hub.pid());
    let out_started = Instant::now();
    let results: Vec<Result<(u16, Value)>> = futures_util::stream::iter(customers.iter().enumerate())
        .map(|(n, customer)| {
            let (hub, agent, mailbox, body) = (&hub, &agent, &mailbox, &body_text);
            async move {
                hub.call(
                    "POST",
                    &format!("/customers/{customer}/emails"),
                    Some(agent),
                    Some(json!({
                        "mailbox_id": mailbox, "subject": "Your replacement cups", "body": body,
                        "client_id": format!("bench-{n}"),
                    })),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let mut threads_out = Vec::with_capacity(a.replies);
    for r in results {
        let (status, body) = r?;
        ensure!(status == 202, "a new mail: {status} {body}");
        threads_out.push(body["interaction_id"].as_str().context("its thread")?.to_owned());
    }
    let queued_secs = out_started.elapsed().as_secs_f64();
    let want = sent_before + a.replies;
    let mut last_progress = (0usize, Instant::now());
    loop {
        let now = sink.count();
        if now >= want {
            break;
        }
        if now > last_progress.0 {
            last_progress = (now, Instant::now());
        }
        ensure!(
            last_progress.1.elapsed() < Duration::from_secs(60),
            "the sink holds {} of the hub's {} mails and nothing moved for a minute",
            now - sent_before,
            a.replies
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let out_secs = out_started.elapsed().as_secs_f64();
    let out_cpu = cpu_secs(hub.pid()) - out_cpu_before;
    // Every reply sent once: in the sink by its Message-ID, and `sent` in the hub's records.
    let hub_mails: Vec<Vec<u8>> = sink.messages().into_iter().skip(sent_before).collect();
    let ids: HashSet<String> = hub_mails
        .iter()
        .filter_map(|raw| {
            let text = String::from_utf8_lossy(raw);
            text.lines()
                .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_owned))
        })
        .collect();
    ensure!(
        hub_mails.len() == a.replies && ids.len() == a.replies,
        "the sink holds {} of the hub's mails, {} distinct",
        hub_mails.len(),
        ids.len()
    );
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=ro", db.display())).await?;
    let sent: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM message_details WHERE entry_point = ? AND delivery = 'sent'",
    )
    .bind(&entry_point)
    .fetch_one(&mut conn)
    .await?;
    ensure!(
        sent as usize == a.replies,
        "{sent} recorded sent, of {}",
        a.replies
    );
    let distinct: HashSet<&String> = threads_out.iter().collect();
    ensure!(
        distinct.len() == a.replies,
        "{} threads for {} new mails",
        distinct.len(),
        a.replies
    );
    drop(conn);
    drop(hub);

    let floor_rate = |secs: f64| a.mails as f64 / secs;
    let record = json!({
        "bench": "email",
        "at": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        "mails": a.mails,
        "avg_kib": total_bytes as f64 / a.mails as f64 / 1024.0,
        "floor_imap_mails_per_s": [floor_rate(floor_before), floor_rate(floor_after)],
        "parse_mails_per_s": a.mails as f64 / parse_secs,
        "hub_ingest_mails_per_s": a.mails as f64 / ingest_secs,
        "hub_ingest_cpu_ms_per_mail": ingest_cpu * 1000.0 / a.mails as f64,
        "hub_vs_floor": (a.mails as f64 / ingest_secs) / floor_rate(floor_before.max(floor_after)),
        "threads": threads,
        "replies": a.replies,
        "floor_smtp_mails_per_s": a.replies as f64 / smtp_floor_secs,
        "hub_queue_requests_per_s": a.replies as f64 / queued_secs,
        "hub_send_mails_per_s": a.replies as f64 / out_secs,
        "hub_send_cpu_ms_per_mail": out_cpu * 1000.0 / a.replies as f64,
        "lost": 0, "duplicated": 0,
    });
    println!("{}", serde_json::to_string_pretty(&record)?);
    if let Some(file) = &a.json {
        append_json_line(file, &record)?;
    }
    drop(dovecot);
    drop(sink);
    Ok(())
}
