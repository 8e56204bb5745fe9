//! REST for managers under `/api/v1`: contact-center reports (JSON or CSV), the account's rules
//! for counting them, staffing from a queue's history and the what-if calculator. Supervisors and
//! admins only; the figures come from `crate::reports`.

use super::audit::audited;
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{Admin, RequireRole, Supervisor};
use crate::domain::{QueueId, now_millis};
use crate::reports::erlang::{self, Load, Outcome};
use crate::reports::load::{self, Ask, LoadError, Named, Staffing};
use crate::reports::{Dimension, Granularity, time_zone};
use crate::store::ReportSettings;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report_settings, set_report_settings))
        .routes(routes!(report))
        .routes(routes!(staffing))
        .routes(routes!(what_if))
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
    let named = load::named(&state.store, me.account_id, ask(&query, dimension)?).await?;
    if query.format.as_deref() == Some("csv") {
        let file = format!(
            "attachment; filename=\"plugboard-{}-{}-{}.csv\"",
            dimension_word(dimension),
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

fn dimension_word(d: Dimension) -> &'static str {
    match d {
        Dimension::Queue => "queue",
        Dimension::Agent => "agent",
        Dimension::Channel => "channel",
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct StaffingQuery {
    from: String,
    to: String,
    /// `15m` or `hour` (the default).
    granularity: Option<String>,
    /// The share answered within the queue's threshold to staff for, 0–1 (0.8 if not given).
    target: Option<f64>,
}

fn target(t: Option<f64>) -> Result<f64, ApiError> {
    let t = t.unwrap_or(0.8);
    if !(0.0..1.0).contains(&t) || t <= 0.0 {
        return Err(ApiError::BadRequest("target must be above 0 and below 1".into()));
    }
    Ok(t)
}

/// Agents a queue needed per interval for a service-level target (Erlang C, or Erlang A when
/// abandonment was significant), computed from each interval's offered contacts and handle time,
/// next to the agents who could take its contacts and were staffed.
#[utoipa::path(get, path = "/staffing/{queue}", params(("queue" = String, Path), StaffingQuery),
    responses((status = 200, body = Staffing), (status = 400), (status = 403), (status = 404)))]
async fn staffing(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    Path(queue): Path<String>,
    Query(query): Query<StaffingQuery>,
) -> Result<ApiJson<Staffing>, ApiError> {
    let queue: QueueId = queue.parse().map_err(|_| ApiError::NotFound)?;
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
    Ok(ApiJson(
        load::staffing(&state.store, me.account_id, queue, ask, target).await?,
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
