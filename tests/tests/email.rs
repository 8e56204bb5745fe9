//! Email end to end: the real binary fetching from a real Dovecot and sending through a real SMTP
//! sink (aiosmtpd), with agents' consoles on websockets. A mail to support is offered, answered
//! in its thread, and the customer's answer joins it; machines' mail, broken mail and a forged
//! thread are kept apart; a kill -9 in a burst loses nothing and shows nothing twice. Agents
//! attach files they upload (only their own), forward a thread's mail with its files, and write a
//! new email to a customer whose answer joins the thread it opened. A chat's customer gets its
//! transcript by email once, after the end.

use plugboard_tests::mail::{Dovecot, SmtpSink};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, available};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

struct Site {
    hub: Hub,
    dovecot: Dovecot,
    sink: SmtpSink,
    admin: String,
    mailbox: String,
    _dir: tempfile::TempDir,
}

async fn site() -> Option<Site> {
    site_with(&[]).await
}

/// A site whose mailbox reads the folder `Support` (made in Dovecot first), not the inbox.
async fn support_folder_site() -> Option<Site> {
    site_where(&[], json!({"folder": "Support"}), async |dovecot| {
        dovecot.create_folder("Support").await
    })
    .await
}

impl Site {
    /// The mailbox's `status` as `GET /mailboxes` has it.
    async fn mailbox_status(&self) -> serde_json::Value {
        let (_, boxes) = self
            .hub
            .call("GET", "/mailboxes", Some(&self.admin), None)
            .await
            .unwrap();
        boxes[0]["status"].clone()
    }
}

async fn site_with(env: &[(&str, &str)]) -> Option<Site> {
    site_where(env, json!({}), async |_| {}).await
}

/// A site whose mailbox has `extra` settings besides the usual (a folder, a done folder), and
/// whose Dovecot `before` prepares (folders, mail already waiting) before the mailbox is added.
async fn site_where(
    env: &[(&str, &str)],
    extra: serde_json::Value,
    before: impl AsyncFnOnce(&Dovecot),
) -> Option<Site> {
    let dovecot = Dovecot::start()?;
    let sink = SmtpSink::start()?;
    let dir = tempfile::tempdir().unwrap();
    // Poll often: what IDLE does not wake is fetched within a second.
    let mut env = env.to_vec();
    env.push(("PLUGBOARD_EMAIL__POLL_SECS", "1"));
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    before(&dovecot).await;
    let mut settings = mailbox_settings(&hub, &admin, "support@shop.example", dovecot.port(), &sink).await;
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let (status, body) = hub
        .call("POST", "/mailboxes", Some(&admin), Some(settings))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(
        body.get("imap").unwrap().get("password").is_none(),
        "never returned: {body}"
    );
    let mailbox = body["id"].as_str().unwrap().to_owned();
    Some(Site {
        hub,
        dovecot,
        sink,
        admin,
        mailbox,
        _dir: dir,
    })
}

/// A mailbox's settings as an admin gives them: IMAP on 127.0.0.1:`imap_port` as the test
/// account, SMTP to `sink`, routing to Support.
async fn mailbox_settings(
    hub: &Hub,
    admin: &str,
    address: &str,
    imap_port: u16,
    sink: &SmtpSink,
) -> serde_json::Value {
    let support = hub.named(admin, "/queues", "Support").await.unwrap();
    json!({
        "address": address,
        "display_name": "Shop Support",
        "queue_id": support["id"],
        "imap": {"host": "127.0.0.1", "port": imap_port, "security": "plain",
                 "user": plugboard_tests::mail::USER, "password": plugboard_tests::mail::PASSWORD},
        "smtp": {"host": "127.0.0.1", "port": sink.server().port, "security": "plain", "user": "", "password": ""},
        "signature": "Shop Support team",
    })
}

/// A mail as Foxmail writes one: GB18030 subject and body, base64.
fn foxmail(message_id: &str, from: &str, subject_b64: &str, body_b64: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: =?gb18030?B?wO7OsA==?= <{from}>\r\n\
         To: support@shop.example\r\n\
         Subject: =?gb18030?B?{subject_b64}?=\r\n\
         Date: Sat, 28 Nov 2026 09:00:00 +0800\r\n\
         Message-ID: <{message_id}>\r\n\
         X-Mailer: Foxmail 7.2.25.375[cn]\r\n\
         {extra}Mime-Version: 1.0\r\n\
         Content-Type: text/plain; charset=\"gb18030\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
         {body_b64}\r\n"
    )
    .into_bytes()
}

/// Question `n` from a customer of its own, `{prefix}{n}@mail.example`, its Message-ID
/// `{prefix}.{n}@mail.example`: the mails of the folder tests.
fn question(prefix: &str, n: u64) -> Vec<u8> {
    gmail(
        &format!("{prefix}.{n}@mail.example"),
        &format!("{prefix}{n}@mail.example"),
        &format!("Question {n}"),
        "hello",
        "",
    )
}

/// A plain UTF-8 mail as Gmail sends a short one.
fn gmail(message_id: &str, from: &str, subject: &str, body: &str, headers: &str) -> Vec<u8> {
    format!(
        "From: Customer <{from}>\r\nTo: support@shop.example\r\nSubject: {subject}\r\n\
         Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{message_id}>\r\n{headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> F,
) -> T {
    for _ in 0..150 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn offered(console: &mut Socket) -> String {
    let offer = console.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["channel"], "email", "{offer}");
    offer["interaction"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_mail_is_offered_answered_in_its_thread_and_the_customers_answer_joins_it() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    // 订单 1001 / 我的订单还没到。 in GB18030.
    let subject = "tqm1pSAxMDAx";
    let body = "ztK1xLaptaW7ucO7tb2how==";
    s.dovecot
        .append(&foxmail(
            "first.1001@qq.example",
            "li.wei@qq.example",
            subject,
            body,
            "",
        ))
        .await;
    let id = offered(&mut bob).await;
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();

    let (_, detail) = s
        .hub
        .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
        .await
        .unwrap();
    let mail = &detail["messages"][0];
    assert_eq!(mail["channel"]["details"]["subject"], "订单 1001");
    assert_eq!(mail["body"].as_str().unwrap().trim(), "我的订单还没到。");
    assert_eq!(detail["interaction"]["channel"], "email");

    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let reply = json!({"client_id": "r1", "body": "您好，今天发货。"});
    let (status, sent) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(reply.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["channel"]["delivery"], "queued");
    // The same click twice sends once.
    let (_, again) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(reply),
        )
        .await
        .unwrap();
    assert_eq!(again["id"], sent["id"]);

    let out = eventually("the reply at the sink", || async {
        s.sink.messages().into_iter().next()
    })
    .await;
    let out = plugboard_email::parse(&out, 1 << 20).unwrap();
    assert_eq!(out.subject, "Re: 订单 1001");
    assert_eq!(out.in_reply_to, ["first.1001@qq.example"]);
    assert!(out.references.contains(&"first.1001@qq.example".to_owned()));
    assert_eq!(out.from.email, "support@shop.example");
    assert!(out.text.contains("今天发货") && out.text.contains("Shop Support team"));
    assert_eq!(s.sink.messages().len(), 1, "sent once");

    // The console hears the delivery.
    let delivered = sent_by(&s, &id, "agent").await;
    assert_eq!(delivered["channel"]["external_id"], out.message_id.as_str());

    // The customer answers our reply: same interaction, straight to Bob who holds it.
    let answer = gmail(
        "answer.1001@qq.example",
        "li.wei@qq.example",
        "Re: 订单 1001",
        "Thank you!",
        &format!(
            "In-Reply-To: <{}>\r\nReferences: <first.1001@qq.example> <{}>\r\n",
            out.message_id, out.message_id
        ),
    );
    s.dovecot.append(&answer).await;
    // Bob's socket also carried his reply and its delivery: the customer's answer follows.
    let message = loop {
        let m = bob.expect("message").await.unwrap();
        if m["message"]["sender"] == "customer" {
            break m;
        }
    };
    assert_eq!(message["message"]["interaction_id"], id.as_str());
    assert_eq!(message["message"]["body"].as_str().unwrap().trim(), "Thank you!");
    eventually("every mail seen on the server", || async {
        (s.dovecot.unseen_count().await == 0).then_some(())
    })
    .await;
    let (_, boxes) = s
        .hub
        .call("GET", "/mailboxes", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(boxes[0]["status"]["state"], "connected", "{boxes}");
}

#[tokio::test]
async fn machines_broken_mail_and_forged_threads_are_kept_apart() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;

    // An out-of-office: on the timeline, never offered.
    s.dovecot
        .append(&gmail(
            "ooo.1@corp.example",
            "away@corp.example",
            "Automatic reply: Order",
            "I am out of the office.",
            "Auto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n",
        ))
        .await;
    // No From: kept as a failed item for admins, and the mailbox carries on.
    s.dovecot
        .append(b"To: support@shop.example\r\nSubject: who am I\r\nMessage-ID: <nofrom@x.example>\r\n\r\nhello\r\n")
        .await;
    s.dovecot
        .append(&gmail(
            "real.1@mail.example",
            "ann@mail.example",
            "Help",
            "My parcel is late.",
            "",
        ))
        .await;
    let first = offered(&mut bob).await;
    bob.send(json!({"type": "offer.accept", "interaction_id": first}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    let (_, detail) = s
        .hub
        .call("GET", &format!("/interactions/{first}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(
        detail["messages"][0]["body"].as_str().unwrap().trim(),
        "My parcel is late."
    );

    let failures = eventually("the failed mail listed", || async {
        let (_, f) = s
            .hub
            .call(
                "GET",
                &format!("/mailboxes/{}/failures", s.mailbox),
                Some(&s.admin),
                None,
            )
            .await
            .ok()?;
        (f.as_array()?.len() == 1).then_some(f)
    })
    .await;
    assert!(
        failures[0]["reason"].as_str().unwrap().contains("From"),
        "{failures}"
    );

    let (_, found) = s
        .hub
        .call("GET", "/customers?q=away%40corp.example", Some(&s.admin), None)
        .await
        .unwrap();
    let away = found[0]["id"].as_str().unwrap().to_owned();
    let (_, timeline) = s
        .hub
        .call(
            "GET",
            &format!("/customers/{away}/timeline"),
            Some(&s.admin),
            None,
        )
        .await
        .unwrap();
    let filed = &timeline["entries"][0];
    assert_eq!(filed["interaction"]["state"], "closed");
    assert!(
        filed["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "interaction.filed")
    );

    // A stranger quotes Ann's thread: a conversation of their own, not Ann's.
    s.dovecot
        .append(&gmail(
            "forged.1@evil.example",
            "mallory@evil.example",
            "Re: Help",
            "Show me.",
            "In-Reply-To: <real.1@mail.example>\r\n",
        ))
        .await;
    let mut dana = s.hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    let second = offered(&mut dana).await;
    assert_ne!(second, first);
    let (_, ann) = s
        .hub
        .call("GET", &format!("/interactions/{first}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(
        ann["messages"].as_array().unwrap().len(),
        1,
        "nothing added to Ann's thread: {ann}"
    );
    assert_no_frame(&mut bob, "message").await;
}

async fn assert_no_frame(socket: &mut Socket, kind: &str) {
    if let Some(frame) = socket.gets_within(kind, Duration::from_millis(500)).await {
        panic!("unexpected {kind}: {frame}");
    }
}

/// The kill lands in the middle of a fetch's intake: the burst (60 customers answering one
/// announcement) waits on the server before the mailbox is added, so the hub fetches it in one
/// batch, and since every mail quotes the same Message-ID the intake takes them one after another
/// (`intake::independent_runs`) and marks them seen only once all are in. The hub is killed once
/// its metrics count a mail taken in and most are still to come: some mails are committed, none
/// is seen on the server. The restarted hub fetches all again and finds those it had.
#[tokio::test]
async fn a_kill_during_a_burst_loses_no_mail_and_stores_none_twice() {
    const MAILS: usize = 60;
    let env = [("PLUGBOARD_HTTP__METRICS_LISTEN", "127.0.0.1:0")];
    let burst: Vec<Vec<u8>> = (0..MAILS)
        .map(|n| {
            gmail(
                &format!("burst.{n}@mail.example"),
                &format!("c{n}@mail.example"),
                &format!("Re: Our summer sale {n}"),
                "hello",
                "In-Reply-To: <announce.1@shop.example>\r\n",
            )
        })
        .collect();
    let Some(s) = site_where(&env, json!({}), async |dovecot| dovecot.append_all(&burst).await).await else {
        return;
    };
    let Site {
        hub,
        dovecot,
        sink: _sink,
        admin: _,
        mailbox: _,
        _dir,
    } = s;
    let mut taken = 0;
    for _ in 0..3000 {
        taken = emails_total(&hub, "new").await;
        if taken >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(
        (1..=MAILS as u64 / 2).contains(&taken),
        "the kill must land mid-intake, but {taken} of {MAILS} mails were in"
    );
    hub.kill9();
    assert_eq!(
        dovecot.unseen_count().await,
        MAILS as u32,
        "killed before the fetch was marked seen"
    );

    let hub = Hub::start(_dir.path(), &[env[0], ("PLUGBOARD_EMAIL__POLL_SECS", "1")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    eventually("every mail seen on the server", || async {
        (dovecot.unseen_count().await == 0).then_some(())
    })
    .await;
    // Fetched again, every one: those committed before the kill are found, the rest taken in.
    let (new, duplicate) = (
        emails_total(&hub, "new").await,
        emails_total(&hub, "duplicate").await,
    );
    assert_eq!(new + duplicate, MAILS as u64, "new {new}, duplicate {duplicate}");
    assert!(
        duplicate >= taken,
        "the {taken} mails in before the kill are found again, not stored twice: {duplicate}"
    );
    let customers: Vec<String> = (0..MAILS).map(|n| format!("c{n}@mail.example")).collect();
    let want: BTreeMap<String, usize> = (0..MAILS)
        .map(|n| (format!("burst.{n}@mail.example"), 1))
        .collect();
    assert_eq!(on_timelines(&hub, &admin, &customers).await, want);
}

/// How many times each mail (by Message-ID) is on the timelines of the customers at `emails`;
/// each of them has one conversation.
async fn on_timelines(hub: &Hub, admin: &str, emails: &[String]) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::<String, usize>::new();
    for email in emails {
        let (_, found) = hub
            .call(
                "GET",
                &format!("/customers?q={}", email.replace('@', "%40")),
                Some(admin),
                None,
            )
            .await
            .unwrap();
        let customer = found[0]["id"].as_str().unwrap().to_owned();
        let (_, timeline) = hub
            .call(
                "GET",
                &format!("/customers/{customer}/timeline"),
                Some(admin),
                None,
            )
            .await
            .unwrap();
        let entries = timeline["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "one conversation for {email}: {timeline}");
        for m in entries[0]["messages"].as_array().unwrap() {
            let id = m["channel"]["external_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *seen.entry(id).or_default() += 1;
        }
    }
    seen
}

/// The hub's `plugboard_emails_total` for one outcome (`new`, `duplicate`, …), from its
/// Prometheus listener (started with `PLUGBOARD_HTTP__METRICS_LISTEN`).
async fn emails_total(hub: &Hub, outcome: &str) -> u64 {
    let url = hub.metrics.as_deref().expect("a metrics listener");
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    let label = format!("outcome=\"{outcome}\"");
    text.lines()
        .filter(|l| l.starts_with("plugboard_emails_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A mail as Gmail sends one with a file: text and a PDF.
fn with_file(message_id: &str, from: &str, subject: &str, body: &str, file: &str, data: &[u8]) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut b64 = String::new();
    for chunk in base64(data).as_bytes().chunks(76) {
        let _ = write!(b64, "{}\r\n", std::str::from_utf8(chunk).unwrap());
    }
    format!(
        "From: Customer <{from}>\r\nTo: support@shop.example\r\nSubject: {subject}\r\n\
         Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=\"UTF-8\"\r\n\r\n{body}\r\n\
         --b1\r\nContent-Type: application/pdf; name=\"{file}\"\r\n\
         Content-Disposition: attachment; filename=\"{file}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {b64}--b1--\r\n"
    )
    .into_bytes()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Bytes no text encoding would leave alone: every byte value, then a pattern.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|n| (n % 256) as u8 ^ (n / 256 % 7) as u8).collect()
}

/// Waits until the sink holds a mail whose subject is `subject`, and answers it parsed.
async fn mail_at_sink(sink: &SmtpSink, subject: &str) -> plugboard_email::Mail {
    eventually(&format!("{subject:?} at the sink"), || async {
        sink.messages()
            .into_iter()
            .filter_map(|raw| plugboard_email::parse(&raw, 64 << 20).ok())
            .find(|m| m.subject == subject)
    })
    .await
}

/// Waits until the first message of `sender` in interaction `id` shows as sent; answers it.
async fn sent_by(s: &Site, id: &str, sender: &str) -> serde_json::Value {
    eventually(&format!("the {sender}'s message sent"), || async {
        let (_, d) = s
            .hub
            .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
            .await
            .ok()?;
        let m = d["messages"]
            .as_array()?
            .iter()
            .find(|m| m["sender"] == sender)?
            .clone();
        (m["channel"]["delivery"] == "sent").then_some(m)
    })
    .await
}

/// Bob holds a thread opened by `mail`; answers its id and the first message.
async fn held_by(s: &Site, agent: &mut Socket, mail: &[u8]) -> (String, serde_json::Value) {
    s.dovecot.append(mail).await;
    let id = offered(agent).await;
    agent
        .send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    let assigned = agent.expect("interaction.assigned").await.unwrap();
    (id, assigned["messages"][0].clone())
}

#[tokio::test]
async fn files_go_out_with_a_reply_and_a_forward_and_only_the_uploaders_own() {
    // Two MiB of mail: more than the API's 1 MiB for JSON, as a file upload may be.
    let Some(s) = site_with(&[("PLUGBOARD_EMAIL__MAX_BYTES", "2097152")]).await else {
        return;
    };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let invoice = binary(3_000);
    let (id, first) = held_by(
        &s,
        &mut bob,
        &with_file(
            "order.2001@mail.example",
            "ann@mail.example",
            "Order 2001",
            "The invoice is attached.",
            "invoice.pdf",
            &invoice,
        ),
    )
    .await;
    assert_eq!(first["channel"]["attachments"][0]["filename"], "invoice.pdf");
    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();

    // An upload over the mail limit is refused; one over the API's 1 MiB but within it is kept.
    let (status, refused) = s
        .hub
        .upload(&token, "huge.bin", "application/octet-stream", binary(2_200_000))
        .await
        .unwrap();
    assert_eq!(
        (status, refused["code"].as_str()),
        (413, Some("too_large")),
        "{refused}"
    );
    // JSON elsewhere keeps the API's 1 MiB (an ignored field pads it past that).
    let padded = json!({"client_id": "pad", "body": "hi", "padding": "x".repeat(1_200_000)});
    let (status, _) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(padded),
        )
        .await
        .unwrap();
    assert_eq!(status, 413, "the API's own limit still holds");
    let quote = binary(1_500_000);
    let (status, uploaded) = s
        .hub
        .upload(
            &token,
            "C:\\Users\\bob\\报价单 2026.pdf",
            "application/pdf",
            quote.clone(),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(
        uploaded["filename"], "报价单 2026.pdf",
        "the path is not part of the name"
    );
    assert_eq!(uploaded["size"], 1_500_000);
    assert!(
        uploaded.get("sha256").is_none(),
        "uploads are named by id only: {uploaded}"
    );
    let upload = uploaded["id"].as_str().unwrap().to_owned();

    // The reply carries it, byte for byte, under its name.
    let reply = json!({"client_id": "r1", "body": "Our quote is attached.", "attachments": [upload]});
    let (status, sent) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(reply),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["channel"]["attachments"][0]["filename"], "报价单 2026.pdf");
    let out = mail_at_sink(&s.sink, "Re: Order 2001").await;
    let files: Vec<_> = out
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str()))
        .collect();
    assert_eq!(files, [("报价单 2026.pdf", "application/pdf")]);
    assert!(
        out.attachments[0].data == quote,
        "the file arrives byte-identical"
    );
    assert_eq!(out.in_reply_to, ["order.2001@mail.example"]);

    // Forward the customer's mail to the warehouse: Fwd:, quoted under the note, the invoice along.
    let forward = json!({
        "client_id": "f1", "body": "Warehouse: please check this order.",
        "to": ["warehouse@shop.example"], "forward_of": first["id"],
    });
    let (status, forwarded) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(forward),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{forwarded}");
    assert_eq!(
        forwarded["interaction_id"],
        id.as_str(),
        "an outgoing message of the same thread"
    );
    assert_eq!(forwarded["channel"]["delivery"], "queued");
    assert_eq!(forwarded["channel"]["details"]["forward_of"], first["id"]);
    let out = mail_at_sink(&s.sink, "Fwd: Order 2001").await;
    assert_eq!(out.to[0].email, "warehouse@shop.example");
    assert!(
        out.in_reply_to.is_empty() && out.references.is_empty(),
        "a thread of its own"
    );
    let text = out.text.replace("\r\n", "\n");
    assert!(
        text.starts_with(
            "Warehouse: please check this order.\n\n---------- Forwarded message ----------\n\
             From: Customer <ann@mail.example>\nDate: Sat, 28 Nov 2026 10:00:00 +0000\n\
             Subject: Order 2001\nTo: support@shop.example\n\nThe invoice is attached."
        ),
        "{text}"
    );
    assert_eq!(out.attachments.len(), 1);
    assert_eq!(out.attachments[0].filename, "invoice.pdf");
    assert!(
        out.attachments[0].data == invoice,
        "the forwarded file arrives byte-identical"
    );

    // Replying to Ann afterwards threads on her mail and ours, never on the forward to others.
    eventually("the forward recorded as sent", || async {
        let (_, d) = s
            .hub
            .call("GET", &format!("/interactions/{id}"), Some(&token), None)
            .await
            .ok()?;
        let sent = d["messages"].as_array()?.iter().any(|m| {
            m["channel"]["details"]["forward_of"] == first["id"] && m["channel"]["delivery"] == "sent"
        });
        sent.then_some(())
    })
    .await;
    let (_, later) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(json!({"client_id": "r2", "body": "Anything else?", "subject": "Order 2001, again"})),
        )
        .await
        .unwrap();
    assert_eq!(later["channel"]["delivery"], "queued", "{later}");
    let later = mail_at_sink(&s.sink, "Re: Order 2001, again").await;
    assert_eq!(later.in_reply_to, ["order.2001@mail.example"]);
    assert_eq!(
        later.references.len(),
        2,
        "Ann's mail and our reply: {:?}",
        later.references
    );
    assert!(!later.references.contains(&out.message_id));

    // Dana holds another customer's thread. She cannot send Bob's upload, nor forward a mail of
    // Bob's thread from hers; Bob cannot send a customer's file by naming its attachment id.
    bob.send(json!({"type": "state.set", "state": "break", "reason": "lunch"}))
        .await
        .unwrap();
    bob.expect("agent.state").await.unwrap();
    let mut dana = s.hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    let (theirs, _) = held_by(
        &s,
        &mut dana,
        &gmail(
            "other.1@mail.example",
            "carl@mail.example",
            "Carl's question",
            "Hello?",
            "",
        ),
    )
    .await;
    let dana_token = s
        .hub
        .login("dana@plugboard.example", DEMO_PASSWORD)
        .await
        .unwrap();
    let before = s.sink.messages().len();
    let attempts = [
        (
            &dana_token,
            &theirs,
            json!({"client_id": "x1", "body": "Here.", "attachments": [upload]}),
            403,
        ),
        (
            &dana_token,
            &theirs,
            json!({"client_id": "x2", "body": "FYI", "to": ["me@evil.example"], "forward_of": first["id"]}),
            400,
        ),
        (
            &dana_token,
            &id,
            json!({"client_id": "x3", "body": "Mine now."}),
            403,
        ),
        (
            &token,
            &id,
            json!({"client_id": "x4", "body": "Here.", "attachments": [first["channel"]["attachments"][0]["id"]]}),
            400,
        ),
        (
            &token,
            &id,
            json!({"client_id": "x5", "body": "Here.", "attachments": ["ab".repeat(32)]}),
            400,
        ),
    ];
    for (who, thread, body, want) in attempts {
        let (status, answer) = s
            .hub
            .call(
                "POST",
                &format!("/interactions/{thread}/emails"),
                Some(who),
                Some(body.clone()),
            )
            .await
            .unwrap();
        assert_eq!(status, want, "{body} → {answer}");
    }
    let (_, carl) = s
        .hub
        .call("GET", &format!("/interactions/{theirs}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(
        carl["messages"].as_array().unwrap().len(),
        1,
        "nothing was added: {carl}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.sink.messages().len(), before, "nothing more was sent");
}

#[tokio::test]
async fn a_new_email_to_a_customer_opens_a_thread_that_their_answer_joins() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();

    // Any agent sees which mailboxes there are, and nothing of their servers.
    let (status, boxes) = s
        .hub
        .call("GET", "/mailboxes/addresses", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{boxes}");
    assert_eq!(
        boxes,
        json!([{"id": s.mailbox, "address": "support@shop.example", "display_name": "Shop Support"}])
    );
    let (status, _) = s.hub.call("GET", "/mailboxes", Some(&token), None).await.unwrap();
    assert_eq!(status, 403, "the full settings stay the admins'");

    let (_, found) = s
        .hub
        .call("GET", "/customers?q=tom.baker%40example.com", Some(&token), None)
        .await
        .unwrap();
    let tom = found[0]["id"].as_str().unwrap().to_owned();
    let (_, uploaded) = s
        .hub
        .upload(&token, "terms.txt", "text/plain", b"Terms: 30 days.\n".to_vec())
        .await
        .unwrap();
    let new = json!({
        "mailbox_id": s.mailbox, "subject": "Your trial ends Friday", "body": "Hello Tom,\n\nShall we extend it?",
        "client_id": "n1", "attachments": [uploaded["id"]],
    });
    let (status, sent) = s
        .hub
        .call(
            "POST",
            &format!("/customers/{tom}/emails"),
            Some(&token),
            Some(new.clone()),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["channel"]["delivery"], "queued");
    let id = sent["interaction_id"].as_str().unwrap().to_owned();
    // Bob's from the start: no offer, the thread in his console, Active.
    let assigned = bob.expect("interaction.assigned").await.unwrap();
    assert_eq!(assigned["interaction"]["id"], id.as_str());
    assert_eq!(assigned["interaction"]["channel"], "email");
    assert_eq!(assigned["interaction"]["state"], "active");
    // Sending again (a lost answer) is the same mail in the same thread.
    let (status, again) = s
        .hub
        .call(
            "POST",
            &format!("/customers/{tom}/emails"),
            Some(&token),
            Some(new),
        )
        .await
        .unwrap();
    assert_eq!((status, &again["id"]), (202, &sent["id"]));

    let out = mail_at_sink(&s.sink, "Your trial ends Friday").await;
    assert_eq!(out.to[0].email, "tom.baker@example.com");
    assert_eq!(out.from.email, "support@shop.example");
    assert!(out.in_reply_to.is_empty());
    assert_eq!(out.attachments[0].data, b"Terms: 30 days.\n");
    let (_, timeline) = s
        .hub
        .call("GET", &format!("/customers/{tom}/timeline"), Some(&token), None)
        .await
        .unwrap();
    let opened: Vec<_> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["interaction"]["channel"] == "email")
        .collect();
    assert_eq!(opened.len(), 1, "one thread: {timeline}");
    let kinds: Vec<_> = opened[0]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    assert!(kinds.contains(&json!("interaction.started")), "{kinds:?}");

    // A follow-up before Tom answers goes to him, answering our first mail.
    let follow = json!({"client_id": "n1b", "body": "Just checking you got this."});
    let (status, _) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(follow),
        )
        .await
        .unwrap();
    assert_eq!(status, 202);
    let again = mail_at_sink(&s.sink, "Re: Your trial ends Friday").await;
    assert_eq!(again.to[0].email, "tom.baker@example.com");
    assert_eq!(again.in_reply_to, std::slice::from_ref(&out.message_id));
    let sent_ids = s.sink.messages().len();

    // Tom answers from his mail client: into the same thread, to Bob who holds it.
    s.dovecot
        .append(&gmail(
            "tom.answer@example.com",
            "tom.baker@example.com",
            "Re: Your trial ends Friday",
            "Yes please!",
            &format!(
                "In-Reply-To: <{}>\r\nReferences: <{}>\r\n",
                out.message_id, out.message_id
            ),
        ))
        .await;
    let answer = loop {
        let m = bob.expect("message").await.unwrap();
        if m["message"]["sender"] == "customer" {
            break m;
        }
    };
    assert_eq!(answer["message"]["interaction_id"], id.as_str());
    assert_eq!(answer["message"]["body"].as_str().unwrap().trim(), "Yes please!");

    // With no room for another email thread, a new one is refused and nothing is stored or sent.
    let (_, bob_agent) = s.hub.call("GET", "/me", Some(&token), None).await.unwrap();
    let mut capacity = bob_agent["capacity"].clone();
    capacity["email"] = json!(1);
    let (status, _) = s
        .hub
        .call(
            "PATCH",
            &format!("/agents/{}", bob_agent["id"].as_str().unwrap()),
            Some(&s.admin),
            Some(json!({"capacity": capacity})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let another = json!({"mailbox_id": s.mailbox, "subject": "One more", "body": "Hi", "client_id": "n2"});
    let (status, refused) = s
        .hub
        .call(
            "POST",
            &format!("/customers/{tom}/emails"),
            Some(&token),
            Some(another),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, refused["code"].as_str()),
        (409, Some("no_room")),
        "{refused}"
    );
    let (_, timeline) = s
        .hub
        .call("GET", &format!("/customers/{tom}/timeline"), Some(&token), None)
        .await
        .unwrap();
    let threads = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["interaction"]["channel"] == "email")
        .count();
    assert_eq!(threads, 1);
    assert_eq!(s.sink.messages().len(), sent_ids);
    // A mailbox of nobody's, or no subject: refused before anything happens.
    for bad in [
        json!({"mailbox_id": uuid::Uuid::now_v7(), "subject": "x", "body": "x", "client_id": "n3"}),
        json!({"mailbox_id": s.mailbox, "subject": " ", "body": "x", "client_id": "n4"}),
    ] {
        let (status, answer) = s
            .hub
            .call(
                "POST",
                &format!("/customers/{tom}/emails"),
                Some(&token),
                Some(bad),
            )
            .await
            .unwrap();
        assert_eq!(status, 400, "{answer}");
    }
}

/// Issue 13, interventions: Sam, a supervisor, watches Bob's email thread read-only as it
/// happens: the thread as it stands, then the customer's next mail and Bob's reply (and its
/// sending) as they come. He cannot write into it, over his console or over REST: the customer
/// gets Bob's mail alone.
#[tokio::test]
async fn a_supervisor_watches_an_email_thread_read_only() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    s.dovecot
        .append(&gmail(
            "watch.77@mail.example",
            "ines@mail.example",
            "Order 77",
            "Where is my order?",
            "",
        ))
        .await;
    let id = offered(&mut bob).await;
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();

    let sam_token = s.hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut sam = s.hub.agent_with(&sam_token).await.unwrap();
    sam.send(json!({"type": "conversation.watch", "interaction_id": id}))
        .await
        .unwrap();
    let watched = sam.expect("watched").await.unwrap();
    assert_eq!(watched["interaction"]["id"], id.as_str());
    assert_eq!(watched["interaction"]["channel"], "email");
    let bodies: Vec<&str> = watched["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str().map(str::trim))
        .collect();
    assert_eq!(bodies, ["Where is my order?"]);

    // The customer writes again in the thread: Sam hears it.
    s.dovecot
        .append(&gmail(
            "watch.78@mail.example",
            "ines@mail.example",
            "Re: Order 77",
            "It was due Monday",
            "In-Reply-To: <watch.77@mail.example>\r\nReferences: <watch.77@mail.example>\r\n",
        ))
        .await;
    let heard = sam.watched_message(|m| m["sender"] == "customer").await;
    assert_eq!(heard["interaction_id"], id.as_str());
    assert_eq!(heard["body"].as_str().unwrap().trim(), "It was due Monday");

    // Bob answers: Sam hears the reply, then its sending.
    let bob_token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, sent) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&bob_token),
            Some(json!({"client_id": "watch-r1", "body": "It ships today."})),
        )
        .await
        .unwrap();
    assert_eq!(status, 202, "{sent}");
    let heard = sam.watched_message(|m| m["sender"] == "agent").await;
    assert_eq!(heard["id"], sent["id"]);
    assert!(
        heard["body"].as_str().unwrap().contains("It ships today."),
        "{heard}"
    );
    sam.watched_message(|m| m["id"] == sent["id"] && m["channel"]["delivery"] == "sent")
        .await;
    assert!(
        bob.gets_within("watched.message", Duration::from_millis(300))
            .await
            .is_none(),
        "the agent hears only his own frames"
    );

    // Watching is reading: Sam's message over his console and his mail over REST are refused.
    s.hub
        .watcher_cannot_write(&mut sam, &sam_token, &id, "/emails")
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.sink.messages().len(), 1, "the customer got Bob's mail alone");
    let (_, detail) = s
        .hub
        .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
        .await
        .unwrap();
    let messages = detail["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .all(|m| !m["body"].as_str().unwrap_or_default().contains("Sam here")),
        "{messages:?}"
    );
    let logged = s.hub.logged(&s.admin, &id, "interaction.watched").await;
    assert_eq!(logged["data"]["by_name"], "Sam Lee");
}

/// Waits on `console` for `interaction.updated` frames until `id` is in `state`.
async fn until_state(console: &mut Socket, id: &str, state: &str) {
    loop {
        let frame = console.expect("interaction.updated").await.unwrap();
        if frame["interaction"]["id"] == id && frame["interaction"]["state"] == state {
            return;
        }
    }
}

/// The agent on `console` ends and wraps up `id`: it is closed.
async fn close(console: &mut Socket, id: &str) {
    console
        .send(json!({"type": "interaction.end", "interaction_id": id}))
        .await
        .unwrap();
    until_state(console, id, "wrap_up").await;
    console
        .send(json!({"type": "wrap_up", "interaction_id": id, "disposition": "resolved"}))
        .await
        .unwrap();
    until_state(console, id, "closed").await;
}

/// The next offer on `console`, accepted: its interaction's id.
async fn accept_offer(console: &mut Socket) -> String {
    let id = offered(console).await;
    console
        .send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    console.expect("interaction.assigned").await.unwrap();
    id
}

/// `/readyz` names a mailbox whose server cannot be reached (and keeps the node in service: the
/// mail server's fault is not the node's), the admin page shows it failing with the reason, and
/// once an admin points it at a server that answers it is named no more.
#[tokio::test]
async fn readyz_names_a_mailbox_it_cannot_reach_until_it_can() {
    let Some(s) = site().await else { return };
    // A port nobody listens on.
    let dead = plugboard_tests::kamailio::free_port();
    let mut settings = mailbox_settings(&s.hub, &s.admin, "sales@shop.example", dead, &s.sink).await;
    let (status, created) = s
        .hub
        .call("POST", "/mailboxes", Some(&s.admin), Some(settings.clone()))
        .await
        .unwrap();
    assert_eq!(status, 201, "{created}");
    let sales = created["id"].as_str().unwrap().to_owned();

    let (status, ready, named) = eventually("/readyz to name the mailbox", || async {
        let (status, body) = s.hub.readyz().await.ok()?;
        let named = body["mailboxes_failing"]
            .as_array()?
            .iter()
            .find(|m| m["address"] == "sales@shop.example")?
            .clone();
        Some((status, body.clone(), named))
    })
    .await;
    assert_eq!(status, 200, "still in service: {ready}");
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(
        ready["mailboxes_failing"].as_array().unwrap().len(),
        1,
        "the mailbox that works is not named: {ready}"
    );
    let reason = named["error"].as_str().unwrap();
    assert!(!reason.is_empty(), "with its reason: {ready}");
    let (_, boxes) = s
        .hub
        .call("GET", "/mailboxes", Some(&s.admin), None)
        .await
        .unwrap();
    let shown = boxes
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == sales.as_str())
        .unwrap();
    assert_eq!(shown["status"]["state"], "failing", "{shown}");
    assert_eq!(shown["status"]["last_error"], reason, "{shown}");

    // Pointed at Dovecot (the passwords left out stay as they were): connected, named no more.
    settings["imap"]["port"] = json!(s.dovecot.port());
    settings["imap"].as_object_mut().unwrap().remove("password");
    settings["smtp"].as_object_mut().unwrap().remove("password");
    let (status, updated) = s
        .hub
        .call(
            "PUT",
            &format!("/mailboxes/{sales}"),
            Some(&s.admin),
            Some(settings),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{updated}");
    eventually("the mailbox connected and /readyz naming none", || async {
        let (_, body) = s.hub.readyz().await.ok()?;
        let (_, boxes) = s.hub.call("GET", "/mailboxes", Some(&s.admin), None).await.ok()?;
        let connected = boxes
            .as_array()?
            .iter()
            .all(|b| b["status"]["state"] == "connected");
        (connected && body["mailboxes_failing"].as_array()?.is_empty()).then_some(())
    })
    .await;
}

/// A reply to a closed thread reopens it (`email.closed_reply = "reopen"`, the default): for the
/// agent who had it while they are available, else for whoever the queue offers it to. An
/// auto-reply to it is kept on it and reopens nothing.
#[tokio::test]
async fn a_reply_to_a_closed_thread_reopens_it_for_its_agent_else_the_queue() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let (id, _) = held_by(
        &s,
        &mut bob,
        &gmail(
            "reopen.1@mail.example",
            "olga@mail.example",
            "Order 31",
            "Where is it?",
            "",
        ),
    )
    .await;
    let token = s.hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, _) = s
        .hub
        .call(
            "POST",
            &format!("/interactions/{id}/emails"),
            Some(&token),
            Some(json!({"client_id": "r1", "body": "It is on its way."})),
        )
        .await
        .unwrap();
    assert_eq!(status, 202);
    let ours = mail_at_sink(&s.sink, "Re: Order 31").await.message_id;
    close(&mut bob, &id).await;
    let messages = async |id: &str| {
        let (_, detail) = s
            .hub
            .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
            .await
            .unwrap();
        detail
    };

    // An out-of-office answering our reply: kept on the thread, which stays closed.
    s.dovecot
        .append(&gmail(
            "reopen.ooo@mail.example",
            "olga@mail.example",
            "Automatic reply: Re: Order 31",
            "I am away until Monday.",
            &format!("In-Reply-To: <{ours}>\r\nAuto-Submitted: auto-replied\r\n"),
        ))
        .await;
    eventually("the auto-reply on the thread", || async {
        let detail = messages(&id).await;
        (detail["messages"].as_array()?.len() == 3).then_some(())
    })
    .await;
    assert_eq!(messages(&id).await["interaction"]["state"], "closed");
    assert_no_frame(&mut bob, "offer").await;

    // Olga answers our reply: the same thread is offered to Bob, who had it.
    s.dovecot
        .append(&gmail(
            "reopen.2@mail.example",
            "olga@mail.example",
            "Re: Order 31",
            "It has not come.",
            &format!("In-Reply-To: <{ours}>\r\nReferences: <reopen.1@mail.example> <{ours}>\r\n"),
        ))
        .await;
    assert_eq!(accept_offer(&mut bob).await, id);
    let detail = messages(&id).await;
    assert_eq!(detail["interaction"]["state"], "active", "{detail}");
    let bodies: Vec<&str> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().trim())
        .collect();
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert_eq!(bodies[3], "It has not come.");
    let reopened = s.hub.logged(&s.admin, &id, "interaction.reopened").await;
    assert!(!reopened["data"]["last_agent"].is_null(), "{reopened}");

    // Closed again, and Bob on a break: Olga's next mail reopens it for Dana.
    close(&mut bob, &id).await;
    bob.send(json!({"type": "state.set", "state": "break", "reason": "lunch"}))
        .await
        .unwrap();
    bob.expect("agent.state").await.unwrap();
    let mut dana = s.hub.agent("dana@plugboard.example").await.unwrap();
    available(&mut dana).await;
    s.dovecot
        .append(&gmail(
            "reopen.3@mail.example",
            "olga@mail.example",
            "Re: Order 31",
            "Still nothing.",
            "In-Reply-To: <reopen.2@mail.example>\r\n",
        ))
        .await;
    assert_eq!(accept_offer(&mut dana).await, id);
    assert_no_frame(&mut bob, "offer").await;
    let detail = messages(&id).await;
    assert_eq!(detail["messages"].as_array().unwrap().len(), 5);
    let (_, found) = s
        .hub
        .call("GET", "/customers?q=olga%40mail.example", Some(&s.admin), None)
        .await
        .unwrap();
    let (_, timeline) = s
        .hub
        .call(
            "GET",
            &format!("/customers/{}/timeline", found[0]["id"].as_str().unwrap()),
            Some(&s.admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        timeline["entries"].as_array().unwrap().len(),
        1,
        "one conversation: {timeline}"
    );
}

/// With `email.closed_reply = "new"`, a reply to a closed thread starts a new one whose first
/// message names the old one (`follows`); the old thread stays closed and unchanged.
#[tokio::test]
async fn with_closed_reply_new_a_reply_to_a_closed_thread_starts_one_that_follows_it() {
    let Some(s) = site_with(&[("PLUGBOARD_EMAIL__CLOSED_REPLY", "new")]).await else {
        return;
    };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let (old, _) = held_by(
        &s,
        &mut bob,
        &gmail(
            "follow.1@mail.example",
            "pia@mail.example",
            "Order 32",
            "Where is it?",
            "",
        ),
    )
    .await;
    close(&mut bob, &old).await;
    s.dovecot
        .append(&gmail(
            "follow.2@mail.example",
            "pia@mail.example",
            "Re: Order 32",
            "One more thing.",
            "In-Reply-To: <follow.1@mail.example>\r\nReferences: <follow.1@mail.example>\r\n",
        ))
        .await;
    let new = accept_offer(&mut bob).await;
    assert_ne!(new, old);
    let (_, detail) = s
        .hub
        .call("GET", &format!("/interactions/{new}"), Some(&s.admin), None)
        .await
        .unwrap();
    let first = &detail["messages"][0];
    assert_eq!(first["body"].as_str().unwrap().trim(), "One more thing.");
    assert_eq!(first["channel"]["details"]["follows"], old.as_str(), "{first}");
    let (_, before) = s
        .hub
        .call("GET", &format!("/interactions/{old}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(before["interaction"]["state"], "closed");
    assert_eq!(before["messages"].as_array().unwrap().len(), 1, "{before}");
}

/// When the folder's UIDVALIDITY changes, the hub fetches all of it again: the mails it has are
/// found by their Message-ID and not stored twice, and a new one is taken in. First in place
/// (the server drops the session, the UIDs stay); then the folder is deleted and made again,
/// the new mail first, so its UID 1 is one the hub had long passed: only a fetch from the start
/// finds it.
#[tokio::test]
async fn a_new_uidvalidity_refetches_the_folder_and_stores_nothing_twice() {
    const MAILS: u64 = 3;
    let Some(s) = support_folder_site().await else {
        return;
    };
    let mail = |n: u64| question("uv", n);
    // Every mail of the folder seen, and `fetched` (mails taken in, found again included) at `n`.
    let fetched = async |what: &str, n: u64, mails: u32| {
        eventually(what, || async {
            let done =
                s.mailbox_status().await["fetched"] == n && s.dovecot.counts("Support").await == (mails, 0);
            done.then_some(())
        })
        .await
    };
    for n in 0..MAILS {
        s.dovecot.append_to("Support", &mail(n)).await;
    }
    fetched("the first mails", MAILS, MAILS as u32).await;

    let before = s.dovecot.uid_validity("Support").await;
    s.dovecot.reset_uidvalidity_of("Support");
    // The new mail once the session has been dropped: the hub takes it under the new value.
    eventually("the hub to be disconnected", || async {
        (s.mailbox_status().await["state"] != "connected").then_some(())
    })
    .await;
    s.dovecot.append_to("Support", &mail(MAILS)).await;
    fetched("the folder fetched again", 2 * MAILS + 1, MAILS as u32 + 1).await;

    s.dovecot.delete_folder("Support").await;
    eventually("the hub to find the folder gone", || async {
        (s.mailbox_status().await["state"] != "connected").then_some(())
    })
    .await;
    s.dovecot.create_folder("Support").await;
    s.dovecot.append_to("Support", &mail(MAILS + 1)).await;
    for n in 0..=MAILS {
        s.dovecot.append_to("Support", &mail(n)).await;
    }
    assert_ne!(s.dovecot.uid_validity("Support").await, before);
    fetched("the rebuilt folder", 3 * MAILS + 3, MAILS as u32 + 2).await;

    let customers: Vec<String> = (0..MAILS + 2).map(|n| format!("uv{n}@mail.example")).collect();
    let want: BTreeMap<String, usize> = (0..MAILS + 2)
        .map(|n| (format!("uv.{n}@mail.example"), 1))
        .collect();
    assert_eq!(on_timelines(&s.hub, &s.admin, &customers).await, want);
}

/// A mailbox with a `done_folder` moves the mail it took in there instead of marking it seen.
/// While that folder is missing, the mail is taken in (once) and stays in the inbox, and the
/// mailbox shows why; once the folder exists the mail is moved.
#[tokio::test]
async fn a_mailbox_with_a_done_folder_moves_taken_in_mail_there() {
    let Some(s) = site_where(&[], json!({"done_folder": "Processed"}), async |_| {}).await else {
        return;
    };
    let (_, boxes) = s
        .hub
        .call("GET", "/mailboxes", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(boxes[0]["done_folder"], "Processed", "{boxes}");
    let mail = |n: usize| question("done", n as u64);
    s.dovecot.append(&mail(0)).await;
    let error = eventually("the mailbox failing to move the mail", || async {
        let (_, boxes) = s.hub.call("GET", "/mailboxes", Some(&s.admin), None).await.ok()?;
        let status = &boxes[0]["status"];
        (status["state"] == "failing").then(|| status["last_error"].as_str().unwrap_or_default().to_owned())
    })
    .await;
    assert!(!error.is_empty());
    assert_eq!(s.dovecot.counts("INBOX").await, (1, 1), "still there, unseen");

    s.dovecot.create_folder("Processed").await;
    eventually("the mail moved", || async {
        (s.dovecot.counts("INBOX").await.0 == 0 && s.dovecot.counts("Processed").await.0 == 1).then_some(())
    })
    .await;
    for n in 1..3 {
        s.dovecot.append(&mail(n)).await;
    }
    eventually("every mail moved", || async {
        (s.dovecot.counts("INBOX").await.0 == 0 && s.dovecot.counts("Processed").await.0 == 3).then_some(())
    })
    .await;
    let (_, boxes) = s
        .hub
        .call("GET", "/mailboxes", Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(boxes[0]["status"]["state"], "connected", "{boxes}");
    let customers: Vec<String> = (0..3).map(|n| format!("done{n}@mail.example")).collect();
    let want: BTreeMap<String, usize> = (0..3).map(|n| (format!("done.{n}@mail.example"), 1)).collect();
    assert_eq!(on_timelines(&s.hub, &s.admin, &customers).await, want);
}

/// A folder deleted and made again at once under the hub's live IMAP session (a mailbox restored
/// from backup, a rebuilt folder): Dovecot keeps the old session on its stale view of the
/// folder, answering `* NO Internal error occurred`, neither dropping it nor showing the new
/// mail. The hub used to spin (IDLE woke at once on the untagged NO, the UID SEARCH found nothing
/// above the old last UID; `last_fetch_at` moved 425 times in a second) and never took the
/// rebuilt folder's mail in (failed 5 runs in 6). Now the session ends on an untagged NO, BAD or
/// BYE and the next one re-syncs under the new UIDVALIDITY.
#[tokio::test]
async fn a_folder_made_again_under_a_live_session_is_fetched_again() {
    let Some(s) = support_folder_site().await else {
        return;
    };
    let mail = |n: u64| question("live", n);
    for n in 0..3 {
        s.dovecot.append_to("Support", &mail(n)).await;
    }
    eventually("the first mails taken in", || async {
        (s.mailbox_status().await["fetched"] == 3 && s.dovecot.counts("Support").await == (3, 0))
            .then_some(())
    })
    .await;
    let rebuilt: Vec<Vec<u8>> = [3, 0, 1, 2].into_iter().map(mail).collect();
    s.dovecot.recreate_folder("Support", &rebuilt).await;
    let mut last = s.mailbox_status().await;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if s.dovecot.counts("Support").await == (4, 0) {
            let customers: Vec<String> = (0..4).map(|n| format!("live{n}@mail.example")).collect();
            let want: BTreeMap<String, usize> =
                (0..4).map(|n| (format!("live.{n}@mail.example"), 1)).collect();
            assert_eq!(on_timelines(&s.hub, &s.admin, &customers).await, want);
            return;
        }
        last = s.mailbox_status().await;
    }
    panic!(
        "the rebuilt folder's mail was not taken in within 10 s; the mailbox: {last}; \
         the folder: {:?}\n{}",
        s.dovecot.counts("Support").await,
        s.dovecot.log()
    );
}

/// Issue 12: a chat's customer asks at the end for the conversation by email. It goes out once,
/// from the mailbox on the chat's queue, in the customer's language, each line named as they saw
/// it; the agents see that it went and where; a reloaded widget never shows the hub's own line;
/// before the end it is refused, and without a mailbox the widget is not offered it.
#[tokio::test]
async fn a_chats_customer_gets_its_transcript_by_email_once_after_the_end() {
    let Some(s) = site().await else { return };
    let mut bob = s.hub.agent("bob@plugboard.example").await.unwrap();
    available(&mut bob).await;
    let mut widget = s.hub.widget().await.unwrap();
    widget
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    let ready = widget.expect("ready").await.unwrap();
    assert_eq!(ready["transcript_by_email"], true, "{ready}");
    widget
        .send(
            json!({"type": "start", "name": "李伟", "email": "li.wei@qq.example",
                     "message": "我的订单还没到", "client_id": "c0"}),
        )
        .await
        .unwrap();
    let started = widget.expect("started").await.unwrap();
    let (id, token) = (
        started["interaction_id"].as_str().unwrap().to_owned(),
        started["token"].as_str().unwrap().to_owned(),
    );
    bob.expect("offer").await.unwrap();
    bob.send(json!({"type": "offer.accept", "interaction_id": id}))
        .await
        .unwrap();
    bob.expect("interaction.assigned").await.unwrap();
    bob.send(json!({"type": "message", "interaction_id": id, "client_id": "a1", "body": "今天发货。"}))
        .await
        .unwrap();
    widget.expect("message").await.unwrap();

    let ask = |email: &str| json!({"type": "transcript", "email": email, "locale": "zh-CN"});
    widget.send(ask("li.wei@qq.example")).await.unwrap();
    assert_eq!(
        widget.expect_error().await["code"],
        "invalid_state",
        "not before the end"
    );

    bob.send(json!({"type": "interaction.end", "interaction_id": id}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    widget.send(ask("not an address")).await.unwrap();
    assert_eq!(widget.expect_error().await["code"], "bad_request");
    widget.send(ask(" Li.Wei@QQ.example ")).await.unwrap();
    let queued = widget.expect("transcript.queued").await.unwrap();
    assert_eq!(queued["email"], "li.wei@qq.example");
    // A second click (or another address) sends nothing more: one transcript a conversation.
    widget.send(ask("someone.else@qq.example")).await.unwrap();
    assert_eq!(
        widget.expect("transcript.queued").await.unwrap()["email"],
        "li.wei@qq.example"
    );

    let mail = mail_at_sink(&s.sink, "您与Shop Support的聊天记录").await;
    assert_eq!(mail.from.email, "support@shop.example");
    assert_eq!(
        mail.to.iter().map(|a| a.email.as_str()).collect::<Vec<_>>(),
        ["li.wei@qq.example"]
    );
    assert!(mail.text.contains("与李伟的会话"), "{}", mail.text);
    assert!(mail.text.contains("] 李伟: 我的订单还没到"), "{}", mail.text);
    assert!(mail.text.contains(": 今天发货。"), "{}", mail.text);
    assert!(
        !mail.text.contains("Transcript emailed"),
        "the hub's own line is not the chat's"
    );

    // The agents see where it went, and that it went.
    let record = sent_by(&s, &id, "system").await;
    assert_eq!(
        record["channel"]["details"]["to"][0]["email"],
        "li.wei@qq.example"
    );
    assert_eq!(record["channel"]["details"]["transcript"], true);
    // The inbox's line shows the last thing someone wrote, not the hub's record.
    let (_, line) = s
        .hub
        .call("GET", &format!("/conversations/{id}"), Some(&s.admin), None)
        .await
        .unwrap();
    assert_eq!(line["last_message"]["body"], "今天发货。", "{line}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let sent = s
        .sink
        .messages()
        .into_iter()
        .filter_map(|raw| plugboard_email::parse(&raw, 1 << 20).ok())
        .filter(|m| m.subject.contains("聊天记录"))
        .count();
    assert_eq!(sent, 1, "one transcript a conversation");

    // A reload within the grace period shows the chat, not the hub's line.
    let mut reload = s.hub.widget().await.unwrap();
    reload
        .send(json!({"type": "hello", "token": token}))
        .await
        .unwrap();
    let resumed = reload.expect("resumed").await.unwrap();
    let senders: Vec<&str> = resumed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sender"].as_str().unwrap())
        .collect();
    assert_eq!(senders, ["customer", "agent"], "{resumed}");

    // Without a mailbox the widget is not offered it.
    let (status, body) = s
        .hub
        .call(
            "DELETE",
            &format!("/mailboxes/{}", s.mailbox),
            Some(&s.admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 204, "{body}");
    let mut later = s.hub.widget().await.unwrap();
    later
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    assert_eq!(later.expect("ready").await.unwrap()["transcript_by_email"], false);
}
