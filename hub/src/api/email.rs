//! REST for email under `/api/v1`: admins manage mailboxes (passwords sealed, never returned;
//! each mailbox's fetch state and failed mails shown); agents see the mailboxes' addresses, upload
//! files, reply in or forward from a thread they hold and write a new email to a customer (what
//! each sends is decided in `email::compose`); anyone in the account downloads an interaction's
//! attachments.

use super::audit::audited;
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, AuthAgent, RequireRole};
use crate::domain::{
    AttachmentId, CustomerId, EmailAddress, InteractionId, MailboxId, Message, QueueId, UploadId, now_millis,
};
use crate::email::{Draft, MailboxStatus};
use crate::store::{InboundFailure, MailServer, Mailbox, MailboxSecrets, StoreError};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(update_mailbox, delete_mailbox))
        .routes(routes!(mailbox_failures))
        .routes(routes!(mailbox_addresses))
        .routes(routes!(reply))
        .routes(routes!(new_email))
        .routes(routes!(download_attachment))
}

/// Uploads, apart: their bodies are files up to `email.max_bytes`, not the API's 1 MiB of JSON.
pub fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload))
}

/// A mail server as an admin gives it: the password is write-only.
#[derive(Debug, Deserialize, ToSchema)]
struct ServerSettings {
    host: String,
    port: u16,
    /// `tls`, `starttls` or `plain`.
    security: String,
    user: String,
    /// Required when creating; left out when changing other settings, it stays as it was.
    password: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
struct MailboxSettings {
    address: String,
    #[serde(default)]
    display_name: String,
    #[schema(value_type = String)]
    queue_id: QueueId,
    imap: ServerSettings,
    #[serde(default = "inbox")]
    folder: String,
    done_folder: Option<String>,
    smtp: ServerSettings,
    signature: Option<String>,
}

fn inbox() -> String {
    "INBOX".into()
}

#[derive(Debug, Serialize, ToSchema)]
struct MailboxView {
    #[serde(flatten)]
    mailbox: Mailbox,
    status: MailboxStatus,
}

fn server(s: &ServerSettings) -> Result<MailServer, ApiError> {
    if s.host.trim().is_empty() || s.port == 0 {
        return Err(ApiError::BadRequest(
            "a mail server needs a host and a port".into(),
        ));
    }
    if !matches!(s.security.as_str(), "tls" | "starttls" | "plain") {
        return Err(ApiError::BadRequest("security is tls, starttls or plain".into()));
    }
    Ok(MailServer {
        host: s.host.trim().to_owned(),
        port: s.port,
        security: s.security.clone(),
        user: s.user.clone(),
    })
}

fn mailbox(id: MailboxId, s: &MailboxSettings) -> Result<Mailbox, ApiError> {
    let address = EmailAddress::parse(&s.address)
        .map_err(|_| ApiError::BadRequest("the mailbox address is not an email address".into()))?;
    if s.folder.trim().is_empty() {
        return Err(ApiError::BadRequest("the folder to fetch is empty".into()));
    }
    Ok(Mailbox {
        id,
        address: address.as_str().to_owned(),
        display_name: s.display_name.trim().to_owned(),
        queue_id: s.queue_id,
        imap: server(&s.imap)?,
        folder: s.folder.trim().to_owned(),
        done_folder: s.done_folder.clone().filter(|f| !f.trim().is_empty()),
        smtp: server(&s.smtp)?,
        signature: s.signature.clone().filter(|t| !t.trim().is_empty()),
        created_at: now_millis(),
    })
}

fn view(state: &AppState, mailbox: Mailbox) -> MailboxView {
    MailboxView {
        status: state.email.status(mailbox.id),
        mailbox,
    }
}

/// The account's mailboxes with how each is doing (connected, last fetch, last error).
#[utoipa::path(get, path = "/mailboxes", responses((status = 200, body = Vec<MailboxView>)))]
async fn list_mailboxes(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
) -> Result<ApiJson<Vec<MailboxView>>, ApiError> {
    let all = state.store.mailboxes(me.account_id).await?;
    Ok(ApiJson(all.into_iter().map(|m| view(&state, m)).collect()))
}

/// Add a support mailbox: its mail is fetched at once and routed to its queue.
#[utoipa::path(post, path = "/mailboxes", request_body = MailboxSettings,
    responses((status = 201, body = MailboxView), (status = 400), (status = 409)))]
async fn create_mailbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<MailboxSettings>,
) -> Result<(StatusCode, ApiJson<MailboxView>), ApiError> {
    let b = mailbox(MailboxId::new(), &req)?;
    let (Some(imap), Some(smtp)) = (&req.imap.password, &req.smtp.password) else {
        return Err(ApiError::BadRequest(
            "a new mailbox needs its IMAP and SMTP passwords".into(),
        ));
    };
    let sealer = state.email.sealer();
    let secrets = MailboxSecrets {
        account: me.account_id,
        mailbox: b,
        imap_password: sealer.seal(imap),
        smtp_password: sealer.seal(smtp),
    };
    let detail = serde_json::json!({"address": secrets.mailbox.address});
    let store = audited(
        &state,
        &me,
        ip,
        "mailbox.created",
        Some(secrets.mailbox.id.to_string()),
        detail,
    );
    let created = match store.create_mailbox(me.account_id, secrets).await {
        Err(StoreError::NotFound) => return Err(ApiError::BadRequest("no such queue".into())),
        other => other?,
    };
    state.email.reload().await?;
    Ok((StatusCode::CREATED, ApiJson(view(&state, created))))
}

/// Change a mailbox; passwords left out stay as they were.
#[utoipa::path(put, path = "/mailboxes/{id}", request_body = MailboxSettings,
    responses((status = 200, body = MailboxView), (status = 400), (status = 404)))]
async fn update_mailbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MailboxSettings>,
) -> Result<ApiJson<MailboxView>, ApiError> {
    let id: MailboxId = id.parse().map_err(|_| ApiError::NotFound)?;
    let existing = state
        .store
        .mailboxes(me.account_id)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(ApiError::NotFound)?;
    let mut b = mailbox(id, &req)?;
    b.created_at = existing.created_at;
    let sealer = state.email.sealer();
    let imap = req.imap.password.as_deref().map(|p| sealer.seal(p));
    let smtp = req.smtp.password.as_deref().map(|p| sealer.seal(p));
    let detail = serde_json::json!({
        "address": b.address,
        "imap_password_changed": imap.is_some(),
        "smtp_password_changed": smtp.is_some(),
    });
    let updated = audited(&state, &me, ip, "mailbox.updated", Some(id.to_string()), detail)
        .update_mailbox(me.account_id, b, imap, smtp)
        .await?;
    state.email.reload().await?;
    Ok(ApiJson(view(&state, updated)))
}

/// Remove a mailbox: fetching stops; its conversations stay on the timeline.
#[utoipa::path(delete, path = "/mailboxes/{id}", responses((status = 204), (status = 404)))]
async fn delete_mailbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MailboxId = id.parse().map_err(|_| ApiError::NotFound)?;
    audited(
        &state,
        &me,
        ip,
        "mailbox.deleted",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .delete_mailbox(me.account_id, id)
    .await?;
    state.email.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mails that could not be taken in (broken MIME, too big, no sender), newest first.
#[utoipa::path(get, path = "/mailboxes/{id}/failures", responses((status = 200, body = Vec<InboundFailure>)))]
async fn mailbox_failures(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<InboundFailure>>, ApiError> {
    let id: MailboxId = id.parse().map_err(|_| ApiError::NotFound)?;
    let entry = format!("mailbox:{id}");
    Ok(ApiJson(
        state.store.inbound_failures(me.account_id, &entry, 200).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Reply {
    /// Chosen by the console: sending twice with the same id sends once.
    client_id: String,
    /// The reply's text; for a forward, the note above the forwarded mail (may be empty).
    #[serde(default)]
    body: String,
    /// Recipients; for a reply, by default whoever the customer's last mail came from (its
    /// Reply-To if set); a forward needs them.
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    /// By default the thread's subject (with `Re: `), or for a forward `Fwd: ` and the
    /// forwarded mail's.
    subject: Option<String>,
    /// Files the agent uploaded (`POST /uploads`), by the ids it answered.
    #[serde(default)]
    attachments: Vec<String>,
    /// Forward this mail of the thread (a message id) instead of replying: quoted under the
    /// note, its files along, no In-Reply-To.
    forward_of: Option<String>,
}

/// A note above a forward may be empty; a reply's text may not.
fn check_text(body: &str, forward: bool) -> Result<(), ApiError> {
    if forward && body.trim().is_empty() {
        return Ok(());
    }
    super::ws::check_body(body)
}

/// Reply in an email thread the agent holds, or forward one of its mails (`forward_of`). The
/// mail is committed as queued and sent by the outbox (its delivery state follows on the agent's
/// socket); it is an outgoing message of the same interaction.
#[utoipa::path(post, path = "/interactions/{id}/emails", request_body = Reply,
    responses((status = 202, body = Message), (status = 400), (status = 403), (status = 413)))]
async fn reply(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Reply>,
) -> Result<(StatusCode, ApiJson<Message>), ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    check_text(&req.body, req.forward_of.is_some())?;
    super::ws::check_client_id(&req.client_id)?;
    let draft = Draft {
        client_id: req.client_id,
        body: req.body,
        to: req.to,
        cc: req.cc,
        subject: req.subject,
        attachments: req.attachments,
    };
    let (message, _) = state
        .email
        .reply(&me, id, draft, req.forward_of.as_deref())
        .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(message)))
}

#[derive(Debug, Deserialize, ToSchema)]
struct NewEmail {
    /// The mailbox it is sent from (`GET /mailboxes/addresses`); the thread is on its queue.
    #[schema(value_type = String)]
    mailbox_id: MailboxId,
    /// Recipients; by default the customer's address.
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    subject: String,
    body: String,
    /// Chosen by the console: sending twice with the same id sends once (one thread, one mail).
    client_id: String,
    /// Files the agent uploaded (`POST /uploads`), by the ids it answered.
    #[serde(default)]
    attachments: Vec<String>,
}

/// Write a new email to a customer. It opens an email thread on the mailbox's queue that is the
/// agent's at once (it takes one of their email slots: 409 when they have none free), its first
/// mail queued in the outbox; the customer's answer joins the thread.
#[utoipa::path(post, path = "/customers/{id}/emails", request_body = NewEmail,
    responses((status = 202, body = Message), (status = 400), (status = 404), (status = 409), (status = 413)))]
async fn new_email(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewEmail>,
) -> Result<(StatusCode, ApiJson<Message>), ApiError> {
    let customer: CustomerId = id.parse().map_err(|_| ApiError::NotFound)?;
    super::ws::check_body(&req.body)?;
    super::ws::check_client_id(&req.client_id)?;
    let draft = Draft {
        client_id: req.client_id,
        body: req.body,
        to: req.to,
        cc: req.cc,
        subject: Some(req.subject),
        attachments: req.attachments,
    };
    let (message, _) = state
        .email
        .write_new(&me, customer, req.mailbox_id, draft)
        .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(message)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct UploadQuery {
    /// The file's name as the agent's computer has it (`attachment` if not given).
    filename: Option<String>,
}

/// An uploaded file, to name in a mail's `attachments`.
#[derive(Debug, Serialize, ToSchema)]
struct Uploaded {
    #[schema(value_type = String)]
    id: UploadId,
    filename: String,
    content_type: String,
    size: i64,
}

/// Upload a file for a mail the agent is writing: the body is the file's bytes, its type the
/// Content-Type header, at most `email.max_bytes`. Only this agent may send it.
#[utoipa::path(post, path = "/uploads", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded), (status = 400), (status = 413)))]
async fn upload(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(query): Query<UploadQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> Result<(StatusCode, ApiJson<Uploaded>), ApiError> {
    let limit = state.email.max_bytes();
    let too_large = || ApiError::FileTooLarge(format!("a file may be at most {limit} bytes"));
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let data = axum::body::to_bytes(body, limit).await.map_err(|_| too_large())?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let kept = state
        .email
        .keep_upload(
            &me,
            query.filename.as_deref().unwrap_or_default(),
            content_type,
            data.to_vec(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        ApiJson(Uploaded {
            id: kept.id,
            filename: kept.filename,
            content_type: kept.content_type,
            size: kept.size,
        }),
    ))
}

/// A mailbox as every agent may see it: enough to pick one to write from, nothing of its servers.
#[derive(Debug, Serialize, ToSchema)]
struct MailboxAddress {
    #[schema(value_type = String)]
    id: MailboxId,
    address: String,
    display_name: String,
}

/// The account's mailboxes' addresses, for any agent: to write a new email from one, and to
/// leave the mailbox itself out of a reply-all.
#[utoipa::path(get, path = "/mailboxes/addresses", responses((status = 200, body = Vec<MailboxAddress>)))]
async fn mailbox_addresses(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<MailboxAddress>>, ApiError> {
    let all = state.store.mailboxes(me.account_id).await?;
    Ok(ApiJson(
        all.into_iter()
            .map(|m| MailboxAddress {
                id: m.id,
                address: m.address,
                display_name: m.display_name,
            })
            .collect(),
    ))
}

/// An attachment's bytes (a mail's, or a file a messaging app's message named), for those who
/// may have its interaction's files (`may_have_files`).
#[utoipa::path(get, path = "/attachments/{id}",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403), (status = 404)))]
async fn download_attachment(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    let id: AttachmentId = id.parse().map_err(|_| ApiError::NotFound)?;
    let stored = state.store.attachment(me.account_id, id).await?;
    let interaction = state
        .store
        .interaction(me.account_id, stored.interaction_id)
        .await?;
    super::rest::may_have_files(&state, &me, &interaction).await?;
    attachment_response(&state, &stored).await
}

/// A kept file's bytes as a download under its name: never rendered by the hub's origin (HTML or
/// SVG from a stranger would run as the console). The agents' route and the widget's share it.
pub(super) async fn attachment_response(
    state: &AppState,
    stored: &crate::store::StoredAttachment,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let bytes = tokio::fs::read(state.email.files().path(&stored.sha256))
        .await
        .map_err(|_| ApiError::NotFound)?;
    let disposition = format!("attachment; filename*=UTF-8''{}", percent(&stored.info.filename));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// RFC 5987 percent-encoding of a file name.
fn percent(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
