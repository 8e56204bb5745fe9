//! REST under `/api/v1`: login, configuration (queues, agents, dispositions), the customer
//! profile and interaction history. Each handler is annotated for the OpenAPI document.

use super::audit::audited;
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{self, Admin, AuthAgent, MIN_PASSWORD_LEN, RequireRole, Supervisor};
use crate::bus::AgentFrame;
use crate::bus::frames::Card;
use crate::crm::followups::FollowUp;
use crate::dispatcher::LogLine;
use crate::dispatcher::{AgentLive, QueueLive};
use crate::domain::{
    AccountId, Agent, AgentId, Callback, Capacity, Channel, Customer, CustomerId, Disposition, EmailAddress,
    Interaction, InteractionId, Message, Millis, PhoneE164, Queue, QueueId, Role, Skills, now_millis,
};
use crate::profile;
use crate::store::{
    AgentPatch, CustomerEvent, CustomerPatch, DynStore, EventRecord, NewAgent, NewInteraction, NewPhone,
    NewSession, Note, Phone, QueueSpec, SessionInfo, StoreError,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "Plugboard", description = "The contact-center hub's REST API. Websockets: see docs/protocol.md."),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every REST route under `/api/v1`, with the OpenAPI document describing them. Request bodies
/// are JSON of at most `BODY_LIMIT`, except uploads' and customer imports', which are files
/// (their own limits).
pub fn router() -> OpenApiRouter<AppState> {
    let limited = routes().layer(tower_http::limit::RequestBodyLimitLayer::new(super::BODY_LIMIT));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(
        "/api/v1",
        limited
            .merge(super::email::upload_routes())
            .merge(super::crm::import_routes()),
    )
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
        .routes(routes!(calling))
        .routes(routes!(list_queues, create_queue))
        .routes(routes!(update_queue))
        .routes(routes!(queue_stats))
        .routes(routes!(list_agents, create_agent))
        .routes(routes!(colleagues))
        .routes(routes!(update_agent))
        .routes(routes!(agent_sessions, end_agent_sessions))
        .routes(routes!(end_agent_session))
        .routes(routes!(deactivate_agent))
        .routes(routes!(reactivate_agent))
        .routes(routes!(list_dispositions, create_disposition))
        .routes(routes!(delete_disposition))
        .routes(routes!(list_phones, create_phone))
        .routes(routes!(delete_phone))
        .routes(routes!(search_customers))
        .routes(routes!(customer_card, update_customer))
        .routes(routes!(customer_timeline))
        .routes(routes!(interaction_detail))
        .routes(routes!(interaction_transcript))
        .routes(routes!(interaction_recording))
        .routes(routes!(schedule_callback))
        .routes(routes!(link_customer))
        .merge(super::email::routes())
        .merge(super::reports::routes())
        .merge(super::messaging::routes())
        .merge(super::crm::routes())
        .merge(super::knowledge::routes())
        .merge(super::pipeline::routes())
        .merge(super::conversations::routes())
        .merge(super::audit::routes())
        .merge(super::privacy::routes())
        .merge(super::people::routes())
}

pub(super) fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

/// The longest name (a customer's, an agent's, a queue's) and free-text field (a customer's tier
/// or owner, a disposition's label), in bytes.
pub const MAX_NAME_BYTES: usize = 200;
/// The most tags a customer carries, and the longest tag, in bytes.
pub const MAX_TAGS: usize = 50;
pub const MAX_TAG_BYTES: usize = 64;

/// A name: not blank, at most `MAX_NAME_BYTES`.
pub(super) fn check_name(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::BadRequest(format!("{field} must not be blank")));
    }
    check_length(field, value, MAX_NAME_BYTES)
}

/// The longest display name, in characters: it heads the customer's chat window.
const MAX_DISPLAY_NAME_CHARS: usize = 40;

/// A display name fits the widget's header and is text; empty is allowed (it takes the name away).
fn check_display_name(name: &str) -> Result<(), ApiError> {
    let chars = name.trim().chars().count();
    if chars > MAX_DISPLAY_NAME_CHARS {
        return Err(ApiError::BadRequest(format!(
            "a display name may have at most {MAX_DISPLAY_NAME_CHARS} characters (it has {chars})"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "a display name may not hold control characters".into(),
        ));
    }
    Ok(())
}

fn check_length(field: &str, value: &str, most: usize) -> Result<(), ApiError> {
    if value.len() > most {
        return Err(ApiError::BadRequest(format!(
            "{field} may have at most {most} bytes (it has {})",
            value.len()
        )));
    }
    Ok(())
}

/// What an agent may write on a customer: a name that is not blank, short free text, a few
/// short tags.
fn check_customer_patch(patch: &CustomerPatch) -> Result<(), ApiError> {
    if let Some(name) = &patch.name {
        check_name("name", name)?;
    }
    if let Some(tier) = &patch.tier {
        check_length("tier", tier, MAX_NAME_BYTES)?;
    }
    if let Some(tags) = &patch.tags {
        if tags.len() > MAX_TAGS {
            return Err(ApiError::BadRequest(format!(
                "a customer may have at most {MAX_TAGS} tags (this has {})",
                tags.len()
            )));
        }
        for tag in tags {
            check_length("a tag", tag, MAX_TAG_BYTES)?;
        }
    }
    Ok(())
}

fn check_locale(locale: &str) -> Result<(), ApiError> {
    match locale {
        "en" | "zh-CN" => Ok(()),
        other => Err(ApiError::BadRequest(format!(
            "unsupported locale {other:?}; use \"en\" or \"zh-CN\""
        ))),
    }
}

// --- sessions ---

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
struct LoginResponse {
    token: String,
    agent: Agent,
}

/// What a session keeps of the browser's `User-Agent`, for its admin's list.
const MAX_USER_AGENT_CHARS: usize = 256;

/// Log in to the console; answers a session token. Rate-limited per client address, and a
/// login with too many wrong passwords in a row is locked for a while (429 `locked_out`, from
/// any address). A deactivated user is told so (403 `deactivated`) once their password is right.
#[utoipa::path(post, path = "/auth/login", security(()), request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401), (status = 403), (status = 429)))]
async fn login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<LoginResponse>, ApiError> {
    if state.login_limiter.check_key(&ip).is_err() {
        return Err(ApiError::RateLimited);
    }
    if let Err(ms) = state.lockouts().check(&req.email, now_millis()) {
        return Err(ApiError::LockedOut((ms + 999) / 1_000));
    }
    let wrong = |state: &AppState| {
        state.lockouts().failed(&req.email, now_millis());
        ApiError::Unauthorized
    };
    let (agent, hash) = match state.store.agent_by_email(req.email.trim()).await {
        Ok(found) => found,
        Err(StoreError::NotFound) => {
            // Take as long as a wrong password would, so logins don't tell which emails exist.
            auth::verify_password_async(req.password, auth::UNKNOWN_USER_HASH.clone()).await;
            return Err(wrong(&state));
        }
        Err(e) => return Err(e.into()),
    };
    if !auth::verify_password_async(req.password, hash).await {
        return Err(wrong(&state));
    }
    state.lockouts().succeeded(&req.email);
    // Said only to whoever knows the password: it tells them why, and nobody else anything.
    if !agent.active {
        return Err(ApiError::Deactivated);
    }
    let (token, token_hash) = auth::new_token();
    let now = now_millis();
    let user_agent = headers
        .get(axum::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect());
    state
        .store
        .create_session(NewSession {
            token_hash: &token_hash,
            agent: &agent,
            created_at: now,
            expires_at: now + i64::from(state.config.auth.session_hours) * 3_600_000,
            client_addr: Some(ip.to_string()),
            user_agent,
        })
        .await?;
    Ok(ApiJson(LoginResponse { token, agent }))
}

/// End this session.
#[utoipa::path(post, path = "/auth/logout", responses((status = 204), (status = 401)))]
async fn logout(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    if let Some(token) = bearer(&headers) {
        state.store.delete_session(&auth::hash_token(token)).await?;
        // A console left open on this session stops working now, not when it next reconnects.
        state.bus.to_agent(me.id, AgentFrame::SessionsChanged);
    }
    Ok(StatusCode::NO_CONTENT)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The logged-in user.
#[utoipa::path(get, path = "/me", responses((status = 200, body = Agent), (status = 401)))]
async fn me(AuthAgent(agent): AuthAgent) -> ApiJson<Agent> {
    ApiJson(agent)
}

/// What this hub lets its agents do on the phone from the console.
#[derive(Serialize, ToSchema)]
struct Calling {
    /// Click-to-call: this node runs SIP and has a carrier trunk to call out through
    /// (`sip.outbound_trunk`). The console shows its call buttons only when it is true.
    click_to_call: bool,
}

/// Whether the console may offer click-to-call.
#[utoipa::path(get, path = "/me/calling", responses((status = 200, body = Calling), (status = 401)))]
async fn calling(State(state): State<AppState>, AuthAgent(_): AuthAgent) -> ApiJson<Calling> {
    ApiJson(Calling {
        click_to_call: state.phones.can_dial(),
    })
}

#[derive(Deserialize, ToSchema)]
struct MePatch {
    locale: Option<String>,
    /// Where their calls ring: `desk` (their SIP phone) or `browser` (the console).
    #[schema(value_type = Option<String>)]
    device: Option<crate::domain::Device>,
    /// The name customers see (at most `MAX_DISPLAY_NAME_CHARS`); empty: their first name again.
    display_name: Option<String>,
}

/// Change the logged-in user's own settings (the console's language, where calls ring, the name
/// customers see).
#[utoipa::path(patch, path = "/me", request_body = MePatch, responses((status = 200, body = Agent)))]
async fn update_me(
    State(state): State<AppState>,
    AuthAgent(agent): AuthAgent,
    ApiJson(patch): ApiJson<MePatch>,
) -> Result<ApiJson<Agent>, ApiError> {
    if let Some(locale) = &patch.locale {
        check_locale(locale)?;
    }
    if let Some(name) = &patch.display_name {
        check_display_name(name)?;
    }
    let device = patch.device;
    let renamed = patch.display_name.is_some();
    let patch = AgentPatch {
        locale: patch.locale,
        device,
        display_name: patch.display_name,
        ..Default::default()
    };
    let updated = state
        .store
        .update_agent(agent.account_id, agent.id, patch)
        .await?;
    if renamed {
        // What they send next, and the next chat they join, carry the new name.
        super::people::profile_changed(&state, &updated).await;
    }
    if device == Some(crate::domain::Device::Browser) {
        // The console answers from now on: no registered phone is needed to be offered calls.
        state
            .dispatcher
            .set_reachable(agent.account_id, agent.id, crate::domain::Channel::Voice, true)
            .await?;
    }
    Ok(ApiJson(updated))
}

// --- queues ---

/// Every queue of the account.
#[utoipa::path(get, path = "/queues", responses((status = 200, body = [Queue])))]
async fn list_queues(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<Queue>>, ApiError> {
    Ok(ApiJson(state.store.queues(me.account_id).await?))
}

/// The most tiers a queue gives a priority to.
const MAX_TIERS: usize = 50;

async fn validate_queue(
    state: &AppState,
    me: &Agent,
    spec: &QueueSpec,
    this: Option<QueueId>,
) -> Result<(), ApiError> {
    check_name("a queue's name", &spec.name)?;
    if spec.offer_timeout_secs == 0 {
        return Err(ApiError::BadRequest(
            "offer_timeout_secs must be at least 1".into(),
        ));
    }
    if let Some(hours) = &spec.hours {
        hours
            .check()
            .map_err(|e| ApiError::BadRequest(format!("hours: {e}")))?;
    }
    if let Some(policy) = &spec.callbacks {
        policy
            .check()
            .map_err(|e| ApiError::BadRequest(format!("callbacks: {e}")))?;
    }
    if spec.tier_priority.len() > MAX_TIERS {
        return Err(ApiError::BadRequest(format!(
            "tier_priority: at most {MAX_TIERS} tiers"
        )));
    }
    for tier in spec.tier_priority.keys() {
        check_name("a tier", tier)?;
    }
    if let Some(overflow) = spec.overflow_queue {
        if Some(overflow) == this {
            return Err(ApiError::BadRequest("a queue cannot overflow into itself".into()));
        }
        state
            .store
            .queue(me.account_id, overflow)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => ApiError::BadRequest("overflow_queue does not exist".into()),
                e => e.into(),
            })?;
    }
    Ok(())
}

/// Create a queue.
#[utoipa::path(post, path = "/queues", request_body = QueueSpec, responses((status = 200, body = Queue), (status = 403)))]
async fn create_queue(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(spec): ApiJson<QueueSpec>,
) -> Result<ApiJson<Queue>, ApiError> {
    validate_queue(&state, &me, &spec, None).await?;
    let detail = serde_json::json!({"name": spec.name});
    let queue = audited(&state, &me, ip, "queue.created", None, detail)
        .create_queue(me.account_id, spec)
        .await?;
    state.dispatcher.upsert_queue(me.account_id, queue.clone()).await;
    Ok(ApiJson(queue))
}

/// Replace a queue's settings.
#[utoipa::path(put, path = "/queues/{id}", request_body = QueueSpec, responses((status = 200, body = Queue)))]
async fn update_queue(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    ApiJson(spec): ApiJson<QueueSpec>,
) -> Result<ApiJson<Queue>, ApiError> {
    let id: QueueId = parse_id(&id)?;
    validate_queue(&state, &me, &spec, Some(id)).await?;
    let detail = serde_json::to_value(&spec).unwrap_or_default();
    let queue = audited(&state, &me, ip, "queue.updated", Some(id.to_string()), detail)
        .update_queue(me.account_id, id, spec)
        .await?;
    state.dispatcher.upsert_queue(me.account_id, queue.clone()).await;
    Ok(ApiJson(queue))
}

#[derive(Serialize, ToSchema)]
struct LiveStats {
    queues: Vec<QueueLive>,
    agents: Vec<AgentLive>,
}

/// Live figures: waiting contacts and longest wait per queue, every agent's state (for a
/// supervisor, of the teams they lead).
#[utoipa::path(get, path = "/queues/stats", responses((status = 200, body = LiveStats)))]
async fn queue_stats(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<LiveStats>, ApiError> {
    let scope = super::reports::scope_of(&state, &me).await?;
    let live = scope.live(state.dispatcher.live(me.account_id).await?);
    Ok(ApiJson(LiveStats {
        queues: live.queues,
        agents: live.agents,
    }))
}

// --- agents ---

/// The colleagues an agent may transfer to by name: every other agent who is Available now.
#[utoipa::path(get, path = "/colleagues", responses((status = 200, body = [AgentLive])))]
async fn colleagues(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<AgentLive>>, ApiError> {
    let live = state.dispatcher.live(me.account_id).await?;
    Ok(ApiJson(
        live.agents
            .into_iter()
            .filter(|a| a.id != me.id && a.state == "available")
            .collect(),
    ))
}

/// The account's console users: every one for admins; for a supervisor once teams exist, the
/// people of the teams they lead, and themselves.
#[utoipa::path(get, path = "/agents", responses((status = 200, body = [Agent])))]
async fn list_agents(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<Agent>>, ApiError> {
    let scope = super::reports::scope_of(&state, &me).await?;
    let mut agents = state.store.agents(me.account_id).await?;
    agents.retain(|a| a.id == me.id || scope.agent(a.id));
    Ok(ApiJson(agents))
}

#[derive(Deserialize, ToSchema)]
struct CreateAgent {
    email: String,
    name: String,
    password: String,
    #[serde(default = "agent_role")]
    #[schema(value_type = String)]
    role: Role,
    #[serde(default = "english")]
    locale: String,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<String, u8>)]
    skills: Skills,
    #[serde(default)]
    capacity: Capacity,
}

fn agent_role() -> Role {
    Role::Agent
}
fn english() -> String {
    "en".into()
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::BadRequest(format!(
            "a password needs at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String, ApiError> {
    auth::hash_password_async(password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Create a console user (agent, supervisor or admin).
#[utoipa::path(post, path = "/agents", request_body = CreateAgent, responses((status = 200, body = Agent), (status = 409)))]
async fn create_agent(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateAgent>,
) -> Result<ApiJson<Agent>, ApiError> {
    let email = EmailAddress::parse(&req.email).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    check_locale(&req.locale)?;
    check_password(&req.password)?;
    check_name("an agent's name", &req.name)?;
    let new = NewAgent {
        email: email.to_string(),
        name: req.name.trim().to_string(),
        role: req.role,
        locale: req.locale,
        skills: req.skills,
        capacity: req.capacity,
        password_hash: hash(req.password).await?,
    };
    let detail = serde_json::json!({"email": new.email, "name": new.name, "role": new.role.as_str()});
    let agent = audited(&state, &me, ip, "agent.created", None, detail)
        .create_agent(me.account_id, new)
        .await?;
    state.dispatcher.upsert_agent(me.account_id, agent.clone()).await;
    Ok(ApiJson(agent))
}

#[derive(Deserialize, ToSchema)]
struct UpdateAgent {
    #[serde(flatten)]
    patch: AgentPatch,
    password: Option<String>,
}

/// Change a console user: name, role, locale, skills, capacity, password.
#[utoipa::path(patch, path = "/agents/{id}", request_body = UpdateAgent, responses((status = 200, body = Agent)))]
async fn update_agent(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<UpdateAgent>,
) -> Result<ApiJson<Agent>, ApiError> {
    let id: AgentId = parse_id(&id)?;
    let mut patch = req.patch;
    if let Some(locale) = &patch.locale {
        check_locale(locale)?;
    }
    if let Some(name) = &patch.name {
        check_name("name", name)?;
    }
    if let Some(name) = &patch.display_name {
        check_display_name(name)?;
    }
    let renamed = patch.name.is_some() || patch.display_name.is_some();
    let new_password = req.password.is_some();
    if let Some(password) = req.password {
        check_password(&password)?;
        patch.password_hash = Some(hash(password).await?);
    }
    let new_role = patch.role.is_some();
    let mut detail = serde_json::to_value(&patch).unwrap_or_default();
    detail["password_changed"] = new_password.into();
    let agent = audited(&state, &me, ip, "agent.updated", Some(id.to_string()), detail)
        .update_agent(me.account_id, id, patch)
        .await?;
    if new_password {
        // Whoever held the old password (or a token got with it) is out.
        end_sessions_of(&state.store, &me, id, &headers).await?;
    }
    if new_password || new_role || renamed {
        // Open sockets check their session (and role, and name) again at once.
        state.bus.to_agent(id, AgentFrame::SessionsChanged);
    }
    state.dispatcher.upsert_agent(me.account_id, agent.clone()).await;
    Ok(ApiJson(agent))
}

/// A user's live sessions, newest first: when each began and was last used, and from where.
/// Never the token.
#[utoipa::path(get, path = "/agents/{id}/sessions", responses((status = 200, body = [SessionInfo]), (status = 404)))]
async fn agent_sessions(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
) -> Result<ApiJson<Vec<SessionInfo>>, ApiError> {
    let id: AgentId = parse_id(&id)?;
    state.store.agent(me.account_id, id).await?;
    Ok(ApiJson(
        state.store.sessions(me.account_id, id, now_millis()).await?,
    ))
}

/// End every session of a user: their consoles are closed at once and must log in again. An
/// admin ending their own keeps the one in use.
#[utoipa::path(delete, path = "/agents/{id}/sessions", responses((status = 204), (status = 404)))]
async fn end_agent_sessions(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let id: AgentId = parse_id(&id)?;
    state.store.agent(me.account_id, id).await?;
    let store = audited(
        &state,
        &me,
        ip,
        "agent.sessions_ended",
        Some(id.to_string()),
        serde_json::json!({}),
    );
    end_sessions_of(&store, &me, id, &headers).await?;
    state.bus.to_agent(id, AgentFrame::SessionsChanged);
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the user `id`; an admin acting on themselves keeps the one they are
/// using (the token in `headers`).
async fn end_sessions_of(
    store: &DynStore,
    me: &Agent,
    id: AgentId,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let keep = (id == me.id)
        .then(|| bearer(headers).map(auth::hash_token))
        .flatten();
    store.end_sessions(me.account_id, id, keep.as_deref()).await?;
    Ok(())
}

/// End one session of a user (its id from the list); the console using it is closed at once.
#[utoipa::path(delete, path = "/agents/{id}/sessions/{session}", responses((status = 204), (status = 404)))]
async fn end_agent_session(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path((id, session)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id: AgentId = parse_id(&id)?;
    let detail = serde_json::json!({"session": session});
    audited(
        &state,
        &me,
        ip,
        "agent.session_ended",
        Some(id.to_string()),
        detail,
    )
    .end_session(me.account_id, id, &session)
    .await?;
    state.bus.to_agent(id, AgentFrame::SessionsChanged);
    Ok(StatusCode::NO_CONTENT)
}

/// Deactivate a user: their sessions end and their consoles close at once, they cannot log in,
/// they are offered nothing, and the contacts they were handling go back to their queues for
/// someone else. Nothing of theirs is deleted: history keeps their name. Not oneself, nor anyone
/// who still owns customers or open follow-ups, or has customers lent out for a leave (409: hand
/// them over first, `POST /agents/{id}/handover`), so no customer is left with nobody.
#[utoipa::path(post, path = "/agents/{id}/deactivate", responses((status = 200, body = Agent), (status = 404), (status = 409)))]
async fn deactivate_agent(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<Agent>, ApiError> {
    let id: AgentId = parse_id(&id)?;
    if id == me.id {
        return Err(ApiError::Conflict(
            "you cannot deactivate yourself; ask another admin".into(),
        ));
    }
    let account = me.account_id;
    let held = state.store.holdings(account, id).await?;
    if held != crate::store::Holdings::default() {
        return Err(ApiError::Conflict(format!(
            "this user still owns {} customers ({} more lent out for a leave), {} open follow-ups and {} open opportunities: hand them over first",
            held.customers, held.lent_out, held.follow_ups, held.opportunities
        )));
    }
    let agent = audited(
        &state,
        &me,
        ip,
        "agent.deactivated",
        Some(id.to_string()),
        serde_json::json!({}),
    )
    .set_agent_deactivated(account, id, Some(now_millis()))
    .await?;
    state.store.end_sessions(account, id, None).await?;
    state.bus.to_agent(id, AgentFrame::SessionsChanged);
    state
        .dispatcher
        .set_state(account, id, crate::domain::AgentState::Offline)
        .await?;
    for held in state.store.agent_interactions(account, id).await? {
        if held.state != crate::domain::InteractionState::Active {
            continue;
        }
        // Someone else takes it up; one that cannot move (it just ended) stays as it is.
        if let Err(e) = state
            .dispatcher
            .transfer(account, id, held.id, held.queue_id)
            .await
        {
            tracing::warn!(interaction = %held.id, error = %e, "a deactivated user's contact did not go back to its queue");
        }
    }
    Ok(ApiJson(agent))
}

/// Make a deactivated user active again: they can log in (their old sessions stay ended).
#[utoipa::path(post, path = "/agents/{id}/reactivate", responses((status = 200, body = Agent), (status = 404)))]
async fn reactivate_agent(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<Agent>, ApiError> {
    let id: AgentId = parse_id(&id)?;
    let store = audited(
        &state,
        &me,
        ip,
        "agent.reactivated",
        Some(id.to_string()),
        serde_json::json!({}),
    );
    Ok(ApiJson(
        store.set_agent_deactivated(me.account_id, id, None).await?,
    ))
}

// --- dispositions ---

/// The wrap-up codes agents choose from.
#[utoipa::path(get, path = "/dispositions", responses((status = 200, body = [Disposition])))]
async fn list_dispositions(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<Disposition>>, ApiError> {
    Ok(ApiJson(state.store.dispositions(me.account_id).await?))
}

/// Add or relabel a wrap-up code.
#[utoipa::path(post, path = "/dispositions", request_body = Disposition, responses((status = 200, body = Disposition)))]
async fn create_disposition(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(d): ApiJson<Disposition>,
) -> Result<ApiJson<Disposition>, ApiError> {
    let valid = !d.code.is_empty()
        && d.code.len() <= 64
        && d.code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid || d.label.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a disposition needs a code (letters, digits, _ or -) and a label".into(),
        ));
    }
    check_length("a disposition's label", &d.label, MAX_NAME_BYTES)?;
    let detail = serde_json::json!({"label": d.label});
    audited(&state, &me, ip, "disposition.saved", Some(d.code.clone()), detail)
        .upsert_disposition(me.account_id, d.clone())
        .await?;
    Ok(ApiJson(d))
}

/// Remove a wrap-up code (interactions keep the code they were closed with).
#[utoipa::path(delete, path = "/dispositions/{code}", responses((status = 204), (status = 404)))]
async fn delete_disposition(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
) -> Result<StatusCode, ApiError> {
    audited(
        &state,
        &me,
        ip,
        "disposition.deleted",
        Some(code.clone()),
        serde_json::json!({}),
    )
    .delete_disposition(me.account_id, &code)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

// --- phones ---

/// A phone and where it is registered right now.
#[derive(Serialize, ToSchema)]
struct PhoneStatus {
    #[serde(flatten)]
    phone: Phone,
    /// The contacts it registered, through any node (empty: not registered, it cannot ring).
    contacts: Vec<String>,
}

/// Every SIP phone of the account, the agent it rings, and whether it is registered.
#[utoipa::path(get, path = "/phones", responses((status = 200, body = [PhoneStatus])))]
async fn list_phones(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<PhoneStatus>>, ApiError> {
    let phones = state.store.phones(me.account_id).await?;
    let mut list = Vec::with_capacity(phones.len());
    for phone in phones {
        // Registered through this node, else through another (as the database has it).
        let mut contacts = state.phones.contacts(&phone.username);
        if contacts.is_empty() {
            contacts = state
                .store
                .phone_bindings(me.account_id, phone.agent_id, now_millis())
                .await?
                .into_iter()
                .filter(|b| b.username == phone.username)
                .map(|b| b.contact)
                .collect();
        }
        list.push(PhoneStatus { phone, contacts });
    }
    Ok(ApiJson(list))
}

#[derive(Deserialize, ToSchema)]
struct CreatePhone {
    #[schema(value_type = String)]
    agent_id: AgentId,
    /// The SIP user the phone registers as: letters, digits, `.`, `-`, `_`.
    username: String,
    password: String,
}

/// Give an agent a SIP phone. Only the digest hashes of its password for the configured realm
/// are stored.
#[utoipa::path(post, path = "/phones", request_body = CreatePhone,
    responses((status = 200, body = Phone), (status = 400), (status = 409)))]
async fn create_phone(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreatePhone>,
) -> Result<ApiJson<Phone>, ApiError> {
    let username = req.username.trim();
    let valid = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !valid {
        return Err(ApiError::BadRequest(
            "a phone's username has 1 to 64 letters, digits, '.', '-' or '_'".into(),
        ));
    }
    check_password(&req.password)?;
    let realm = &state.config.sip.realm;
    let secrets = plugboard_sip::service::PhoneCredentials::from_password(username, realm, &req.password);
    let new = NewPhone {
        agent_id: req.agent_id,
        username: username.to_string(),
        realm: realm.clone(),
        ha1_md5: secrets.ha1_md5,
        ha1_sha256: secrets.ha1_sha256,
    };
    let detail = serde_json::json!({"agent_id": new.agent_id, "username": new.username});
    let store = audited(&state, &me, ip, "phone.created", None, detail);
    match store.create_phone(me.account_id, new.clone()).await {
        Err(StoreError::NotFound) => Err(ApiError::BadRequest("no such agent".into())),
        Err(e) => Err(e.into()),
        Ok(phone) => {
            state.phones.put(&new);
            Ok(ApiJson(phone))
        }
    }
}

/// Take a phone away; it can no longer register.
#[utoipa::path(delete, path = "/phones/{id}", responses((status = 204), (status = 404)))]
async fn delete_phone(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let phone = audited(
        &state,
        &me,
        ip,
        "phone.deleted",
        Some(id.clone()),
        serde_json::json!({}),
    )
    .delete_phone(me.account_id, parse_id(&id)?)
    .await?;
    state.phones.remove(&phone.username);
    Ok(StatusCode::NO_CONTENT)
}

// --- customers ---

#[derive(Deserialize, utoipa::IntoParams)]
struct SearchQuery {
    /// A name (or part of one), an email address or a phone number in any format.
    q: Option<String>,
}

/// Find customers by name, email or phone.
#[utoipa::path(get, path = "/customers", params(SearchQuery), responses((status = 200, body = [Customer])))]
async fn search_customers(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(query): Query<SearchQuery>,
) -> Result<ApiJson<Vec<Customer>>, ApiError> {
    let q = identity_or_text(&state, query.q.unwrap_or_default().trim());
    Ok(ApiJson(
        state.store.search_customers(me.account_id, &q, 50).await?,
    ))
}

/// What was typed, normalised like a stored identity when it looks like an email address or a
/// phone number, so it matches one.
pub(super) fn identity_or_text(state: &AppState, q: &str) -> String {
    if let Ok(email) = EmailAddress::parse(q) {
        email.to_string()
    } else if let Ok(phone) = PhoneE164::parse(q, &state.config.default_region) {
        phone.to_string()
    } else {
        q.to_string()
    }
}

/// The customer card: profile, last contacts across channels, notes.
#[utoipa::path(get, path = "/customers/{id}", responses((status = 200, body = Card), (status = 404)))]
async fn customer_card(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Card>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    Ok(ApiJson(profile::card(&state.store, me.account_id, id).await?))
}

/// Edit a customer's name, tier, owner or tags.
#[utoipa::path(patch, path = "/customers/{id}", request_body = CustomerPatch, responses((status = 200, body = Customer)))]
async fn update_customer(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(mut patch): ApiJson<CustomerPatch>,
) -> Result<ApiJson<Customer>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    check_customer_patch(&patch)?;
    if let Some(tags) = &mut patch.tags {
        for tag in tags.iter_mut() {
            *tag = tag.trim().to_string();
        }
        tags.retain(|t| !t.is_empty());
        tags.sort();
        tags.dedup();
    }
    if let Some(values) = &patch.fields {
        let defs = state.store.customer_fields(me.account_id).await?;
        patch.fields = Some(crate::crm::fields::check_values(&defs, values).map_err(ApiError::BadRequest)?);
    }
    Ok(ApiJson(
        state.store.update_customer(me.account_id, id, patch).await?,
    ))
}

#[derive(Serialize, ToSchema)]
struct TimelineEntry {
    interaction: Interaction,
    messages: Vec<Message>,
    events: Vec<EventRecord>,
    /// The customer's rating of it, if they gave one.
    csat: Option<crate::csat::Rating>,
}

#[derive(Serialize, ToSchema)]
struct Timeline {
    customer: Customer,
    /// Newest first.
    entries: Vec<TimelineEntry>,
    notes: Vec<Note>,
    /// What happened to the customer outside interactions (owner changes, follow-ups done),
    /// oldest first.
    events: Vec<CustomerEvent>,
    /// By due time.
    follow_ups: Vec<FollowUp>,
}

/// Every interaction of a customer with its messages and events, newest first.
#[utoipa::path(get, path = "/customers/{id}/timeline", responses((status = 200, body = Timeline)))]
async fn customer_timeline(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Timeline>, ApiError> {
    let id: CustomerId = parse_id(&id)?;
    let account = me.account_id;
    let customer = state.store.customer(account, id).await?;
    let mut entries = Vec::new();
    let mut ratings = state.store.customer_ratings(account, id).await?;
    for interaction in state.store.customer_interactions(account, id, 200).await? {
        let rated = ratings.iter().position(|r| r.interaction_id == interaction.id);
        entries.push(TimelineEntry {
            messages: state.store.messages(account, interaction.id, 0).await?,
            events: state.store.events(account, interaction.id).await?,
            csat: rated.map(|i| ratings.swap_remove(i)),
            interaction,
        });
    }
    let (notes, events, follow_ups) = futures_util::try_join!(
        state.store.notes(account, id),
        state.store.customer_events(account, id),
        state.store.customer_follow_ups(account, id),
    )?;
    Ok(ApiJson(Timeline {
        customer,
        entries,
        notes,
        events,
        follow_ups,
    }))
}

/// One interaction with its messages and event log.
#[utoipa::path(get, path = "/interactions/{id}", responses((status = 200, body = TimelineEntry), (status = 404)))]
async fn interaction_detail(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<TimelineEntry>, ApiError> {
    let id: InteractionId = parse_id(&id)?;
    let account = me.account_id;
    Ok(ApiJson(TimelineEntry {
        interaction: state.store.interaction(account, id).await?,
        messages: state.store.messages(account, id, 0).await?,
        events: state.store.events(account, id).await?,
        csat: state.store.rating(account, id).await?,
    }))
}

/// Which language a transcript's own words are in.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct TranscriptQuery {
    /// The reader's locale (`zh-CN`: Chinese; otherwise English).
    locale: Option<String>,
}

/// A conversation as plain text (`crate::transcript`): each line with its local time (the
/// account's report time zone) and its author as the customer saw them; a download.
#[utoipa::path(get, path = "/interactions/{id}/transcript", params(TranscriptQuery),
    responses((status = 200, content_type = "text/plain", body = String), (status = 404)))]
async fn interaction_transcript(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    Query(query): Query<TranscriptQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let id: InteractionId = parse_id(&id)?;
    let account = me.account_id;
    let interaction = state.store.interaction(account, id).await?;
    let language = crate::transcript::Language::of_locale(query.locale.as_deref());
    let (text, zone) = transcript(&state, account, &interaction, language).await?;
    let day = jiff::Timestamp::from_millisecond(interaction.arrived_at)
        .map(|t| t.to_zoned_datetime(zone).strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let disposition = format!("attachment; filename=\"conversation-{day}.txt\"");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}

/// A conversation's transcript (`crate::transcript::render`) read from the store, with the time
/// zone its times are in (the account's report time zone): the agent's download and the mail a
/// chat's customer asks for.
pub(super) async fn transcript(
    state: &AppState,
    account: AccountId,
    interaction: &Interaction,
    language: crate::transcript::Language,
) -> Result<(String, jiff::tz::TimeZone), ApiError> {
    let customer = state.store.customer(account, interaction.customer_id).await?;
    let messages = state.store.messages(account, interaction.id, 0).await?;
    let authors = super::people::authors(
        state,
        account,
        messages.iter().filter_map(|m| m.agent_id).collect(),
    )
    .await?;
    let settings = state.store.report_settings(account).await?;
    let zone = crate::reports::time_zone(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let text = crate::transcript::render(interaction, &customer.name, &messages, &authors, &zone, language);
    Ok((text, zone))
}

/// Which customer a conversation is with.
#[derive(Debug, Deserialize, ToSchema)]
struct LinkRequest {
    #[schema(value_type = String)]
    customer_id: CustomerId,
}

/// Links a conversation's customer to a customer already known (found by search): they become
/// one, so the conversation, the customer's history and their next messages from the same
/// identities (a WhatsApp number, a widget visitor) are the known customer's. The merge is on the
/// conversation's log with who did it. For the agent holding the conversation, and supervisors
/// and admins; a customer of another account is not found. Answers the known customer's card.
#[utoipa::path(post, path = "/interactions/{id}/customer", request_body = LinkRequest,
    responses((status = 200, body = Card), (status = 403), (status = 404), (status = 409)))]
async fn link_customer(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<ApiJson<Card>, ApiError> {
    let id: InteractionId = parse_id(&id)?;
    let interaction = state.store.interaction(me.account_id, id).await?;
    if me.role < Role::Supervisor && state.dispatcher.holder(id).await != Some(me.id) {
        return Err(ApiError::Forbidden);
    }
    if interaction.customer_id == req.customer_id {
        return Err(ApiError::Conflict(
            "the conversation is this customer's already".into(),
        ));
    }
    Ok(ApiJson(
        profile::link(&state.store, &me, &interaction, req.customer_id).await?,
    ))
}

/// Whether `me` may have an interaction's files (a call's recording, a mail's attachments, a
/// messaging app's photos and voice notes): admins, supervisors whose teams had it (its queue, or
/// the agent holding it), and the agents who handled it (whoever holds it, whoever accepted it,
/// each agent a call had a leg with), not every colleague.
pub(super) async fn may_have_files(
    state: &AppState,
    me: &Agent,
    interaction: &Interaction,
) -> Result<(), ApiError> {
    if interaction.agent_id == Some(me.id) {
        return Ok(());
    }
    if me.role >= Role::Supervisor {
        let scope = super::reports::scope_of(state, me).await?;
        if scope.queue(interaction.queue_id) || interaction.agent_id.is_some_and(|a| scope.agent(a)) {
            return Ok(());
        }
    }
    let mine = me.id.to_string();
    let accepted = crate::domain::InteractionEvent::Accepted.log_type();
    let handled = state
        .store
        .events(me.account_id, interaction.id)
        .await?
        .iter()
        .any(|e| match e.kind.as_str() {
            kind if kind == accepted => e.data["agent_id"] == mine.as_str(),
            "call.ended" => e.data["legs"]
                .as_array()
                .is_some_and(|legs| legs.iter().any(|l| l["agent_id"] == mine.as_str())),
            _ => false,
        });
    if handled { Ok(()) } else { Err(ApiError::Forbidden) }
}

#[derive(Deserialize, ToSchema)]
struct CallbackRequest {
    /// The queue whose agents call; it is offered to them once due, like any call.
    #[schema(value_type = String)]
    queue_id: QueueId,
    /// When to call (epoch ms); a time already past is at once.
    due_at: Millis,
    /// The number to call; the customer's own when absent.
    number: Option<String>,
    /// Offered to this agent alone first once due (for `crm.owner_first_secs`, while they are
    /// Available), then to anyone: yourself, or for supervisors any active colleague.
    #[schema(value_type = Option<String>)]
    agent_id: Option<AgentId>,
}

/// The longest ahead a callback may be booked.
const CALLBACK_HORIZON_MS: Millis = 366 * 24 * 3_600_000;

/// Book a callback for a customer at a time: a voice interaction waiting in the queue, offered to
/// its agents only once due (to `agent_id` first when given), and then called through the
/// outbound trunk like a callback a caller chose (tried again as the queue's policy says, 3 calls
/// 10 minutes apart without one).
#[utoipa::path(post, path = "/customers/{id}/callbacks", request_body = CallbackRequest,
    responses((status = 200, body = Interaction), (status = 400), (status = 404), (status = 409)))]
async fn schedule_callback(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CallbackRequest>,
) -> Result<ApiJson<Interaction>, ApiError> {
    let account = me.account_id;
    let customer = state.store.customer(account, parse_id(&id)?).await?;
    if !state.phones.can_dial() {
        return Err(ApiError::InvalidState(
            "calling out is not set up on this hub: a callback needs a carrier trunk to call through (sip.outbound_trunk)".into(),
        ));
    }
    let number = match req.number.as_deref().or(customer.phone.as_deref()) {
        Some(n) => PhoneE164::parse(n, &state.config.default_region)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?
            .as_str()
            .to_owned(),
        None => {
            return Err(ApiError::BadRequest(
                "this customer has no phone number: give one".into(),
            ));
        }
    };
    let now = now_millis();
    if req.due_at > now + CALLBACK_HORIZON_MS {
        return Err(ApiError::BadRequest(
            "a callback is booked at most a year ahead".into(),
        ));
    }
    let queue = state.store.queue(account, req.queue_id).await?;
    if let Some(agent) = req.agent_id {
        if agent != me.id && me.role < Role::Supervisor {
            return Err(ApiError::Forbidden);
        }
        if !state.store.agent(account, agent).await?.active {
            return Err(ApiError::BadRequest("that user is deactivated".into()));
        }
    }
    let owner = req
        .agent_id
        .map(|agent| (agent, i64::from(state.config.crm.owner_first_secs) * 1000));
    let due_at = req.due_at.max(now);
    let mut booked = NewInteraction {
        customer_id: customer.id,
        channel: Channel::Voice,
        queue_id: queue.id,
        priority: queue.priority_for(customer.tier.as_deref()),
        entry_point: "callback".into(),
        offline: true,
        // Its wait counts from when it is due.
        arrived_at: due_at,
    }
    .queued();
    booked.callback = Some(Callback {
        number,
        due_at: Some(due_at),
        attempts: 0,
    });
    state
        .dispatcher
        .route_contact(account, booked.clone(), true, owner)
        .await?;
    let line = LogLine {
        kind: "callback.scheduled".into(),
        data: serde_json::json!({"by": me.id, "by_name": me.name}),
    };
    state.dispatcher.log(account, booked.id, line).await?;
    Ok(ApiJson(booked))
}

/// A call's recording: stereo WAV, the caller left and the agent right. Only for those who may
/// have the call's files (`may_have_files`).
#[utoipa::path(get, path = "/interactions/{id}/recording",
    responses((status = 200, content_type = "audio/wav", body = Vec<u8>), (status = 403), (status = 404)))]
async fn interaction_recording(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<([(axum::http::header::HeaderName, &'static str); 1], Vec<u8>), ApiError> {
    let id: InteractionId = parse_id(&id)?;
    // The interaction must be this account's: the file name alone proves nothing.
    let interaction = state.store.interaction(me.account_id, id).await?;
    may_have_files(&state, &me, &interaction).await?;
    let path = crate::privacy::recording_path(&state.config.data_dir, id);
    let bytes = tokio::fs::read(&path).await.map_err(|_| ApiError::NotFound)?;
    Ok(([(axum::http::header::CONTENT_TYPE, "audio/wav")], bytes))
}

/// A body as a stranger may send it to one of the main routes (`route` picks which), read and
/// checked as the handler does before the store (fuzz/fuzz_targets/rest_bodies.rs).
#[cfg(fuzzing)]
pub(super) fn fuzz_body(route: u8, body: &[u8]) {
    let _ = match route % 4 {
        0 => serde_json::from_slice::<LoginRequest>(body)
            .map(|r| r.email.trim().is_empty() || r.password.is_empty()),
        1 => serde_json::from_slice::<CustomerPatch>(body).map(|p| check_customer_patch(&p).is_ok()),
        2 => serde_json::from_slice::<QueueSpec>(body).map(|q| check_name("a queue's name", &q.name).is_ok()),
        _ => serde_json::from_slice::<CreateAgent>(body).map(|r| {
            EmailAddress::parse(&r.email).is_ok()
                && check_locale(&r.locale).is_ok()
                && check_password(&r.password).is_ok()
                && check_name("an agent's name", &r.name).is_ok()
        }),
    };
}
