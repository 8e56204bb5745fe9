//! Our signed webhook: the documented schema in, the signature (a vector computed with Python's
//! hmac) checked with its replay window, and signed posts out.

mod common;

use common::{at, inbound, message, payload};
use plugboard_channel::{Attachment, Channel, Outbound, RawIdentity};
use plugboard_im::webhook::{self, Endpoint, read_response};
use plugboard_im::{Body, Error, SendOutcome};
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "whsec_test";
const T: u64 = 1_718_035_200;
/// HMAC-SHA256("whsec_test", "1718035200." + text.json), computed with Python's hmac module.
const TEXT_SIGNATURE: &str = "243baf0a8af9e85f22b4cca964f804bc8f09459ec36d8b4080da7577ce842fcf";

#[test]
fn the_documented_message_is_read() {
    let body = payload("webhook", "text.json");
    let header = format!("t={T},v1={TEXT_SIGNATURE}");
    assert_eq!(webhook::sign(SECRET, &body, at(T)), header);
    let (answer, event) = webhook::receive(SECRET, Some(&header), &body, at(T + 10), "inbox:9").unwrap();
    assert_eq!(answer.status, 200);
    let inbound = inbound(&event);
    assert_eq!(inbound.channel, Channel::Messaging);
    assert_eq!(
        inbound.identities,
        [
            RawIdentity::Platform {
                platform: "webhook".into(),
                id: "customer-42".into()
            },
            RawIdentity::Email("ada@example.com".into()),
            RawIdentity::Phone("+442071234567".into()),
        ]
    );
    assert_eq!(inbound.display_name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(inbound.thread.replies_to, ["pb-msg-1"]);
    let m = message(&event);
    assert_eq!(
        (m.external_id.as_str(), m.body.as_str(), m.sent_at),
        ("msg-8841", "Where is my order?", Some(1_718_035_200_000))
    );

    let files = payload("webhook", "attachment.json");
    let header = webhook::sign(SECRET, &files, at(T));
    let (_, event) = webhook::receive(SECRET, Some(&header), &files, at(T), "inbox:9").unwrap();
    assert_eq!(
        message(&event).attachments,
        [Attachment {
            filename: "note.txt".into(),
            content_type: "text/plain".into(),
            content_id: None,
            data: b"hello world".to_vec()
        }]
    );
}

#[test]
fn signatures_are_checked_with_a_replay_window() {
    let body = payload("webhook", "text.json");
    let good = format!("t={T},v1={TEXT_SIGNATURE}");
    let rotated = format!("t={T},v1={},v1={TEXT_SIGNATURE}", "00".repeat(32));
    assert!(webhook::verify(SECRET, Some(&rotated), &body, at(T)).is_ok());
    // (header, seconds after t, expected error)
    let cases: Vec<(Option<String>, i64, Error)> = vec![
        (
            None,
            0,
            Error::MissingSignature("X-Plugboard-Signature signature"),
        ),
        (
            Some(format!("v1={TEXT_SIGNATURE}")),
            0,
            Error::BadSignature("X-Plugboard-Signature signature"),
        ),
        (
            Some(format!("t={T}")),
            0,
            Error::BadSignature("X-Plugboard-Signature signature"),
        ),
        (
            Some(format!("t={},v1={TEXT_SIGNATURE}", T + 1)),
            0,
            Error::BadSignature("X-Plugboard-Signature signature"),
        ),
        (
            Some(good.clone()),
            301,
            Error::Stale {
                age_secs: 301,
                window_secs: 300,
            },
        ),
        (
            Some(good.clone()),
            -301,
            Error::Stale {
                age_secs: -301,
                window_secs: 300,
            },
        ),
        (
            Some(format!("t=abc,v1={TEXT_SIGNATURE}")),
            0,
            Error::BadSignature("X-Plugboard-Signature signature"),
        ),
    ];
    for (header, offset, error) in cases {
        let now = at(T.checked_add_signed(offset).unwrap());
        let got = webhook::receive(SECRET, header.as_deref(), &body, now, "inbox:9").unwrap_err();
        assert_eq!(got, error, "{header:?} at {offset}");
        assert_eq!(got.http_status(), 401);
    }
    assert!(webhook::verify(SECRET, Some(&good), &body, at(T + 300)).is_ok());
    assert!(webhook::verify("other", Some(&good), &body, at(T)).is_err());
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert!(webhook::verify(SECRET, Some(&good), &tampered, at(T)).is_err());
}

#[test]
fn bodies_outside_the_schema_are_refused() {
    let cases: &[Value] = &[
        json!({"from": {"id": "c"}, "text": "x"}),
        json!({"id": "", "from": {"id": "c"}, "text": "x"}),
        json!({"id": "1", "text": "x"}),
        json!({"id": "1", "from": {"name": "no id"}, "text": "x"}),
        json!({"id": "1", "from": {"id": "c"}}),
        json!({"id": "1", "from": {"id": "c"}, "text": 7}),
        json!({"id": "1", "from": {"id": "c"}, "text": "x", "sent_at": "yesterday"}),
        json!({"id": "1", "from": {"id": "c"}, "attachments": [{"filename": "a"}]}),
        json!({"id": "1", "from": {"id": "c"}, "attachments": [{"filename": "a", "data_base64": "!!"}]}),
        json!({"id": "1", "from": {"id": "c"}, "attachments": {}}),
        json!([1, 2]),
    ];
    for body in cases {
        let bytes = body.to_string().into_bytes();
        let header = webhook::sign(SECRET, &bytes, at(T));
        let err = webhook::receive(SECRET, Some(&header), &bytes, at(T), "i").unwrap_err();
        assert_eq!(err.http_status(), 400, "{body}");
    }
    let big = vec![b'x'; webhook::MAX_BODY + 1];
    let header = webhook::sign(SECRET, &big, at(T));
    assert_eq!(
        webhook::receive(SECRET, Some(&header), &big, at(T), "i")
            .unwrap_err()
            .http_status(),
        413
    );
}

#[test]
fn replies_are_posted_signed() {
    let endpoint = Endpoint {
        url: "https://crm.example.com/plugboard".into(),
        secret: SECRET.into(),
    };
    let outbound = Outbound {
        id: "pb-msg-2".into(),
        channel: Channel::Messaging,
        entry_point: "inbox:9".into(),
        to: vec!["customer-42".into()],
        body: "It ships today".into(),
        details: json!({}),
        attachments: vec![],
    };
    let request = endpoint.request(&outbound, at(T)).unwrap();
    assert_eq!(request.url, "https://crm.example.com/plugboard");
    let Body::Bytes(body) = &request.body else {
        panic!()
    };
    let json: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        (&json["id"], &json["to"], &json["text"]),
        (
            &json!("pb-msg-2"),
            &json!("customer-42"),
            &json!("It ships today")
        )
    );
    // The receiving side verifies it as we verify theirs.
    let header = request.header("X-Plugboard-Signature");
    assert!(webhook::verify(SECRET, header, body, at(T + 1)).is_ok());

    assert_eq!(
        read_response(200, br#"{"id":"crm-77"}"#, None, "pb-msg-2"),
        SendOutcome::Sent {
            external_id: "crm-77".into()
        }
    );
    assert_eq!(
        read_response(204, b"", None, "pb-msg-2"),
        SendOutcome::Sent {
            external_id: "pb-msg-2".into()
        }
    );
    assert_eq!(
        read_response(429, b"", Some("30"), "x"),
        SendOutcome::Retry {
            reason: "the webhook answered HTTP 429".into(),
            after: Some(Duration::from_secs(30))
        }
    );
    assert!(matches!(
        read_response(503, b"", None, "x"),
        SendOutcome::Retry { after: None, .. }
    ));
    assert_eq!(
        read_response(404, br#"{"message":"no such customer"}"#, None, "x"),
        SendOutcome::Failed {
            reason: "the webhook answered HTTP 404: no such customer".into()
        }
    );
}
