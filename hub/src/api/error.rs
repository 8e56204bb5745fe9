//! One error type for REST and websockets: each variant has one code and one HTTP status, in one
//! table; the body is `{"code": "...", "message": "..."}`. Details of 5xx errors are logged, never sent.

use crate::dispatcher::DispatchError;
use crate::profile::ProfileError;
use crate::routing::RouterError;
use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("a message may carry at most {0} bytes")]
    TooLarge(usize),
    #[error("a websocket frame may carry at most {0} bytes")]
    FrameTooLarge(usize),
    /// A visitor's messages in one conversation add up past `chat.max_conversation_bytes`.
    #[error("this conversation has reached its limit of {0} bytes; please start a new one")]
    ConversationFull(usize),
    /// A file, or a mail's files together, over `email.max_bytes`.
    #[error("{0}")]
    FileTooLarge(String),
    /// A body of a media type the route does not take (a webhook delivery not as its platform
    /// posts): the message names the type expected.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// A socket's session was ended (logged out, a new password) or expired.
    #[error("your session has ended; please log in again")]
    SessionEnded,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("this chat may not be used on this website")]
    OriginRefused,
    /// The right password for a user an admin deactivated.
    #[error("this user is deactivated; ask an admin to reactivate it")]
    Deactivated,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    InvalidState(String),
    /// The agent has no room for another interaction of that channel (capacity).
    #[error("{0}")]
    NoRoom(String),
    /// What only a chat or an email can be (snoozed, reopened), asked of a call.
    #[error("{0}")]
    NotForCalls(String),
    #[error("too many requests; try again in a minute")]
    RateLimited,
    /// Too many wrong passwords for one login (`crate::lockout`): this many seconds more.
    #[error("too many wrong passwords for this login; try again in {0} seconds")]
    LockedOut(i64),
    /// A platform (Telegram, say) refused what the hub asked of it for an admin: its words.
    #[error("{0}")]
    PlatformRefused(String),
    #[error("the service is not ready")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The table: code and status of every variant.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::BadRequest(_) => ("bad_request", StatusCode::BAD_REQUEST),
            ApiError::TooLarge(_)
            | ApiError::FrameTooLarge(_)
            | ApiError::ConversationFull(_)
            | ApiError::FileTooLarge(_) => ("too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::UnsupportedMediaType(_) => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ApiError::Unauthorized | ApiError::SessionEnded => ("unauthorized", StatusCode::UNAUTHORIZED),
            ApiError::Forbidden | ApiError::OriginRefused => ("forbidden", StatusCode::FORBIDDEN),
            ApiError::Deactivated => ("deactivated", StatusCode::FORBIDDEN),
            ApiError::NotFound => ("not_found", StatusCode::NOT_FOUND),
            ApiError::Conflict(_) => ("conflict", StatusCode::CONFLICT),
            ApiError::InvalidState(_) => ("invalid_state", StatusCode::CONFLICT),
            ApiError::NoRoom(_) => ("no_room", StatusCode::CONFLICT),
            ApiError::NotForCalls(_) => ("not_for_calls", StatusCode::CONFLICT),
            ApiError::RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ApiError::LockedOut(_) => ("locked_out", StatusCode::TOO_MANY_REQUESTS),
            ApiError::PlatformRefused(_) => ("platform_refused", StatusCode::BAD_GATEWAY),
            ApiError::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    pub fn code(&self) -> &'static str {
        self.code_and_status().0
    }

    /// What the client is told: the error's text, except for internal errors.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                "internal error".into()
            }
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let body = serde_json::json!({"code": code, "message": self.public_message()});
        (status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { constraint } => {
                ApiError::Conflict(format!("already exists ({constraint})"))
            }
            StoreError::InvalidTransition(t) => ApiError::InvalidState(t.to_string()),
            // Another node leads the routers now: try again (it will reach the new leader).
            StoreError::Deposed { .. } => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Store(e) => e.into(),
            DispatchError::Router(e) => e.into(),
            DispatchError::NotYours => ApiError::Forbidden,
            DispatchError::NotACall => ApiError::BadRequest("only a call can be put on hold".into()),
            DispatchError::Stopped => ApiError::Unavailable,
            DispatchError::Refused(m) => ApiError::InvalidState(m),
            DispatchError::Failed(m) => ApiError::Internal(m),
        }
    }
}

impl From<crate::email::ComposeError> for ApiError {
    fn from(e: crate::email::ComposeError) -> Self {
        use crate::email::ComposeError as C;
        match e {
            C::NotYours | C::NotYourUpload(_) => ApiError::Forbidden,
            C::TooLarge { .. } => ApiError::FileTooLarge(e.to_string()),
            C::NoRoom => ApiError::NoRoom(e.to_string()),
            C::ClientIdTaken => ApiError::Conflict(e.to_string()),
            C::NotEmail
            | C::Address(_)
            | C::NoRecipient
            | C::NoSubject
            | C::NoSuchMailbox
            | C::NoSuchUpload(_)
            | C::NoSuchMail(_) => ApiError::BadRequest(e.to_string()),
            C::Store(e) => e.into(),
            C::Dispatch(e) => e.into(),
            C::MissingFile(_) | C::Files(_) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<RouterError> for ApiError {
    fn from(e: RouterError) -> Self {
        ApiError::InvalidState(e.to_string())
    }
}

impl From<ProfileError> for ApiError {
    fn from(e: ProfileError) -> Self {
        match e {
            ProfileError::Store(e) => e.into(),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<crate::intake::IntakeError> for ApiError {
    fn from(e: crate::intake::IntakeError) -> Self {
        use crate::intake::IntakeError;
        match e {
            IntakeError::Profile(e) => e.into(),
            IntakeError::Store(e) => e.into(),
            IntakeError::Dispatch(e) => e.into(),
            IntakeError::Files(e) => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<crate::visitor::VisitorError> for ApiError {
    fn from(e: crate::visitor::VisitorError) -> Self {
        use crate::visitor::VisitorError as V;
        match e {
            V::BadSignature => ApiError::Unauthorized,
            V::NothingSigned | V::NoSecret | V::Identity(_) => ApiError::BadRequest(e.to_string()),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

/// `axum::Json` whose rejections come back as the API's error body.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
