//! Plugboard's messaging-app connectors: WeChat (`wechat`), WhatsApp Cloud API (`whatsapp`),
//! the Telegram Bot API (`telegram`), Twilio-style SMS (`sms`) and our own signed webhook
//! (`webhook`). Each sits between a platform's HTTP and the hub's intake, with no IO of its own:
//!
//! - **In**: the hub's webhook handler checks a delivery against the platform's `Posts` (its
//!   media type first, then its size as it reads it), then hands the module the raw body, the
//!   headers it asks for, the query string and the time; the module verifies the signature,
//!   parses the payload and returns `Event`s for the intake plus the `Answer` to send back
//!   (WeChat's `success`, a verification echo). A request that fails verification is an `Error`
//!   whose `http_status` is the answer; the hub stores nothing from it.
//! - **Out**: for an agent's reply the module builds an `HttpRequest` (the hub sends it with its
//!   HTTP client), then reads the platform's response into a `SendOutcome` (sent, retry, refresh
//!   the token, failed with the platform's reason).
//! - **Media**: a message's media are described in `InboundMessage.details["media"]` (see
//!   `MediaRef`), never downloaded here: the hub fetches them with the module's media requests
//!   after intake, and stores them itself.
//!
//! Every parser takes untrusted bytes and returns an `Error` for anything it cannot read: no input
//! makes it panic (`tests/fuzz.rs`). Depends on `plugboard-channel`, never on the hub.

pub mod sms;
pub mod telegram;
pub mod webhook;
pub mod wechat;
pub mod whatsapp;

mod common;

pub use common::{
    Answer, Body, DeliveryState, Error, Event, HttpRequest, MediaRef, Method, Part, Posts, SendOutcome,
};

/// How `platform` posts to its webhook (its module's `POSTS`); `None` for a platform we have no
/// connector for.
pub fn posts(platform: &str) -> Option<Posts> {
    match platform {
        sms::PLATFORM => Some(sms::POSTS),
        telegram::PLATFORM => Some(telegram::POSTS),
        webhook::PLATFORM => Some(webhook::POSTS),
        wechat::PLATFORM => Some(wechat::POSTS),
        whatsapp::PLATFORM => Some(whatsapp::POSTS),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_takes_the_media_type_it_posts_with_any_parameters() {
        // (platform, Content-Type, taken)
        let cases = [
            ("whatsapp", Some("application/json"), true),
            ("whatsapp", Some("application/json; charset=utf-8"), true),
            ("whatsapp", Some("Application/JSON ;charset=UTF-8"), true),
            ("whatsapp", Some("text/plain"), false),
            ("whatsapp", Some("application/jsonx"), false),
            ("whatsapp", Some(""), false),
            ("whatsapp", None, false),
            ("telegram", Some("application/json"), true),
            ("telegram", Some("application/x-www-form-urlencoded"), false),
            ("webhook", Some("application/json; charset=utf-8"), true),
            ("webhook", Some("multipart/form-data; boundary=x"), false),
            ("wechat", Some("text/xml"), true),
            ("wechat", Some("application/xml; charset=utf-8"), true),
            ("wechat", Some("application/json"), false),
            (
                "sms",
                Some("application/x-www-form-urlencoded; charset=UTF-8"),
                true,
            ),
            ("sms", Some("application/json"), false),
        ];
        for (platform, content_type, taken) in cases {
            let posts = posts(platform).unwrap();
            let checked = posts.check_content_type(content_type);
            assert_eq!(checked.is_ok(), taken, "{platform} {content_type:?}: {checked:?}");
            if let Err(e) = checked {
                assert_eq!(e.http_status(), 415);
                assert!(e.to_string().contains(posts.content_types[0]), "{e}");
            }
        }
        assert_eq!(posts("xmpp"), None);
    }

    #[test]
    fn a_refusal_names_the_expected_type_and_what_came() {
        let wrong = wechat::POSTS
            .check_content_type(Some("application/json"))
            .unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "the Content-Type must be text/xml or application/xml, not application/json"
        );
        let none = sms::POSTS.check_content_type(None).unwrap_err();
        assert_eq!(
            none.to_string(),
            "the Content-Type must be application/x-www-form-urlencoded; the request has none"
        );
    }
}
