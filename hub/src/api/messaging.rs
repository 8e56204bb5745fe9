//! REST for messaging apps under `/api/v1` (admins manage inboxes, their secrets sealed and never
//! returned; an agent replies in a conversation they hold) and the platforms' webhook,
//! `/webhooks/{inbox}`, outside it: public, answered only after what it carried is committed.

use super::audit::{audited, record};
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, AuthAgent, RequireRole};
use crate::domain::{InboxId, InteractionId, Message, QueueId, now_millis};
use crate::messaging::{MessagingError, PLATFORMS, RegisterError};
use crate::store::{Inbox, InboxSecrets, StoreError};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inboxes, create_inbox))
        .routes(routes!(delete_inbox))
        .routes(routes!(register_webhook))
        .routes(routes!(reply))
}

/// The webhook, as platforms reach it (not under `/api/v1`: no login, and each platform's own
/// verification instead).
pub fn webhook_routes() -> axum::Router<AppState> {
    axum::Router::new().route(
        "/webhooks/{id}",
        axum::routing::get(webhook_get).post(webhook_post),
    )
}

/// The secrets each platform needs, by name; all strings.
fn secret_names(platform: &str) -> &'static [&'static str] {
    match platform {
        // The Graph API's access token, the app secret deliveries are signed with, and the token
        // an admin makes up and gives Meta for the subscription handshake.
        "whatsapp" => &["access_token", "app_secret", "verify_token"],
        // The bot's token, and the secret Telegram sends back with every delivery.
        "telegram" => &["bot_token", "secret_token"],
        // The Token of the account's server configuration, the AppSecret (for access tokens),
        // and in safe mode the EncodingAESKey (left out: plaintext mode).
        "wechat" => &["token", "app_secret", "encoding_aes_key"],
        // The provider's auth token: it signs webhooks and logs the hub in.
        "sms" => &["auth_token"],
        // The secret both directions are signed with.
        "webhook" => &["secret"],
        _ => &[],
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct InboxSettings {
    /// `whatsapp`, `telegram`, `wechat`, `sms` (a Twilio-style provider) or `webhook` (our own
    /// signed webhook, for any other system).
    platform: String,
    name: String,
    #[schema(value_type = String)]
    queue_id: QueueId,
    /// WhatsApp: `phone_number_id` (required), `api_base`, `api_version`. Telegram: `api_base`.
    /// WeChat: `app_id` (required), `api_base`. SMS: `account_sid`, `from` (our number),
    /// `public_url` (the hub's address as the provider reaches it), `api_base`. Webhook: `url`
    /// (where replies are posted).
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Value,
    /// WhatsApp: `access_token`, `app_secret`, `verify_token`. Telegram: `bot_token`,
    /// `secret_token`. WeChat: `token`, `app_secret`, and `encoding_aes_key` for safe mode. SMS:
    /// `auth_token`. Webhook: `secret`.
    /// Write-only.
    #[schema(value_type = Object)]
    secrets: serde_json::Map<String, Value>,
}

#[derive(Debug, Serialize, ToSchema)]
struct InboxView {
    #[serde(flatten)]
    inbox: Inbox,
    /// Where the platform posts: this path on the hub's public address.
    webhook_path: String,
}

fn view(inbox: Inbox) -> InboxView {
    InboxView {
        webhook_path: format!("/webhooks/{}", inbox.id),
        inbox,
    }
}

/// The account's messaging inboxes.
#[utoipa::path(get, path = "/inboxes", responses((status = 200, body = Vec<InboxView>)))]
async fn list_inboxes(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
) -> Result<ApiJson<Vec<InboxView>>, ApiError> {
    let all = state.store.inboxes(me.account_id).await?;
    Ok(ApiJson(all.into_iter().map(view).collect()))
}

/// Add an inbox on a messaging app: its conversations are routed to its queue as soon as the
/// platform posts to its webhook.
#[utoipa::path(post, path = "/inboxes", request_body = InboxSettings,
    responses((status = 201, body = InboxView), (status = 400), (status = 409)))]
async fn create_inbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<InboxSettings>,
) -> Result<(StatusCode, ApiJson<InboxView>), ApiError> {
    if !PLATFORMS.contains(&req.platform.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "unknown platform {:?}: use {}",
            req.platform,
            PLATFORMS.join(" or ")
        )));
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::BadRequest(
            "an inbox needs a name of at most 100 characters".into(),
        ));
    }
    let settings = match req.settings {
        Value::Null => Value::Object(Default::default()),
        Value::Object(map) if map.values().all(Value::is_string) => Value::Object(map),
        _ => return Err(ApiError::BadRequest("settings are an object of strings".into())),
    };
    if req.platform == "whatsapp"
        && settings
            .get("phone_number_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::BadRequest(
            "a WhatsApp inbox needs settings.phone_number_id".into(),
        ));
    }
    let required: &[&str] = match req.platform.as_str() {
        // The provider signs the URL it posts to: the hub must know it as the provider does.
        "sms" => &["account_sid", "from", "public_url"],
        "webhook" => &["url"],
        _ => &[],
    };
    for name in required {
        if settings
            .get(*name)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::BadRequest(format!("settings.{name} is required")));
        }
    }
    if req.platform == "wechat"
        && settings
            .get("app_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(ApiError::BadRequest(
            "a WeChat inbox needs settings.app_id".into(),
        ));
    }
    if let Some(key) = req.secrets.get("encoding_aes_key").and_then(Value::as_str)
        && plugboard_im::wechat::AesKey::parse(key).is_err()
    {
        return Err(ApiError::BadRequest(
            "secrets.encoding_aes_key is the 43 characters WeChat shows".into(),
        ));
    }
    let names = secret_names(&req.platform);
    let optional = ["encoding_aes_key"];
    for name in names.iter().filter(|n| !optional.contains(n)) {
        if req
            .secrets
            .get(*name)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(ApiError::BadRequest(format!("secrets.{name} is required")));
        }
    }
    // Telegram sends the secret token back in a header: it takes 1 to 256 of these.
    if let Some(token) = req.secrets.get("secret_token").and_then(Value::as_str)
        && !(token.len() <= 256
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
    {
        return Err(ApiError::BadRequest(
            "secrets.secret_token is letters, digits, _ and - (at most 256)".into(),
        ));
    }
    if let Some(extra) = req.secrets.keys().find(|k| !names.contains(&k.as_str())) {
        return Err(ApiError::BadRequest(format!(
            "secrets.{extra} is not one of {}",
            names.join(", ")
        )));
    }
    let inbox = Inbox {
        id: InboxId::new(),
        platform: req.platform,
        name: name.to_owned(),
        queue_id: req.queue_id,
        settings,
        created_at: now_millis(),
    };
    let sealed = InboxSecrets {
        account: me.account_id,
        inbox,
        secrets: state
            .messaging
            .sealer()
            .seal(&Value::Object(req.secrets).to_string()),
    };
    let detail = serde_json::json!({"platform": sealed.inbox.platform, "name": sealed.inbox.name});
    let store = audited(
        &state,
        &me,
        ip,
        "inbox.created",
        Some(sealed.inbox.id.to_string()),
        detail,
    );
    let created = match store.create_inbox(me.account_id, sealed).await {
        Err(StoreError::NotFound) => return Err(ApiError::BadRequest("no such queue".into())),
        other => other?,
    };
    Ok((StatusCode::CREATED, ApiJson(view(created))))
}

#[utoipa::path(delete, path = "/inboxes/{id}", responses((status = 204), (status = 404)))]
async fn delete_inbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: InboxId = id.parse().map_err(|_| ApiError::NotFound)?;
    audited(
        &state,
        &me,
        ip,
        "inbox.deleted",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .delete_inbox(me.account_id, id)
    .await?;
    state.messaging.forget(id);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct Register {
    /// The hub's public address (`https://hub.example.com`): the webhook is this plus
    /// `webhook_path`.
    public_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Registered {
    registered: bool,
    url: String,
}

/// Tell the platform where to post (Telegram's `setWebhook`, with the inbox's secret token).
/// WhatsApp's webhook is set in Meta's dashboard: 400 says what to paste there.
#[utoipa::path(post, path = "/inboxes/{id}/webhook", request_body = Register,
    responses((status = 200, body = Registered), (status = 400), (status = 404), (status = 502)))]
async fn register_webhook(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Register>,
) -> Result<ApiJson<Registered>, Response> {
    let id: InboxId = id.parse().map_err(|_| ApiError::NotFound.into_response())?;
    let inbox = match state.store.inbox(id).await {
        Ok(inbox) if inbox.account == me.account_id => inbox,
        Ok(_) | Err(StoreError::NotFound) => return Err(ApiError::NotFound.into_response()),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    let url = format!(
        "{}/webhooks/{}",
        req.public_url.trim().trim_end_matches('/'),
        inbox.inbox.id
    );
    match state.messaging.register_webhook(&inbox, &url).await {
        Ok(()) => {
            let detail = serde_json::json!({"url": url});
            record(
                &state,
                &me,
                ip,
                "inbox.webhook_registered",
                Some(id.to_string()),
                detail,
            )
            .await
            .map_err(IntoResponse::into_response)?;
            Ok(ApiJson(Registered {
                registered: true,
                url,
            }))
        }
        Err(RegisterError::ByHand(why)) => Err(ApiError::BadRequest(why).into_response()),
        Err(RegisterError::Refused(why)) => Err(ApiError::PlatformRefused(why).into_response()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
struct Reply {
    /// The text; with a template, what the timeline shows (the template's own text if empty).
    #[serde(default)]
    body: String,
    /// Chosen by the console: sending twice with the same id sends once.
    client_id: String,
    /// An approved WhatsApp template instead of free text: the only thing WhatsApp delivers once
    /// 24 hours have passed since the customer last wrote.
    template: Option<Template>,
}

/// An approved WhatsApp message template, with its body's `{{1}}`, `{{2}}`… in order.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
struct Template {
    name: String,
    /// The template's language code, e.g. `en_US`, `zh_CN`.
    language: String,
    #[serde(default)]
    params: Vec<String>,
}

/// Reply in a messaging conversation the agent holds. The message is committed as queued and
/// sent by the outbox; its delivery (sent, delivered, read, failed with the platform's reason)
/// follows on the agent's socket.
#[utoipa::path(post, path = "/interactions/{id}/messages", request_body = Reply,
    responses((status = 202, body = Message), (status = 400), (status = 403)))]
async fn reply(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Reply>,
) -> Result<(StatusCode, ApiJson<Message>), ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    if !req.body.is_empty() || req.template.is_none() {
        super::ws::check_body(&req.body)?;
    }
    super::ws::check_client_id(&req.client_id)?;
    let template = match req.template {
        Some(t) => {
            let name_ok = !t.name.is_empty()
                && t.name.len() <= 512
                && t.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !name_ok || t.language.trim().is_empty() || t.params.len() > 20 {
                return Err(ApiError::BadRequest(
                    "a template has a name (lower-case letters, digits, _), a language and at most 20 params"
                        .into(),
                ));
            }
            Some(serde_json::json!(t))
        }
        None if req.body.trim().is_empty() => {
            return Err(ApiError::BadRequest("a reply needs some text".into()));
        }
        None => None,
    };
    let (message, _) = state
        .messaging
        .reply(&me, id, req.client_id, req.body, template)
        .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(message)))
}

async fn webhook_get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = id.parse::<InboxId>() else {
        return no_such_inbox();
    };
    webhook_answer(&state, id, false, query.as_deref().unwrap_or(""), &headers, &[]).await
}

/// A delivery, refused before it is read when its media type is not the one its platform posts
/// (415) or it is larger than the platform's deliveries may be (413); else read, verified and
/// taken in.
async fn webhook_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let Ok(id) = id.parse::<InboxId>() else {
        return no_such_inbox();
    };
    let posts = match state.messaging.posts(id).await {
        Ok(posts) => posts,
        Err(e) => return refusal(id, e),
    };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Err(e) = posts.check_content_type(content_type) {
        tracing::warn!(inbox = %id, error = %e, "a webhook delivery was refused");
        return ApiError::UnsupportedMediaType(e.to_string()).into_response();
    }
    let too_large = || {
        tracing::warn!(inbox = %id, limit = posts.max_body, "a webhook delivery was too large");
        ApiError::TooLarge(posts.max_body).into_response()
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > posts.max_body as u64) {
        return too_large();
    }
    let Ok(body) = axum::body::to_bytes(body, posts.max_body).await else {
        return too_large();
    };
    webhook_answer(&state, id, true, query.as_deref().unwrap_or(""), &headers, &body).await
}

fn no_such_inbox() -> Response {
    (StatusCode::NOT_FOUND, "no such inbox").into_response()
}

async fn webhook_answer(
    state: &AppState,
    id: InboxId,
    post: bool,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match state.messaging.receive(id, post, query, header, body).await {
        Ok(answer) => (
            StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK),
            [(header::CONTENT_TYPE, answer.content_type)],
            answer.body,
        )
            .into_response(),
        Err(e) => refusal(id, e),
    }
}

/// What the platform is told when a request to `id` was not taken in.
fn refusal(id: InboxId, e: MessagingError) -> Response {
    let status = match &e {
        MessagingError::Refused(refused) => {
            tracing::warn!(inbox = %id, error = %refused, "a webhook delivery was refused");
            StatusCode::from_u16(refused.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
        }
        MessagingError::NoSuchInbox => StatusCode::NOT_FOUND,
        MessagingError::Method(_) => StatusCode::METHOD_NOT_ALLOWED,
        other => {
            // The platform retries what it did not get a 200 for: nothing is lost.
            tracing::error!(inbox = %id, error = %other, "a webhook delivery could not be taken in");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    (status, e.to_string()).into_response()
}

impl From<MessagingError> for ApiError {
    fn from(e: MessagingError) -> Self {
        match e {
            MessagingError::NotYours => ApiError::Forbidden,
            MessagingError::NotMessaging | MessagingError::NoRecipient | MessagingError::NoTemplates => {
                ApiError::BadRequest(e.to_string())
            }
            MessagingError::NoSuchInbox => ApiError::NotFound,
            MessagingError::Store(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
