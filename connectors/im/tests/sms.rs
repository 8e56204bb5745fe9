//! Twilio-style SMS: the signature against Twilio's published examples, inbound SMS and MMS and
//! status callbacks, the Messages.json send and its answers.

mod common;

use common::{inbound, message, payload};
use plugboard_channel::{Channel, Outbound, RawIdentity};
use plugboard_im::sms::{self, Api, read_send_response};
use plugboard_im::{Body, DeliveryState, Error, Event, SendOutcome};
use serde_json::json;
use std::time::Duration;

const TOKEN: &str = "12345";
const HOOK: &str = "https://hub.example.com/hooks/sms/4";

fn params(caller: &str) -> Vec<(String, String)> {
    [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", caller),
        ("Digits", "1234"),
        ("From", caller),
        ("To", "+18005551212"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn twilios_published_examples_verify() {
    // Twilio's "Webhooks security" page: auth token 12345, this URL and these parameters. Its
    // current version uses +12349013030; an older one +14158675309.
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(
        sms::signature(TOKEN, url, &params("+12349013030")),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    assert_eq!(
        sms::signature(TOKEN, url, &params("+14158675309")),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    // The same, as a form body in another order.
    let body =
        b"To=%2B18005551212&From=%2B12349013030&Digits=1234&Caller=%2B12349013030&CallSid=CA1234567890ABCDE";
    assert_eq!(
        sms::verify(TOKEN, url, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="), body),
        Ok(())
    );
}

fn receive(name: &str) -> Event {
    let body = payload("sms", name);
    let signature = sms::signature(TOKEN, HOOK, &form(&body));
    let (answer, event) = sms::receive(TOKEN, HOOK, Some(&signature), &body, "inbox:4").expect(name);
    assert_eq!((answer.status, answer.content_type), (200, "text/xml"));
    assert!(answer.body.contains("<Response></Response>"));
    event
}

/// The form's pairs, decoded by hand (independently of the crate's decoder).
fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            let decode = |s: &str| {
                let s = s.replace('+', " ");
                let mut out = Vec::new();
                let bytes = s.as_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (decode(k), decode(v))
        })
        .collect()
}

#[test]
fn an_sms_and_an_mms_become_messages() {
    let sms = receive("inbound_sms.form");
    let inbound = inbound(&sms);
    assert_eq!(inbound.channel, Channel::Messaging);
    assert_eq!(inbound.entry_point, "inbox:4");
    assert_eq!(inbound.identities, [RawIdentity::Phone("+14155551234".into())]);
    let m = message(&sms);
    assert_eq!(m.external_id, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    assert_eq!(m.body, "Hello! Is my order ready?");
    assert_eq!(m.details["to"], "+14155552671");
    assert!(m.details.get("media").is_none());

    let mms = receive("inbound_mms.form");
    let m = message(&mms);
    assert_eq!(m.body, "Photos of the damage");
    assert_eq!(m.details["kind"], "mms");
    let media = &m.details["media"];
    assert_eq!(
        (&media[0]["kind"], &media[0]["content_type"]),
        (&json!("image"), &json!("image/jpeg"))
    );
    assert_eq!(media[1]["kind"], "document");
    assert!(
        media[0]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://api.twilio.com/")
    );
}

#[test]
fn status_callbacks_update_our_messages() {
    let id = "SMb7c0a2ce80504485a6f653a7110836f5";
    let table = [
        ("status_sent.form", Some(DeliveryState::Sent)),
        ("status_delivered.form", Some(DeliveryState::Delivered)),
        (
            "status_undelivered.form",
            Some(DeliveryState::Failed {
                reason: "The SMS was undelivered (error 30003)".into(),
            }),
        ),
        ("status_queued.form", None),
    ];
    for (fixture, state) in table {
        let event = receive(fixture);
        match state {
            Some(state) => assert_eq!(
                event,
                Event::Status {
                    external_id: id.into(),
                    state,
                    at: None
                },
                "{fixture}"
            ),
            None => assert!(matches!(event, Event::Ignored(_)), "{fixture}"),
        }
    }
}

#[test]
fn forged_missing_and_misdirected_signatures_are_refused() {
    let body = payload("sms", "inbound_sms.form");
    let good = sms::signature(TOKEN, HOOK, &form(&body));
    let other_url = sms::signature(TOKEN, "https://hub.example.com/hooks/sms/5", &form(&body));
    let cases: &[(Option<&str>, Error)] = &[
        (None, Error::MissingSignature("X-Twilio-Signature signature")),
        (
            Some("  "),
            Error::MissingSignature("X-Twilio-Signature signature"),
        ),
        (
            Some(&other_url),
            Error::BadSignature("X-Twilio-Signature signature"),
        ),
        (
            Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
            Error::BadSignature("X-Twilio-Signature signature"),
        ),
    ];
    for (header, error) in cases {
        assert_eq!(
            &sms::receive(TOKEN, HOOK, *header, &body, "i").unwrap_err(),
            error
        );
    }
    let tampered = String::from_utf8(body.clone()).unwrap().replace("Hello", "Hallo");
    assert!(sms::receive(TOKEN, HOOK, Some(&good), tampered.as_bytes(), "i").is_err());
    let big = vec![b'a'; sms::MAX_BODY + 1];
    assert_eq!(
        sms::receive(TOKEN, HOOK, Some(&good), &big, "i")
            .unwrap_err()
            .http_status(),
        413
    );
    // Well signed but not a message.
    let junk = b"Hello=world";
    let sig = sms::signature(TOKEN, HOOK, &form(junk));
    assert_eq!(
        sms::receive(TOKEN, HOOK, Some(&sig), junk, "i")
            .unwrap_err()
            .http_status(),
        400
    );
}

fn api() -> Api {
    Api {
        base: "https://api.twilio.com".into(),
        account_sid: "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX".into(),
        auth_token: "your_auth_token".into(),
        from: "+14155552671".into(),
        status_callback: Some(HOOK.into()),
    }
}

#[test]
fn replies_become_messages_json_posts() {
    let outbound = Outbound {
        id: "m1".into(),
        channel: Channel::Messaging,
        entry_point: "inbox:4".into(),
        to: vec!["+14155551234".into()],
        body: "Ready at 5 & waiting".into(),
        details: json!({}),
        attachments: vec![],
    };
    let request = api().request_for(&outbound).unwrap();
    assert_eq!(
        request.url,
        "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json"
    );
    assert_eq!(
        request.header("Authorization"),
        Some("Basic QUNYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWDp5b3VyX2F1dGhfdG9rZW4=")
    );
    let Body::Bytes(body) = &request.body else {
        panic!()
    };
    assert_eq!(
        form(body),
        [
            ("To".to_owned(), "+14155551234".to_owned()),
            ("From".into(), "+14155552671".into()),
            ("Body".into(), "Ready at 5 & waiting".into()),
            ("StatusCallback".into(), HOOK.into()),
        ]
    );
    let mut empty = outbound.clone();
    empty.body = " ".into();
    assert!(api().request_for(&empty).is_err());
}

#[test]
fn provider_answers_are_read() {
    let created = br#"{"account_sid":"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","body":"Ready","direction":"outbound-api","sid":"SMb7c0a2ce80504485a6f653a7110836f5","status":"queued"}"#;
    assert_eq!(
        read_send_response(201, created, None),
        SendOutcome::Sent {
            external_id: "SMb7c0a2ce80504485a6f653a7110836f5".into()
        }
    );
    assert_eq!(
        read_send_response(429, br#"{"code":20429,"message":"Too Many Requests"}"#, Some("2")),
        SendOutcome::Retry {
            reason: "Too Many Requests".into(),
            after: Some(Duration::from_secs(2))
        }
    );
    let invalid = read_send_response(
        400,
        br#"{"code":21211,"message":"Invalid 'To' Phone Number: +1415555","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#,
        None,
    );
    assert_eq!(
        invalid,
        SendOutcome::Failed {
            reason:
                "The number is not a valid phone number: Invalid 'To' Phone Number: +1415555 (code 21211)"
                    .into()
        }
    );
    let stopped = read_send_response(
        400,
        br#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","status":400}"#,
        None,
    );
    assert!(matches!(stopped, SendOutcome::Failed { reason } if reason.contains("opted out")));
    assert!(matches!(
        read_send_response(503, b"", None),
        SendOutcome::Retry { .. }
    ));
    assert!(matches!(
        read_send_response(401, b"{}", None),
        SendOutcome::Failed { .. }
    ));
}

#[test]
fn media_are_fetched_from_the_providers_host_only() {
    let url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
    let request = api().media_download(url).unwrap();
    assert!(request.header("Authorization").unwrap().starts_with("Basic "));
    for bad in [
        "http://api.twilio.com/x",
        "https://api.twilio.com.evil.example/x",
        "https://169.254.169.254/latest",
        "file:///etc/passwd",
    ] {
        assert!(api().media_download(bad).is_err(), "{bad}");
    }
}
