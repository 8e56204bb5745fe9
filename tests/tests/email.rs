//! Email end to end: the real binary fetching from a real Dovecot and sending through a real SMTP
//! sink (aiosmtpd), with agents' consoles on websockets. A mail to support is offered, answered
//! in its thread, and the customer's answer joins it; machines' mail, broken mail and a forged
//! thread are kept apart; a kill -9 in a burst loses nothing and shows nothing twice.

use plugboard_tests::mail::{Dovecot, SmtpSink};
use plugboard_tests::{DEMO_PASSWORD, Hub, Socket};
use serde_json::json;
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
    let dovecot = Dovecot::start()?;
    let sink = SmtpSink::start()?;
    let dir = tempfile::tempdir().unwrap();
    // Poll often: what IDLE does not wake is fetched within a second.
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_EMAIL__POLL_SECS", "1")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let support = hub.named(&admin, "/queues", "Support").await.unwrap();
    let imap = dovecot.server();
    let settings = json!({
        "address": "support@shop.example",
        "display_name": "Shop Support",
        "queue_id": support["id"],
        "imap": {"host": imap.host, "port": imap.port, "security": "plain", "user": imap.user, "password": imap.password},
        "smtp": {"host": "127.0.0.1", "port": sink.server().port, "security": "plain", "user": "", "password": ""},
        "signature": "Shop Support team",
    });
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

async fn available(agent: &mut Socket) {
    agent
        .send(json!({"type": "state.set", "state": "available"}))
        .await
        .unwrap();
    agent.expect("agent.state").await.unwrap();
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
    let delivered = eventually("the delivery state", || async {
        let (_, d) = s
            .hub
            .call("GET", &format!("/interactions/{id}"), Some(&s.admin), None)
            .await
            .ok()?;
        let m = d["messages"]
            .as_array()?
            .iter()
            .find(|m| m["sender"] == "agent")?
            .clone();
        (m["channel"]["delivery"] == "sent").then_some(m)
    })
    .await;
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

#[tokio::test]
async fn a_kill_during_a_burst_loses_no_mail_and_stores_none_twice() {
    let Some(s) = site().await else { return };
    const MAILS: usize = 60;
    for n in 0..MAILS {
        let mail = gmail(
            &format!("burst.{n}@mail.example"),
            &format!("c{n}@mail.example"),
            &format!("Burst {n}"),
            "hello",
            "",
        );
        s.dovecot.append(&mail).await;
        if n == MAILS / 3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    let Site {
        hub,
        dovecot,
        sink: _sink,
        admin: _,
        mailbox: _,
        _dir,
    } = s;
    hub.kill9();
    let hub = Hub::start(_dir.path(), &[("PLUGBOARD_EMAIL__POLL_SECS", "1")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    eventually("every mail seen on the server", || async {
        (dovecot.unseen_count().await == 0).then_some(())
    })
    .await;
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for n in 0..MAILS {
        let (_, found) = hub
            .call(
                "GET",
                &format!("/customers?q=c{n}%40mail.example"),
                Some(&admin),
                None,
            )
            .await
            .unwrap();
        let customer = found[0]["id"].as_str().unwrap().to_owned();
        let (_, timeline) = hub
            .call(
                "GET",
                &format!("/customers/{customer}/timeline"),
                Some(&admin),
                None,
            )
            .await
            .unwrap();
        for entry in timeline["entries"].as_array().unwrap() {
            for m in entry["messages"].as_array().unwrap() {
                let id = m["channel"]["external_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(
            timeline["entries"].as_array().unwrap().len(),
            1,
            "one conversation for c{n}"
        );
    }
    let want: std::collections::BTreeMap<String, usize> = (0..MAILS)
        .map(|n| (format!("burst.{n}@mail.example"), 1))
        .collect();
    assert_eq!(seen, want);
}
