//! Telegram Bot API: updates in (by the secret token), Bot API requests out and their answers
//! read, `retry_after` honoured exactly.

mod common;

use common::{inbound, message, payload};
use plugboard_channel::{Attachment, Channel, Outbound, RawIdentity};
use plugboard_im::telegram::{self, Bot, FileSource, read_get_file, read_send_response};
use plugboard_im::{Body, Error, Event, Method, SendOutcome};
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "s3cr3t_token-1";

fn receive(name: &str) -> telegram::Update {
    let body = payload("telegram", name);
    let (answer, update) = telegram::receive(SECRET, Some(SECRET), &body, "inbox:3").expect(name);
    assert_eq!(answer.status, 200);
    update
}

#[test]
fn each_message_kind_becomes_a_message() {
    // (fixture, update id, kind, body, media kind and file id)
    type Row<'a> = (&'a str, i64, &'a str, &'a str, Option<(&'a str, &'a str)>);
    let table: &[Row] = &[
        (
            "text.json",
            905130001,
            "text",
            "Hello, my order #4411 has not arrived",
            None,
        ),
        (
            "photo.json",
            905130003,
            "photo",
            "The box arrived like this",
            Some(("image", "AgACAgIAAxkBAAIBQ2Zl-large")),
        ),
        (
            "document.json",
            905130004,
            "document",
            "receipt",
            Some(("document", "BQACAgIAAxkBAAIBRGZl-doc")),
        ),
        (
            "voice.json",
            905130005,
            "voice",
            "",
            Some(("voice", "AwACAgIAAxkBAAIBRWZl-voice")),
        ),
        (
            "audio.json",
            905130006,
            "audio",
            "",
            Some(("audio", "CQACAgIAAxkBAAIBRmZl-audio")),
        ),
        (
            "video.json",
            905130007,
            "video",
            "",
            Some(("video", "BAACAgIAAxkBAAIBR2Zl-video")),
        ),
        (
            "sticker.json",
            905130008,
            "sticker",
            "😀",
            Some(("sticker", "CAACAgIAAxkBAAIBSGZl-sticker")),
        ),
        ("location.json", 905130009, "location", "", None),
        ("contact.json", 905130010, "contact", "Anna Smirnova", None),
        ("poll.json", 905130011, "unsupported", "", None),
    ];
    for (fixture, update_id, kind, body, media) in table {
        let update = receive(fixture);
        assert_eq!(update.update_id, *update_id);
        let inbound = inbound(&update.event);
        let m = message(&update.event);
        assert_eq!(inbound.channel, Channel::Messaging);
        assert_eq!(inbound.entry_point, "inbox:3");
        assert_eq!(
            inbound.identities,
            [RawIdentity::Platform {
                platform: "telegram".into(),
                id: "111222333".into()
            }]
        );
        assert_eq!(inbound.display_name.as_deref(), Some("Ivan Petrov"));
        assert_eq!(m.external_id, "111222333:4821", "{fixture}");
        assert_eq!(m.sent_at, Some(1_718_035_200_000));
        assert_eq!(m.details["kind"], *kind, "{fixture}");
        assert_eq!(m.details["edited"], false);
        assert_eq!(m.body, *body, "{fixture}");
        match media {
            Some((media_kind, id)) => {
                assert_eq!(m.details["media"][0]["kind"], *media_kind, "{fixture}");
                assert_eq!(m.details["media"][0]["id"], *id, "{fixture}");
            }
            None => assert!(m.details.get("media").is_none(), "{fixture}"),
        }
    }
}

#[test]
fn details_carry_what_the_console_needs() {
    let doc = receive("document.json");
    let media = &message(&doc.event).details["media"][0];
    assert_eq!(
        (&media["filename"], &media["content_type"], &media["size"]),
        (&json!("receipt.pdf"), &json!("application/pdf"), &json!(48213))
    );
    let poll = receive("poll.json");
    assert_eq!(message(&poll.event).details["raw_kind"], "poll");
    let location = receive("location.json");
    assert_eq!(
        message(&location.event).details["location"]["latitude"],
        55.751244
    );
    let contact = receive("contact.json");
    assert_eq!(
        message(&contact.event).details["contact"]["phone_number"],
        "+79161234567"
    );
    let reply = receive("reply.json");
    assert_eq!(inbound(&reply.event).thread.replies_to, ["111222333:4820"]);
}

#[test]
fn an_edit_names_the_message_it_changes() {
    let edit = receive("edited_message.json");
    let m = message(&edit.event);
    assert_eq!(edit.update_id, 905130012);
    assert_eq!(
        m.external_id, "111222333:4821:edited:1718035260",
        "a message of its own"
    );
    assert_eq!(m.details["edits"], "111222333:4821");
    let Event::Message(inbound) = &edit.event else {
        unreachable!()
    };
    assert_eq!(
        inbound.thread.replies_to[0], "111222333:4821",
        "joins the original's conversation"
    );
    assert_eq!(m.details["edited"], true);
    assert_eq!(m.details["edit_date"], 1_718_035_260_000i64);
    assert_eq!(m.body, "Hello, my order #4412 has not arrived");
}

#[test]
fn channel_posts_and_other_updates_are_ignored() {
    for fixture in ["channel_post.json", "callback_query.json"] {
        let update = receive(fixture);
        assert!(matches!(update.event, Event::Ignored(_)), "{fixture}");
    }
}

#[test]
fn the_secret_token_is_required_and_exact() {
    let body = payload("telegram", "text.json");
    let cases: &[(Option<&str>, u16)] = &[
        (None, 401),
        (Some(""), 401),
        (Some("s3cr3t_token-2"), 401),
        (Some("s3cr3t_token-1 "), 401),
        (Some("S3CR3T_TOKEN-1"), 401),
    ];
    for (header, status) in cases {
        let err = telegram::receive(SECRET, *header, &body, "inbox:3").unwrap_err();
        assert_eq!(err.http_status(), *status, "{header:?}");
    }
    assert!(matches!(
        telegram::verify_secret("", Some("x")),
        Err(Error::Config(_))
    ));
}

#[test]
fn bad_bodies_are_refused() {
    let big = vec![b' '; telegram::MAX_BODY + 1];
    assert_eq!(
        telegram::receive(SECRET, Some(SECRET), &big, "i")
            .unwrap_err()
            .http_status(),
        413
    );
    for body in [
        &b"{"[..],
        b"{}",
        br#"{"update_id":"1"}"#,
        br#"{"update_id":1,"message":{"message_id":1,"date":1}}"#,
        br#"{"update_id":1,"message":{"message_id":1,"chat":{"id":"x"}}}"#,
    ] {
        let err = telegram::receive(SECRET, Some(SECRET), body, "i").unwrap_err();
        assert_eq!(err.http_status(), 400, "{}", String::from_utf8_lossy(body));
    }
}

fn bot() -> Bot {
    Bot::new("https://api.telegram.org/", "123456:ABC-DEF")
}

fn json_of(body: &Body) -> Value {
    match body {
        Body::Bytes(b) => serde_json::from_slice(b).unwrap(),
        other => panic!("expected bytes, got {other:?}"),
    }
}

fn outbound(body: &str, attachments: Vec<Attachment>) -> Outbound {
    Outbound {
        id: "m1".into(),
        channel: Channel::Messaging,
        entry_point: "inbox:3".into(),
        to: vec!["111222333".into()],
        body: body.into(),
        details: json!({"reply_to": 4821}),
        attachments,
    }
}

fn file(name: &str, content_type: &str) -> Attachment {
    Attachment {
        filename: name.into(),
        content_type: content_type.into(),
        content_id: None,
        data: vec![1, 2, 3],
    }
}

#[test]
fn replies_become_bot_api_requests() {
    let text = bot().requests_for(&outbound("It ships today", vec![])).unwrap();
    assert_eq!(text.len(), 1);
    assert_eq!(
        text[0].url,
        "https://api.telegram.org/bot123456:ABC-DEF/sendMessage"
    );
    assert_eq!(
        json_of(&text[0].body),
        json!({"chat_id": "111222333", "text": "It ships today",
               "reply_parameters": {"message_id": 4821, "allow_sending_without_reply": true}})
    );

    let files = bot()
        .requests_for(&outbound(
            "Here you are",
            vec![
                file("label.png", "image/png"),
                file("invoice.pdf", "application/pdf"),
            ],
        ))
        .unwrap();
    let urls: Vec<&str> = files.iter().map(|r| r.url.rsplit('/').next().unwrap()).collect();
    assert_eq!(urls, ["sendPhoto", "sendDocument"]);
    let Body::Multipart(parts) = &files[0].body else {
        panic!("an upload is multipart")
    };
    let described: Vec<(&str, Option<&str>)> = parts
        .iter()
        .map(|p| (p.name.as_str(), p.filename.as_deref()))
        .collect();
    assert_eq!(
        described,
        [("chat_id", None), ("caption", None), ("photo", Some("label.png"))]
    );
    let Body::Multipart(parts) = &files[1].body else {
        panic!("an upload is multipart")
    };
    assert!(parts.iter().all(|p| p.name != "caption"), "the caption goes once");

    let long = "x".repeat(telegram::MAX_CAPTION + 1);
    let split = bot()
        .requests_for(&outbound(&long, vec![file("a.pdf", "application/pdf")]))
        .unwrap();
    assert!(split[0].url.ends_with("/sendMessage") && split[1].url.ends_with("/sendDocument"));

    let by_id = bot().send_photo("1", &FileSource::Id("AgAC".into()), "");
    assert_eq!(json_of(&by_id.body), json!({"chat_id": "1", "photo": "AgAC"}));

    assert!(bot().requests_for(&outbound("  ", vec![])).is_err());
    let mut nowhere = outbound("hi", vec![]);
    nowhere.to.clear();
    assert!(bot().requests_for(&nowhere).is_err());
}

#[test]
fn bot_api_answers_are_read() {
    let ok = br#"{"ok":true,"result":{"message_id":4822,"from":{"id":7000000001,"is_bot":true,"first_name":"Acme Support"},"chat":{"id":111222333,"type":"private"},"date":1718035400,"text":"It ships today"}}"#;
    assert_eq!(
        read_send_response(200, ok),
        SendOutcome::Sent {
            external_id: "111222333:4822".into()
        }
    );
    let table: &[(u16, &str, SendOutcome)] = &[
        (
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 17","parameters":{"retry_after":17}}"#,
            SendOutcome::Retry {
                reason: "Too Many Requests: retry after 17".into(),
                after: Some(Duration::from_secs(17)),
            },
        ),
        (
            403,
            r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
            SendOutcome::Failed {
                reason: "The customer cannot be reached on Telegram (Forbidden: bot was blocked by the user)"
                    .into(),
            },
        ),
        (
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
            SendOutcome::Failed {
                reason: "Bad Request: chat not found".into(),
            },
        ),
        (
            502,
            "<html>Bad Gateway</html>",
            SendOutcome::Retry {
                reason: "Telegram answered HTTP 502".into(),
                after: None,
            },
        ),
        (
            401,
            r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#,
            SendOutcome::Failed {
                reason: "Telegram refused the bot token (Unauthorized)".into(),
            },
        ),
    ];
    for (status, body, expected) in table {
        assert_eq!(&read_send_response(*status, body.as_bytes()), expected, "{body}");
    }
}

#[test]
fn files_are_fetched_through_get_file_from_telegram_only() {
    let request = bot().get_file("AwACAgIAAxkBAAIBRWZl-voice");
    assert_eq!(request.url, "https://api.telegram.org/bot123456:ABC-DEF/getFile");
    assert_eq!(
        json_of(&request.body),
        json!({"file_id": "AwACAgIAAxkBAAIBRWZl-voice"})
    );
    let answer = br#"{"ok":true,"result":{"file_id":"AwACAgIAAxkBAAIBRWZl-voice","file_unique_id":"AgADv1","file_size":15872,"file_path":"voice/file_12.oga"}}"#;
    let info = read_get_file(200, answer).unwrap();
    let download = bot().file_download(&info.file_path).unwrap();
    assert_eq!(download.method, Method::Get);
    assert_eq!(
        download.url,
        "https://api.telegram.org/file/bot123456:ABC-DEF/voice/file_12.oga"
    );
    for path in [
        "../../etc/passwd",
        "/abs",
        "",
        "a?b=c",
        "https://evil/x",
        "a/../b",
    ] {
        assert!(bot().file_url(path).is_err(), "{path}");
    }
    assert!(matches!(
        read_get_file(200, br#"{"ok":true,"result":{"file_id":"x"}}"#),
        Err(SendOutcome::Failed { .. })
    ));
}

#[test]
fn set_webhook_carries_the_secret() {
    let request = bot()
        .set_webhook("https://hub.example.com/hooks/telegram/3", SECRET)
        .unwrap();
    assert_eq!(
        request.url,
        "https://api.telegram.org/bot123456:ABC-DEF/setWebhook"
    );
    assert_eq!(
        json_of(&request.body),
        json!({"url": "https://hub.example.com/hooks/telegram/3", "secret_token": SECRET,
               "allowed_updates": ["message", "edited_message"]})
    );
    assert!(bot().set_webhook("https://h/x", "has space").is_err());
    assert!(bot().set_webhook("https://h/x", &"a".repeat(257)).is_err());
    assert!(bot().set_webhook("http://h/x", SECRET).is_err());
}
