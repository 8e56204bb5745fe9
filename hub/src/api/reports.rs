//! REST for managers under `/api/v1`: contact-center reports (JSON or CSV), the account's rules
//! for counting them, staffing from a queue's history, the what-if calculator, the teams that
//! decide which supervisor sees what (`crate::teams`), and a supervisor's interventions: moving a
//! waiting contact, changing a stuck agent's state. Supervisors and admins only; the figures come
//! from `crate::reports`.

use super::audit::audited;
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, RequireRole, Supervisor};
use crate::csat;
use crate::domain::{Agent, AgentId, InteractionId, Millis, QueueId, Role, TeamId, now_millis};
use crate::reports::erlang::{self, Load, Outcome};
use crate::reports::load::{self, Ask, LoadError, Named, Staffing};
use crate::reports::{Dimension, Granularity, time_zone};
use crate::store::{ReportSettings, StoreError};
use crate::teams::{self, Scope, Team};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_settings, set_report_settings))
        .routes(routes!(report))
        .routes(routes!(csat_report))
        .routes(routes!(agent_kpis))
        .routes(routes!(staffing))
        .routes(routes!(what_if))
        .routes(routes!(list_teams, create_team))
        .routes(routes!(update_team, delete_team))
        .routes(routes!(move_waiting))
        .routes(routes!(set_agent_state))
}

/// What `me` oversees: admins the whole account without a read, supervisors as their teams say.
pub(super) async fn scope_of(state: &AppState, me: &Agent) -> Result<Scope, ApiError> {
    if me.role >= Role::Admin {
        return Ok(Scope::All);
    }
    Ok(teams::scope(me, &state.store.teams(me.account_id).await?))
}

impl From<LoadError> for ApiError {
    fn from(e: LoadError) -> ApiError {
        match e {
            LoadError::Store(e) => e.into(),
            e => ApiError::BadRequest(e.to_string()),
        }
    }
}

/// How the account's reports count.
#[utoipa::path(get, path = "/reports/settings", responses((status = 200, body = ReportSettings), (status = 403)))]
async fn report_settings(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<ReportSettings>, ApiError> {
    Ok(ApiJson(state.store.report_settings(me.account_id).await?))
}

/// The longest first-contact window: a quarter.
const MAX_FCR_WINDOW_HOURS: u32 = 24 * 92;
const MAX_SHORT_ABANDON_SECS: u32 = 600;

/// Change how the account's reports count: time zone, short abandons, first-contact window.
#[utoipa::path(put, path = "/reports/settings", request_body = ReportSettings,
    responses((status = 200, body = ReportSettings), (status = 400), (status = 403)))]
async fn set_report_settings(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ClientIp(ip): ClientIp,
    ApiJson(settings): ApiJson<ReportSettings>,
) -> Result<ApiJson<ReportSettings>, ApiError> {
    time_zone(&settings.time_zone).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if settings.short_abandon_secs > MAX_SHORT_ABANDON_SECS {
        return Err(ApiError::BadRequest(format!(
            "short_abandon_secs may be at most {MAX_SHORT_ABANDON_SECS}"
        )));
    }
    if !(1..=MAX_FCR_WINDOW_HOURS).contains(&settings.fcr_window_hours) {
        return Err(ApiError::BadRequest(format!(
            "fcr_window_hours must be 1 to {MAX_FCR_WINDOW_HOURS}"
        )));
    }
    let detail = serde_json::to_value(&settings).unwrap_or_default();
    audited(&state, &me, ip, "report_settings.set", None, detail)
        .set_report_settings(me.account_id, &settings)
        .await?;
    Ok(ApiJson(settings))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct RangeQuery {
    /// The first local day, `YYYY-MM-DD`, in the account's time zone.
    from: String,
    /// The last local day, included.
    to: String,
    /// `15m`, `hour`, `day` (the default) or `week`.
    granularity: Option<String>,
    /// `csv` for a CSV file; JSON otherwise.
    format: Option<String>,
}

fn ask(query: &RangeQuery, dimension: Dimension) -> Result<Ask, ApiError> {
    let date = |s: &str| {
        s.parse::<jiff::civil::Date>()
            .map_err(|_| ApiError::BadRequest(format!("{s:?} is not a date (YYYY-MM-DD)")))
    };
    let granularity = match query.granularity.as_deref() {
        None => Granularity::Day,
        Some(g) => Granularity::parse(g)
            .ok_or_else(|| ApiError::BadRequest(format!("granularity {g:?}: use 15m, hour, day or week")))?,
    };
    Ok(Ask {
        dimension,
        granularity,
        from: date(&query.from)?,
        to: date(&query.to)?,
        now: now_millis(),
    })
}

/// A report per queue, agent or channel over local days `from`–`to`, cut into intervals in the
/// account's time zone. Every figure is defined in docs/metrics.md; ratios are 0–1 and `null`
/// where nothing was counted. `format=csv` answers the same as CSV.
#[utoipa::path(get, path = "/reports/{dimension}", params(
        ("dimension" = String, Path, description = "`queue`, `agent` or `channel`"), RangeQuery),
    responses((status = 200, body = Named, content_type = "application/json"),
        (status = 200, body = String, content_type = "text/csv"),
        (status = 400), (status = 403)))]
async fn report(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(dimension): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, ApiError> {
    let dimension = Dimension::parse(&dimension).ok_or(ApiError::NotFound)?;
    let scope = scope_of(&state, &me).await?;
    let named = load::named(&state.store, me.account_id, ask(&query, dimension)?, &scope).await?;
    if query.format.as_deref() == Some("csv") {
        let file = format!(
            "attachment; filename=\"plugboard-{}-{}-{}.csv\"",
            dimension.as_str(),
            query.from,
            query.to
        );
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ];
        return Ok((headers, load::csv(&named)).into_response());
    }
    Ok(ApiJson(named).into_response())
}

/// A range of whole local days with an optional CSV answer.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct DaysQuery {
    /// The first local day, `YYYY-MM-DD`, in the account's time zone.
    from: String,
    /// The last local day, included.
    to: String,
    /// `csv` for a CSV file; JSON otherwise.
    format: Option<String>,
}

impl DaysQuery {
    /// The range as a report asks it (whole, as one total: weeks are the fewest intervals).
    fn ask(&self, dimension: Dimension) -> Result<Ask, ApiError> {
        let range = RangeQuery {
            from: self.from.clone(),
            to: self.to.clone(),
            granularity: Some("week".into()),
            format: None,
        };
        ask(&range, dimension)
    }

    /// The range's first and last moments `[start, end)` in the account's time zone.
    async fn span(&self, state: &AppState, me: &Agent) -> Result<(String, Millis, Millis), ApiError> {
        let ask = self.ask(Dimension::Agent)?;
        let zone = state.store.report_settings(me.account_id).await?.time_zone;
        let tz = time_zone(&zone).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let cut = crate::reports::intervals(&tz, ask.from, ask.to, Granularity::Week)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        match (cut.first(), cut.last()) {
            (Some(first), Some(last)) => Ok((zone, first.start, last.end)),
            _ => Err(ApiError::BadRequest("the range is empty".into())),
        }
    }
}

/// One row of the satisfaction report: an agent or a queue.
#[derive(Debug, Serialize, ToSchema)]
struct CsatRow {
    key: String,
    name: String,
    #[serde(flatten)]
    summary: csat::Summary,
}

/// Customer satisfaction over a range, per agent (who handled the rated contact) and per queue.
#[derive(Debug, Serialize, ToSchema)]
struct CsatReport {
    time_zone: String,
    /// Every rating of the queues in view.
    total: csat::Summary,
    agents: Vec<CsatRow>,
    queues: Vec<CsatRow>,
}

/// Ratings given over local days `from`–`to`: count, average and share satisfied (4 or 5 of 5)
/// per agent and per queue, within the caller's teams.
#[utoipa::path(get, path = "/reports/csat", params(DaysQuery),
    responses((status = 200, body = CsatReport), (status = 400), (status = 403)))]
async fn csat_report(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Query(query): Query<DaysQuery>,
) -> Result<ApiJson<CsatReport>, ApiError> {
    let (time_zone, start, end) = query.span(&state, &me).await?;
    let scope = scope_of(&state, &me).await?;
    let ratings = state.store.ratings_between(me.account_id, start, end).await?;
    let agents: HashMap<AgentId, String> = state
        .store
        .agents(me.account_id)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let queues: HashMap<QueueId, String> = state
        .store
        .queues(me.account_id)
        .await?
        .into_iter()
        .map(|q| (q.id, q.name))
        .collect();
    let row = |key: String, name: Option<&String>, summary| CsatRow {
        name: name.cloned().unwrap_or_else(|| key.clone()),
        key,
        summary,
    };
    let mut agent_rows: Vec<CsatRow> = csat::by(&ratings, |r| r.agent_id.filter(|a| scope.agent(*a)))
        .into_iter()
        .map(|(id, s)| row(id.to_string(), agents.get(&id), s))
        .collect();
    let mut queue_rows: Vec<CsatRow> = csat::by(&ratings, |r| Some(r.queue_id).filter(|q| scope.queue(*q)))
        .into_iter()
        .map(|(id, s)| row(id.to_string(), queues.get(&id), s))
        .collect();
    for rows in [&mut agent_rows, &mut queue_rows] {
        rows.sort_by(|a, b| a.name.cmp(&b.name).then(a.key.cmp(&b.key)));
    }
    let total = csat::summarize(
        ratings
            .iter()
            .filter(|r| scope.queue(r.queue_id))
            .map(|r| r.score),
    );
    Ok(ApiJson(CsatReport {
        time_zone,
        total,
        agents: agent_rows,
        queues: queue_rows,
    }))
}

/// Per agent over a range: contacts handled, handle time, follow-ups done, customers owned.
#[derive(Debug, Serialize, ToSchema)]
struct KpiReport {
    time_zone: String,
    agents: Vec<csat::AgentKpis>,
}

/// Each agent's KPIs over local days `from`–`to` (supervisors: the people of their teams):
/// contacts answered and average handle time (as `/reports/agent` counts them), follow-ups done
/// and done by their due time, customers owned now, the ratings of their contacts, and the
/// opportunities they own won in the range (won and last changed then), amounts by currency.
/// `format=csv` answers the same as CSV, cells that would be formulas kept as text.
#[utoipa::path(get, path = "/reports/agent-kpis", params(DaysQuery),
    responses((status = 200, body = KpiReport, content_type = "application/json"),
        (status = 200, body = String, content_type = "text/csv"),
        (status = 400), (status = 403)))]
async fn agent_kpis(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Query(query): Query<DaysQuery>,
) -> Result<Response, ApiError> {
    let account = me.account_id;
    let (time_zone, start, end) = query.span(&state, &me).await?;
    let scope = scope_of(&state, &me).await?;
    let report = load::named(&state.store, account, query.ask(Dimension::Agent)?, &scope).await?;
    let mut inputs = csat::KpiInputs::default();
    for row in &report.rows {
        if let Ok(id) = row.key.parse::<AgentId>() {
            let t = &row.total.tally;
            inputs
                .handled
                .insert(id, (t.answered + t.answered_offline, row.total.aht_ms));
        }
    }
    let done = state.store.follow_ups_done_between(account, start, end).await?;
    inputs.follow_ups = csat::follow_ups_done(&done);
    let ratings = state.store.ratings_between(account, start, end).await?;
    inputs.csat = csat::by(&ratings, |r| r.agent_id);
    let people: Vec<(AgentId, String)> = state
        .store
        .agents(account)
        .await?
        .into_iter()
        .filter(|a| scope.agent(a.id))
        .filter(|a| a.active || inputs.handled.contains_key(&a.id))
        .map(|a| (a.id, a.name))
        .collect();
    let ids: Vec<AgentId> = people.iter().map(|(id, _)| *id).collect();
    inputs.owned = state.store.owner_loads(account, &ids).await?;
    for o in state.store.opportunities(account, None).await? {
        let won = o.status == crate::crm::pipeline::OpportunityStatus::Won;
        if won && (start..end).contains(&o.updated_at) {
            let e = inputs.won.entry(o.owner_id).or_default();
            e.0 += 1;
            *e.1.entry(o.currency).or_default() += o.amount;
        }
    }
    let mut agents = csat::kpis(&people, &inputs);
    agents.sort_by(|a, b| a.name.cmp(&b.name).then(a.agent_id.cmp(&b.agent_id)));
    if query.format.as_deref() == Some("csv") {
        let file = format!(
            "attachment; filename=\"plugboard-agent-kpis-{}-{}.csv\"",
            query.from, query.to
        );
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ];
        return Ok((headers, csat::kpi_csv(&agents)).into_response());
    }
    Ok(ApiJson(KpiReport { time_zone, agents }).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct StaffingQuery {
    from: String,
    to: String,
    /// `15m` or `hour` (the default).
    granularity: Option<String>,
    /// The share answered within the queue's threshold to staff for, 0–1 (0.8 if not given).
    target: Option<f64>,
    /// Staff for a forecast instead of what happened: each interval's contacts are the average
    /// of the same local time on the same weekday over this many weeks before (1–12), so the
    /// range may be tomorrow.
    weeks: Option<u32>,
}

fn target(t: Option<f64>) -> Result<f64, ApiError> {
    let t = t.unwrap_or(0.8);
    if !(0.0..1.0).contains(&t) || t <= 0.0 {
        return Err(ApiError::BadRequest("target must be above 0 and below 1".into()));
    }
    Ok(t)
}

/// Agents a queue needs per interval for a service-level target (Erlang C, or Erlang A when
/// abandonment was significant), computed from each interval's offered contacts and handle time
/// or, with `weeks`, from a forecast of them out of the weeks before, next to the agents who
/// could take its contacts and were staffed.
#[utoipa::path(get, path = "/staffing/{queue}", params(("queue" = String, Path), StaffingQuery),
    responses((status = 200, body = Staffing), (status = 400), (status = 403), (status = 404)))]
async fn staffing(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(queue): Path<String>,
    Query(query): Query<StaffingQuery>,
) -> Result<ApiJson<Staffing>, ApiError> {
    let queue: QueueId = queue.parse().map_err(|_| ApiError::NotFound)?;
    // Another team's queue is not there for this supervisor.
    if !scope_of(&state, &me).await?.queue(queue) {
        return Err(ApiError::NotFound);
    }
    let range = RangeQuery {
        from: query.from,
        to: query.to,
        granularity: Some(query.granularity.unwrap_or_else(|| "hour".into())),
        format: None,
    };
    let ask = ask(&range, Dimension::Queue)?;
    if !matches!(ask.granularity, Granularity::QuarterHour | Granularity::Hour) {
        return Err(ApiError::BadRequest("staffing is per 15m or hour".into()));
    }
    let target = target(query.target)?;
    if let Some(weeks) = query.weeks
        && !(1..=load::MAX_FORECAST_WEEKS).contains(&weeks)
    {
        return Err(ApiError::BadRequest(format!(
            "weeks must be 1 to {}",
            load::MAX_FORECAST_WEEKS
        )));
    }
    Ok(ApiJson(
        load::staffing(&state.store, me.account_id, queue, ask, target, query.weeks).await?,
    ))
}

/// A what-if: so many contacts in an interval of this length, this handle time, this target.
#[derive(Debug, Deserialize, ToSchema)]
struct WhatIf {
    contacts: f64,
    /// 900 (15 minutes) if not given.
    interval_secs: Option<f64>,
    aht_secs: f64,
    /// The share to answer within `threshold_secs`, 0–1.
    target: f64,
    threshold_secs: f64,
    /// Callers' average patience; given, Erlang A counts those who give up.
    patience_secs: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
struct WhatIfAnswer {
    /// Offered traffic in Erlangs.
    erlangs: f64,
    model: &'static str,
    /// The fewest agents that reach the target; `null` beyond 5,000.
    needed: Option<Outcome>,
    /// What a few agents fewer and more would achieve.
    around: Vec<Outcome>,
}

/// Agents needed for a load, with the service level, ASA, occupancy (and, with a patience,
/// abandonment) they and their neighbours would give.
#[utoipa::path(post, path = "/staffing/what-if", request_body = WhatIf,
    responses((status = 200, body = WhatIfAnswer), (status = 400), (status = 403)))]
async fn what_if(
    RequireRole(..): RequireRole<Supervisor>,
    ApiJson(w): ApiJson<WhatIf>,
) -> Result<ApiJson<WhatIfAnswer>, ApiError> {
    let bad = |what: &str| ApiError::BadRequest(what.into());
    let interval_secs = w.interval_secs.unwrap_or(900.0);
    if !(w.contacts >= 0.0 && w.contacts <= 1e6) {
        return Err(bad("contacts must be 0 to 1,000,000"));
    }
    if !(w.aht_secs > 0.0 && w.aht_secs <= 86_400.0 && interval_secs > 0.0 && interval_secs <= 86_400.0) {
        return Err(bad(
            "aht_secs and interval_secs must be above 0 and at most a day",
        ));
    }
    if !(w.threshold_secs >= 0.0 && w.threshold_secs <= 86_400.0) {
        return Err(bad("threshold_secs must be 0 to 86400"));
    }
    if w.patience_secs.is_some_and(|p| !(p > 0.0 && p <= 86_400.0)) {
        return Err(bad("patience_secs must be above 0 and at most a day"));
    }
    let target = target(Some(w.target))?;
    let load = Load {
        contacts: w.contacts,
        interval_secs,
        aht_secs: w.aht_secs,
        patience_secs: w.patience_secs,
    };
    let needed = erlang::agents_needed(&load, target, w.threshold_secs);
    let around = match needed {
        Some(o) if o.agents > 0 => (o.agents.saturating_sub(2).max(1)..=o.agents + 2)
            .map(|n| erlang::outcome(&load, n, w.threshold_secs))
            .collect(),
        _ => Vec::new(),
    };
    Ok(ApiJson(WhatIfAnswer {
        erlangs: load.erlangs(),
        model: if w.patience_secs.is_some() {
            "erlang_a"
        } else {
            "erlang_c"
        },
        needed,
        around,
    }))
}

/// A team as an admin writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TeamSpec {
    name: String,
    /// Supervisors (or admins) who lead it.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    leads: Vec<AgentId>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    members: Vec<AgentId>,
    /// The queues it serves: its leads see these on the wallboard and in reports.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    queues: Vec<QueueId>,
}

/// The most people or queues one team names.
const MAX_TEAM_SIZE: usize = 2_000;

/// Checks a spec against the account (leads are supervisors or admins, every id is the
/// account's) and makes it the team `id`, each list without repeats.
async fn team(state: &AppState, me: &Agent, id: TeamId, spec: TeamSpec) -> Result<Team, ApiError> {
    super::rest::check_name("a team's name", &spec.name)?;
    if [spec.leads.len(), spec.members.len(), spec.queues.len()]
        .iter()
        .any(|n| *n > MAX_TEAM_SIZE)
    {
        return Err(ApiError::BadRequest(format!(
            "a team names at most {MAX_TEAM_SIZE} leads, members and queues each"
        )));
    }
    let agents = state.store.agents(me.account_id).await?;
    let role = |id: &AgentId| agents.iter().find(|a| a.id == *id).map(|a| a.role);
    if let Some(id) = spec
        .leads
        .iter()
        .chain(&spec.members)
        .find(|id| role(id).is_none())
    {
        return Err(ApiError::BadRequest(format!("no user {id} in this account")));
    }
    if let Some(id) = spec.leads.iter().find(|id| role(id) < Some(Role::Supervisor)) {
        return Err(ApiError::BadRequest(format!(
            "{id} leads a team but is not a supervisor"
        )));
    }
    let queues = state.store.queues(me.account_id).await?;
    if let Some(id) = spec.queues.iter().find(|id| !queues.iter().any(|q| q.id == **id)) {
        return Err(ApiError::BadRequest(format!("no queue {id} in this account")));
    }
    fn once<T: PartialEq + Copy>(list: Vec<T>) -> Vec<T> {
        let mut out: Vec<T> = Vec::with_capacity(list.len());
        for x in list {
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out
    }
    Ok(Team {
        id,
        name: spec.name.trim().to_string(),
        leads: once(spec.leads),
        members: once(spec.members),
        queues: once(spec.queues),
    })
}

fn name_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict { .. } => ApiError::Conflict("another team has that name".into()),
        e => e.into(),
    }
}

/// The account's teams, by name.
#[utoipa::path(get, path = "/teams", responses((status = 200, body = [Team]), (status = 403)))]
async fn list_teams(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
) -> Result<ApiJson<Vec<Team>>, ApiError> {
    Ok(ApiJson(state.store.teams(me.account_id).await?))
}

/// A new team (admins). Once an account has a team, each supervisor sees only the members and
/// queues of the teams they lead.
#[utoipa::path(post, path = "/teams", request_body = TeamSpec,
    responses((status = 201, body = Team), (status = 400), (status = 403), (status = 409)))]
async fn create_team(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    ApiJson(spec): ApiJson<TeamSpec>,
) -> Result<(StatusCode, ApiJson<Team>), ApiError> {
    let team = team(&state, &me, TeamId::new(), spec).await?;
    state
        .store
        .put_team(me.account_id, &team, now_millis())
        .await
        .map_err(name_taken)?;
    Ok((StatusCode::CREATED, ApiJson(team)))
}

/// Replace a team's name, leads, members and queues (admins).
#[utoipa::path(put, path = "/teams/{id}", params(("id" = String, Path)), request_body = TeamSpec,
    responses((status = 200, body = Team), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn update_team(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
    ApiJson(spec): ApiJson<TeamSpec>,
) -> Result<ApiJson<Team>, ApiError> {
    let id: TeamId = super::rest::parse_id(&id)?;
    if !state.store.teams(me.account_id).await?.iter().any(|t| t.id == id) {
        return Err(ApiError::NotFound);
    }
    let team = team(&state, &me, id, spec).await?;
    state
        .store
        .put_team(me.account_id, &team, now_millis())
        .await
        .map_err(name_taken)?;
    Ok(ApiJson(team))
}

/// Delete a team (admins). Its people and queues stay; its leads no longer see them through it.
#[utoipa::path(delete, path = "/teams/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_team(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Admin>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: TeamId = super::rest::parse_id(&id)?;
    state.store.delete_team(me.account_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The state a supervisor puts an agent in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentStateRequest {
    /// `offline`, `available` or `break`.
    state: String,
    /// For a break: its reason as the agent would give it.
    break_reason: Option<String>,
    /// Why, for the audit log and the log of every contact handed back.
    #[serde(default)]
    reason: String,
}

/// Change an agent's state (supervisors, for the people of their teams): log out someone who left
/// for the day, bring back someone stuck on a break. Going offline, the contacts they hold in
/// conversation go back to their queues as a transfer, each logged with who and why; contacts in
/// wrap-up finish on their timer. The change is on the audit log.
#[utoipa::path(put, path = "/agents/{id}/state", params(("id" = String, Path)), request_body = AgentStateRequest,
    responses((status = 204), (status = 400), (status = 403), (status = 404)))]
async fn set_agent_state(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgentStateRequest>,
) -> Result<StatusCode, ApiError> {
    let id: AgentId = super::rest::parse_id(&id)?;
    super::crm::check_reason(&req.reason)?;
    let new_state = super::ws_agent::parse_state(&req.state, req.break_reason)?;
    if !scope_of(&state, &me).await?.agent(id) {
        return Err(ApiError::NotFound);
    }
    let agent = state.store.agent(me.account_id, id).await?;
    let change = crate::dispatcher::StateChange {
        by: me.id,
        agent: agent.id,
        state: new_state,
        reason: req.reason.clone(),
    };
    state.dispatcher.set_state_for(me.account_id, change).await?;
    let detail = serde_json::json!({"state": req.state, "reason": req.reason, "agent_name": agent.name});
    super::audit::record(&state, &me, ip, "agent.state_set", Some(id.to_string()), detail).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Where a supervisor sends a waiting contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveRequest {
    /// Another queue (its own if not given).
    #[schema(value_type = Option<String>)]
    queue_id: Option<QueueId>,
    /// An Available agent with room, offered it alone; if they decline or miss it, anyone may
    /// have it.
    #[schema(value_type = Option<String>)]
    agent_id: Option<AgentId>,
    /// Why, for its log.
    #[serde(default)]
    reason: String,
}

/// Move a contact that waits for an agent (queued, or ringing someone) to another queue or to a
/// named agent (supervisors, within their teams). It keeps its arrival time; the move is on its
/// log with who made it and why. 409 when it no longer waits or the agent cannot take it.
#[utoipa::path(post, path = "/interactions/{id}/move", params(("id" = String, Path)), request_body = MoveRequest,
    responses((status = 204), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn move_waiting(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<MoveRequest>,
) -> Result<StatusCode, ApiError> {
    let id: InteractionId = super::rest::parse_id(&id)?;
    if req.queue_id.is_none() && req.agent_id.is_none() {
        return Err(ApiError::BadRequest(
            "name a queue_id, an agent_id or both".into(),
        ));
    }
    super::crm::check_reason(&req.reason)?;
    let interaction = state.store.interaction(me.account_id, id).await?;
    let scope = scope_of(&state, &me).await?;
    // Only within their teams: the contact's queue, and where it goes.
    if !scope.queue(interaction.queue_id)
        || req.queue_id.is_some_and(|q| !scope.queue(q))
        || req.agent_id.is_some_and(|a| !scope.agent(a))
    {
        return Err(ApiError::NotFound);
    }
    let m = crate::dispatcher::Move {
        by: me.id,
        interaction: id,
        queue: req.queue_id,
        to: req.agent_id,
        reason: req.reason,
    };
    state.dispatcher.move_waiting(me.account_id, m).await?;
    Ok(StatusCode::NO_CONTENT)
}
