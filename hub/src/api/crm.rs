//! REST for customer relationships under `/api/v1`: a supervisor reassigns customers and hands
//! an agent's customers over (for a leave or for good), an admin sets the assignment rules, and
//! agents schedule and close follow-ups. Handlers check roles and input and delegate to `crm`.

use super::audit::{audited, record};
use super::error::ApiJson;
use super::reports::scope_of;
use super::rest::{MAX_NAME_BYTES, parse_id};
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, AuthAgent, RequireRole, Supervisor};
use crate::crm::fields::{self, FieldDef};
use crate::crm::followups::{FollowUp, FollowUpKind};
use crate::crm::import;
use crate::crm::rules::{self, AssignmentRule};
use crate::crm::segments::{self, Definition, Segment};
use crate::crm::{self as relationships, CrmError, HandoverRequest};
use crate::domain::{
    AgentId, Customer, CustomerId, FollowUpId, HandoverId, Millis, Role, SegmentId, now_millis,
};
use crate::store::{Handover, Holdings, NewFollowUp};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reassign))
        .routes(routes!(get_rules, set_rules))
        .routes(routes!(get_fields, set_fields))
        .routes(routes!(export_customers))
        .routes(routes!(list_segments, create_segment))
        .routes(routes!(update_segment, delete_segment))
        .routes(routes!(segment_customers))
        .routes(routes!(handover))
        .routes(routes!(list_handovers))
        .routes(routes!(end_leave))
        .routes(routes!(holdings))
        .routes(routes!(customer_follow_ups, create_follow_up))
        .routes(routes!(my_follow_ups))
        .routes(routes!(overdue_follow_ups))
        .routes(routes!(close_follow_up))
}

/// Routes whose body is a file rather than JSON: outside `BODY_LIMIT`, each with its own.
pub fn import_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_customers))
}

impl From<CrmError> for ApiError {
    fn from(e: CrmError) -> Self {
        match e {
            CrmError::Invalid(why) => ApiError::BadRequest(why),
            CrmError::Store(e) => e.into(),
        }
    }
}

/// The most customers one reassignment names.
const MAX_SELECTION: usize = 10_000;

/// A reason written on a log (a reassignment's, a supervisor's move): at most `MAX_NAME_BYTES`.
pub(super) fn check_reason(reason: &str) -> Result<(), ApiError> {
    if reason.len() > MAX_NAME_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a reason may have at most {MAX_NAME_BYTES} bytes"
        )));
    }
    Ok(())
}

/// Customers to give to an agent (or to nobody).
#[derive(Debug, Deserialize, ToSchema)]
struct ReassignRequest {
    /// One customer, or a selection (from a search); or none with `segment_id`.
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    customer_ids: Vec<CustomerId>,
    /// Every customer of a segment (at most 10,000), instead of `customer_ids`.
    #[schema(value_type = Option<String>)]
    #[serde(default)]
    segment_id: Option<SegmentId>,
    /// The new owner; null leaves them without one.
    #[schema(value_type = Option<String>)]
    owner_id: Option<AgentId>,
    /// Why: shown on each customer's timeline with who did it.
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Reassigned {
    /// Those whose owner changed (one already the new owner's is left out).
    #[schema(value_type = Vec<String>)]
    moved: Vec<CustomerId>,
}

/// Give customers to another owner (supervisors). Every change is on the customer's timeline
/// with who made it and why. The new owner must be an active user of the account.
#[utoipa::path(post, path = "/customers/reassign", request_body = ReassignRequest,
    responses((status = 200, body = Reassigned), (status = 400), (status = 403), (status = 404)))]
async fn reassign(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ReassignRequest>,
) -> Result<ApiJson<Reassigned>, ApiError> {
    check_reason(&req.reason)?;
    let customers = match req.segment_id {
        Some(_) if !req.customer_ids.is_empty() => {
            return Err(ApiError::BadRequest(
                "name customers or a segment, not both".into(),
            ));
        }
        Some(id) => {
            let segment = state.store.segment(me.account_id, id).await?;
            let (members, more) = segment_members(&state, &me, &segment.definition).await?;
            if more || members.len() > MAX_SELECTION {
                return Err(ApiError::BadRequest(format!(
                    "the segment holds more than {MAX_SELECTION} customers: narrow it"
                )));
            }
            members.into_iter().map(|c| c.id).collect()
        }
        None if req.customer_ids.is_empty() || req.customer_ids.len() > MAX_SELECTION => {
            return Err(ApiError::BadRequest(format!(
                "name between 1 and {MAX_SELECTION} customers"
            )));
        }
        None => req.customer_ids,
    };
    let moved = relationships::reassign(&state.store, &me, &customers, req.owner_id, &req.reason).await?;
    let detail = serde_json::json!({"customers": moved, "owner_id": req.owner_id, "reason": req.reason,
        "segment_id": req.segment_id});
    record(&state, &me, ip, "customers.reassigned", None, detail).await?;
    Ok(ApiJson(Reassigned { moved }))
}

/// The account's assignment rules for new customers, in the order they are tried.
#[utoipa::path(get, path = "/assignment-rules", responses((status = 200, body = [AssignmentRule]), (status = 403)))]
async fn get_rules(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<AssignmentRule>>, ApiError> {
    Ok(ApiJson(state.store.assignment_rules(me.account_id).await?))
}

/// Replace the assignment rules (admins). Each names agents of the account; a new customer goes
/// to the least loaded (for their weight) active agent of the first rule that matches it.
#[utoipa::path(put, path = "/assignment-rules", request_body = [AssignmentRule],
    responses((status = 200, body = [AssignmentRule]), (status = 400), (status = 403), (status = 404)))]
async fn set_rules(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(rules): ApiJson<Vec<AssignmentRule>>,
) -> Result<ApiJson<Vec<AssignmentRule>>, ApiError> {
    rules::check(&rules).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let account = me.account_id;
    for agent in rules.iter().flat_map(|r| &r.agents) {
        state.store.agent(account, agent.agent_id).await?;
    }
    let detail = serde_json::json!({"rules": rules});
    audited(&state, &me, ip, "assignment_rules.set", None, detail)
        .set_assignment_rules(account, &rules, now_millis())
        .await?;
    Ok(ApiJson(rules))
}

/// The account's own fields on customers, in the order the card shows them.
#[utoipa::path(get, path = "/customer-fields", responses((status = 200, body = [FieldDef])))]
async fn get_fields(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<FieldDef>>, ApiError> {
    Ok(ApiJson(state.store.customer_fields(me.account_id).await?))
}

/// Replace the account's customer fields (admins): typed (text, number, date, choice,
/// multi-choice), each under a key its values keep. A field taken away hides its values; put
/// back under the same key, they show again.
#[utoipa::path(put, path = "/customer-fields", request_body = [FieldDef],
    responses((status = 200, body = [FieldDef]), (status = 400), (status = 403)))]
async fn set_fields(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(mut defs): ApiJson<Vec<FieldDef>>,
) -> Result<ApiJson<Vec<FieldDef>>, ApiError> {
    for d in &mut defs {
        d.label = d.label.trim().to_owned();
        for c in &mut d.choices {
            *c = c.trim().to_owned();
        }
    }
    fields::check_defs(&defs).map_err(ApiError::BadRequest)?;
    let detail = serde_json::json!({"fields": defs});
    audited(&state, &me, ip, "customer_fields.set", None, detail)
        .set_customer_fields(me.account_id, &defs, now_millis())
        .await?;
    Ok(ApiJson(defs))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ExportQuery {
    /// As the customer search takes it; empty: every customer.
    q: Option<String>,
    /// A segment's customers instead.
    segment: Option<String>,
}

/// The most customers one export holds.
const MAX_EXPORT: u32 = segments::MAX_MEMBERS;

/// The customers a search finds (or all), as CSV with the account's own fields as columns, for a
/// spreadsheet (supervisors). No cell runs as a formula there (`crm::export`). Audited.
#[utoipa::path(get, path = "/customers/export", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403)))]
async fn export_customers(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Query(query): Query<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (customers, detail) = match query.segment {
        Some(id) => {
            let segment = state.store.segment(me.account_id, parse_id(&id)?).await?;
            let (customers, _) = segment_members(&state, &me, &segment.definition).await?;
            let detail = serde_json::json!({"segment_id": segment.id, "customers": customers.len()});
            (customers, detail)
        }
        None => {
            let q = super::rest::identity_or_text(&state, query.q.unwrap_or_default().trim());
            let customers = state
                .store
                .search_customers(me.account_id, &q, MAX_EXPORT)
                .await?;
            let detail = serde_json::json!({"q": q, "customers": customers.len()});
            (customers, detail)
        }
    };
    let defs = state.store.customer_fields(me.account_id).await?;
    record(&state, &me, ip, "customers.exported", None, detail).await?;
    let csv = crate::crm::export::csv(&customers, &defs);
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"customers.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// A segment's customers, the search's words normalised as the customer search takes them.
async fn segment_members(
    state: &AppState,
    me: &crate::domain::Agent,
    definition: &Definition,
) -> Result<(Vec<Customer>, bool), ApiError> {
    let q = super::rest::identity_or_text(state, definition.q.trim());
    Ok(segments::members(&state.store, me.account_id, &q, definition).await?)
}

/// A segment as a supervisor saves it.
#[derive(Debug, Deserialize, ToSchema)]
struct SegmentRequest {
    name: String,
    #[serde(flatten)]
    definition: Definition,
}

/// A segment with how many customers it holds now.
#[derive(Debug, Serialize, ToSchema)]
struct CountedSegment {
    #[serde(flatten)]
    segment: Segment,
    count: usize,
    /// The count stopped at the most a segment is read to: there are more.
    more: bool,
}

async fn counted(
    state: &AppState,
    me: &crate::domain::Agent,
    segment: Segment,
) -> Result<CountedSegment, ApiError> {
    let (members, more) = segment_members(state, me, &segment.definition).await?;
    Ok(CountedSegment {
        count: members.len(),
        more,
        segment,
    })
}

/// The account's segments (saved customer searches) with their counts now (supervisors).
#[utoipa::path(get, path = "/segments", responses((status = 200, body = [CountedSegment]), (status = 403)))]
async fn list_segments(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<CountedSegment>>, ApiError> {
    let mut out = vec![];
    for segment in state.store.segments(me.account_id).await? {
        out.push(counted(&state, &me, segment).await?);
    }
    Ok(ApiJson(out))
}

fn checked(req: SegmentRequest) -> Result<(String, Definition), ApiError> {
    super::rest::check_name("a segment's name", &req.name)?;
    req.definition.check().map_err(ApiError::BadRequest)?;
    Ok((req.name.trim().to_owned(), req.definition))
}

/// Save a customer search as a segment (supervisors): its words as the customer search takes
/// them, and tags, tiers, regions (two-letter countries, of the phone number) and owner that
/// every customer in it must have. Audited.
#[utoipa::path(post, path = "/segments", request_body = SegmentRequest,
    responses((status = 200, body = CountedSegment), (status = 400), (status = 403), (status = 409)))]
async fn create_segment(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<SegmentRequest>,
) -> Result<ApiJson<CountedSegment>, ApiError> {
    let (name, definition) = checked(req)?;
    let segment = Segment {
        id: SegmentId::new(),
        name,
        definition,
        created_by: Some(me.id),
        updated_at: now_millis(),
    };
    let detail = serde_json::to_value(&segment).unwrap_or_default();
    audited(
        &state,
        &me,
        ip,
        "segment.created",
        Some(segment.id.to_string()),
        detail,
    )
    .save_segment(me.account_id, &segment)
    .await?;
    Ok(ApiJson(counted(&state, &me, segment).await?))
}

/// Change a segment's name or what it holds (supervisors). Audited.
#[utoipa::path(put, path = "/segments/{id}", request_body = SegmentRequest,
    responses((status = 200, body = CountedSegment), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn update_segment(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<SegmentRequest>,
) -> Result<ApiJson<CountedSegment>, ApiError> {
    let before = state.store.segment(me.account_id, parse_id(&id)?).await?;
    let (name, definition) = checked(req)?;
    let segment = Segment {
        name,
        definition,
        updated_at: now_millis(),
        ..before
    };
    let detail = serde_json::to_value(&segment).unwrap_or_default();
    audited(
        &state,
        &me,
        ip,
        "segment.updated",
        Some(segment.id.to_string()),
        detail,
    )
    .save_segment(me.account_id, &segment)
    .await?;
    Ok(ApiJson(counted(&state, &me, segment).await?))
}

/// Forget a segment (supervisors); its customers stay as they are. Audited.
#[utoipa::path(delete, path = "/segments/{id}",
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_segment(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<axum::http::StatusCode, ApiError> {
    let id: SegmentId = parse_id(&id)?;
    audited(
        &state,
        &me,
        ip,
        "segment.deleted",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .delete_segment(me.account_id, id)
    .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// A segment's customers now: the count and the newest 50.
#[derive(Debug, Serialize, ToSchema)]
struct SegmentCustomers {
    count: usize,
    more: bool,
    customers: Vec<Customer>,
}

/// The customers a segment holds now (supervisors).
#[utoipa::path(get, path = "/segments/{id}/customers",
    responses((status = 200, body = SegmentCustomers), (status = 403), (status = 404)))]
async fn segment_customers(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(id): Path<String>,
) -> Result<ApiJson<SegmentCustomers>, ApiError> {
    let segment = state.store.segment(me.account_id, parse_id(&id)?).await?;
    let (mut customers, more) = segment_members(&state, &me, &segment.definition).await?;
    let count = customers.len();
    customers.truncate(50);
    Ok(ApiJson(SegmentCustomers {
        count,
        more,
        customers,
    }))
}

/// The largest spreadsheet an import takes.
const IMPORT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ImportQuery {
    /// What each column holds, in order, comma-separated: `name`, `email`, `phone`, `tier`,
    /// `tags`, `field:<key>`, or empty to leave it out. Without it, suggested from the headers.
    columns: Option<String>,
    /// `skip` (the default) or `update` a customer who has a row's email or phone already.
    #[serde(default)]
    duplicates: relationships::Duplicates,
    /// Only say what would happen.
    #[serde(default)]
    dry_run: bool,
}

/// What an import read and did.
#[derive(Debug, Serialize, ToSchema)]
struct Imported {
    /// Each column's header and what it was taken as.
    columns: Vec<ImportedColumn>,
    #[serde(flatten)]
    report: relationships::ImportReport,
}

#[derive(Debug, Serialize, ToSchema)]
struct ImportedColumn {
    header: String,
    taken_as: import::Column,
}

/// Customers from a spreadsheet saved as CSV (supervisors): the body is the file (UTF-8, or
/// GB18030 as Chinese Excel saves it; at most 16 MiB and 100,000 rows), its first line the
/// headers. `dry_run=true` is the preview: the columns as taken and what each row would become.
/// A row without a name or without an email or phone, with one unreadable, with a field value
/// its field refuses, or repeating an earlier row's email or phone is rejected with the reason;
/// known customers (by email or phone) are skipped or updated. Audited.
#[utoipa::path(post, path = "/customers/import", params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = Imported), (status = 400), (status = 403), (status = 413)))]
async fn import_customers(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Query(query): Query<ImportQuery>,
    body: axum::body::Body,
) -> Result<ApiJson<Imported>, ApiError> {
    let bytes = axum::body::to_bytes(body, IMPORT_BYTES)
        .await
        .map_err(|_| ApiError::FileTooLarge(format!("a spreadsheet may be at most {IMPORT_BYTES} bytes")))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::GB18030.decode(&bytes).0,
    };
    let mut rows = import::parse_csv(&text).map_err(ApiError::BadRequest)?;
    if rows.is_empty() {
        return Err(ApiError::BadRequest(
            "the file is empty: its first line names the columns".into(),
        ));
    }
    let headers = rows.remove(0);
    if rows.len() > import::MAX_ROWS {
        return Err(ApiError::BadRequest(format!(
            "at most {} rows at once",
            import::MAX_ROWS
        )));
    }
    let defs = state.store.customer_fields(me.account_id).await?;
    let columns: Vec<import::Column> = match &query.columns {
        Some(given) => given
            .split(',')
            .map(|c| import::Column::parse(c, &defs))
            .collect::<Result<_, _>>()
            .map_err(ApiError::BadRequest)?,
        None => headers
            .iter()
            .map(|h| import::Column::suggest(h, &defs))
            .collect(),
    };
    let report = relationships::import_customers(
        &state.store,
        me.account_id,
        &rows,
        &columns,
        &defs,
        (query.duplicates, query.dry_run),
        &state.config.default_region,
    )
    .await?;
    if !query.dry_run {
        let detail = serde_json::json!({"rows": report.rows, "created": report.created,
            "updated": report.updated, "skipped": report.skipped.len(), "rejected": report.rejected.len()});
        record(&state, &me, ip, "customers.imported", None, detail).await?;
    }
    let columns = headers
        .into_iter()
        .zip(
            columns
                .into_iter()
                .chain(std::iter::repeat(import::Column::Ignore)),
        )
        .map(|(header, taken_as)| ImportedColumn { header, taken_as })
        .collect();
    Ok(ApiJson(Imported { columns, report }))
}

/// Move all or some (a filter) of an agent's customers to one or several others (supervisors),
/// spread evenly or by the assignment rules, with their open follow-ups: for a leave (`until`:
/// they come back then) or for good. Every move is on the customer's timeline.
#[utoipa::path(post, path = "/agents/{id}/handover", request_body = HandoverRequest,
    responses((status = 200, body = Handover), (status = 400), (status = 403), (status = 404)))]
async fn handover(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<HandoverRequest>,
) -> Result<ApiJson<Handover>, ApiError> {
    check_reason(&req.reason)?;
    let from: AgentId = parse_id(&id)?;
    // A supervisor hands over between the people of their teams only.
    let scope = scope_of(&state, &me).await?;
    if !scope.agent(from) || req.to.iter().any(|a| !scope.agent(*a)) {
        return Err(ApiError::NotFound);
    }
    let handover = relationships::handover(&state.store, &me, from, req).await?;
    let detail =
        serde_json::json!({"handover": handover.id, "moved": handover.moved, "until": handover.until});
    record(
        &state,
        &me,
        ip,
        "agent.handed_over",
        Some(from.to_string()),
        detail,
    )
    .await?;
    Ok(ApiJson(handover))
}

/// Hand-overs, newest first (supervisors: those from the people of their teams).
#[utoipa::path(get, path = "/handovers", responses((status = 200, body = [Handover]), (status = 403)))]
async fn list_handovers(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<Handover>>, ApiError> {
    let scope = scope_of(&state, &me).await?;
    let mut handovers = state.store.handovers(me.account_id).await?;
    handovers.retain(|h| scope.agent(h.from_agent));
    Ok(ApiJson(handovers))
}

#[derive(Debug, Serialize, ToSchema)]
struct Returned {
    /// How many customers went back to their owner.
    returned: usize,
}

/// End a leave now (supervisors): the customers still lent by the hand-over go back to their
/// owner with their open follow-ups. 409 when it has ended already.
#[utoipa::path(post, path = "/handovers/{id}/return",
    responses((status = 200, body = Returned), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn end_leave(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<Returned>, ApiError> {
    let id: HandoverId = parse_id(&id)?;
    let returned = relationships::return_from_leave(&state.store, me.account_id, id, Some(&me)).await?;
    let detail = serde_json::json!({"returned": returned});
    record(&state, &me, ip, "handover.returned", Some(id.to_string()), detail).await?;
    Ok(ApiJson(Returned { returned }))
}

/// What an agent is responsible for (supervisors): customers owned, lent out for a leave, open
/// follow-ups. All three must be zero before the agent can be deactivated.
#[utoipa::path(get, path = "/agents/{id}/holdings", responses((status = 200, body = Holdings), (status = 403), (status = 404)))]
async fn holdings(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(id): Path<String>,
) -> Result<ApiJson<Holdings>, ApiError> {
    let id: AgentId = parse_id(&id)?;
    state.store.agent(me.account_id, id).await?;
    if !scope_of(&state, &me).await?.agent(id) {
        return Err(ApiError::NotFound);
    }
    Ok(ApiJson(state.store.holdings(me.account_id, id).await?))
}

/// A follow-up to schedule.
#[derive(Debug, Deserialize, ToSchema)]
struct FollowUpRequest {
    kind: FollowUpKind,
    title: String,
    /// Epoch ms.
    due_at: Millis,
    /// Whose it is: yourself when absent. Only supervisors give follow-ups to others.
    #[schema(value_type = Option<String>)]
    owner_id: Option<AgentId>,
}

/// A customer's follow-ups, by due time.
#[utoipa::path(get, path = "/customers/{id}/follow-ups", responses((status = 200, body = [FollowUp]), (status = 404)))]
async fn customer_follow_ups(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<FollowUp>>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    state.store.customer(me.account_id, id).await?;
    Ok(ApiJson(state.store.customer_follow_ups(me.account_id, id).await?))
}

/// Schedule a task or a callback on a customer. Its owner is reminded in the console when it is
/// due; still open `crm.escalate_after_secs` later, it goes to the supervisors.
#[utoipa::path(post, path = "/customers/{id}/follow-ups", request_body = FollowUpRequest,
    responses((status = 200, body = FollowUp), (status = 400), (status = 403), (status = 404)))]
async fn create_follow_up(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<FollowUpRequest>,
) -> Result<ApiJson<FollowUp>, ApiError> {
    let customer: CustomerId = parse_id(&id)?;
    let title = req.title.trim().to_string();
    if title.is_empty() || title.len() > MAX_NAME_BYTES {
        return Err(ApiError::BadRequest(format!(
            "a follow-up needs a title of at most {MAX_NAME_BYTES} bytes"
        )));
    }
    let owner = req.owner_id.unwrap_or(me.id);
    if owner != me.id && me.role < Role::Supervisor {
        return Err(ApiError::Forbidden);
    }
    let account = me.account_id;
    state.store.customer(account, customer).await?;
    if !state.store.agent(account, owner).await?.active {
        return Err(ApiError::BadRequest("that user is deactivated".into()));
    }
    let new = NewFollowUp {
        customer,
        owner,
        kind: req.kind,
        title,
        due_at: req.due_at,
        created_by: me.id,
    };
    Ok(ApiJson(
        state.store.create_follow_up(account, new, now_millis()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct Horizon {
    /// Follow-ups due before this (epoch ms); default: the end of the next 24 hours.
    before: Option<Millis>,
}

/// Your open follow-ups due before a time (the overdue ones first), for your day's list.
#[utoipa::path(get, path = "/follow-ups", params(Horizon), responses((status = 200, body = [FollowUp])))]
async fn my_follow_ups(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(h): Query<Horizon>,
) -> Result<ApiJson<Vec<FollowUp>>, ApiError> {
    let before = h.before.unwrap_or_else(|| now_millis() + 86_400_000);
    Ok(ApiJson(
        state.store.agent_follow_ups(me.account_id, me.id, before).await?,
    ))
}

/// Every open follow-up of the account past its due time (supervisors).
#[utoipa::path(get, path = "/follow-ups/overdue", responses((status = 200, body = [FollowUp]), (status = 403)))]
async fn overdue_follow_ups(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<FollowUp>>, ApiError> {
    Ok(ApiJson(
        state
            .store
            .overdue_follow_ups(me.account_id, now_millis())
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct CloseRequest {
    /// True: done; false: cancelled.
    done: bool,
}

/// Close a follow-up, done or cancelled (its owner, or a supervisor); on the customer's timeline.
/// 409 when it is closed already.
#[utoipa::path(post, path = "/follow-ups/{id}/close", request_body = CloseRequest,
    responses((status = 200, body = FollowUp), (status = 403), (status = 404), (status = 409)))]
async fn close_follow_up(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CloseRequest>,
) -> Result<ApiJson<FollowUp>, ApiError> {
    let id: FollowUpId = parse_id(&id)?;
    let account = me.account_id;
    let f = state.store.follow_up(account, id).await?;
    if f.owner_id != me.id && me.role < Role::Supervisor {
        return Err(ApiError::Forbidden);
    }
    Ok(ApiJson(
        state
            .store
            .close_follow_up(account, id, req.done, (me.id, &me.name), now_millis())
            .await?,
    ))
}
