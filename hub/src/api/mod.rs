//! The hub's HTTP face: REST under `/api/v1` (with its OpenAPI document), the websockets for
//! agents, supervisors and the chat widget, health and metrics, and the console's files.
//! Handlers validate and delegate; routing and state live in the dispatcher and the store.

mod error;
mod rest;
mod ui;
mod ws;
mod ws_agent;
mod ws_chat;
mod ws_supervisor;

pub use error::ApiError;

use crate::bus::Bus;
use crate::config::Config;
use crate::dispatcher::Dispatcher;
use crate::domain::{Agent, now_millis};
use crate::store::{DynStore, StoreError};
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: DynStore,
    pub bus: Bus,
    pub dispatcher: Dispatcher,
    /// The long-running tasks, for `/readyz`.
    pub health: crate::health::Health,
    /// Agents' phones as the SIP registrar sees them; the phones API keeps it current.
    pub phones: Arc<crate::telephony::Phones>,
    metrics: Option<PrometheusHandle>,
    login_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    start_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

fn per_minute(n: u32) -> Arc<DefaultKeyedRateLimiter<IpAddr>> {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n)))
}

impl AppState {
    pub fn new(
        config: Arc<Config>,
        store: DynStore,
        bus: Bus,
        dispatcher: Dispatcher,
        health: crate::health::Health,
        phones: Arc<crate::telephony::Phones>,
        metrics: Option<PrometheusHandle>,
    ) -> Self {
        AppState {
            login_limiter: per_minute(config.auth.login_per_minute),
            start_limiter: per_minute(config.chat.starts_per_minute),
            config,
            store,
            bus,
            dispatcher,
            health,
            phones,
            metrics,
        }
    }

    /// The agent behind a session token, or 401.
    pub async fn agent_for_token(&self, token: &str) -> Result<Agent, ApiError> {
        match self
            .store
            .session_agent(&crate::auth::hash_token(token), now_millis())
            .await
        {
            Ok(agent) => Ok(agent),
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}

/// The address a request came from (loopback when the server was not started with connect
/// info, as in `oneshot` tests).
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(ip))
    }
}

pub fn app(state: AppState) -> Router {
    let (api, openapi) = rest::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route("/ws/agent", get(ws_agent::upgrade))
        .route("/ws/chat", get(ws_chat::upgrade))
        .route("/ws/supervisor", get(ws_supervisor::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(ui::router())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// 200 when the store answers and every long-running task runs, 503 otherwise; the body names
/// each task, whether it runs and how many inputs it dropped on a panic.
async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let store = state.store.queues(crate::domain::AccountId::DEFAULT).await.is_ok();
    let ready = store && state.health.ready();
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready,
        "store": store,
        "tasks": state.health.report(),
    });
    (status, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AppState>) -> String {
    state
        .metrics
        .as_ref()
        .map(PrometheusHandle::render)
        .unwrap_or_default()
}
