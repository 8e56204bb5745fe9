//! No input makes a parser panic: arbitrary bytes, and the documented payloads with bytes flipped,
//! cut short or spliced, go through every function that reads what a platform sends.

mod common;

use common::{at, payload};
use plugboard_im::{sms, telegram, webhook, wechat, whatsapp};
use proptest::prelude::*;

/// Every reader of untrusted input, fed `bytes` (and `text`, its lossy string, where the input
/// is a header or a query).
fn read_everything(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();

    let _ = whatsapp::parse(bytes, |_| Some("inbox:1".into()));
    let _ = whatsapp::verify_signature("secret", Some(text), bytes);
    let _ = whatsapp::verify_subscription("tok", text);
    for status in [200, 400, 500] {
        let _ = whatsapp::read_send_response(status, bytes);
        let _ = whatsapp::read_media_info(status, bytes);
        let _ = whatsapp::read_upload_response(status, bytes);
    }
    let api = whatsapp::Api::new("https://graph.facebook.com", "v21.0", "1", "t");
    let _ = api.media_download(text);

    let _ = telegram::parse(bytes, "inbox:1");
    let _ = telegram::verify_secret("s", Some(text));
    for status in [200, 403, 429, 502] {
        let _ = telegram::read_send_response(status, bytes);
        let _ = telegram::read_get_file(status, bytes);
    }
    let _ = telegram::Bot::new("https://api.telegram.org", "1:a").file_url(text);

    let _ = wechat::parse_xml(bytes);
    let _ = wechat::verify_url("tok", text);
    let key = wechat::AesKey::parse("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
    let _ = wechat::decrypt(&key, "wx1", text);
    let _ = wechat::AesKey::parse(text);
    let account = wechat::Account {
        token: "tok".into(),
        app_id: "wx1".into(),
        aes_key: Some(key),
    };
    let _ = wechat::receive(&account, "encrypt_type=aes&msg_signature=x", bytes, "inbox:1");
    if let Ok(fields) = wechat::parse_xml(bytes) {
        let _ = wechat::message_event(&fields, "inbox:1");
    }
    let mut token = wechat::AccessToken::new();
    let _ = token.store(200, bytes, at(1_700_000_000));
    let _ = token.needs_refresh(at(1_700_000_000));
    let _ = wechat::read_send_response(200, bytes, "id");
    let _ = wechat::read_media_error(200, "application/json", bytes);

    let _ = sms::parse(bytes, "inbox:1");
    let _ = sms::verify("tok", "https://h/x", Some(text), bytes);
    let _ = sms::read_send_response(400, bytes, Some(text));

    let _ = webhook::parse(bytes, "inbox:1");
    let _ = webhook::verify("secret", Some(text), bytes, at(1_700_000_000));
    let _ = webhook::read_response(200, bytes, Some(text), "id");
}

fn fixtures() -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for platform in ["whatsapp", "telegram", "wechat", "sms", "webhook"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/payloads")
            .join(platform);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        all.extend(names.iter().map(|n| payload(platform, n)));
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        read_everything(&bytes);
    }

    #[test]
    fn damaged_payloads_never_panic(
        which in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..16),
    ) {
        let all = fixtures();
        let mut bytes = all[which.index(all.len())].clone();
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        read_everything(&bytes);
        let i = cut.index(bytes.len() + 1);
        read_everything(&bytes[..i]);
        let mut spliced = bytes[..i].to_vec();
        spliced.extend_from_slice(&splice);
        spliced.extend_from_slice(&bytes[i..]);
        read_everything(&spliced);
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    read_everything(json.as_bytes());
    let xml = format!("<xml>{}</xml>", "<a>".repeat(10_000));
    read_everything(xml.as_bytes());
}
