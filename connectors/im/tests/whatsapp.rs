//! WhatsApp Cloud API: the documented webhook payloads in, the Graph API's answers read, and the
//! signature refused when forged, missing or over another body.

mod common;

use common::{inbound, message, payload};
use plugboard_channel::{Channel, Outbound, RawIdentity};
use plugboard_im::whatsapp::{
    self, Api, MediaKind, MediaSource, OutMessage, read_media_info, read_send_response,
};
use plugboard_im::{Body, DeliveryState, Error, Event, SendOutcome};
use serde_json::{Value, json};

const SECRET: &str = "app-secret";
const NUMBER_ID: &str = "106540352242922";

fn inbox(number_id: &str) -> Option<String> {
    (number_id == NUMBER_ID).then(|| "inbox:7".to_owned())
}

fn receive(name: &str) -> Vec<Event> {
    let body = payload("whatsapp", name);
    let signature = whatsapp::sign(SECRET, &body);
    let (answer, events) = whatsapp::receive(SECRET, Some(&signature), &body, inbox).expect(name);
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    events
}

#[test]
fn each_documented_message_kind_becomes_a_message() {
    // (fixture, kind in details, body on the timeline, media kind and id to fetch)
    type Row<'a> = (&'a str, &'a str, &'a str, Option<(&'a str, &'a str)>);
    let table: &[Row] = &[
        ("text.json", "text", "Does it come in another color?", None),
        (
            "image.json",
            "image",
            "Is this the one?",
            Some(("image", "1003383421387256")),
        ),
        (
            "audio_voice.json",
            "audio",
            "",
            Some(("voice", "1003383421387257")),
        ),
        (
            "video.json",
            "video",
            "unboxing",
            Some(("video", "1003383421387258")),
        ),
        (
            "document.json",
            "document",
            "my invoice",
            Some(("document", "1003383421387259")),
        ),
        (
            "sticker.json",
            "sticker",
            "",
            Some(("sticker", "1003383421387260")),
        ),
        (
            "location.json",
            "location",
            "Main Campus, 1 Hacker Way, Menlo Park, CA 94025",
            None,
        ),
        ("contacts.json", "contacts", "Barbara Johnson", None),
        ("interactive_button_reply.json", "interactive", "Cancel", None),
        (
            "interactive_list_reply.json",
            "interactive",
            "Express Shipping",
            None,
        ),
        ("button.json", "button", "Yes, reschedule", None),
        ("reaction.json", "reaction", "👍", None),
        ("unsupported.json", "unsupported", "", None),
    ];
    for (fixture, kind, body, media) in table {
        let events = receive(fixture);
        assert_eq!(events.len(), 1, "{fixture}");
        let inbound = inbound(&events[0]);
        let m = message(&events[0]);
        assert_eq!(inbound.channel, Channel::Messaging);
        assert_eq!(inbound.entry_point, "inbox:7");
        assert_eq!(
            inbound.identities,
            [
                RawIdentity::Platform {
                    platform: "whatsapp".into(),
                    id: "16505551234".into()
                },
                RawIdentity::Phone("+16505551234".into()),
            ],
            "{fixture}"
        );
        assert_eq!(inbound.display_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(
            m.external_id,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
        );
        assert_eq!(m.sent_at, Some(1_749_416_383_000));
        assert_eq!(m.details["kind"], *kind, "{fixture}");
        assert_eq!(m.body, *body, "{fixture}");
        assert_eq!(
            m.details["reply_window"]["closes_at"],
            1_749_416_383_000i64 + 86_400_000
        );
        assert!(
            m.attachments.is_empty(),
            "media are fetched by the hub, not carried"
        );
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
fn details_carry_what_the_console_shows() {
    let doc = receive("document.json");
    let media = &message(&doc[0]).details["media"][0];
    assert_eq!(media["filename"], "invoice-4411.pdf");
    assert_eq!(media["content_type"], "application/pdf");

    let location = receive("location.json");
    assert_eq!(message(&location[0]).details["location"]["latitude"], 37.483307);

    let list = receive("interactive_list_reply.json");
    let m = message(&list[0]);
    assert_eq!(m.details["reply"]["id"], "priority_express");
    assert_eq!(
        inbound(&list[0]).thread.replies_to,
        ["wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NTRENTcwQkU2OTc1NDI3NkIA"],
        "a reply to our message continues its conversation"
    );

    let reaction = receive("reaction.json");
    assert_eq!(
        inbound(&reaction[0]).thread.replies_to,
        ["wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NTRENTcwQkU2OTc1NDI3NkIA"]
    );

    let unsupported = receive("unsupported.json");
    let m = message(&unsupported[0]);
    assert_eq!(m.details["raw_kind"], "unsupported");
    assert_eq!(m.details["errors"][0]["code"], 131051);
}

#[test]
fn statuses_update_our_messages() {
    let id = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NTRENTcwQkU2OTc1NDI3NkIA";
    let table = [
        ("status_sent.json", DeliveryState::Sent, 1_750_263_773_000),
        ("status_read.json", DeliveryState::Read, 1_750_263_790_000),
        (
            "status_failed.json",
            DeliveryState::Failed {
                reason: "Re-engagement message: Message failed to send because more than 24 \
                         hours have passed since the customer last replied to this number. \
                         (code 131047)"
                    .into(),
            },
            1_750_263_800_000,
        ),
    ];
    for (fixture, state, at) in table {
        assert_eq!(
            receive(fixture),
            [Event::Status {
                external_id: id.into(),
                state,
                at: Some(at)
            }],
            "{fixture}"
        );
    }
}

#[test]
fn other_changes_and_other_numbers_are_ignored() {
    assert!(matches!(&receive("account_update.json")[..], [Event::Ignored(_)]));
    let body = payload("whatsapp", "text.json");
    let events = whatsapp::parse(&body, |_| None).unwrap();
    assert!(matches!(&events[..], [Event::Ignored(r)] if r.contains(NUMBER_ID)));
}

#[test]
fn a_batch_keeps_every_message_in_order() {
    let mut root: Value = serde_json::from_slice(&payload("whatsapp", "text.json")).unwrap();
    let first = root["entry"][0]["changes"][0]["value"]["messages"][0].clone();
    let mut second = first.clone();
    second["id"] = json!("wamid.second");
    second["text"]["body"] = json!("hello?");
    root["entry"][0]["changes"][0]["value"]["messages"] = json!([first, second]);
    let events = whatsapp::parse(root.to_string().as_bytes(), inbox).unwrap();
    let bodies: Vec<&str> = events.iter().map(|e| message(e).body.as_str()).collect();
    assert_eq!(bodies, ["Does it come in another color?", "hello?"]);
}

#[test]
fn forged_missing_and_misplaced_signatures_are_refused() {
    let body = payload("whatsapp", "text.json");
    let good = whatsapp::sign(SECRET, &body);
    let other_body = whatsapp::sign(SECRET, b"{}");
    let other_secret = whatsapp::sign("not-the-secret", &body);
    let cases: &[(Option<&str>, Error)] = &[
        (None, Error::MissingSignature("X-Hub-Signature-256 signature")),
        (Some(""), Error::MissingSignature("X-Hub-Signature-256 signature")),
        (
            Some(&other_body),
            Error::BadSignature("X-Hub-Signature-256 signature"),
        ),
        (
            Some(&other_secret),
            Error::BadSignature("X-Hub-Signature-256 signature"),
        ),
        (
            Some(good.trim_start_matches("sha256=")),
            Error::BadSignature("X-Hub-Signature-256 signature"),
        ),
        (
            Some("sha256=zz"),
            Error::BadSignature("X-Hub-Signature-256 signature"),
        ),
        (
            Some("sha1=0329a06b"),
            Error::BadSignature("X-Hub-Signature-256 signature"),
        ),
    ];
    for (header, error) in cases {
        let got = whatsapp::receive(SECRET, *header, &body, inbox).unwrap_err();
        assert_eq!(&got, error, "{header:?}");
        assert_eq!(got.http_status(), 401);
    }
    // One flipped byte of the body.
    let mut tampered = body.clone();
    tampered[40] ^= 1;
    assert!(whatsapp::receive(SECRET, Some(&good), &tampered, inbox).is_err());
}

#[test]
fn bad_bodies_are_refused_not_panicked_on() {
    let big = vec![b' '; whatsapp::MAX_BODY + 1];
    let sig = whatsapp::sign(SECRET, &big);
    let err = whatsapp::receive(SECRET, Some(&sig), &big, inbox).unwrap_err();
    assert_eq!(err.http_status(), 413);
    for body in [&b"{"[..], b"[]", b"null", b"\xff\xfe"] {
        let sig = whatsapp::sign(SECRET, body);
        let err = whatsapp::receive(SECRET, Some(&sig), body, inbox).unwrap_err();
        assert_eq!(err.http_status(), 400, "{body:?}");
    }
    // Well-formed JSON of the wrong shape yields nothing rather than failing.
    let odd = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":"x","statuses":[7]}}]}]}"#;
    let events = whatsapp::parse(odd, inbox).unwrap();
    assert!(matches!(&events[..], [Event::Ignored(_)]));
}

#[test]
fn the_subscription_handshake() {
    let ok = whatsapp::verify_subscription(
        "tok",
        "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok",
    )
    .unwrap();
    assert_eq!((ok.status, ok.body.as_str()), (200, "1158201444"));
    for query in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=tok2",
        "hub.mode=subscribe&hub.challenge=1",
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=tok",
        "",
    ] {
        let err = whatsapp::verify_subscription("tok", query).unwrap_err();
        assert_eq!(err.http_status(), 403, "{query}");
    }
    assert!(whatsapp::verify_subscription("", "hub.mode=subscribe&hub.verify_token=").is_err());
}

fn api() -> Api {
    Api::new("https://graph.facebook.com/", "v21.0", NUMBER_ID, "EAAG")
}

fn json_body(body: &Body) -> Value {
    match body {
        Body::Bytes(b) => serde_json::from_slice(b).unwrap(),
        other => panic!("expected bytes, got {other:?}"),
    }
}

#[test]
fn replies_become_graph_api_requests() {
    let text = api().send(
        "16505551234",
        &OutMessage::Text {
            body: "Yes, in blue".into(),
        },
    );
    assert_eq!(
        text.url,
        "https://graph.facebook.com/v21.0/106540352242922/messages"
    );
    assert_eq!(text.header("authorization"), Some("Bearer EAAG"));
    assert_eq!(text.header("content-type"), Some("application/json"));
    assert_eq!(
        json_body(&text.body),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": "16505551234", "type": "text",
               "text": {"preview_url": false, "body": "Yes, in blue"}})
    );

    let doc = api().send(
        "16505551234",
        &OutMessage::Media {
            kind: MediaKind::Document,
            source: MediaSource::Link("https://example.com/a.pdf".into()),
            caption: Some("your invoice".into()),
            filename: Some("a.pdf".into()),
        },
    );
    assert_eq!(
        json_body(&doc.body)["document"],
        json!({"link": "https://example.com/a.pdf", "caption": "your invoice", "filename": "a.pdf"})
    );
    let audio = api().send(
        "16505551234",
        &OutMessage::Media {
            kind: MediaKind::Audio,
            source: MediaSource::Id("42".into()),
            caption: Some("ignored".into()),
            filename: Some("ignored".into()),
        },
    );
    assert_eq!(json_body(&audio.body)["audio"], json!({"id": "42"}));

    let template = api().send(
        "16505551234",
        &OutMessage::Template {
            name: "order_update".into(),
            language: "en_US".into(),
            params: vec!["Sheena".into(), "#4411".into()],
        },
    );
    assert_eq!(
        json_body(&template.body)["template"],
        json!({"name": "order_update", "language": {"code": "en_US"},
               "components": [{"type": "body", "parameters": [
                   {"type": "text", "text": "Sheena"}, {"type": "text", "text": "#4411"}]}]})
    );
}

#[test]
fn an_outbound_names_its_kind_in_details() {
    let outbound = |body: &str, details: Value| Outbound {
        id: "m1".into(),
        channel: Channel::Messaging,
        entry_point: "inbox:7".into(),
        to: vec!["16505551234".into()],
        body: body.into(),
        details,
        attachments: vec![],
    };
    assert_eq!(
        OutMessage::from_outbound(&outbound("hi", json!({}))).unwrap(),
        OutMessage::Text { body: "hi".into() }
    );
    assert_eq!(
        OutMessage::from_outbound(&outbound(
            "",
            json!({"template": {"name": "hello", "language": "pt_BR", "params": ["Ana", 3]}})
        ))
        .unwrap(),
        OutMessage::Template {
            name: "hello".into(),
            language: "pt_BR".into(),
            params: vec!["Ana".into(), "3".into()]
        }
    );
    assert_eq!(
        OutMessage::from_outbound(&outbound("look", json!({"media": {"kind": "image", "id": "9"}}))).unwrap(),
        OutMessage::Media {
            kind: MediaKind::Image,
            source: MediaSource::Id("9".into()),
            caption: Some("look".into()),
            filename: None
        }
    );
    for bad in [
        outbound("", json!({})),
        outbound("", json!({"template": {"language": "en"}})),
        outbound("", json!({"template": {"name": "x", "params": [{}]}})),
        outbound("", json!({"media": {"kind": "image", "link": "http://insecure"}})),
        outbound("", json!({"media": {"kind": "hologram", "id": "1"}})),
    ] {
        assert!(OutMessage::from_outbound(&bad).is_err(), "{:?}", bad.details);
    }
}

#[test]
fn graph_api_answers_are_read_by_code() {
    let error = |code: i64, message: &str| {
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
                         "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})
        .to_string()
    };
    let sent = br#"{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}"#;
    assert_eq!(
        read_send_response(200, sent),
        SendOutcome::Sent {
            external_id: "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA".into()
        }
    );
    let table: &[(u16, String, &str)] = &[
        (400, error(131047, "Re-engagement message"), "failed:template"),
        (
            401,
            error(190, "Error validating access token"),
            "failed:access token",
        ),
        (429, error(130429, "Rate limit hit"), "retry"),
        (
            400,
            error(131056, "(Business Account, Consumer Account) pair rate limit hit"),
            "retry",
        ),
        (400, error(80007, "Rate limit issues"), "retry"),
        (400, error(4, "Application request limit reached"), "retry"),
        (500, error(1, "An unknown error occurred"), "retry"),
        (503, "<html>down</html>".into(), "retry"),
        (
            400,
            error(131026, "Message undeliverable"),
            "failed:Message undeliverable",
        ),
        (400, "not json".into(), "failed:HTTP 400"),
        (200, "{}".into(), "failed:no id"),
    ];
    for (status, body, expected) in table {
        let got = read_send_response(*status, body.as_bytes());
        match (&got, expected.split_once(':')) {
            (SendOutcome::Retry { after: None, .. }, None) if *expected == "retry" => {}
            (SendOutcome::Failed { reason }, Some(("failed", part))) => {
                assert!(reason.contains(part), "{status} {body}: {reason}")
            }
            _ => panic!("{status} {body}: expected {expected}, got {got:?}"),
        }
    }
}

#[test]
fn media_are_fetched_in_two_steps_from_metas_hosts_only() {
    let info = api().media_info("1003383421387256");
    assert_eq!(info.url, "https://graph.facebook.com/v21.0/1003383421387256");
    assert_eq!(info.header("Authorization"), Some("Bearer EAAG"));

    let answer = br#"{"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1003383421387256&ext=1&hash=ATs","mime_type":"image/jpeg","sha256":"cNIz0DwSlQdmcWVe6Bdex5nfVRxjdcT4PhR87ow+TGs=","file_size":"303833","id":"1003383421387256"}"#;
    let media = read_media_info(200, answer).unwrap();
    assert_eq!(media.file_size, Some(303_833));
    let download = api().media_download(&media.url).unwrap();
    assert_eq!(download.header("Authorization"), Some("Bearer EAAG"));

    let evil = br#"{"url":"https://attacker.example/steal","mime_type":"image/jpeg","id":"1"}"#;
    let media = read_media_info(200, evil).unwrap();
    assert!(
        api().media_download(&media.url).is_err(),
        "our token never goes elsewhere"
    );

    let expired = br#"{"error":{"message":"Invalid OAuth access token.","code":190}}"#;
    assert!(matches!(
        read_media_info(401, expired),
        Err(SendOutcome::Failed { .. })
    ));
}

#[test]
fn attachments_upload_as_multipart() {
    let upload = api().upload(&plugboard_channel::Attachment {
        filename: "a.pdf".into(),
        content_type: "application/pdf".into(),
        content_id: None,
        data: b"%PDF".to_vec(),
    });
    assert_eq!(
        upload.url,
        "https://graph.facebook.com/v21.0/106540352242922/media"
    );
    let Body::Multipart(parts) = &upload.body else {
        panic!("multipart")
    };
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["messaging_product", "type", "file"]);
    assert_eq!(
        whatsapp::read_upload_response(200, br#"{"id":"1037543291543636"}"#),
        Ok("1037543291543636".into())
    );
}
