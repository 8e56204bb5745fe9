//! Who the people behind the console are to each other and to customers: every agent's name,
//! the name customers see and their picture (`/agents/names`), an agent setting their own
//! picture (`/me/avatar`), and the picture itself, served to the widget without a login.

use super::error::ApiJson;
use super::{ApiError, AppState};
use crate::auth::AuthAgent;
use crate::bus::AgentFrame;
use crate::domain::{Agent, AgentId, now_millis};
use crate::store::Avatar;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(agent_names))
        .routes(routes!(set_avatar, remove_avatar))
}

/// The picture itself, outside `/api/v1`: customers' widgets load it with no login.
pub fn avatar_route() -> axum::Router<AppState> {
    axum::Router::new().route("/avatars/{id}", axum::routing::get(avatar))
}

/// The largest picture kept. The console scales a picture down to 128 pixels before sending it,
/// which leaves a few KiB; this is room for that, not for photos straight from a camera.
pub const MAX_AVATAR_BYTES: usize = 64 * 1024;

/// An agent as their colleagues see them on messages, notes and the timeline.
#[derive(Debug, Serialize, ToSchema)]
struct AgentName {
    #[schema(value_type = String)]
    id: AgentId,
    /// Their name as the admin entered it.
    name: String,
    /// The name customers see (their display name, else their first name).
    shown_name: String,
    /// Their picture's path (`/avatars/{id}?v=…`), when they have one.
    avatar: Option<String>,
    active: bool,
}

/// Every user of the account, deactivated ones too (their messages stay theirs), for any agent:
/// the console names each message's and note's author from it.
#[utoipa::path(get, path = "/agents/names", responses((status = 200, body = [AgentName])))]
async fn agent_names(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<AgentName>>, ApiError> {
    let agents = state.store.agents(me.account_id).await?;
    Ok(ApiJson(
        agents
            .into_iter()
            .map(|a| {
                let shown = a.author();
                AgentName {
                    id: a.id,
                    name: a.name,
                    shown_name: shown.name,
                    avatar: shown.avatar,
                    active: a.active,
                }
            })
            .collect(),
    ))
}

/// The image types a picture may be, told by their first bytes (whatever the request claims):
/// those of a chat's files that every browser shows, GIF (animated) and PDF aside.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    super::chat_files::file_type(bytes).filter(|t| matches!(*t, "image/png" | "image/jpeg" | "image/webp"))
}

/// The logged-in agent sets their picture: the body is the image (PNG, JPEG or WebP, at most
/// `MAX_AVATAR_BYTES`). Customers see it beside their messages from then on.
#[utoipa::path(put, path = "/me/avatar", request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, body = Agent), (status = 400), (status = 413)))]
async fn set_avatar(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    body: axum::body::Body,
) -> Result<ApiJson<Agent>, ApiError> {
    let too_large = || ApiError::FileTooLarge(format!("a picture may be at most {MAX_AVATAR_BYTES} bytes"));
    let bytes = axum::body::to_bytes(body, MAX_AVATAR_BYTES)
        .await
        .map_err(|_| too_large())?;
    let content_type = image_type(&bytes)
        .ok_or_else(|| ApiError::BadRequest("a picture must be a PNG, JPEG or WebP image".into()))?;
    let avatar = Avatar {
        content_type: content_type.into(),
        bytes: bytes.to_vec(),
    };
    changed(
        &state,
        state
            .store
            .set_avatar(me.account_id, me.id, Some(avatar), now_millis())
            .await?,
    )
    .await
}

/// The logged-in agent takes their picture away.
#[utoipa::path(delete, path = "/me/avatar", responses((status = 200, body = Agent)))]
async fn remove_avatar(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Agent>, ApiError> {
    changed(
        &state,
        state
            .store
            .set_avatar(me.account_id, me.id, None, now_millis())
            .await?,
    )
    .await
}

/// The agent as they now are; their consoles' sockets look again, so what they send next shows
/// them as they now are, and so does the next chat they join.
async fn changed(state: &AppState, agent: Agent) -> Result<ApiJson<Agent>, ApiError> {
    profile_changed(state, &agent).await;
    Ok(ApiJson(agent))
}

/// An agent's name or picture changed: their open sockets and the router take it up.
pub(super) async fn profile_changed(state: &AppState, agent: &Agent) {
    state.bus.to_agent(agent.id, AgentFrame::SessionsChanged);
    state
        .dispatcher
        .upsert_agent(agent.account_id, agent.clone())
        .await;
}

/// The agents `ids` name (each once, in the order first named), as the customer sees them.
pub(super) async fn authors(
    state: &AppState,
    account: crate::domain::AccountId,
    ids: Vec<AgentId>,
) -> Result<Vec<crate::domain::Author>, ApiError> {
    let mut authors: Vec<crate::domain::Author> = Vec::new();
    for id in ids {
        if authors.iter().all(|a| a.id != id) {
            authors.push(state.store.agent(account, id).await?.author());
        }
    }
    Ok(authors)
}

/// An agent's picture. Its address changes with it (`?v=`), so it may be cached for good; it is
/// served as the image type its bytes were checked to be, never sniffed, and may be shown on the
/// customer's website.
async fn avatar(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id: AgentId = super::rest::parse_id(&id)?;
    let avatar = state.store.avatar(id).await?;
    let mut headers = HeaderMap::new();
    let content_type =
        HeaderValue::from_str(&avatar.content_type).map_err(|e| ApiError::Internal(e.to_string()))?;
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    Ok((StatusCode::OK, headers, avatar.bytes))
}

#[cfg(test)]
mod tests {
    use super::image_type;

    #[test]
    fn a_picture_is_a_png_a_jpeg_or_a_webp() {
        let cases: [(&[u8], Option<&str>); 6] = [
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png")),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Some("image/jpeg")),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp")),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
                None,
            ),
            (b"GIF89a", None),
            (b"%PDF-1.7", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(image_type(bytes), expected, "{bytes:?}");
        }
    }
}
