//! REST for the agent's inbox under `/api/v1/conversations`: the lists an agent works from, search
//! across conversations, read marks and labels. Every answer is cut to what the caller may see
//! (`crate::conversations::viewer_of`, applied inside the store's queries): a conversation they may not
//! see is `404`, as one that does not exist.

use super::error::ApiJson;
use super::{ApiError, AppState};
use crate::auth::AuthAgent;
use crate::domain::{Agent, Channel, InteractionId, InteractionState, Millis, now_millis};
use crate::store::{
    Conversation, ConversationCursor, ConversationOrder, ConversationPage, ConversationQuery, Folder,
    SearchPage, SearchQuery, Viewer,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_conversations))
        .routes(routes!(search_conversations))
        .routes(routes!(mark_read))
        .routes(routes!(conversation))
        .routes(routes!(set_labels))
        .routes(routes!(snooze))
        .routes(routes!(reopen))
}

/// The furthest ahead a conversation may be snoozed: 90 days.
pub const MAX_SNOOZE_MS: Millis = 90 * 86_400_000;

/// The most labels on one conversation, and the longest label, in bytes.
pub const MAX_LABELS: usize = 20;
pub const MAX_LABEL_BYTES: usize = 40;

/// The longest search, in bytes.
const MAX_SEARCH_BYTES: usize = 200;

pub(super) async fn viewer(state: &AppState, me: &Agent) -> Result<Viewer, ApiError> {
    let queues = state.store.queues(me.account_id).await?;
    let scope = super::reports::scope_of(state, me).await?;
    Ok(crate::conversations::viewer_of(me, &queues, &scope))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// `mine` (the default), `unassigned`, `all` or `closed`.
    folder: Option<String>,
    /// `voice`, `chat`, `email` or `messaging`.
    channel: Option<String>,
    queue: Option<String>,
    label: Option<String>,
    /// An interaction state (`queued`, `active`, `closed`...).
    state: Option<String>,
    /// `newest` (the default) or `oldest` (longest waiting first).
    order: Option<String>,
    /// The `next` of the page before.
    after: Option<String>,
    /// At most 200; 50 by default.
    limit: Option<u32>,
}

fn parse_word<T: serde::de::DeserializeOwned>(
    what: &str,
    value: Option<&str>,
) -> Result<Option<T>, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.to_string()))
                .map_err(|_| ApiError::BadRequest(format!("unknown {what} {v:?}")))
        })
        .transpose()
}

fn bad(what: &str, value: &str) -> ApiError {
    ApiError::BadRequest(format!("unknown {what} {value:?}"))
}

/// A page of one of the caller's inbox lists, with unread counts, the last message and how long
/// the customer has waited. Supervisors and admins see the whole account's conversations.
#[utoipa::path(get, path = "/conversations", params(ListParams),
    responses((status = 200, body = ConversationPage), (status = 400)))]
async fn list_conversations(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(p): Query<ListParams>,
) -> Result<ApiJson<ConversationPage>, ApiError> {
    let channel = match p.channel.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(Channel::parse(c).ok_or_else(|| bad("channel", c))?),
        None => None,
    };
    let interaction_state = match p.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(InteractionState::parse(s).ok_or_else(|| bad("state", s))?),
        None => None,
    };
    let queue = match p.queue.as_deref().filter(|q| !q.is_empty()) {
        Some(q) => Some(q.parse().map_err(|_| bad("queue", q))?),
        None => None,
    };
    let after = match p.after.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(ConversationCursor::decode(a).ok_or_else(|| bad("cursor", a))?),
        None => None,
    };
    let query = ConversationQuery {
        folder: parse_word::<Folder>("folder", p.folder.as_deref())?.unwrap_or_default(),
        channel,
        queue,
        label: p.label.map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty()),
        state: interaction_state,
        order: parse_word::<ConversationOrder>("order", p.order.as_deref())?.unwrap_or_default(),
        after,
        limit: p.limit.unwrap_or(50),
    };
    let viewer = viewer(&state, &me).await?;
    Ok(ApiJson(
        state.store.conversations(me.account_id, &viewer, &query).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct SearchParams {
    /// Words or Chinese (any CJK) text in messages; a customer's name, email or phone; a label.
    q: String,
    /// The `next` of the page before.
    before: Option<i64>,
    /// At most 100; 20 by default.
    limit: Option<u32>,
}

/// Searches the conversations the caller may see: messages containing every term (Chinese
/// matched by pairs of characters, so no spaces are needed), newest first and paged by `next`;
/// and, on the first page, conversations whose customer or label matches.
#[utoipa::path(get, path = "/conversations/search", params(SearchParams),
    responses((status = 200, body = SearchPage), (status = 400)))]
async fn search_conversations(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(p): Query<SearchParams>,
) -> Result<ApiJson<SearchPage>, ApiError> {
    let text = p.q.trim();
    if text.len() > MAX_SEARCH_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a search is at most {MAX_SEARCH_BYTES} bytes"
        )));
    }
    let query = SearchQuery {
        terms: crate::tokenize::query(text),
        text: super::rest::identity_or_text(&state, text).to_lowercase(),
        before: p.before,
        limit: p.limit.unwrap_or(20),
    };
    let viewer = viewer(&state, &me).await?;
    Ok(ApiJson(state.store.search(me.account_id, &viewer, &query).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct ReadMark {
    /// The seq of the newest message the agent has seen.
    seq: i64,
}

/// Marks a conversation read up to a message, for the caller (a mark never moves backwards).
#[utoipa::path(post, path = "/conversations/{id}/read", request_body = ReadMark,
    responses((status = 204), (status = 404)))]
async fn mark_read(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(mark): ApiJson<ReadMark>,
) -> Result<StatusCode, ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let viewer = viewer(&state, &me).await?;
    state.store.conversation(me.account_id, &viewer, id).await?;
    state.store.mark_read(me.account_id, me.id, id, mark.seq).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One conversation as a line of the caller's inbox (its labels, its unread count): what the
/// console's pane shows beside the messages.
#[utoipa::path(get, path = "/conversations/{id}", responses((status = 200, body = Conversation), (status = 404)))]
async fn conversation(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Conversation>, ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let viewer = viewer(&state, &me).await?;
    Ok(ApiJson(
        state.store.conversation(me.account_id, &viewer, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct Labels {
    labels: Vec<String>,
}

/// Replaces a conversation's labels (trimmed, lower-cased, each at most 40 bytes, 20 at most).
/// For anyone who may see the conversation. Answers it as a line of the caller's inbox.
#[utoipa::path(put, path = "/conversations/{id}/labels", request_body = Labels,
    responses((status = 200, body = Conversation), (status = 400), (status = 404)))]
async fn set_labels(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Labels>,
) -> Result<ApiJson<Conversation>, ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let mut labels: Vec<String> = body
        .labels
        .iter()
        .map(|l| l.trim().to_lowercase())
        .filter(|l| !l.is_empty())
        .collect();
    labels.sort();
    labels.dedup();
    if labels.len() > MAX_LABELS || labels.iter().any(|l| l.len() > MAX_LABEL_BYTES) {
        return Err(ApiError::BadRequest(format!(
            "at most {MAX_LABELS} labels of at most {MAX_LABEL_BYTES} bytes each"
        )));
    }
    let viewer = viewer(&state, &me).await?;
    state.store.conversation(me.account_id, &viewer, id).await?;
    state.store.set_labels(me.account_id, id, &labels).await?;
    let conversation = state.store.conversation(me.account_id, &viewer, id).await?;
    state.conversations_changed();
    Ok(ApiJson(conversation))
}

#[derive(Debug, Deserialize, ToSchema)]
struct SnoozeUntil {
    /// When it comes back (milliseconds since the epoch): after now, at most 90 days ahead.
    until: Millis,
}

/// The caller snoozes the chat or email they hold until a time: their slot is free at once, it
/// waits in their snoozed list, and it comes back to them first when the time comes or the
/// customer writes (to the queue if they are not Available). A call cannot be snoozed
/// (`not_for_calls`). Sent again with the same time, it changes nothing (a retry applies once).
#[utoipa::path(post, path = "/conversations/{id}/snooze", request_body = SnoozeUntil,
    responses((status = 200, body = Conversation), (status = 400), (status = 403), (status = 404),
        (status = 409)))]
async fn snooze(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SnoozeUntil>,
) -> Result<ApiJson<Conversation>, ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let viewer = viewer(&state, &me).await?;
    let found = state.store.conversation(me.account_id, &viewer, id).await?;
    let i = &found.interaction;
    if i.channel == Channel::Voice {
        return Err(ApiError::NotForCalls("a call cannot be snoozed".into()));
    }
    if i.snoozed_until == Some(body.until) && i.agent_id == Some(me.id) {
        return Ok(ApiJson(found));
    }
    let now = now_millis();
    if body.until <= now || body.until > now + MAX_SNOOZE_MS {
        return Err(ApiError::BadRequest(
            "until must be after now and at most 90 days ahead".into(),
        ));
    }
    state
        .dispatcher
        .snooze(me.account_id, me.id, id, body.until)
        .await?;
    state.conversations_changed();
    Ok(ApiJson(
        state.store.conversation(me.account_id, &viewer, id).await?,
    ))
}

/// The caller reopens a closed (or abandoned) chat or email they may see: it is theirs at once,
/// active, never queued for anyone (`409 no_room` past their capacity), with
/// `interaction.reopened` and `interaction.started` on its timeline. A supervisor reopens a
/// conversation of their scope for themselves, as an agent does. A call cannot be reopened
/// (`not_for_calls`). Again once it is the caller's: nothing more (a retry applies once).
#[utoipa::path(post, path = "/conversations/{id}/reopen",
    responses((status = 200, body = Conversation), (status = 404), (status = 409)))]
async fn reopen(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Conversation>, ApiError> {
    let id: InteractionId = id.parse().map_err(|_| ApiError::NotFound)?;
    let viewer = viewer(&state, &me).await?;
    let found = state.store.conversation(me.account_id, &viewer, id).await?;
    let i = found.interaction.clone();
    if i.channel == Channel::Voice {
        return Err(ApiError::NotForCalls("a call cannot be reopened".into()));
    }
    if !i.state.is_terminal() {
        if i.state == InteractionState::Active && i.agent_id == Some(me.id) {
            return Ok(ApiJson(found));
        }
        return Err(ApiError::InvalidState("this conversation is open already".into()));
    }
    state
        .dispatcher
        .reopen_for(me.account_id, me.id, i)
        .await
        .map_err(|e| match e {
            crate::dispatcher::DispatchError::Router(crate::routing::RouterError::NoRoom { .. }) => {
                ApiError::NoRoom(
                    "you hold as many conversations of this kind as you may; close one first".into(),
                )
            }
            e => e.into(),
        })?;
    state.conversations_changed();
    Ok(ApiJson(
        state.store.conversation(me.account_id, &viewer, id).await?,
    ))
}
