//! One customer's data for admins: exported as a JSON file, or erased on request
//! (`crate::privacy`). Both go into the audit log.

use super::audit::{audited, record};
use super::error::ApiJson;
use super::rest::parse_id;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, RequireRole};
use crate::domain::CustomerId;
use crate::store::StoreError;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(export_customer))
        .routes(routes!(erase_customer))
}

/// Everything the hub holds about one customer, as a JSON file: profile, identities, each
/// interaction with its messages (attachments listed), log and whether a recording is kept,
/// notes, the customer's own log and follow-ups.
#[utoipa::path(get, path = "/customers/{id}/export",
    responses((status = 200, content_type = "application/json", body = Object), (status = 403), (status = 404)))]
async fn export_customer(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    let data = crate::privacy::export(&state.store, &state.config.data_dir, me.account_id, id).await?;
    record(
        &state,
        &me,
        ip,
        "customer.exported",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .await?;
    let disposition = format!("attachment; filename=\"customer-{id}.json\"");
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        serde_json::to_vec_pretty(&data).map_err(|e| ApiError::Internal(e.to_string()))?,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
struct ErasedView {
    /// Messages whose text, details and attachments were removed.
    messages: u64,
    /// Call recordings removed.
    recordings: usize,
    /// Attachment files removed from the data directory (a file another message also names stays).
    files: usize,
}

/// Erase a customer on request: identities, claims, notes, follow-ups, messages' text, details
/// and attachments, recordings and search index rows go; an anonymous tombstone stays so reports
/// still count the contacts. 409 while one of their contacts is still open.
#[utoipa::path(post, path = "/customers/{id}/erase",
    responses((status = 200, body = ErasedView), (status = 403), (status = 404), (status = 409)))]
async fn erase_customer(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<ErasedView>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    let store = audited(
        &state,
        &me,
        ip,
        "customer.erased",
        Some(id.to_string()),
        serde_json::json!({}),
    );
    let erased = match crate::privacy::erase(&store, &state.config.data_dir, me.account_id, id).await {
        Err(StoreError::Conflict { .. }) => {
            return Err(ApiError::Conflict(
                "this customer has a contact still open: erase them once it has ended".into(),
            ));
        }
        other => other?,
    };
    Ok(ApiJson(ErasedView {
        messages: erased.messages,
        recordings: erased.recordings,
        files: erased.files,
    }))
}
