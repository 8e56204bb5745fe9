//! The email connector against real servers: a Dovecot of each test's own as the mailbox, and
//! aiosmtpd as the SMTP server that keeps what it is sent. What the hub's fetch loop and outbox
//! rely on: fetching leaves mail unseen until it is committed, IDLE wakes the loop when mail
//! arrives, a UIDVALIDITY change shows, a wrong password is told apart from a dead server, and a
//! reply reaches the customer threaded, with the SMTP server's reason when it does not.

use plugboard_channel::{Channel, Delivery, Outbound};
use plugboard_email::imap::{MailError, Session};
use plugboard_email::smtp::Sender;
use plugboard_email::{Address, Security, Server, parse, thread};
use plugboard_tests::mail::{Dovecot, SmtpSink};
use serde_json::json;
use std::time::{Duration, Instant};

const LIMIT: usize = 10 << 20;
const INTERACTION: &str = "0190f3a2-7b1c-7cde-8f00-1234567890ab";

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../connectors/email/tests/mails")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A customer's mail, different each time.
fn customer_mail(n: u32) -> Vec<u8> {
    format!(
        "From: Customer {n} <customer{n}@example.net>\r\nTo: support@example.com\r\n\
         Subject: Question {n}\r\nMessage-ID: <q{n}@example.net>\r\n\
         Date: Mon, 4 Nov 2024 09:00:00 +0000\r\n\r\nHello, question {n}.\r\n"
    )
    .into_bytes()
}

async fn connect(dovecot: &Dovecot) -> Session {
    Session::connect(&dovecot.server(), "INBOX")
        .await
        .unwrap_or_else(|e| panic!("connect: {e}\n{}", dovecot.log()))
}

#[tokio::test]
async fn fetching_gets_new_mail_in_order_and_leaves_it_unseen_until_marked() {
    let Some(dovecot) = Dovecot::start() else { return };
    dovecot.append(&corpus("gmail_alternative.eml")).await;
    dovecot.append(&corpus("foxmail_gb18030.eml")).await;
    let mut session = connect(&dovecot).await;
    assert_ne!(session.uid_validity(), 0);

    let mails = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    let subjects: Vec<String> = mails
        .iter()
        .map(|m| parse(&m.raw, LIMIT).unwrap().subject)
        .collect();
    assert_eq!(subjects, ["Damaged order #4711", "订单 2024-0815 还没有发货"]);
    assert!(mails[0].uid < mails[1].uid);
    // The bytes are the mail as appended, to the byte.
    assert_eq!(mails[1].raw, corpus("foxmail_gb18030.eml"));

    // BODY.PEEK: fetching marked nothing; only the hub's commit does.
    assert_eq!(dovecot.unseen_count().await, 2);
    session.mark_seen(&[mails[0].uid]).await.unwrap();
    assert_eq!(dovecot.unseen_count().await, 1);
    session.mark_seen(&[mails[1].uid]).await.unwrap();
    assert_eq!(dovecot.unseen_count().await, 0);
}

#[tokio::test]
async fn nothing_new_is_nothing_even_though_n_star_names_the_last_mail() {
    let Some(dovecot) = Dovecot::start() else { return };
    let mut session = connect(&dovecot).await;
    assert!(session.fetch_after(0, 10, u64::MAX).await.unwrap().is_empty());
    dovecot.append(&customer_mail(1)).await;
    let first = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    assert_eq!(first.len(), 1);
    let last = first[0].uid;
    // `UID last+1:*` matches the last mail too (RFC 3501 §6.4.8); it is not new.
    assert!(session.fetch_after(last, 10, u64::MAX).await.unwrap().is_empty());
    assert!(
        session
            .fetch_after(last + 100, 10, u64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_backlog_comes_in_batches_of_at_most_max() {
    let Some(dovecot) = Dovecot::start() else { return };
    for n in 1..=5 {
        dovecot.append(&customer_mail(n)).await;
    }
    let mut session = connect(&dovecot).await;
    let mut seen = Vec::new();
    let mut last = 0;
    loop {
        let batch = session.fetch_after(last, 2, u64::MAX).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 2);
        last = batch.last().unwrap().uid;
        seen.extend(batch.iter().map(|m| parse(&m.raw, LIMIT).unwrap().message_id));
    }
    assert_eq!(
        seen,
        [
            "q1@example.net",
            "q2@example.net",
            "q3@example.net",
            "q4@example.net",
            "q5@example.net"
        ]
    );
}

/// A fetch holds no more bytes than asked, by the sizes Dovecot gives, but always at least one
/// mail: a backlog of big mails comes a few at a time.
#[tokio::test]
async fn a_fetch_stays_within_its_bytes() {
    let Some(dovecot) = Dovecot::start() else { return };
    let mails: Vec<Vec<u8>> = (1..=4).map(customer_mail).collect();
    for mail in &mails {
        dovecot.append(mail).await;
    }
    let size = mails[0].len() as u64;
    let mut session = connect(&dovecot).await;
    let two = session.fetch_after(0, 10, size * 2 + size / 2).await.unwrap();
    assert_eq!(two.len(), 2);
    let one = session.fetch_after(0, 10, 1).await.unwrap();
    assert_eq!(one.len(), 1, "the first mail comes however small the budget");
    let rest = session.fetch_after(two[1].uid, 10, u64::MAX).await.unwrap();
    assert_eq!(rest.len(), 2);
}

#[tokio::test]
async fn idle_wakes_the_loop_soon_after_mail_arrives() {
    let Some(dovecot) = Dovecot::start() else { return };
    let mut session = connect(&dovecot).await;
    assert!(session.supports_idle(), "Dovecot offers IDLE");

    // Nothing happens: the wait lasts its whole max.
    let started = Instant::now();
    session.wait(Duration::from_millis(700)).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(650),
        "{:?}",
        started.elapsed()
    );

    // Mail arrives while waiting: the wait ends long before its max.
    let append = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        dovecot.append(&customer_mail(1)).await;
    };
    let started = Instant::now();
    let (waited, ()) = tokio::join!(session.wait(Duration::from_secs(60)), append);
    waited.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "IDLE returned only after {:?}",
        started.elapsed()
    );
    // The session is usable after IDLE, and the mail is there.
    let mails = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    assert_eq!(mails.len(), 1);

    // Mail that arrived while the loop was busy (announced during another command) does not
    // wait for the next IDLE to be noticed.
    dovecot.append(&customer_mail(2)).await;
    session.mark_seen(&[mails[0].uid]).await.unwrap();
    let started = Instant::now();
    session.wait(Duration::from_secs(60)).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        session
            .fetch_after(mails[0].uid, 10, u64::MAX)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_uidvalidity_change_is_visible_on_the_next_connection() {
    let Some(dovecot) = Dovecot::start() else { return };
    dovecot.append(&customer_mail(1)).await;
    let before = connect(&dovecot).await.uid_validity();
    let changed = dovecot.reset_uidvalidity();
    assert_ne!(changed, before);
    let mut session = connect(&dovecot).await;
    assert_eq!(session.uid_validity(), changed);
    // The mail is still there, under the new UIDVALIDITY.
    assert_eq!(session.fetch_after(0, 10, u64::MAX).await.unwrap().len(), 1);
}

#[tokio::test]
async fn committed_mail_can_be_moved_out_of_the_inbox() {
    let Some(dovecot) = Dovecot::start() else { return };
    dovecot.create_folder("Processed").await;
    dovecot.append(&customer_mail(1)).await;
    dovecot.append(&customer_mail(2)).await;
    let mut session = connect(&dovecot).await;
    let mails = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    session.move_to(&[mails[0].uid], "Processed").await.unwrap();
    assert_eq!(dovecot.counts("INBOX").await.0, 1);
    assert_eq!(dovecot.counts("Processed").await.0, 1);
    let left = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].uid, mails[1].uid);
    match session.move_to(&[mails[1].uid], "No Such Folder").await {
        Err(MailError::Protocol(_)) => {}
        other => panic!("{other:?}"),
    }
    // A folder named in Chinese: on the wire in modified UTF-7 (RFC 3501 §5.1.3).
    dovecot.create_folder("&XfJZBHQG-").await;
    session.move_to(&[mails[1].uid], "已处理").await.unwrap();
    assert_eq!(dovecot.counts("&XfJZBHQG-").await.0, 1);
    assert_eq!(dovecot.counts("INBOX").await.0, 0);
}

#[tokio::test]
async fn imaps_and_starttls_verify_the_server_against_the_sites_ca() {
    let Some(dovecot) = Dovecot::start_tls() else {
        return;
    };
    dovecot.append(&customer_mail(1)).await;
    for server in [dovecot.tls_server(), dovecot.starttls_server()] {
        let mut session = Session::connect(&server, "INBOX")
            .await
            .unwrap_or_else(|e| panic!("{:?}: {e}\n{}", server.security, dovecot.log()));
        assert_eq!(session.fetch_after(0, 10, u64::MAX).await.unwrap().len(), 1);
        // Without the site's CA, the certificate is a stranger's: no session, no password sent.
        let mut untrusted = server.clone();
        untrusted.ca_file = None;
        match Session::connect(&untrusted, "INBOX").await {
            Err(MailError::Connect(reason)) => {
                assert!(
                    reason.contains("TLS") && reason.contains("certificate"),
                    "{reason}"
                );
                assert!(!reason.contains(&server.password));
            }
            other => panic!("{:?}: {other:?}", server.security),
        }
    }
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_error_promptly() {
    let Some(dovecot) = Dovecot::start() else { return };
    let mut server = dovecot.server();
    server.password = "not-the-password".into();
    let started = Instant::now();
    let err = Session::connect(&server, "INBOX").await.unwrap_err();
    assert_eq!(err, MailError::Auth);
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert!(!format!("{err} {err:?}").contains("not-the-password"));
    // A folder that does not exist is not a password problem.
    match Session::connect(&dovecot.server(), "Nope").await {
        Err(MailError::Protocol(reason)) => assert!(reason.contains("Nope"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_port_nobody_listens_on_is_a_connect_error_within_the_timeout() {
    let port = plugboard_tests::kamailio::free_port();
    let mut server = Server::new("127.0.0.1", port, Security::Plain, "u", "secret-password");
    server.timeout = Duration::from_secs(3);
    let started = Instant::now();
    match Session::connect(&server, "INBOX").await {
        Err(MailError::Connect(reason)) => {
            assert!(reason.contains(&port.to_string()), "{reason}");
            assert!(!reason.contains("secret-password"));
        }
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3));
}

fn support() -> Address {
    Address {
        name: Some("示例客服 Support".into()),
        email: "support@example.com".into(),
    }
}

fn reply_to(to: &str, details: serde_json::Value) -> Outbound {
    Outbound {
        id: "0190f3a2-9000-7abc-9def-0123456789ab".into(),
        channel: Channel::Email,
        entry_point: "mailbox:support".into(),
        to: vec![to.into()],
        body: "您好，您的订单已于今天发货。".into(),
        details,
        attachments: vec![],
    }
}

#[tokio::test]
async fn a_reply_reaches_the_customer_threaded_and_their_answer_finds_the_interaction() {
    let (Some(dovecot), Some(sink)) = (Dovecot::start(), SmtpSink::start()) else {
        return;
    };
    // The customer writes in; the connector fetches and parses it as the hub would.
    dovecot.append(&corpus("foxmail_gb18030.eml")).await;
    let mut session = connect(&dovecot).await;
    let fetched = session.fetch_after(0, 10, u64::MAX).await.unwrap();
    let mail = parse(&fetched[0].raw, LIMIT).unwrap();
    let inbound = mail.inbound("mailbox:support");
    assert!(inbound.thread.replies_to.is_empty());

    // The agent answers it.
    let out = reply_to(
        "王小明 <xiaoming.wang@foxmail.com>",
        json!({
            "interaction_id": INTERACTION,
            "subject": mail.subject,
            "in_reply_to": mail.message_id,
            "references": mail.references,
            "cc": ["manager@example.com"],
        }),
    );
    let sender = Sender::new(&sink.server());
    let delivery = sender
        .send(&out, &support(), Some("示例客服"), "example.com")
        .await;
    let Delivery::Sent { external_id } = delivery else {
        panic!("{delivery:?}")
    };
    assert_eq!(thread::token(&external_id).as_deref(), Some(INTERACTION));

    let received = sink.messages();
    assert_eq!(received.len(), 1);
    let wire = String::from_utf8_lossy(&received[0]);
    assert!(wire.contains("X-Envelope-From: support@example.com"), "{wire}");
    assert!(
        wire.contains("X-Envelope-To: xiaoming.wang@foxmail.com, manager@example.com"),
        "{wire}"
    );
    assert!(wire.contains(&format!("Message-ID: <{external_id}>")), "{wire}");
    assert!(
        wire.contains("In-Reply-To: <202411071005395612345@foxmail.com>"),
        "{wire}"
    );
    let reply = parse(&received[0], LIMIT).unwrap();
    assert_eq!(reply.message_id, external_id);
    assert_eq!(reply.subject, "Re: 订单 2024-0815 还没有发货");
    assert_eq!(reply.in_reply_to, ["202411071005395612345@foxmail.com"]);
    assert_eq!(reply.references, ["202411071005395612345@foxmail.com"]);
    assert!(reply.text.starts_with("您好，您的订单已于今天发货。"));
    assert!(reply.text.ends_with("-- \n示例客服"));

    // The customer answers the reply; the mail comes back to the same interaction.
    let answer = format!(
        "From: =?UTF-8?B?546L5bCP5piO?= <xiaoming.wang@foxmail.com>\r\n\
         To: support@example.com\r\nSubject: Re: Re: order 2024-0815\r\n\
         Message-ID: <answer.1@foxmail.com>\r\nIn-Reply-To: <{external_id}>\r\n\
         References: <202411071005395612345@foxmail.com> <{external_id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n收到了，谢谢！\r\n"
    );
    dovecot.append(answer.as_bytes()).await;
    let next = session.fetch_after(fetched[0].uid, 10, u64::MAX).await.unwrap();
    let back = parse(&next[0].raw, LIMIT).unwrap().inbound("mailbox:support");
    assert_eq!(back.thread.replies_to[0], external_id);
    assert_eq!(back.thread.token.as_deref(), Some(INTERACTION));
    assert_eq!(back.message.unwrap().body, "收到了，谢谢！");
}

#[tokio::test]
async fn a_refused_recipient_fails_for_good_and_a_busy_one_for_now() {
    let Some(sink) = SmtpSink::start() else { return };
    let sender = Sender::new(&sink.server());
    let details = json!({"interaction_id": INTERACTION, "subject": "Your order"});

    match sender
        .send(
            &reply_to("reject.me@example.net", details.clone()),
            &support(),
            None,
            "example.com",
        )
        .await
    {
        Delivery::Failed { reason, permanent } => {
            assert!(permanent, "{reason}");
            assert!(reason.starts_with("550"), "{reason}");
            assert!(
                reason.contains("User unknown in local recipient table"),
                "{reason}"
            );
        }
        sent => panic!("{sent:?}"),
    }
    match sender
        .send(
            &reply_to("later@example.net", details.clone()),
            &support(),
            None,
            "example.com",
        )
        .await
    {
        Delivery::Failed { reason, permanent } => {
            assert!(!permanent, "{reason}");
            assert!(reason.starts_with("451"), "{reason}");
            assert!(reason.contains("try again later"), "{reason}");
        }
        sent => panic!("{sent:?}"),
    }
    assert!(sink.messages().is_empty());

    // The same sender still delivers to a good address afterwards.
    let delivery = sender
        .send(
            &reply_to("fine@example.net", details),
            &support(),
            None,
            "example.com",
        )
        .await;
    assert!(matches!(delivery, Delivery::Sent { .. }), "{delivery:?}");
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn starttls_is_used_and_checked_against_the_sites_ca() {
    let Some(sink) = SmtpSink::start_tls() else { return };
    let details = json!({"interaction_id": INTERACTION, "subject": "Over TLS"});
    let out = reply_to("customer@example.net", details);
    let delivery = Sender::new(&sink.server())
        .send(&out, &support(), None, "example.com")
        .await;
    assert!(matches!(delivery, Delivery::Sent { .. }), "{delivery:?}");
    assert_eq!(sink.messages().len(), 1);
    // Without the site's CA the server is a stranger: nothing is sent, and it may pass (the
    // admin adds the CA), so it is not a permanent failure.
    let mut untrusted = sink.server();
    untrusted.ca_file = None;
    let delivery = Sender::new(&untrusted)
        .send(&out, &support(), None, "example.com")
        .await;
    match delivery {
        Delivery::Failed { reason, permanent } => {
            assert!(!permanent);
            assert!(reason.contains("certificate"), "{reason}");
        }
        sent => panic!("{sent:?}"),
    }
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn an_smtp_server_that_is_gone_is_a_transient_failure() {
    let port = plugboard_tests::kamailio::free_port();
    let mut server = Server::new("127.0.0.1", port, Security::Plain, "", "");
    server.timeout = Duration::from_secs(3);
    let delivery = Sender::new(&server)
        .send(
            &reply_to("a@example.net", json!({"interaction_id": INTERACTION})),
            &support(),
            None,
            "example.com",
        )
        .await;
    assert!(
        matches!(delivery, Delivery::Failed { permanent: false, .. }),
        "{delivery:?}"
    );
}
