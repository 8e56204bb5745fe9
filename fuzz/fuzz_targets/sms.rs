//! A Twilio-style SMS webhook (a message, an MMS or a status callback, form-encoded) as
//! `hub/src/messaging.rs` reads it: verified by `X-Twilio-Signature` against the inbox's public URL,
//! parsed, then each `MediaUrl` an MMS names put to the media fetcher's host check
//! (`hub/src/messaging/media.rs`). The first byte picks: even, the rest is the body, correctly
//! signed, so every body reaches the parser; odd, the rest is `query\nheader\nbody`, the query
//! added to the URL as the hub adds the request's, the header sent as given (or, left empty, the
//! right signature over that URL), to reach the signature check with what a stranger controls.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plugboard_im::{Event, sms};

const TOKEN: &str = "fuzz-auth-token";
const HOOK: &str = "https://hub.example.com/webhooks/0190c8a4-7c1e-7000-8000-000000000004";

fn signed(url: &str, body: &[u8]) -> String {
    let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    sms::signature(TOKEN, url, &params)
}

fn line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (url, header, body) = if mode % 2 == 0 {
        (HOOK.to_owned(), signed(HOOK, rest), rest)
    } else {
        let (query, rest) = line(rest);
        let (header, body) = line(rest);
        let query = String::from_utf8_lossy(query);
        let url = match query.as_ref() {
            "" => HOOK.to_owned(),
            query => format!("{HOOK}?{query}"),
        };
        let header = match String::from_utf8_lossy(header).as_ref() {
            "" => signed(&url, body),
            given => given.to_owned(),
        };
        (url, header, body)
    };
    let Ok((_, event)) = sms::receive(TOKEN, &url, Some(&header), body, "inbox:fuzz") else {
        return;
    };
    if let Event::Message(inbound) = event {
        let api = sms::Api {
            base: "https://api.twilio.com".into(),
            account_sid: "ACfuzz".into(),
            auth_token: TOKEN.into(),
            from: "+14155552671".into(),
            status_callback: None,
        };
        let media = inbound
            .message
            .as_ref()
            .and_then(|m| m.details["media"].as_array().cloned());
        for item in media.unwrap_or_default() {
            if let Some(url) = item["url"].as_str() {
                let _ = api.media_download(url);
            }
        }
    }
});
