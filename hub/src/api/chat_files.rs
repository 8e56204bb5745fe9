//! Files a visitor sends in a web chat: the widget posts a picture or a PDF with its chat token
//! (`POST /chat/files`), the hub keeps the bytes with the attachments (`intake::Files`), commits
//! a message naming it on the conversation, and the agent's console shows it like any message;
//! the widget reads its conversation's files back with the same token (`GET /chat/files/{id}`).
//! Both answer any site's page (CORS, no cookies): the token is the only key.

use super::{ApiError, AppState};
use crate::auth;
use crate::domain::{AttachmentId, Message, Sender, now_millis};
use crate::store::{ChatSession, NewChannelMessage, NewMessage, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The routes, with CORS; the upload reads at most `chat.max_file_bytes` (a larger body is
/// `too_large`, as JSON).
pub fn routes() -> axum::Router<AppState> {
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    axum::Router::new()
        .route("/chat/files", axum::routing::post(upload))
        .route("/chat/files/{id}", axum::routing::get(download))
        .layer(cors)
}

/// What a visitor may send, told by the file's first bytes (whatever its name or the request
/// says): pictures the console and the widget show inline, and PDFs to download.
pub fn file_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        None
    }
}

/// The longest file name kept, in characters.
const MAX_FILENAME_CHARS: usize = 120;

/// A name to keep: the visitor's, without any path or control characters, else one from the type.
fn clean_name(given: Option<&str>, content_type: &str) -> String {
    let base = given
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_FILENAME_CHARS)
        .collect::<String>();
    let base = base.trim();
    if base.is_empty() || base.chars().all(|c| c == '.') {
        let ext = content_type.rsplit('/').next().unwrap_or("bin");
        format!("file.{ext}")
    } else {
        base.to_owned()
    }
}

/// The conversation the widget's token opens, as long as it is live.
async fn session(state: &AppState, headers: &HeaderMap) -> Result<ChatSession, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    match state.store.chat_session(&auth::hash_token(token)).await {
        Ok(session) => Ok(session),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct UploadQuery {
    filename: Option<String>,
    /// The widget's id for this send: a retry after a dropped answer is stored once.
    client_id: String,
}

/// The visitor sends a file: committed as their message on the conversation before the answer
/// (`{message}`), then shown to the agent who holds it.
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<UploadQuery>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers).await?;
    super::ws::check_client_id(&query.client_id)?;
    let (account, id) = (session.account_id, session.interaction_id);
    let interaction = state.store.interaction(account, id).await?;
    if interaction.state.is_terminal() || interaction.state == crate::domain::InteractionState::WrapUp {
        return Err(ApiError::InvalidState("this chat has ended".into()));
    }
    if state.message_limiter.check_key(&id).is_err() {
        return Err(ApiError::RateLimited);
    }
    let most = state.config.chat.max_file_bytes;
    let too_large = || ApiError::FileTooLarge(format!("a file may be at most {most} bytes"));
    let data = axum::body::to_bytes(body, most).await.map_err(|_| too_large())?;
    if data.is_empty() {
        return Err(ApiError::BadRequest("the file is empty".into()));
    }
    let content_type = file_type(&data).ok_or_else(|| {
        ApiError::BadRequest(
            "only pictures (PNG, JPEG, GIF, WebP) and PDF files can be sent in a chat".into(),
        )
    })?;
    let file = plugboard_channel::Attachment {
        filename: clean_name(query.filename.as_deref(), content_type),
        content_type: content_type.into(),
        content_id: None,
        data: data.to_vec(),
    };
    let kept = state
        .email
        .files()
        .keep(&file)
        .await
        .map_err(|e| ApiError::Internal(format!("keeping a chat file: {e}")))?;
    let new = NewChannelMessage {
        opening: Vec::new(),
        message: NewMessage {
            interaction_id: id,
            sender: Sender::Customer,
            agent_id: None,
            body: String::new(),
            client_id: query.client_id,
        },
        entry_point: interaction.entry_point.clone(),
        external_id: None,
        details: serde_json::json!({}),
        attachments: vec![kept],
        outbound: None,
        fetch_media: false,
    };
    let (message, created): (Message, bool) = state
        .store
        .append_channel_message(account, new, now_millis())
        .await?;
    if created {
        metrics::counter!("plugboard_messages_total", "sender" => "customer").increment(1);
        let agent = state.dispatcher.watcher(id).await;
        state.bus.to_agent_and_watchers(agent, message.clone());
    }
    Ok(axum::Json(serde_json::json!({ "message": message })).into_response())
}

/// A file of the token's conversation (the visitor's own, or one an agent sent): its bytes, as a
/// download, never rendered by the hub's origin.
async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = session(&state, &headers).await?;
    let id: AttachmentId = id.parse().map_err(|_| ApiError::NotFound)?;
    let stored = state.store.attachment(session.account_id, id).await?;
    // Another conversation's file is not there, for this token.
    if stored.interaction_id != session.interaction_id {
        return Err(ApiError::NotFound);
    }
    super::email::attachment_response(&state, &stored).await
}

#[cfg(test)]
mod tests {
    use super::{clean_name, file_type};

    #[test]
    fn a_chat_file_is_told_by_its_bytes_and_kept_under_a_plain_name() {
        let cases: [(&[u8], Option<&str>); 7] = [
            (b"\x89PNG\r\n\x1a\n\0\0", Some("image/png")),
            (&[0xFF, 0xD8, 0xFF, 0xE1], Some("image/jpeg")),
            (b"GIF89a\x01\0", Some("image/gif")),
            (b"RIFF\0\0\0\0WEBPVP8L", Some("image/webp")),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"<svg onload=alert(1)>", None),
            (b"MZ\x90\0", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(file_type(bytes), expected, "{bytes:?}");
        }
        assert_eq!(
            clean_name(Some("C:\\Users\\mia\\receipt.pdf"), "application/pdf"),
            "receipt.pdf"
        );
        assert_eq!(clean_name(Some("../../etc/passwd"), "image/png"), "passwd");
        assert_eq!(clean_name(Some("a\u{0}b\nc.png"), "image/png"), "abc.png");
        assert_eq!(clean_name(Some(".."), "image/png"), "file.png");
        assert_eq!(clean_name(None, "application/pdf"), "file.pdf");
        assert_eq!(
            clean_name(Some(&"长".repeat(200)), "image/png").chars().count(),
            120
        );
    }
}
