//! A WeChat Official Account push, correctly signed, so every body reaches the XML reader: in
//! plaintext mode the body itself; in safe mode the input sealed as WeChat seals it (AES-256-CBC)
//! and wrapped in its `<Encrypt>` envelope; and, last, the input as the `Encrypt` text itself, to
//! reach the unsealing (base64, padding, the length and app id inside). The first byte picks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_im::wechat::{self, Account, AesKey};

const TOKEN: &str = "fuzztoken";
const APP_ID: &str = "wx0123456789abcdef";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let key = AesKey::parse(AES_KEY).unwrap();
    let (timestamp, nonce) = ("1700000000", "4242");
    match mode % 3 {
        0 => {
            let account = Account {
                token: TOKEN.into(),
                app_id: APP_ID.into(),
                aes_key: None,
            };
            let signature = wechat::signature(&[TOKEN, timestamp, nonce]);
            let query = format!("signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=o1");
            let _ = wechat::receive(&account, &query, body, "inbox:fuzz");
        }
        1 => {
            let Ok(xml) = std::str::from_utf8(body) else {
                return;
            };
            let encrypted = wechat::encrypt(&key, APP_ID, xml, [9; 16]);
            let envelope = format!(
                "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            );
            let signature = wechat::signature(&[TOKEN, timestamp, nonce, &encrypted]);
            let query = format!(
                "timestamp={timestamp}&nonce={nonce}&openid=o1&encrypt_type=aes&msg_signature={signature}"
            );
            let account = Account {
                token: TOKEN.into(),
                app_id: APP_ID.into(),
                aes_key: Some(key),
            };
            let _ = wechat::receive(&account, &query, envelope.as_bytes(), "inbox:fuzz");
        }
        _ => {
            let Ok(encrypted) = std::str::from_utf8(body) else {
                return;
            };
            if let Ok(xml) = wechat::decrypt(&key, APP_ID, encrypted) {
                let _ = wechat::parse_xml(xml.as_bytes());
            }
        }
    }
});
