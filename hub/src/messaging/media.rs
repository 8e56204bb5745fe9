//! Media in: the files a messaging app's message names (`details.media`, a `MediaRef` each) are
//! fetched after the message is committed, so the platform's 200 never waits for them. The
//! message's commit queues the fetch (`media_fetches`); this worker claims due fetches, asks the
//! platform where each file is with the connector's requests (WhatsApp's media URL, Telegram's
//! `getFile`, WeChat's `media/get`, a Twilio `MediaUrl`), downloads it only from the platform's
//! own host (`media_url_allowed`) and only up to the size limit, keeps it in the data directory
//! as email attachments are kept, and attaches it to the message, which the agent holding the
//! conversation sees again. A failure that may pass is tried again with backoff (after a restart
//! too); one that cannot, or the last attempt, shows on the message with its reason.

use super::{Messaging, Opened, secret_of, setting, setting_or, without_url};
use crate::domain::{InboxId, Millis, now_millis};
use crate::intake::hex;
use crate::store::{MediaFetch, MediaOutcome, MediaUpdate, NewAttachment};
use plugboard_channel::Attachment;
use plugboard_im::{HttpRequest, SendOutcome, sms, telegram, wechat, whatsapp};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

/// Messages whose files are fetched at once.
const FETCHING: usize = 4;

/// Why a file was not fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// It may pass (the platform down, a timeout): try again later.
    Retry(String),
    /// Trying again cannot help (too big, refused, a host that is not the platform's).
    Final(String),
}

impl Failure {
    fn of(outcome: SendOutcome) -> Failure {
        match outcome {
            SendOutcome::Retry { reason, .. } | SendOutcome::RefreshToken { reason } => {
                Failure::Retry(reason)
            }
            SendOutcome::Failed { reason } => Failure::Final(reason),
            SendOutcome::Sent { .. } => Failure::Final("the platform gave no file".into()),
        }
    }

    /// A download's HTTP status that is no file.
    fn status(status: u16) -> Failure {
        let reason = format!("the platform answered HTTP {status} for the file");
        if status >= 500 || status == 429 || status == 408 {
            Failure::Retry(reason)
        } else {
            Failure::Final(reason)
        }
    }
}

/// A file as the platform gave it.
struct Fetched {
    data: Vec<u8>,
    /// What the platform said it is, in the message or with the file.
    content_type: Option<String>,
}

impl Messaging {
    pub(super) async fn fetch_forever(self: Arc<Self>) {
        let rounds = crate::outbox::Rounds {
            what: "media",
            at_once: FETCHING,
            queued: &self.media_queued,
        };
        // With several nodes the node leading the routers fetches: it holds WeChat's tokens.
        let leading = || self.dispatcher.router() == "here";
        let held = Millis::from(self.settings.media_claim_secs) * 1000;
        let claim = |now: Millis| self.store.claim_media(now, now + held, 16);
        crate::outbox::work_forever(rounds, leading, claim, |due| self.fetch_one(due)).await;
    }

    /// Fetches every file of one message and records what became of them.
    async fn fetch_one(&self, due: MediaFetch) {
        let media: Vec<Value> = due
            .message
            .channel
            .as_ref()
            .and_then(|c| c.details["media"].as_array().cloned())
            .unwrap_or_default();
        let mut results = Vec::with_capacity(media.len());
        for file in &media {
            results.push(match self.fetch_file(&due.entry_point, file).await {
                Ok(fetched) => self.keep(file, fetched).await,
                Err(failure) => Err(failure),
            });
        }
        let update = next_step(results, due.attempts, &self.settings, now_millis());
        tracing::info!(message = %due.message.id, entry_point = %due.entry_point, ?update, "media");
        match self.store.record_media(due.account, due.message.id, update).await {
            Ok(message) => crate::outbox::tell_watcher(&self.dispatcher, &self.bus, message).await,
            Err(e) => tracing::error!(error = %e, message = %due.message.id, "recording media"),
        }
    }

    /// The file on disk under its SHA-256, described as the message will list it.
    async fn keep(&self, file: &Value, fetched: Fetched) -> Result<NewAttachment, Failure> {
        let content_type = fetched
            .content_type
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "application/octet-stream".into());
        let kind = file["kind"].as_str().unwrap_or("file");
        let filename = file["filename"]
            .as_str()
            .filter(|f| !f.trim().is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{kind}{}", extension(&content_type)));
        let attachment = Attachment {
            filename,
            content_type,
            data: fetched.data,
            content_id: None,
        };
        self.intake
            .files
            .keep(&attachment)
            .await
            .map_err(|e| Failure::Retry(format!("the file could not be kept: {e}")))
    }

    /// One file of a message on this inbox's platform.
    async fn fetch_file(&self, entry_point: &str, file: &Value) -> Result<Fetched, Failure> {
        let id = entry_point
            .strip_prefix("inbox:")
            .and_then(|id| id.parse::<InboxId>().ok())
            .ok_or_else(|| Failure::Final(format!("not an inbox: {entry_point}")))?;
        let opened = match self.opened(id).await {
            Ok(opened) => opened,
            Err(super::MessagingError::NoSuchInbox) => {
                return Err(Failure::Final("the inbox was removed".into()));
            }
            Err(e) => return Err(Failure::Retry(e.to_string())),
        };
        let declared = file["content_type"].as_str().map(str::to_owned);
        let limit = self.settings.max_media_bytes;
        if let Some(size) = file["size"].as_u64() {
            too_big(size, limit)?;
        }
        let media_id = file["id"].as_str().unwrap_or_default();
        let mut fetched = match opened.inbox.inbox.platform.as_str() {
            "whatsapp" => self.fetch_whatsapp(&opened, media_id).await?,
            "telegram" => self.fetch_telegram(&opened, media_id).await?,
            "wechat" => self.fetch_wechat(&opened, media_id).await?,
            "sms" => {
                self.fetch_sms(&opened, file["url"].as_str().unwrap_or_default())
                    .await?
            }
            other => return Err(Failure::Final(format!("files are not fetched from {other}"))),
        };
        // What the message said beats a CDN's generic answer (Telegram's octet-stream).
        if declared.is_some() {
            fetched.content_type = declared;
        }
        Ok(fetched)
    }

    /// WhatsApp: the media id's URL (`GET /{version}/{media-id}`), then the file from it with
    /// the bearer token, checked against the SHA-256 Meta gave.
    async fn fetch_whatsapp(&self, opened: &Opened, media_id: &str) -> Result<Fetched, Failure> {
        let (inbox, secrets) = (&opened.inbox, &opened.secrets);
        let api = whatsapp::Api {
            base: setting_or(inbox, "api_base", "https://graph.facebook.com"),
            version: setting_or(inbox, "api_version", "v21.0"),
            phone_number_id: setting(inbox, "phone_number_id"),
            access_token: secret_of(secrets, "access_token"),
            media_host: setting_or(inbox, "media_host", "lookaside.fbsbx.com"),
        };
        let (status, body, _) = self.call(&api.media_info(media_id)).await.map_err(Failure::of)?;
        let info = whatsapp::read_media_info(status, &body).map_err(Failure::of)?;
        if let Some(size) = info.file_size {
            too_big(size, self.settings.max_media_bytes)?;
        }
        let request = api
            .media_download(&info.url)
            .map_err(|e| Failure::Final(e.to_string()))?;
        let mut fetched = self.download(&request).await?;
        if let Some(expected) = info.sha256.as_deref()
            && !same_digest(expected, &Sha256::digest(&fetched.data))
        {
            return Err(Failure::Retry(
                "the file WhatsApp sent does not match its SHA-256".into(),
            ));
        }
        if fetched.content_type.is_none() {
            fetched.content_type = info.mime_type;
        }
        Ok(fetched)
    }

    /// Telegram: `getFile` gives the file's path, then `/file/bot<token>/<path>`.
    async fn fetch_telegram(&self, opened: &Opened, file_id: &str) -> Result<Fetched, Failure> {
        let bot = telegram::Bot::new(
            &setting_or(&opened.inbox, "api_base", "https://api.telegram.org"),
            &secret_of(&opened.secrets, "bot_token"),
        );
        let (status, body, _) = self.call(&bot.get_file(file_id)).await.map_err(Failure::of)?;
        let info = telegram::read_get_file(status, &body).map_err(Failure::of)?;
        if let Some(size) = info.file_size {
            too_big(size, self.settings.max_media_bytes)?;
        }
        let request = bot
            .file_download(&info.file_path)
            .map_err(|e| Failure::Final(e.to_string()))?;
        self.download(&request).await
    }

    /// WeChat: `media/get` with the account's access token, which answers the file or a JSON
    /// error; a token WeChat took back is fetched again for the next attempt.
    async fn fetch_wechat(&self, opened: &Opened, media_id: &str) -> Result<Fetched, Failure> {
        let inbox = &opened.inbox;
        let api = wechat::Api::new(
            &setting_or(inbox, "api_base", "https://api.weixin.qq.com"),
            &setting(inbox, "app_id"),
            &secret_of(&opened.secrets, "app_secret"),
        );
        let token = self
            .wechat_token(inbox.inbox.id, &api)
            .await
            .map_err(Failure::of)?;
        let (status, content_type, data) = self.get(&api.media_get(&token, media_id)).await?;
        if let Some(outcome) = wechat::read_media_error(status, content_type.as_deref().unwrap_or(""), &data)
        {
            if matches!(outcome, SendOutcome::RefreshToken { .. }) {
                self.wechat_token_refused(inbox.inbox.id, &outcome).await;
            }
            return Err(Failure::of(outcome));
        }
        Ok(Fetched { data, content_type })
    }

    /// SMS: the `MediaUrl` itself, on the provider's API host only, with our credentials.
    async fn fetch_sms(&self, opened: &Opened, url: &str) -> Result<Fetched, Failure> {
        let inbox = &opened.inbox;
        let api = sms::Api {
            base: setting_or(inbox, "api_base", "https://api.twilio.com"),
            account_sid: setting(inbox, "account_sid"),
            auth_token: secret_of(&opened.secrets, "auth_token"),
            from: setting(inbox, "from"),
            status_callback: None,
        };
        let request = api
            .media_download(url)
            .map_err(|e| Failure::Final(e.to_string()))?;
        self.download(&request).await
    }

    /// A file's download: a 2xx with its bytes, or why not.
    async fn download(&self, request: &HttpRequest) -> Result<Fetched, Failure> {
        let (status, content_type, data) = self.get(request).await?;
        if !(200..300).contains(&status) {
            return Err(Failure::status(status));
        }
        Ok(Fetched { data, content_type })
    }

    /// One GET read up to the size limit, whatever its status: (status, content type, bytes).
    async fn get(&self, request: &HttpRequest) -> Result<(u16, Option<String>, Vec<u8>), Failure> {
        let limit = self.settings.max_media_bytes;
        let mut builder = self.http.get(&request.url).timeout(DOWNLOAD_TIMEOUT);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let unreachable =
            |e: reqwest::Error| Failure::Retry(format!("the platform did not answer: {}", without_url(&e)));
        let mut response = builder.send().await.map_err(unreachable)?;
        if let Some(size) = response.content_length() {
            too_big(size, limit)?;
        }
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut data = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            data.extend_from_slice(&chunk);
            too_big(data.len() as u64, limit)?;
        }
        Ok((status, content_type, data))
    }
}

/// A file may take this long to arrive (a voice note in seconds, a large video in minutes).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(300);

fn too_big(size: u64, limit: u64) -> Result<(), Failure> {
    if size > limit {
        return Err(Failure::Final(format!(
            "the file is {size} bytes, over the limit of {limit}"
        )));
    }
    Ok(())
}

/// What one attempt at a message's files makes of it: done when every file is kept or failed
/// for good; tried again (every file) after the backoff when one may pass and attempts are
/// left; else done, the passing failures counted as final.
fn next_step(
    results: Vec<Result<NewAttachment, Failure>>,
    attempts: u32,
    settings: &crate::config::Messaging,
    now: Millis,
) -> MediaUpdate {
    let attempts = attempts + 1;
    let passing = results.iter().find_map(|r| match r {
        Err(Failure::Retry(reason)) => Some(reason.clone()),
        _ => None,
    });
    if let Some(reason) = passing
        && attempts < settings.media_attempts
    {
        let wait = u64::from(settings.media_retry_secs)
            .saturating_mul(1 << (attempts - 1).min(16))
            .min(3_600);
        return MediaUpdate::Retry {
            attempts,
            next_at: now + (wait * 1000) as Millis,
            reason,
        };
    }
    MediaUpdate::Done(
        results
            .into_iter()
            .map(|r| match r {
                Ok(kept) => MediaOutcome::Kept(kept),
                Err(Failure::Retry(reason) | Failure::Final(reason)) => MediaOutcome::Failed { reason },
            })
            .collect(),
    )
}

/// Whether a platform's SHA-256 (hex, or base64 as WhatsApp's webhooks write it) is `digest`.
fn same_digest(expected: &str, digest: &[u8]) -> bool {
    use base64::Engine as _;
    let expected = expected.trim();
    expected.eq_ignore_ascii_case(&hex(digest))
        || expected == base64::engine::general_purpose::STANDARD.encode(digest)
}

/// A file name's extension for the types platforms send without a name.
fn extension(content_type: &str) -> &'static str {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    match essence.to_ascii_lowercase().as_str() {
        "image/jpeg" => ".jpg",
        "image/png" => ".png",
        "image/webp" => ".webp",
        "image/gif" => ".gif",
        "audio/ogg" => ".ogg",
        "audio/mpeg" => ".mp3",
        "audio/amr" => ".amr",
        "audio/mp4" | "audio/aac" => ".m4a",
        "video/mp4" => ".mp4",
        "application/pdf" => ".pdf",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> NewAttachment {
        NewAttachment {
            filename: "image.jpg".into(),
            content_type: "image/jpeg".into(),
            size: 3,
            sha256: "0".repeat(64),
            content_id: None,
        }
    }

    fn settings() -> crate::config::Messaging {
        crate::config::Messaging {
            max_media_bytes: 10,
            media_attempts: 3,
            media_retry_secs: 2,
            media_claim_secs: 60,
        }
    }

    #[test]
    fn a_passing_failure_is_retried_with_backoff_then_given_up() {
        let down = || vec![Ok(kept()), Err(Failure::Retry("HTTP 503".into()))];
        let cases = [(0, Some(2_000)), (1, Some(4_000)), (2, None)];
        for (attempts, wait) in cases {
            match (next_step(down(), attempts, &settings(), 1_000), wait) {
                (
                    MediaUpdate::Retry {
                        attempts: a,
                        next_at,
                        reason,
                    },
                    Some(wait),
                ) => {
                    assert_eq!(
                        (a, next_at, reason.as_str()),
                        (attempts + 1, 1_000 + wait, "HTTP 503")
                    );
                }
                (MediaUpdate::Done(outcomes), None) => assert_eq!(
                    outcomes,
                    [
                        MediaOutcome::Kept(kept()),
                        MediaOutcome::Failed {
                            reason: "HTTP 503".into()
                        }
                    ]
                ),
                (other, wait) => panic!("attempt {attempts}: {other:?}, expected a wait of {wait:?}"),
            }
        }
    }

    #[test]
    fn a_final_failure_is_never_retried() {
        let update = next_step(vec![Err(Failure::Final("too big".into()))], 0, &settings(), 0);
        assert_eq!(
            update,
            MediaUpdate::Done(vec![MediaOutcome::Failed {
                reason: "too big".into()
            }])
        );
    }

    #[test]
    fn sizes_over_the_limit_and_statuses_are_read_as_the_platform_means_them() {
        assert_eq!(too_big(10, 10), Ok(()));
        assert!(matches!(too_big(11, 10), Err(Failure::Final(_))));
        assert!(matches!(Failure::status(503), Failure::Retry(_)));
        assert!(matches!(Failure::status(429), Failure::Retry(_)));
        assert!(matches!(Failure::status(404), Failure::Final(_)));
        assert_eq!(extension("audio/ogg; codecs=opus"), ".ogg");
        assert_eq!(extension("application/x-unknown"), "");
        let digest = Sha256::digest(b"test");
        assert!(same_digest(
            "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
            &digest
        ));
        assert!(same_digest(
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            &digest
        ));
        assert!(!same_digest("n4bQgYhMfWWaL", &digest));
    }
}
