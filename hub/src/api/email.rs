//! REST for email under `/api/v1`: admins manage mailboxes (passwords sealed, never returned;
//! each mailbox's fetch state and failed mails shown), agents reply to a thread they hold, and
//! anyone in the account downloads an interaction's attachments.

use super::error::ApiJson;
use super::{ApiError, AppState};
use crate::auth::{Admin, AuthAgent, RequireRole};
use crate::domain::{
    AttachmentId, EmailAddress, InteractionId, MailboxId, Message, QueueId, Sender, now_millis,
};
use crate::email::MailboxStatus;
use crate::store::{
    InboundFailure, MailServer, Mailbox, MailboxSecrets, NewChannelMessage, NewMessage, StoreError,
};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_mailboxes, create_mailbox))
        .routes(routes!(update_mailbox, delete_mailbox))
        .routes(routes!(mailbox_failures))
        .routes(routes!(reply))
        .routes(routes!(download_attachment))
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
    let created = match state.store.create_mailbox(me.account_id, secrets).await {
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
    let updated = state.store.update_mailbox(me.account_id, b, imap, smtp).await?;
    state.email.reload().await?;
    Ok(ApiJson(view(&state, updated)))
}

/// Remove a mailbox: fetching stops; its conversations stay on the timeline.
#[utoipa::path(delete, path = "/mailboxes/{id}", responses((status = 204), (status = 404)))]
async fn delete_mailbox(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: MailboxId = id.parse().map_err(|_| ApiError::NotFound)?;
    state.store.delete_mailbox(me.account_id, id).await?;
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
    body: String,
    /// Recipients; by default whoever the customer's last mail came from (its Reply-To if set).
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    /// By default the thread's subject, with `Re: `.
    subject: Option<String>,
}

/// Reply in an email thread the agent holds. The reply is committed as queued and sent by the
/// outbox (its delivery state follows on the agent's socket).
#[utoipa::path(post, path = "/interactions/{id}/emails", request_body = Reply,
    responses((status = 202, body = Message), (status = 400), (status = 403)))]
async fn reply(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Reply>,
) -> Result<(StatusCode, ApiJson<Message>), ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    super::ws::check_body(&req.body)?;
    super::ws::check_client_id(&req.client_id)?;
    let account = me.account_id;
    if state.dispatcher.holder(id).await != Some(me.id) {
        return Err(ApiError::Forbidden);
    }
    let interaction = state.store.interaction(account, id).await?;
    let thread = state.store.messages(account, id, 0).await?;
    let last_in = thread
        .iter()
        .rev()
        .find(|m| m.sender == Sender::Customer)
        .and_then(|m| m.channel.as_ref());
    let entry_point = interaction.entry_point.clone();
    if !entry_point.starts_with("mailbox:") {
        return Err(ApiError::BadRequest(
            "this conversation is not an email thread".into(),
        ));
    }
    let address = |v: &serde_json::Value| v.get("email").and_then(|e| e.as_str()).map(str::to_owned);
    let mut to = Vec::new();
    for a in &req.to {
        to.push(checked(a)?);
    }
    if to.is_empty() {
        let back = last_in.and_then(|c| {
            c.details
                .get("reply_to")
                .and_then(address)
                .or_else(|| c.details.get("from").and_then(address))
        });
        let customer = state.store.customer(account, interaction.customer_id).await?;
        to.extend(back.or(customer.email));
    }
    let mut cc = Vec::new();
    for a in &req.cc {
        cc.push(checked(a)?);
    }
    // Reply-all copies the thread's recipients, the mailbox among them: it never mails itself.
    let mailbox_id = entry_point.strip_prefix("mailbox:").unwrap_or_default();
    if let Some(own) = state
        .store
        .mailboxes(account)
        .await?
        .into_iter()
        .find(|m| m.id.to_string() == mailbox_id)
        .map(|m| m.address)
    {
        to.retain(|a| *a != own);
        cc.retain(|a| *a != own && !to.contains(a));
    }
    if to.is_empty() {
        return Err(ApiError::BadRequest(
            "nobody to send it to: give an address".into(),
        ));
    }
    let subject = req.subject.clone().unwrap_or_else(|| {
        thread
            .iter()
            .filter_map(|m| m.channel.as_ref()?.details.get("subject")?.as_str())
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    // Every id the thread has gone by, oldest first: the reply's References.
    let references: Vec<String> = thread
        .iter()
        .filter_map(|m| m.channel.as_ref()?.external_id.clone())
        .collect();
    let in_reply_to = last_in.and_then(|c| c.external_id.clone());
    let payload = json!({
        "interaction_id": id,
        "to": to,
        "cc": cc,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "references": references,
    });
    let details = json!({
        "subject": subject,
        "to": to.iter().map(|a| json!({"email": a})).collect::<Vec<_>>(),
        "cc": cc.iter().map(|a| json!({"email": a})).collect::<Vec<_>>(),
        "in_reply_to": in_reply_to,
    });
    let new = NewChannelMessage {
        opening: vec![],
        message: NewMessage {
            interaction_id: id,
            sender: Sender::Agent,
            agent_id: Some(me.id),
            body: req.body,
            client_id: req.client_id,
        },
        entry_point,
        external_id: None,
        details,
        attachments: vec![],
        outbound: Some(payload),
    };
    let (message, created) = state
        .store
        .append_channel_message(account, new, now_millis())
        .await?;
    if created {
        state.email.wake_sender();
        state.bus.to_agent(
            me.id,
            crate::bus::frames::AgentFrame::Message {
                message: message.clone(),
            },
        );
    }
    Ok((StatusCode::ACCEPTED, ApiJson(message)))
}

fn checked(address: &str) -> Result<String, ApiError> {
    EmailAddress::parse(address)
        .map(|a| a.as_str().to_owned())
        .map_err(|_| ApiError::BadRequest(format!("{address:?} is not an email address")))
}

/// An attachment's bytes, for anyone in the account of its interaction.
#[utoipa::path(get, path = "/attachments/{id}",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404)))]
async fn download_attachment(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let id: AttachmentId = id.parse().map_err(|_| ApiError::NotFound)?;
    let stored = state.store.attachment(me.account_id, id).await?;
    let bytes = tokio::fs::read(state.email.files().path(&stored.sha256))
        .await
        .map_err(|_| ApiError::NotFound)?;
    // Never rendered by the hub's origin: HTML or SVG from a stranger would run as the console.
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
