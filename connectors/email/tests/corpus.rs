//! The parser over mails in the shapes real clients send (`tests/mails/`, written by `make.py`):
//! what an agent would see of each one, decoded exactly.

use plugboard_channel::{Channel, RawIdentity};
use plugboard_email::parse::FORWARDED;
use plugboard_email::{Mail, ParseError, html, parse, thread};

const LIMIT: usize = 1 << 20;
const INTERACTION: &str = "0190f3a2-7b1c-7cde-8f00-1234567890ab";
const OUR_ID: &str =
    "pb.0190f3a2-7b1c-7cde-8f00-1234567890ab.0190f3a2-8000-7abc-9def-0123456789ab@support.example.com";

fn raw(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/mails")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn mail(name: &str) -> Mail {
    parse(&raw(name), LIMIT).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn senders_subjects_and_text_decode_exactly() {
    #[rustfmt::skip]
    let table: &[(&str, Option<&str>, &str, &str, &str)] = &[
        // (file, sender's name, sender's address, subject, text)
        ("gmail_alternative.eml", Some("Alice Example"), "alice.example@gmail.com", "Damaged order #4711",
         "Hi,\n\nMy order #4711 arrived damaged — the box was crushed.\nCan you send a replacement?\n\nThanks,\nAlice"),
        ("outlook_windows1252.eml", Some("Björn Lindqvist"), "bjorn.lindqvist@contoso.example", "Invoice 2024-117 wrong amount",
         "Hello team,\n\nThe invoice shows 120 € but we agreed on “100 €”.\nCould you check?\n\nBest regards\nBjörn"),
        ("apple_related.eml", Some("Chloé Martin"), "chloe.martin@icloud.com", "Broken part",
         "Here is a photo of the broken part.\n\n[image: part.png]\n\nCheers,\nChloé"),
        ("foxmail_gb18030.eml", Some("王小明"), "xiaoming.wang@foxmail.com", "订单 2024-0815 还没有发货",
         "您好：\n\n我的订单号是 2024-0815，付款后一直没有发货，请帮忙查一下。😀\n\n谢谢！\n王小明"),
        ("qq_gbk.eml", Some("张伟"), "123456789@qq.com", "耳机左边没有声音",
         "你好，\n\n上周买的耳机左边没有声音，能换一个吗？\n\n张伟"),
        ("netease_gb2312.eml", Some("李娜"), "lina_1988@163.com", "发票抬头错误",
         "客服你好，发票抬头写错了，请重新开一张。\n李娜"),
        ("big5_taiwan.eml", Some("陳志明"), "chihming.chen@hinet.example.tw", "詢問出貨時間",
         "您好，請問我上週訂購的商品何時出貨？\n陳志明 敬上"),
        ("iso2022jp.eml", Some("山田太郎"), "taro.yamada@example.co.jp", "配送状況の確認",
         "お世話になっております。\n注文番号 JP-2211 の配送状況を教えてください。\n\n山田太郎"),
        ("shift_jis.eml", Some("佐藤花子"), "hanako.sato@example.ne.jp", "返品について",
         "いつもありがとうございます。\n商品の返品方法を教えてください。\n佐藤花子"),
        ("euc_kr.eml", Some("김민준"), "minjun.kim@naver.example", "배송 문의",
         "안녕하세요.\n주문한 상품이 아직 도착하지 않았습니다.\n김민준 드림"),
        ("latin1.eml", Some("Jürgen Groß"), "juergen@example.de", "Lieferung nicht erhalten, bitte prüfen",
         "Grüße aus München! Ça va? Die Lieferung kam leider nicht an.\nJürgen"),
        ("attachment_rfc2231.eml", Some("刘洋"), "liu.yang@example.cn", "报价单和合同",
         "请见附件中的报价单和合同。\n\n刘洋"),
        // HTML only: the text comes from the HTML, without its script or form controls' markup.
        ("hostile_html.eml", Some("Security Team"), "security@phish.example", "Action required",
         "Please verify your account.\n\nLog in\nClick here Help"),
        ("newsletter.eml", Some("Shop News"), "news@shop.example", "November deals",
         "Our November deals are here!"),
        // The boundary never closes: the text that did arrive is shown.
        ("unclosed_boundary.eml", Some("Truncated"), "cut@example.com", "Cut off",
         "The rest of this mail was lost on the way."),
        ("forward_rfc822.eml", Some("Kevin Brown"), "kevin@example.com", "Fwd: 退款進度",
         "Forwarding a customer's question, see below.\n\nKevin\n\n---------- Forwarded message ----------\n\
          From: Mei Lin <mei.lin@example.tw>\nDate: Sun, 10 Nov 2024 20:00:00 +0800\nSubject: 退款進度\n\
          To: kevin@example.com\n\n請問退款什麼時候到帳？"),
    ];
    for (file, name, email, subject, text) in table {
        let mail = mail(file);
        assert_eq!(mail.from.name.as_deref(), *name, "{file}");
        assert_eq!(mail.from.email, *email, "{file}");
        assert_eq!(mail.subject, *subject, "{file}");
        assert_eq!(mail.text, *text, "{file}");
    }
}

#[test]
fn recipients_and_dates() {
    let outlook = mail("outlook_windows1252.eml");
    let to: Vec<_> = outlook
        .to
        .iter()
        .map(|a| (a.name.as_deref(), a.email.as_str()))
        .collect();
    assert_eq!(to, [(None, "support@example.com")]);
    let cc: Vec<_> = outlook
        .cc
        .iter()
        .map(|a| (a.name.as_deref(), a.email.as_str()))
        .collect();
    assert_eq!(
        cc,
        [
            (Some("Accounts"), "accounts@contoso.example"),
            (Some("Zoë Müller"), "zoe@contoso.example")
        ]
    );
    // Tue, 5 Nov 2024 14:03:11 +0000
    assert_eq!(outlook.date, Some(1_730_815_391_000));
    // Thu, 7 Nov 2024 10:05:40 +0800
    assert_eq!(mail("foxmail_gb18030.eml").date, Some(1_730_945_140_000));
    let invite = mail("calendar_invite.eml");
    let reply_to = invite.reply_to.expect("a Reply-To");
    assert_eq!(reply_to.email, "alice.example@gmail.com");
}

#[test]
fn attachments_keep_their_names_types_and_inline_ids() {
    #[rustfmt::skip]
    type Files<'a> = &'a [(&'a str, &'a str, Option<&'a str>)];
    let table: &[(&str, Files)] = &[
        ("gmail_alternative.eml", &[]),
        (
            "apple_related.eml",
            &[(
                "part.png",
                "image/png",
                Some("3F1E5C2A-0B9D-4E47-9C31-7E2B1D0F5A6C@home"),
            )],
        ),
        (
            "attachment_rfc2231.eml",
            &[
                // RFC 2231 with a charset.
                ("报价单.pdf", "application/pdf", None),
                // RFC 2047 inside quotes, in GB18030, as Outlook and Foxmail write it.
                (
                    "合同草案.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    None,
                ),
                // RFC 2231 §3 continuations.
                ("客户名单-2024年第四季度.csv", "text/csv", None),
            ],
        ),
        ("forward_rfc822.eml", &[("forwarded.eml", "message/rfc822", None)]),
        ("calendar_invite.eml", &[("invite.ics", "text/calendar", None)]),
        (
            "bounce_report.eml",
            &[
                ("delivery-status.txt", "message/delivery-status", None),
                ("returned-headers.txt", "text/rfc822-headers", None),
            ],
        ),
    ];
    for (file, expected) in table {
        let mail = mail(file);
        let got: Vec<_> = mail
            .attachments
            .iter()
            .map(|a| {
                (
                    a.filename.as_str(),
                    a.content_type.as_str(),
                    a.content_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(got, *expected, "{file}");
    }
    let pdf = &mail("attachment_rfc2231.eml").attachments[0];
    assert!(pdf.data.starts_with(b"%PDF-1.4"));
    let png = &mail("apple_related.eml").attachments[0];
    assert!(png.data.starts_with(b"\x89PNG\r\n"));
    let invite = &mail("calendar_invite.eml").attachments[0];
    let ics = String::from_utf8(invite.data.clone()).unwrap();
    assert!(ics.contains("METHOD:REQUEST") && ics.contains("SUMMARY:Call about order 4711"));
    // The forwarded mail is kept whole, and parses as the mail it was.
    let forwarded = &mail("forward_rfc822.eml").attachments[0];
    let original = parse(&forwarded.data, LIMIT).unwrap();
    assert_eq!(original.subject, "退款進度");
    assert_eq!(original.message_id, "original.20241110@example.tw");
}

#[test]
fn the_forwarded_text_follows_the_forwarding_note() {
    let text = mail("forward_rfc822.eml").text;
    let (note, forwarded) = text.split_once(FORWARDED).expect("a forwarded section");
    assert!(note.contains("see below"));
    assert!(forwarded.contains("From: Mei Lin <mei.lin@example.tw>"));
    assert!(forwarded.ends_with("請問退款什麼時候到帳？"));
}

#[test]
fn machines_are_recognised_and_people_are_not() {
    let table: &[(&str, Option<&str>)] = &[
        ("outlook_oof.eml", Some("auto-submitted: auto-replied")),
        ("bounce_report.eml", Some("auto-submitted: auto-replied")),
        ("newsletter.eml", Some("precedence: bulk")),
        ("gmail_alternative.eml", None),
        ("gmail_reply.eml", None),
        ("outlook_windows1252.eml", None),
        ("apple_related.eml", None),
        ("foxmail_gb18030.eml", None),
        ("qq_gbk.eml", None),
        ("calendar_invite.eml", None),
        ("forward_rfc822.eml", None),
    ];
    for (file, expected) in table {
        assert_eq!(mail(file).automated.as_deref(), *expected, "{file}");
    }
}

#[test]
fn a_reply_to_our_mail_threads_by_its_headers_and_token() {
    let reply = mail("gmail_reply.eml");
    assert_eq!(reply.in_reply_to, [OUR_ID]);
    let thread = thread::thread_of(&reply);
    assert_eq!(
        thread.replies_to,
        [OUR_ID, "CAH7xq3vZ9K1m2N3bQ_x+Yt5w@mail.gmail.com"]
    );
    assert_eq!(thread.token.as_deref(), Some(INTERACTION));
    // A first mail continues nothing, whatever its subject says.
    let first = thread::thread_of(&mail("gmail_alternative.eml"));
    assert!(first.replies_to.is_empty() && first.token.is_none());
    let fwd = thread::thread_of(&mail("forward_rfc822.eml"));
    assert!(fwd.replies_to.is_empty() && fwd.token.is_none());
}

#[test]
fn html_is_shown_only_sanitised() {
    let hostile = mail("hostile_html.eml").html.expect("html");
    for bad in [
        "<script",
        "document.cookie",
        "onerror",
        "<form",
        "<input",
        "javascript:",
        "<svg",
        "onload",
        "<iframe",
        "evil.example",
    ] {
        assert!(!hostile.contains(bad), "{bad} in {hostile}");
    }
    assert!(hostile.contains("data-remote-src=\"https://tracker.example/open.gif?id=42\""));
    assert!(!hostile.contains(" src=\"https://tracker"));
    assert!(hostile.contains("href=\"https://example.com/help\""));

    let apple = mail("apple_related.eml").html.expect("html");
    assert!(apple.contains("src=\"cid:3F1E5C2A-0B9D-4E47-9C31-7E2B1D0F5A6C@home\""));
    let outlook = mail("outlook_windows1252.eml").html.expect("html");
    assert!(outlook.contains("120 €") && !outlook.contains("o:p") && !outlook.contains("<style"));
    // Sanitising what we sanitised changes nothing.
    assert_eq!(html::sanitise(&hostile), hostile);
    // A text-only mail has no HTML to show.
    assert_eq!(mail("big5_taiwan.eml").html, None);
}

#[test]
fn mail_that_cannot_be_shown_faithfully_is_refused_with_its_reason() {
    assert_eq!(parse(&raw("no_from.eml"), LIMIT), Err(ParseError::NoFrom));
    assert_eq!(
        parse(&raw("unknown_charset.eml"), LIMIT),
        Err(ParseError::UnknownCharset("x-klingon".into()))
    );
    match parse(&raw("garbage_base64.eml"), LIMIT) {
        Err(ParseError::Malformed(reason)) => assert!(reason.contains("base64"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let big = raw("foxmail_gb18030.eml");
    assert_eq!(
        parse(&big, 1000),
        Err(ParseError::TooBig {
            size: big.len(),
            limit: 1000
        })
    );
}

#[test]
fn every_good_mail_parses_the_same_twice() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mails");
    let mut parsed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "eml") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        if let Ok(first) = parse(&raw, LIMIT) {
            assert_eq!(parse(&raw, LIMIT).unwrap(), first, "{}", path.display());
            assert!(!first.message_id.contains(['<', '>']));
            parsed += 1;
        }
    }
    assert!(parsed >= 18, "only {parsed} mails parsed");
}

#[test]
fn inbound_is_what_the_hub_takes() {
    let mail = mail("gmail_reply.eml");
    let inbound = mail.inbound("mailbox:support");
    assert_eq!(inbound.channel, Channel::Email);
    assert_eq!(inbound.entry_point, "mailbox:support");
    assert_eq!(
        inbound.identities,
        [RawIdentity::Email("alice.example@gmail.com".into())]
    );
    assert_eq!(inbound.display_name.as_deref(), Some("Alice Example"));
    assert_eq!(inbound.thread.token.as_deref(), Some(INTERACTION));
    assert_eq!(inbound.automated, None);
    let message = inbound.message.expect("a message");
    assert_eq!(message.external_id, "CAH7xq3tR8s9T0uV1wX2yZ3a@mail.gmail.com");
    assert!(message.body.starts_with("Yes, the same address is fine."));
    assert_eq!(message.sent_at, mail.date);
    let details = &message.details;
    assert_eq!(details["subject"], "Re: Damaged order #4711");
    assert_eq!(details["from"]["email"], "alice.example@gmail.com");
    assert_eq!(details["from"]["name"], "Alice Example");
    assert_eq!(details["to"][0]["email"], "support@example.com");
    assert_eq!(details["cc"], serde_json::json!([]));
    assert_eq!(details["date"], 1_730_712_044_000_i64);
    assert_eq!(details["message_id"], "CAH7xq3tR8s9T0uV1wX2yZ3a@mail.gmail.com");
    assert!(details["html"].as_str().unwrap().contains("same address"));

    // Reply-To is where answers go, never who the sender is.
    let raw = b"From: Mallory <mallory@example.net>\r\nReply-To: alice.example@gmail.com\r\n\
                Subject: hi\r\n\r\nbody";
    let spoof = parse(raw, LIMIT).unwrap();
    assert_eq!(spoof.reply_to.as_ref().unwrap().email, "alice.example@gmail.com");
    assert_eq!(
        spoof.inbound("mailbox:support").identities,
        [RawIdentity::Email("mallory@example.net".into())]
    );
    // Machines' mail says so.
    let oof = crate::mail("outlook_oof.eml").inbound("mailbox:support");
    assert_eq!(oof.automated.as_deref(), Some("auto-submitted: auto-replied"));
}

/// The `mime` fuzz target's find: a nested message/rfc822 part with a corrupt boundary, on which
/// mail-parser's debug build panicked. It reads as a mail (or a clear error), never a panic.
#[test]
fn a_corrupt_nested_message_is_read_without_a_panic() {
    let raw = raw("fuzz_broken_nested_rfc822.eml");
    if let Ok(mail) = parse(&raw, LIMIT) {
        assert_eq!(mail.from.email, "kevin@example.com");
    }
}
