//! What every websocket session shares: the upgrade settings, reading one JSON frame into a
//! typed message (with a clear error frame for anything else), writing frames with a deadline,
//! and closing with a code that says why.

use super::ApiError;
use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// The largest frame the protocol accepts (docs/protocol.md): a text frame over it is answered
/// `too_large` and changes nothing.
pub const MAX_FRAME: usize = 64 * 1024;

/// A frame past this is not read at all: the socket is closed with 1009 (RFC 6455 §7.4.1,
/// "message too big"), so a client cannot make the hub buffer megabytes to refuse them.
const HARD_CAP: usize = 1024 * 1024;

/// RFC 6455 §7.4.1: the message was too big to process.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// RFC 6455 §7.4.1: the endpoint received a message that violates its policy (a session ended).
pub const CLOSE_POLICY: u16 = 1008;

/// A small read buffer per socket: the 128 KiB default costs 133 KiB per idle connection.
pub fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(4096)
        .max_message_size(HARD_CAP)
        .max_frame_size(HARD_CAP)
}

/// A socket's writing half, with how long one frame may take to reach the client
/// (`http.socket_write_timeout_secs`): a client that stops reading (its TCP window full) is let
/// go rather than holding the session's task and its queued frames.
pub struct Sink {
    inner: SplitSink<WebSocket, WsMessage>,
    write_timeout: Duration,
}

/// An upgraded socket's writing half (with the site's write deadline) and reading half.
pub fn split(socket: WebSocket, http: &crate::config::Http) -> (Sink, SplitStream<WebSocket>) {
    let (inner, stream) = socket.split();
    let write_timeout = Duration::from_secs(u64::from(http.socket_write_timeout_secs.max(1)));
    (Sink { inner, write_timeout }, stream)
}

/// What a console socket (`/ws/agent`, `/ws/supervisor`) is allowed: its `auth` within
/// `http.console_auth_timeout_secs`, and pings every third of `http.console_idle_timeout_secs`,
/// closed when nothing (not even a pong) was heard for that long.
pub struct ConsoleTimeouts {
    pub auth: Duration,
    pub idle: Duration,
}

impl ConsoleTimeouts {
    pub fn of(http: &crate::config::Http) -> ConsoleTimeouts {
        let secs = |s: u32| Duration::from_secs(u64::from(s.max(1)));
        ConsoleTimeouts {
            auth: secs(http.console_auth_timeout_secs),
            idle: secs(http.console_idle_timeout_secs),
        }
    }

    /// The keep-alive's ticks: every third of the idle limit, so a live browser's pongs always
    /// land within it.
    pub fn keepalive(&self) -> tokio::time::Interval {
        let every = self.idle / 3;
        tokio::time::interval_at(tokio::time::Instant::now() + every, every)
    }
}

/// What a client sent, read as far as it could be.
pub enum Incoming<T> {
    Frame(T),
    /// Unreadable: answer this error (with the frame's `client_id`, if it had one) and go on.
    Invalid(ApiError, Option<String>),
    /// Nothing to do (ping, pong, binary keep-alives).
    Skip,
    /// Past `HARD_CAP`: close with 1009.
    TooBig,
    Closed,
}

/// Just a frame's `client_id`, to name it in an error (its other fields are skipped unread).
#[derive(serde::Deserialize)]
struct Ref {
    client_id: Option<String>,
}

fn client_id_of(text: &str) -> Option<String> {
    serde_json::from_str::<Ref>(text).ok().and_then(|r| r.client_id)
}

fn too_big(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|e| e.downcast_ref::<tungstenite::Error>())
        .is_some_and(|e| matches!(e, tungstenite::Error::Capacity(_)))
}

pub fn parse<T: DeserializeOwned>(message: Option<Result<WsMessage, axum::Error>>) -> Incoming<T> {
    let text = match message {
        Some(Err(e)) if too_big(&e) => return Incoming::TooBig,
        None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Incoming::Closed,
        Some(Ok(WsMessage::Text(text))) => text,
        Some(Ok(WsMessage::Binary(_))) => {
            return Incoming::Invalid(ApiError::BadRequest("frames must be JSON text".into()), None);
        }
        Some(Ok(_)) => return Incoming::Skip,
    };
    read_text(text.as_str())
}

/// A text frame as the protocol reads it: at most `MAX_FRAME` bytes of JSON of one of `T`'s types.
pub fn read_text<T: DeserializeOwned>(text: &str) -> Incoming<T> {
    if text.len() > MAX_FRAME {
        return Incoming::Invalid(ApiError::FrameTooLarge(MAX_FRAME), client_id_of(text));
    }
    match serde_json::from_str::<T>(text) {
        Ok(frame) => Incoming::Frame(frame),
        Err(e) => Incoming::Invalid(
            ApiError::BadRequest(format!("unreadable frame: {e}")),
            client_id_of(text),
        ),
    }
}

/// Writes one frame within the sink's write deadline; false when the socket is gone or too slow
/// to keep.
pub async fn send<T: Serialize + ?Sized>(sink: &mut Sink, frame: &T) -> bool {
    match serde_json::to_string(frame) {
        Ok(text) => write(sink, WsMessage::Text(Utf8Bytes::from(text))).await,
        Err(e) => {
            tracing::error!(error = %e, "could not serialise a frame");
            true
        }
    }
}

async fn write(sink: &mut Sink, message: WsMessage) -> bool {
    matches!(
        tokio::time::timeout(sink.write_timeout, sink.inner.send(message)).await,
        Ok(Ok(()))
    )
}

/// Notes that the client was just heard from (anything it sent, a pong included), passing on
/// what it sent.
pub fn heard<T>(sent: T, at: &mut tokio::time::Instant) -> T {
    *at = tokio::time::Instant::now();
    sent
}

/// A keep-alive's tick: closes a socket heard from last at `heard`, longer than `idle` ago,
/// else pings it. False when the socket is done with (closed, gone or too slow).
pub async fn keep_alive(sink: &mut Sink, heard: tokio::time::Instant, idle: Duration) -> bool {
    if heard.elapsed() >= idle {
        close(sink, CLOSE_POLICY, "idle").await;
        return false;
    }
    ping(sink).await
}

/// A keep-alive: a browser answers it with a pong, which counts as the client being there.
pub async fn ping(sink: &mut Sink) -> bool {
    write(sink, WsMessage::Ping(Default::default())).await
}

/// Closes the socket with `code` and a short reason (at most 123 bytes, RFC 6455 §5.5).
pub async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    write(sink, WsMessage::Close(Some(frame))).await;
}

/// Closes a socket whose client sent a frame past the hard cap.
pub async fn close_too_big(sink: &mut Sink) {
    close(sink, CLOSE_TOO_BIG, "frame too large").await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(tag = "type")]
    enum Frame {
        #[serde(rename = "message")]
        Message { body: String },
    }

    fn text(s: String) -> Option<Result<WsMessage, axum::Error>> {
        Some(Ok(WsMessage::Text(Utf8Bytes::from(s))))
    }

    #[test]
    fn a_frame_is_read_up_to_64_kib_refused_whole_past_it_and_not_read_past_the_cap() {
        let frame = |pad: usize| {
            serde_json::json!({"type": "message", "client_id": "c7", "body": "hi", "pad": "p".repeat(pad)})
                .to_string()
        };
        let fits = frame(MAX_FRAME - frame(0).len());
        assert_eq!(fits.len(), MAX_FRAME);
        match parse::<Frame>(text(fits)) {
            Incoming::Frame(Frame::Message { body }) => assert_eq!(body, "hi"),
            _ => panic!("a frame of exactly 64 KiB was refused"),
        }
        match parse::<Frame>(text(frame(MAX_FRAME))) {
            Incoming::Invalid(ApiError::FrameTooLarge(MAX_FRAME), Some(r)) => assert_eq!(r, "c7"),
            _ => panic!("a frame over 64 KiB was read"),
        }
        // What tungstenite says when a frame passes the cap it was configured with.
        let capacity = tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size: 10 << 20,
            max_size: HARD_CAP,
        });
        assert!(matches!(
            parse::<Frame>(Some(Err(axum::Error::new(capacity)))),
            Incoming::TooBig
        ));
        let broken = axum::Error::new(tungstenite::Error::ConnectionClosed);
        assert!(matches!(parse::<Frame>(Some(Err(broken))), Incoming::Closed));
    }
}
