//! What every websocket session shares: the upgrade settings, reading one JSON frame into a
//! typed message (with a clear error frame for anything else), and writing frames.

use super::ApiError;
use axum::extract::ws::{Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::SinkExt;
use futures_util::stream::SplitSink;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A frame larger than this closes the socket; anything up to it gets a proper answer.
const MAX_FRAME: usize = 1024 * 1024;

/// How long a new socket may take to say who it is.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(30);

/// A small read buffer per socket: the 128 KiB default costs 133 KiB per idle connection.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4096)
        .max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
}

pub type Sink = SplitSink<WebSocket, WsMessage>;

/// What a client sent, read as far as it could be.
pub enum Incoming<T> {
    Frame(T),
    /// Unreadable: answer this error (with the frame's `client_id`, if it had one) and go on.
    Invalid(ApiError, Option<String>),
    /// Nothing to do (ping, pong, binary keep-alives).
    Skip,
    Closed,
}

pub fn parse<T: DeserializeOwned>(message: Option<Result<WsMessage, axum::Error>>) -> Incoming<T> {
    let text = match message {
        None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Incoming::Closed,
        Some(Ok(WsMessage::Text(text))) => text,
        Some(Ok(WsMessage::Binary(_))) => {
            return Incoming::Invalid(ApiError::BadRequest("frames must be JSON text".into()), None);
        }
        Some(Ok(_)) => return Incoming::Skip,
    };
    match serde_json::from_str::<T>(text.as_str()) {
        Ok(frame) => Incoming::Frame(frame),
        Err(e) => {
            let client_id = serde_json::from_str::<serde_json::Value>(text.as_str())
                .ok()
                .and_then(|v| v.get("client_id").and_then(|c| c.as_str()).map(str::to_owned));
            Incoming::Invalid(ApiError::BadRequest(format!("unreadable frame: {e}")), client_id)
        }
    }
}

pub async fn send<T: Serialize + ?Sized>(sink: &mut Sink, frame: &T) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => sink.send(WsMessage::Text(Utf8Bytes::from(text))).await.is_ok(),
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a frame");
            true
        }
    }
}

pub async fn send_error(sink: &mut Sink, error: &ApiError, r#ref: Option<String>) -> bool {
    let frame = serde_json::json!({
        "type": "error",
        "code": error.code(),
        "message": error.public_message(),
        "ref": r#ref,
    });
    send(sink, &frame).await
}

/// A message body as the hub accepts it: not blank, at most 64 KiB.
pub fn check_body(body: &str) -> Result<(), ApiError> {
    if body.len() > crate::domain::MAX_MESSAGE_BYTES {
        return Err(ApiError::TooLarge(crate::domain::MAX_MESSAGE_BYTES));
    }
    if body.trim().is_empty() {
        return Err(ApiError::BadRequest("an empty message".into()));
    }
    Ok(())
}

pub fn check_client_id(client_id: &str) -> Result<(), ApiError> {
    if client_id.is_empty() || client_id.len() > 128 {
        return Err(ApiError::BadRequest(
            "client_id must be 1 to 128 characters".into(),
        ));
    }
    Ok(())
}
