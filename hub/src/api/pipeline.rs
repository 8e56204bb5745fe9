//! REST for the pipeline under `/api/v1`: an admin sets the account's stages, lifecycle labels
//! and who sees whose opportunities; agents set a customer's lifecycle stage, open opportunities
//! on customers and move them along the board. Handlers check input and who may see what
//! (`crm::pipeline::view`), delegate to the store, and tell the consoles that can see a changed
//! opportunity to read their board again.

use super::audit::audited;
use super::error::ApiJson;
use super::rest::parse_id;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, AuthAgent, RequireRole};
use crate::bus::AgentFrame;
use crate::crm::pipeline::{
    self, Forecast, Lifecycle, Opportunity, PipelineError, PipelineSettings, PipelineView, StageDef,
};
use crate::domain::{Agent, AgentId, Customer, CustomerId, OpportunityId, Role, now_millis};
use crate::store::{NewOpportunity, OpportunityPatch};
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_settings, set_settings))
        .routes(routes!(set_customer_stage))
        .routes(routes!(customer_opportunities, create_opportunity))
        .routes(routes!(board))
        .routes(routes!(get_opportunity, update_opportunity))
        .routes(routes!(move_opportunity))
        .routes(routes!(tick_checklist))
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

/// What `me` sees of the account's pipeline, under its settings.
async fn view_of(
    state: &AppState,
    me: &Agent,
    settings: &PipelineSettings,
) -> Result<PipelineView, ApiError> {
    if me.role >= Role::Admin {
        return Ok(PipelineView::All);
    }
    let teams = state.store.teams(me.account_id).await?;
    Ok(pipeline::view(me, &teams, settings.pipeline_visibility))
}

/// An opportunity `me` may see and work on; one they may not is not found, like one that is not.
async fn visible(
    state: &AppState,
    me: &Agent,
    settings: &PipelineSettings,
    id: &str,
) -> Result<Opportunity, ApiError> {
    let id: OpportunityId = parse_id(id)?;
    let o = state.store.opportunity(me.account_id, id).await?;
    if view_of(state, me, settings)
        .await?
        .sees(o.owner_id, o.customer_owner_id)
    {
        Ok(o)
    } else {
        Err(ApiError::NotFound)
    }
}

/// Tells every active console that can see `o` that the board changed (they read it again, cut
/// to what each may see).
async fn announce(state: &AppState, account_settings: &PipelineSettings, o: &Opportunity, account: &Agent) {
    let Ok(agents) = state.store.agents(account.account_id).await else {
        return;
    };
    let Ok(teams) = state.store.teams(account.account_id).await else {
        return;
    };
    for agent in agents.iter().filter(|a| a.active) {
        let view = if agent.role >= Role::Admin {
            PipelineView::All
        } else {
            pipeline::view(agent, &teams, account_settings.pipeline_visibility)
        };
        if view.sees(o.owner_id, o.customer_owner_id) {
            state.bus.to_agent(agent.id, AgentFrame::PipelineChanged);
        }
    }
}

/// The account's pipeline: its stages (with probabilities and checklists), the lifecycle
/// labels it renamed, and who sees whose opportunities.
#[utoipa::path(get, path = "/pipeline/settings", responses((status = 200, body = PipelineSettings)))]
async fn get_settings(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<PipelineSettings>, ApiError> {
    Ok(ApiJson(state.store.pipeline_settings(me.account_id).await?))
}

/// Replace the pipeline settings (admins). Stage keys are stable: opportunities and knowledge
/// articles refer to them; an opportunity at a stage taken away stays, off the board's totals.
#[utoipa::path(put, path = "/pipeline/settings", request_body = PipelineSettings,
    responses((status = 200, body = PipelineSettings), (status = 400), (status = 403)))]
async fn set_settings(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(mut settings): ApiJson<PipelineSettings>,
) -> Result<ApiJson<PipelineSettings>, ApiError> {
    for stage in &mut settings.stages {
        stage.label = stage.label.as_deref().map(|l| l.trim().to_owned());
        for item in &mut stage.checklist {
            *item = item.trim().to_owned();
        }
    }
    for label in settings.lifecycle_labels.values_mut() {
        *label = label.trim().to_owned();
    }
    pipeline::check_settings(&settings).map_err(ApiError::BadRequest)?;
    let detail = serde_json::json!({"settings": settings});
    audited(&state, &me, ip, "pipeline.settings_set", None, detail)
        .set_pipeline_settings(me.account_id, &settings, now_millis())
        .await?;
    Ok(ApiJson(settings))
}

#[derive(Debug, Deserialize, ToSchema)]
struct StageRequest {
    /// `lead`, `prospect`, `customer` or `churned`; null takes it away.
    stage: Option<Lifecycle>,
}

/// Set a customer's lifecycle stage; a change is on their timeline (`customer.stage_changed`).
#[utoipa::path(put, path = "/customers/{id}/stage", request_body = StageRequest,
    responses((status = 200, body = Customer), (status = 400), (status = 404)))]
async fn set_customer_stage(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StageRequest>,
) -> Result<ApiJson<Customer>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    Ok(ApiJson(
        state
            .store
            .set_customer_stage(me.account_id, id, req.stage, (me.id, &me.name), now_millis())
            .await?,
    ))
}

/// A customer's opportunities that you may see, newest first.
#[utoipa::path(get, path = "/customers/{id}/opportunities", responses((status = 200, body = [Opportunity]), (status = 404)))]
async fn customer_opportunities(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<Opportunity>>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    let account = me.account_id;
    state.store.customer(account, id).await?;
    let settings = state.store.pipeline_settings(account).await?;
    let view = view_of(&state, &me, &settings).await?;
    let mut all = state.store.opportunities(account, Some(id)).await?;
    all.retain(|o| view.sees(o.owner_id, o.customer_owner_id));
    Ok(ApiJson(all))
}

/// A new opportunity.
#[derive(Debug, Deserialize, ToSchema)]
struct OpportunityRequest {
    name: String,
    /// Whole minor units of `currency` (cents): 1250.00 EUR is 125000.
    amount: i64,
    /// ISO 4217, e.g. `EUR`.
    currency: String,
    /// A stage key of the account; absent: its first open stage.
    stage: Option<String>,
    /// `YYYY-MM-DD`.
    expected_close: Option<String>,
    /// Whose it is: yourself when absent. Only supervisors give opportunities to others.
    #[schema(value_type = Option<String>)]
    owner_id: Option<AgentId>,
}

/// Open an opportunity on a customer. It is on the customer's timeline (`opportunity.created`).
#[utoipa::path(post, path = "/customers/{id}/opportunities", request_body = OpportunityRequest,
    responses((status = 200, body = Opportunity), (status = 400), (status = 403), (status = 404)))]
async fn create_opportunity(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OpportunityRequest>,
) -> Result<ApiJson<Opportunity>, ApiError> {
    let customer: CustomerId = parse_id(&id)?;
    let name = pipeline::check_name(&req.name).map_err(ApiError::BadRequest)?;
    let amount = pipeline::check_amount(req.amount).map_err(ApiError::BadRequest)?;
    let currency = pipeline::parse_currency(&req.currency).map_err(ApiError::BadRequest)?;
    if let Some(date) = &req.expected_close {
        pipeline::check_date(date).map_err(ApiError::BadRequest)?;
    }
    let account = me.account_id;
    let settings = state.store.pipeline_settings(account).await?;
    let stage: &StageDef = match &req.stage {
        Some(key) => settings
            .stage(key)
            .ok_or_else(|| PipelineError::NoSuchStage(key.clone()))?,
        None => settings
            .first_open()
            .ok_or_else(|| ApiError::BadRequest("the pipeline has no open stage".into()))?,
    };
    let owner = req.owner_id.unwrap_or(me.id);
    if owner != me.id {
        let allowed = me.role >= Role::Supervisor && view_of(&state, &me, &settings).await?.sees(owner, None);
        if !allowed {
            return Err(ApiError::Forbidden);
        }
    }
    state.store.customer(account, customer).await?;
    if !state.store.agent(account, owner).await?.active {
        return Err(ApiError::BadRequest("that user is deactivated".into()));
    }
    let new = NewOpportunity {
        customer,
        name,
        amount,
        currency,
        stage: stage.key.clone(),
        status: stage.status,
        expected_close: req.expected_close,
        owner,
    };
    let o = state
        .store
        .create_opportunity(account, new, (me.id, &me.name), now_millis())
        .await?;
    announce(&state, &settings, &o, &me).await;
    Ok(ApiJson(o))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct BoardQuery {
    /// Only this owner's opportunities.
    owner: Option<String>,
}

/// The board: the account's settings, the opportunities you may see and their figures.
#[derive(Debug, Serialize, ToSchema)]
struct Board {
    settings: PipelineSettings,
    opportunities: Vec<Opportunity>,
    forecast: Forecast,
}

/// The pipeline board: every opportunity you may see (an agent: their own and their customers',
/// and their teams' when the account shares them; a supervisor: their teams'; an admin: all),
/// with each stage's totals per currency and the weighted forecast.
#[utoipa::path(get, path = "/opportunities", params(BoardQuery), responses((status = 200, body = Board), (status = 400)))]
async fn board(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(q): Query<BoardQuery>,
) -> Result<ApiJson<Board>, ApiError> {
    let owner: Option<AgentId> = match q.owner.as_deref().filter(|o| !o.is_empty()) {
        Some(o) => Some(
            o.parse()
                .map_err(|_| ApiError::BadRequest(format!("owner {o:?} is not a user id")))?,
        ),
        None => None,
    };
    let account = me.account_id;
    let settings = state.store.pipeline_settings(account).await?;
    let view = view_of(&state, &me, &settings).await?;
    let mut opportunities = state.store.opportunities(account, None).await?;
    opportunities
        .retain(|o| view.sees(o.owner_id, o.customer_owner_id) && owner.is_none_or(|a| a == o.owner_id));
    let forecast = pipeline::forecast(&settings, &opportunities);
    Ok(ApiJson(Board {
        settings,
        opportunities,
        forecast,
    }))
}

/// One opportunity you may see.
#[utoipa::path(get, path = "/opportunities/{id}", responses((status = 200, body = Opportunity), (status = 404)))]
async fn get_opportunity(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Opportunity>, ApiError> {
    let settings = state.store.pipeline_settings(me.account_id).await?;
    Ok(ApiJson(visible(&state, &me, &settings, &id).await?))
}

/// What to change on an opportunity; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
struct OpportunityUpdate {
    name: Option<String>,
    amount: Option<i64>,
    currency: Option<String>,
    /// `YYYY-MM-DD`; an empty string takes it away.
    expected_close: Option<String>,
    /// Only supervisors (within their teams) and admins give an opportunity to someone else.
    #[schema(value_type = Option<String>)]
    owner_id: Option<AgentId>,
}

/// Change an opportunity's name, amount, currency, expected close or owner.
#[utoipa::path(patch, path = "/opportunities/{id}", request_body = OpportunityUpdate,
    responses((status = 200, body = Opportunity), (status = 400), (status = 403), (status = 404)))]
async fn update_opportunity(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OpportunityUpdate>,
) -> Result<ApiJson<Opportunity>, ApiError> {
    let account = me.account_id;
    let settings = state.store.pipeline_settings(account).await?;
    let o = visible(&state, &me, &settings, &id).await?;
    let mut patch = OpportunityPatch::default();
    if let Some(name) = &req.name {
        patch.name = Some(pipeline::check_name(name).map_err(ApiError::BadRequest)?);
    }
    if let Some(amount) = req.amount {
        patch.amount = Some(pipeline::check_amount(amount).map_err(ApiError::BadRequest)?);
    }
    if let Some(currency) = &req.currency {
        patch.currency = Some(pipeline::parse_currency(currency).map_err(ApiError::BadRequest)?);
    }
    match req.expected_close.as_deref() {
        Some("") => patch.expected_close = Some(None),
        Some(date) => {
            pipeline::check_date(date).map_err(ApiError::BadRequest)?;
            patch.expected_close = Some(Some(date.to_string()));
        }
        None => {}
    }
    if let Some(owner) = req.owner_id.filter(|&a| a != o.owner_id) {
        let allowed = me.role >= Role::Supervisor && view_of(&state, &me, &settings).await?.sees(owner, None);
        if !allowed {
            return Err(ApiError::Forbidden);
        }
        if !state.store.agent(account, owner).await?.active {
            return Err(ApiError::BadRequest("that user is deactivated".into()));
        }
        patch.owner = Some(owner);
    }
    let o = state
        .store
        .update_opportunity(account, o.id, patch, now_millis())
        .await?;
    announce(&state, &settings, &o, &me).await;
    Ok(ApiJson(o))
}

#[derive(Debug, Deserialize, ToSchema)]
struct MoveRequest {
    /// The stage key to move to.
    stage: String,
    /// The stage the caller saw it at: when given and it has moved since, 409.
    from: Option<String>,
}

/// Move an opportunity to another stage (a drag on the board, or its "Move to" list). Its status
/// follows the stage; the move is on the customer's timeline (`opportunity.stage_changed`, or
/// `opportunity.won` / `opportunity.lost`).
#[utoipa::path(post, path = "/opportunities/{id}/move", request_body = MoveRequest,
    responses((status = 200, body = Opportunity), (status = 400), (status = 404), (status = 409)))]
async fn move_opportunity(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<ApiJson<Opportunity>, ApiError> {
    let account = me.account_id;
    let settings = state.store.pipeline_settings(account).await?;
    let o = visible(&state, &me, &settings, &id).await?;
    if req.from.as_deref().is_some_and(|f| f != o.stage) {
        return Err(ApiError::Conflict(
            "someone moved this opportunity meanwhile".into(),
        ));
    }
    let mv = pipeline::move_stage(&settings, &o.stage, &req.stage)?;
    let o = state
        .store
        .move_opportunity(account, o.id, &mv, (me.id, &me.name), now_millis())
        .await?;
    announce(&state, &settings, &o, &me).await;
    Ok(ApiJson(o))
}

#[derive(Debug, Deserialize, ToSchema)]
struct TickRequest {
    /// A checklist item of the opportunity's current stage, as the settings word it.
    item: String,
    done: bool,
}

/// Tick (or untick) a key action of the opportunity's current stage.
#[utoipa::path(post, path = "/opportunities/{id}/checklist", request_body = TickRequest,
    responses((status = 200, body = Opportunity), (status = 400), (status = 404)))]
async fn tick_checklist(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TickRequest>,
) -> Result<ApiJson<Opportunity>, ApiError> {
    let account = me.account_id;
    let settings = state.store.pipeline_settings(account).await?;
    let o = visible(&state, &me, &settings, &id).await?;
    let mut checked = o.checked.clone();
    pipeline::tick(&settings, &mut checked, &o.stage, &req.item, req.done)?;
    let patch = OpportunityPatch {
        checked: Some(checked),
        ..OpportunityPatch::default()
    };
    let o = state
        .store
        .update_opportunity(account, o.id, patch, now_millis())
        .await?;
    announce(&state, &settings, &o, &me).await;
    Ok(ApiJson(o))
}
