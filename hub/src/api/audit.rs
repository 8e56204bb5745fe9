//! The audit log over REST: admins page through it (`GET /audit`), and the helpers with which an
//! admin's or supervisor's handler writes its line (`audited` for an action that is one store
//! write, committed with it; `record` after an action made of several, or of none).

use super::error::ApiJson;
use super::{ApiError, AppState};
use crate::auth::{Admin, RequireRole};
use crate::domain::{Agent, AgentId, Millis, now_millis};
use crate::store::{AuditEntry, AuditPage, AuditQuery, DynStore};
use axum::extract::{Query, State};
use serde::Deserialize;
use std::net::IpAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}

/// The store through which `actor`'s action, one store write, commits its audit line.
pub(super) fn audited(
    state: &AppState,
    actor: &Agent,
    ip: IpAddr,
    action: &str,
    target: Option<String>,
    detail: serde_json::Value,
) -> DynStore {
    state.store.audited(AuditEntry::new(
        actor,
        Some(ip),
        action,
        target,
        detail,
        now_millis(),
    ))
}

/// Writes the line of an action that is done (made of several writes, or of none).
pub(super) async fn record(
    state: &AppState,
    actor: &Agent,
    ip: IpAddr,
    action: &str,
    target: Option<String>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let entry = AuditEntry::new(actor, Some(ip), action, target, detail, now_millis());
    Ok(state.store.audit(&entry).await?)
}

#[derive(Deserialize, utoipa::IntoParams)]
struct AuditParams {
    /// Only this user's actions.
    actor: Option<String>,
    /// Only this action (`queue.updated`, `customer.erased`...).
    action: Option<String>,
    /// From this time on (milliseconds since the epoch).
    from: Option<Millis>,
    /// Before this time.
    to: Option<Millis>,
    /// The page after this entry: the `next` of the page before.
    before: Option<String>,
    /// At most this many lines (1 to 200; 50 by default).
    limit: Option<u32>,
}

/// The audit log of admins' and supervisors' actions, newest first, a page at a time.
#[utoipa::path(get, path = "/audit", params(AuditParams), responses((status = 200, body = AuditPage), (status = 403)))]
async fn audit_log(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Query(params): Query<AuditParams>,
) -> Result<ApiJson<AuditPage>, ApiError> {
    let actor = match params.actor.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(
            a.parse::<AgentId>()
                .map_err(|_| ApiError::BadRequest("actor is not a user's id".into()))?,
        ),
        None => None,
    };
    let query = AuditQuery {
        actor,
        action: params.action.filter(|a| !a.is_empty()),
        from: params.from,
        to: params.to,
        before: params.before.filter(|b| !b.is_empty()),
        limit: params.limit.unwrap_or(50),
    };
    Ok(ApiJson(state.store.audit_log(me.account_id, &query).await?))
}
