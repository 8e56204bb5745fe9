//! WeChat Official Account: the URL check, plaintext and safe-mode pushes (against a vector made
//! with the openssl CLI, see tests/payloads/README.md), XML refused when it declares anything,
//! the customer-service API's answers, and the access token's life.

mod common;

use base64::Engine;
use common::{at, inbound, message, payload};
use plugboard_channel::{Channel, RawIdentity};
use plugboard_im::wechat::{
    self, AccessToken, Account, AesKey, Api, OutMessage, read_media_error, read_send_response,
};
use plugboard_im::{Body, Error, Event, Method, SendOutcome};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "pamtest";
const APP_ID: &str = "wxb11529c136998cb6";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const TS: &str = "1409304348";
const NONCE: &str = "xxxxxx";
/// sha1 of the sorted pamtest, 1409304348, xxxxxx: computed with Python's hashlib.
const SIGNATURE: &str = "76480565cbe296026c53aaacd1ad523a1ddba24f";
/// The same plus safe_mode_text.xml's Encrypt text.
const MSG_SIGNATURE: &str = "e3ef13de8944f323dbaa63372032384d02fda9c6";

fn plain_account() -> Account {
    Account {
        token: TOKEN.into(),
        app_id: APP_ID.into(),
        aes_key: None,
    }
}

fn safe_account() -> Account {
    Account {
        aes_key: Some(AesKey::parse(AES_KEY).unwrap()),
        ..plain_account()
    }
}

fn plain_query() -> String {
    format!("signature={SIGNATURE}&timestamp={TS}&nonce={NONCE}&openid=oia2TjjewbmiOUlr6X-1crbLOvLw")
}

fn safe_query() -> String {
    format!("{}&encrypt_type=aes&msg_signature={MSG_SIGNATURE}", plain_query())
}

fn receive(name: &str) -> Event {
    let (answer, event) = wechat::receive(
        &plain_account(),
        &plain_query(),
        &payload("wechat", name),
        "inbox:5",
    )
    .expect(name);
    assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
    event
}

#[test]
fn the_url_check_echoes_echostr() {
    let query = format!("signature={SIGNATURE}&echostr=4312595848434584734&timestamp={TS}&nonce={NONCE}");
    let answer = wechat::verify_url(TOKEN, &query).unwrap();
    assert_eq!(answer.body, "4312595848434584734");
    assert_eq!(wechat::signature(&[TOKEN, TS, NONCE]), SIGNATURE);
    for bad in [
        format!("signature={SIGNATURE}&echostr=1&timestamp=1409304349&nonce={NONCE}"),
        format!("echostr=1&timestamp={TS}&nonce={NONCE}"),
        format!("signature=&echostr=1&timestamp={TS}&nonce={NONCE}"),
    ] {
        assert_eq!(
            wechat::verify_url(TOKEN, &bad).unwrap_err().http_status(),
            401,
            "{bad}"
        );
    }
}

#[test]
fn each_message_kind_becomes_a_message() {
    // (fixture, external id, kind, body, media kind and id)
    type Row<'a> = (&'a str, &'a str, &'a str, &'a str, Option<(&'a str, &'a str)>);
    let table: &[Row] = &[
        ("text.xml", "1234567890123456", "text", "this is a test", None),
        (
            "image.xml",
            "1234567890123457",
            "image",
            "",
            Some(("image", "media_id_image_1")),
        ),
        (
            "voice.xml",
            "1234567890123458",
            "voice",
            "腾讯微信团队",
            Some(("voice", "media_id_voice_1")),
        ),
        (
            "video.xml",
            "1234567890123459",
            "video",
            "",
            Some(("video", "media_id_video_1")),
        ),
        (
            "shortvideo.xml",
            "1234567890123460",
            "shortvideo",
            "",
            Some(("video", "media_id_shortvideo_1")),
        ),
        ("location.xml", "1234567890123461", "location", "位置信息", None),
        ("link.xml", "1234567890123462", "link", "公众平台官网链接", None),
        ("miniprogrampage.xml", "1234567890123463", "unsupported", "", None),
    ];
    for (fixture, id, kind, body, media) in table {
        let event = receive(fixture);
        let inbound = inbound(&event);
        let m = message(&event);
        assert_eq!(inbound.channel, Channel::Messaging);
        assert_eq!(inbound.entry_point, "inbox:5");
        assert_eq!(
            inbound.identities,
            [RawIdentity::Platform {
                platform: "wechat".into(),
                id: "oia2TjjewbmiOUlr6X-1crbLOvLw".into()
            }]
        );
        assert_eq!(inbound.automated, None, "{fixture}");
        assert_eq!(m.external_id, *id);
        assert_eq!(m.details["kind"], *kind, "{fixture}");
        assert_eq!(m.body, *body, "{fixture}");
        let window = &m.details["reply_window"];
        assert_eq!(
            window["closes_at"].as_i64().unwrap() - window["opened_at"].as_i64().unwrap(),
            48 * 3_600_000
        );
        match media {
            Some((media_kind, media_id)) => {
                assert_eq!(m.details["media"][0]["kind"], *media_kind, "{fixture}");
                assert_eq!(m.details["media"][0]["id"], *media_id, "{fixture}");
            }
            None => assert!(m.details.get("media").is_none(), "{fixture}"),
        }
    }
}

#[test]
fn details_carry_what_the_console_needs() {
    let image = receive("image.xml");
    assert_eq!(
        message(&image).details["media"][0]["url"],
        "https://mmbiz.qpic.cn/mmbiz_jpg/this-is-a-url/0"
    );
    let voice = receive("voice.xml");
    let m = message(&voice);
    assert_eq!(m.details["format"], "amr");
    assert_eq!(m.details["media"][0]["content_type"], "audio/amr");
    assert_eq!(m.sent_at, Some(1_357_290_913_000));
    let location = receive("location.xml");
    assert_eq!(
        message(&location).details["location"],
        json!({"latitude": 23.134521, "longitude": 113.358803, "scale": 20, "label": "位置信息"})
    );
    let link = receive("link.xml");
    assert_eq!(message(&link).details["link"]["url"], "https://mp.weixin.qq.com/");
    let unknown = receive("miniprogrampage.xml");
    assert_eq!(message(&unknown).details["raw_kind"], "miniprogrampage");
}

#[test]
fn events_are_kept_but_not_routed() {
    let table = [
        (
            "subscribe.xml",
            "subscribe",
            "oia2TjjewbmiOUlr6X-1crbLOvLw:1348831860:subscribe",
        ),
        (
            "unsubscribe.xml",
            "unsubscribe",
            "oia2TjjewbmiOUlr6X-1crbLOvLw:1348831870:unsubscribe",
        ),
        (
            "event_click.xml",
            "unsupported",
            "oia2TjjewbmiOUlr6X-1crbLOvLw:1348831880:CLICK",
        ),
    ];
    for (fixture, kind, id) in table {
        let event = receive(fixture);
        assert!(inbound(&event).automated.is_some(), "{fixture}");
        let m = message(&event);
        assert_eq!(m.details["kind"], kind, "{fixture}");
        assert_eq!(m.external_id, id, "{fixture}");
    }
    let click = receive("event_click.xml");
    assert_eq!(message(&click).details["event_key"], "MENU_HELP");
}

#[test]
fn plaintext_pushes_need_the_signature() {
    let body = payload("wechat", "text.xml");
    for query in [
        format!("timestamp={TS}&nonce={NONCE}"),
        format!("signature={SIGNATURE}&timestamp=1&nonce={NONCE}"),
        format!("signature=0000000000000000000000000000000000000000&timestamp={TS}&nonce={NONCE}"),
    ] {
        let err = wechat::receive(&plain_account(), &query, &body, "inbox:5").unwrap_err();
        assert_eq!(err.http_status(), 401, "{query}");
    }
    // A safe-mode account takes no plaintext push, however well signed.
    let err = wechat::receive(&safe_account(), &plain_query(), &body, "inbox:5").unwrap_err();
    assert_eq!(err.http_status(), 403);
}

#[test]
fn safe_mode_decrypts_the_openssl_vector() {
    let body = payload("wechat", "safe_mode_text.xml");
    let (answer, event) = wechat::receive(&safe_account(), &safe_query(), &body, "inbox:5").unwrap();
    assert_eq!(answer.body, "success");
    assert_eq!(message(&event).body, "this is a test");
    assert_eq!(message(&event).external_id, "1234567890123456");

    let err = |account: &Account, query: &str, body: &[u8]| {
        wechat::receive(account, query, body, "inbox:5").unwrap_err()
    };
    // Forged or missing msg_signature.
    let forged = safe_query().replace(MSG_SIGNATURE, SIGNATURE);
    assert_eq!(
        err(&safe_account(), &forged, &body),
        Error::BadSignature("msg_signature")
    );
    let missing = plain_query() + "&encrypt_type=aes";
    assert_eq!(
        err(&safe_account(), &missing, &body),
        Error::MissingSignature("msg_signature")
    );
    // Sealed for another app.
    let other_app = Account {
        app_id: "wx0000000000000000".into(),
        ..safe_account()
    };
    assert!(matches!(
        err(&other_app, &safe_query(), &body),
        Error::WrongAppId { got } if got == APP_ID
    ));
    // Another key: the padding no longer reads.
    let other_key = Account {
        aes_key: Some(AesKey::parse("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg").unwrap()),
        ..safe_account()
    };
    assert!(matches!(
        err(&other_key, &safe_query(), &body),
        Error::Decrypt(_) | Error::WrongAppId { .. }
    ));
    // No key configured.
    assert_eq!(err(&plain_account(), &safe_query(), &body).http_status(), 500);
}

#[test]
fn encryption_round_trips_and_pads_to_32_bytes() {
    let key = AesKey::parse(AES_KEY).unwrap();
    for len in 0..70 {
        let xml = "x".repeat(len);
        let sealed = wechat::encrypt(&key, APP_ID, &xml, [7; 16]);
        let raw = base64::engine::general_purpose::STANDARD.decode(&sealed).unwrap();
        assert_eq!(raw.len() % 32, 0, "padded to 32-byte blocks, xml of {len}");
        assert_eq!(wechat::decrypt(&key, APP_ID, &sealed).unwrap(), xml);
    }
    // Our encryption of the fixture's plaintext with the same random bytes is the openssl one.
    let xml = String::from_utf8(payload("wechat", "text.xml")).unwrap();
    let outer = wechat::parse_xml(&payload("wechat", "safe_mode_text.xml")).unwrap();
    assert_eq!(
        wechat::encrypt(&key, APP_ID, &xml, *b"aaaabbbbccccdddd"),
        outer["Encrypt"]
    );

    let reply = wechat::encrypted_reply(&safe_account(), "<xml/>", TS, NONCE, [1; 16]).unwrap();
    let fields = wechat::parse_xml(reply.as_bytes()).unwrap();
    assert_eq!(
        fields["MsgSignature"],
        wechat::signature(&[TOKEN, TS, NONCE, &fields["Encrypt"]])
    );
    assert_eq!(
        wechat::decrypt(&key, APP_ID, &fields["Encrypt"]).unwrap(),
        "<xml/>"
    );
}

#[test]
fn broken_ciphertexts_are_refused() {
    let key = AesKey::parse(AES_KEY).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    for bad in [
        "not base64!".to_owned(),
        String::new(),
        b64(&[0; 15]),
        b64(&[0; 32]),
        b64(&[0xff; 64]),
    ] {
        assert!(wechat::decrypt(&key, APP_ID, &bad).is_err(), "{bad}");
    }
    for bad in [
        "short",
        "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF!",
        &"a".repeat(44),
    ] {
        assert!(AesKey::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn xml_that_declares_anything_is_refused() {
    let cases: &[&[u8]] = &[
        // Entity expansion ("billion laughs").
        br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>"#,
        // An external entity.
        br#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Content>&xxe;</Content></xml>"#,
        // An external DTD.
        br#"<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd"><xml><Content>hi</Content></xml>"#,
    ];
    for body in cases {
        assert_eq!(wechat::parse_xml(body), Err(Error::Doctype));
        let err = wechat::receive(&plain_account(), &plain_query(), body, "inbox:5").unwrap_err();
        assert_eq!(err.http_status(), 400);
    }
    // An entity nobody declared is not expanded either.
    assert!(matches!(
        wechat::parse_xml(b"<xml><Content>&xxe;</Content></xml>"),
        Err(Error::Malformed { .. })
    ));
    // XML's own entities and character references are.
    let ok = wechat::parse_xml(b"<xml><Content>a &lt;b&gt; &amp; &#20320;&#x597D;</Content></xml>").unwrap();
    assert_eq!(ok["Content"], "a <b> & 你好");
}

#[test]
fn malformed_and_oversized_xml_is_refused() {
    let big = format!("<xml><Content>{}</Content></xml>", "a".repeat(wechat::MAX_BODY));
    assert_eq!(
        wechat::receive(&plain_account(), &plain_query(), big.as_bytes(), "i")
            .unwrap_err()
            .http_status(),
        413
    );
    for body in [
        &b""[..],
        b"<xml>",
        b"<xml><a></b></xml>",
        b"<xml></xml><xml></xml>",
        b"not xml",
        b"<xml><MsgType>text</MsgType></xml>",
        b"\xff\xfe<\x00x\x00",
    ] {
        let err = wechat::receive(&plain_account(), &plain_query(), body, "i").unwrap_err();
        assert_eq!(err.http_status(), 400, "{}", String::from_utf8_lossy(body));
    }
}

fn api() -> Api {
    Api::new("https://api.weixin.qq.com/", "wx1234567890abcdef", "s3cret&x")
}

#[test]
fn requests_for_the_token_the_send_and_the_media() {
    let token = api().token_request();
    assert_eq!(token.method, Method::Get);
    assert_eq!(
        token.url,
        "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1234567890abcdef&secret=s3cret%26x"
    );
    let send = api().send("ACCESS", "oia2Tj", &OutMessage::Text("Hello 你好".into()));
    assert_eq!(
        send.url,
        "https://api.weixin.qq.com/cgi-bin/message/custom/send?access_token=ACCESS"
    );
    let Body::Bytes(body) = &send.body else { panic!() };
    assert_eq!(
        serde_json::from_slice::<Value>(body).unwrap(),
        json!({"touser": "oia2Tj", "msgtype": "text", "text": {"content": "Hello 你好"}})
    );
    let image = api().send(
        "ACCESS",
        "oia2Tj",
        &OutMessage::Image {
            media_id: "MID".into(),
        },
    );
    let Body::Bytes(body) = &image.body else { panic!() };
    assert_eq!(
        serde_json::from_slice::<Value>(body).unwrap()["image"],
        json!({"media_id": "MID"})
    );
    assert_eq!(
        api().media_get("ACCESS", "media_id_voice_1").url,
        "https://api.weixin.qq.com/cgi-bin/media/get?access_token=ACCESS&media_id=media_id_voice_1"
    );
    // WeCom customer service: the same shapes on another host.
    let wecom = Api::new("https://qyapi.weixin.qq.com", "ww1", "s");
    assert!(
        wecom
            .token_request()
            .url
            .starts_with("https://qyapi.weixin.qq.com/cgi-bin/token?")
    );

    assert!(wechat::media_url_allowed("https://mmbiz.qpic.cn/mmbiz_jpg/x/0"));
    assert!(!wechat::media_url_allowed("http://mmbiz.qpic.cn/mmbiz_jpg/x/0"));
    assert!(!wechat::media_url_allowed("https://qpic.cn.evil.example/x"));
}

#[test]
fn answers_are_read_by_errcode() {
    let read = |body: &str| read_send_response(200, body.as_bytes(), "our-id");
    assert_eq!(
        read(r#"{"errcode":0,"errmsg":"ok"}"#),
        SendOutcome::Sent {
            external_id: "our-id".into()
        }
    );
    for code in [40001, 42001, 40014] {
        let body = format!(
            r#"{{"errcode":{code},"errmsg":"invalid credential, access_token is invalid or not latest"}}"#
        );
        assert!(matches!(read(&body), SendOutcome::RefreshToken { .. }), "{code}");
    }
    let window =
        read(r#"{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}"#);
    assert!(matches!(&window, SendOutcome::Failed { reason } if reason.contains("48 hours")));
    for code in [45009, -1] {
        let body = format!(r#"{{"errcode":{code},"errmsg":"system busy"}}"#);
        assert!(
            matches!(read(&body), SendOutcome::Retry { after: None, .. }),
            "{code}"
        );
    }
    assert_eq!(
        read(r#"{"errcode":40003,"errmsg":"invalid openid"}"#),
        SendOutcome::Failed {
            reason: "WeChat error 40003: invalid openid".into()
        }
    );
    assert!(matches!(
        read_send_response(502, b"<html/>", "x"),
        SendOutcome::Retry { .. }
    ));

    assert_eq!(read_media_error(200, "image/jpeg", b"\xff\xd8"), None);
    assert!(matches!(
        read_media_error(
            200,
            "application/json",
            br#"{"errcode":40007,"errmsg":"invalid media_id"}"#
        ),
        Some(SendOutcome::Failed { .. })
    ));
}

#[test]
fn the_access_token_refreshes_early_and_on_expiry_codes() {
    let mut token = AccessToken::new();
    let t0 = at(1_700_000_000);
    assert!(token.needs_refresh(t0));
    assert_eq!(token.get(t0), None);

    token
        .store(200, br#"{"access_token":"ACCESS_TOKEN","expires_in":7200}"#, t0)
        .unwrap();
    // (seconds after the fetch, needs refresh, usable)
    let table = [
        (0, false, true),
        (6_899, false, true),
        (6_900, true, true), // five minutes early
        (7_199, true, true),
        (7_200, true, false),
    ];
    for (after, refresh, usable) in table {
        let now = t0 + Duration::from_secs(after);
        assert_eq!(token.needs_refresh(now), refresh, "{after}");
        assert_eq!(token.get(now).is_some(), usable, "{after}");
    }

    token.observe(&SendOutcome::Retry {
        reason: "busy".into(),
        after: None,
    });
    assert_eq!(token.get(t0), Some("ACCESS_TOKEN"));
    let expired = read_send_response(200, br#"{"errcode":42001,"errmsg":"access_token expired"}"#, "x");
    token.observe(&expired);
    assert!(token.needs_refresh(t0));
    assert_eq!(token.get(t0), None);

    // A failed fetch keeps nothing new and says whether to try again.
    let busy = token.store(200, br#"{"errcode":-1,"errmsg":"system error"}"#, t0);
    assert!(matches!(busy, Err(SendOutcome::Retry { .. })));
    let wrong = token.store(200, br#"{"errcode":40013,"errmsg":"invalid appid"}"#, t0);
    assert!(matches!(wrong, Err(SendOutcome::Failed { .. })));
    let ip = token.store(
        200,
        br#"{"errcode":40164,"errmsg":"invalid ip 1.2.3.4, not in whitelist"}"#,
        t0,
    );
    assert!(matches!(ip, Err(SendOutcome::Failed { reason }) if reason.contains("whitelist")));
    assert!(
        token
            .store(
                200,
                br#"{"access_token":"x","expires_in":18446744073709551615}"#,
                t0
            )
            .is_ok()
    );
    assert!(!token.needs_refresh(t0));
}
