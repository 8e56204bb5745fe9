//! The hub's HTTP face: REST under `/api/v1` (with its OpenAPI document), the websockets for
//! agents, supervisors and the chat widget, health, and the console's files. Metrics have a
//! listener of their own (`server::serve_metrics`).
//! Handlers validate and delegate; routing and state live in the dispatcher and the store.

mod audit;
mod chat_files;
mod conversations;
mod crm;
mod csat;
mod email;
mod error;
#[cfg(fuzzing)]
pub mod fuzz;
mod knowledge;
mod messaging;
mod people;
mod pipeline;
mod privacy;
mod reports;
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
use crate::store::{DynStore, LiveSession, StoreError};
use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use governor::{DefaultKeyedRateLimiter, Quota};
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
    /// The one way in for a new contact (a widget's chat here).
    pub intake: crate::intake::Intake,
    /// Mailboxes' fetch loops and the outbox sender.
    pub email: Arc<crate::email::Email>,
    /// Messaging apps' webhook intake and outbox sender.
    pub messaging: Arc<crate::messaging::Messaging>,
    /// The wallboards' boards on this node.
    pub wallboards: Arc<crate::wallboard::Wallboards>,
    login_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Wrong passwords per login, whatever address they come from (`crate::lockout`).
    lockout: Arc<std::sync::Mutex<crate::lockout::Lockout>>,
    start_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// A visitor's messages per conversation (`chat.messages_per_minute`), whichever socket
    /// they come through.
    message_limiter: Arc<DefaultKeyedRateLimiter<crate::domain::InteractionId>>,
}

fn per_minute<K: std::hash::Hash + Eq + Clone>(n: u32) -> Arc<DefaultKeyedRateLimiter<K>> {
    let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n)))
}

/// How stale a session's `last_seen_at` may get before a request writes it again: a console
/// polling every few seconds costs one write a minute, not one per request.
const SESSION_TOUCH_MS: i64 = 60_000;

/// How often the limit tables and the expired sessions are cleared out.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<Config>,
        store: DynStore,
        bus: Bus,
        dispatcher: Dispatcher,
        health: crate::health::Health,
        phones: Arc<crate::telephony::Phones>,
        intake: crate::intake::Intake,
        email: Arc<crate::email::Email>,
        messaging: Arc<crate::messaging::Messaging>,
    ) -> Self {
        AppState {
            intake,
            email,
            messaging,
            wallboards: Arc::new(crate::wallboard::Wallboards::new(
                dispatcher.clone(),
                store.clone(),
            )),
            login_limiter: per_minute(config.auth.login_per_minute),
            lockout: Arc::new(std::sync::Mutex::new(crate::lockout::Lockout::new(
                crate::lockout::Policy {
                    free_failures: config.auth.lockout_after,
                    first: i64::from(config.auth.lockout_secs) * 1_000,
                    longest: i64::from(config.auth.lockout_max_secs) * 1_000,
                },
            ))),
            start_limiter: per_minute(config.chat.starts_per_minute),
            message_limiter: per_minute(config.chat.messages_per_minute),
            config,
            store,
            bus,
            dispatcher,
            health,
            phones,
        }
    }

    /// The per-login lockout table (its lock is never held across an await).
    fn lockouts(&self) -> std::sync::MutexGuard<'_, crate::lockout::Lockout> {
        self.lockout
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets the limit tables' entries whose allowance is full again, so a flood of addresses
    /// or conversations cannot grow them for good, deletes expired sessions, and counts the
    /// lines logged since into the report cells (so a report has at most a minute's to count);
    /// every minute, for as long as the hub serves.
    pub fn spawn_housekeeping(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
            loop {
                every.tick().await;
                state.login_limiter.retain_recent();
                state.lockouts().prune(now_millis());
                state.start_limiter.retain_recent();
                state.message_limiter.retain_recent();
                match state.store.prune_sessions(now_millis()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(sessions = n, "expired sessions pruned"),
                    Err(e) => tracing::warn!(error = %e, "could not prune expired sessions"),
                }
                let account = crate::domain::AccountId::DEFAULT;
                if let Err(e) = crate::reports::load::count(&state.store, account, now_millis()).await {
                    tracing::warn!(error = %e, "could not count the report cells");
                }
            }
        });
    }

    /// A conversation changed outside the routers: consoles watching their inbox read it again.
    pub fn conversations_changed(&self) {
        self.dispatcher.conversations_changed();
    }

    /// The agent behind a session token, or 401. Notes the session's use for its admin's list,
    /// at most once every `SESSION_TOUCH_MS`.
    pub async fn agent_for_token(&self, token: &str) -> Result<Agent, ApiError> {
        Ok(self.session_for_token(token).await?.agent)
    }

    /// The live session `token` opens, noting its use.
    pub async fn session_for_token(&self, token: &str) -> Result<LiveSession, ApiError> {
        let hash = crate::auth::hash_token(token);
        let now = now_millis();
        match self.store.session_agent(&hash, now).await {
            Ok(live) => {
                if now - live.last_seen_at >= SESSION_TOUCH_MS
                    && let Err(e) = self.store.touch_session(&hash, now).await
                {
                    tracing::warn!(error = %e, "could not note a session's use");
                }
                Ok(live)
            }
            Err(StoreError::NotFound) => Err(ApiError::Unauthorized),
            Err(e) => Err(e.into()),
        }
    }
}

/// The address a request came from: the peer, or behind a reverse proxy named in
/// `http.trusted_proxies`, the client it forwarded for (loopback when the server was not started
/// with connect info, as in `oneshot` tests). Rate limits are keyed on it.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |ConnectInfo(addr)| addr.ip());
        Ok(ClientIp(client_ip(
            peer,
            &parts.headers,
            &state.config.http.trusted_proxies,
        )))
    }
}

/// Walks `X-Forwarded-For` back from the nearest hop while the hop is one of our proxies; the
/// first address that is not is the client. Anything before it was written by the client and
/// proves nothing; a request straight from an untrusted peer keeps the peer, whatever it claims.
fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let mut client = peer;
    if !trusted.contains(&peer) {
        return client;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let parsed = hop
            .parse::<IpAddr>()
            .or_else(|_| hop.parse::<SocketAddr>().map(|a| a.ip()));
        match parsed {
            Ok(ip) => {
                client = ip;
                if !trusted.contains(&ip) {
                    break;
                }
            }
            // A hop we cannot read: the nearest one we could is as far as we can trust.
            Err(_) => break,
        }
    }
    client
}

/// The most a request body may carry (REST's JSON, websocket upgrades), uploads aside.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub fn app(state: AppState) -> Router {
    let (api, openapi) = rest::router().split_for_parts();
    let openapi = Arc::new(openapi);
    Router::new()
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route("/ws/agent", get(ws_agent::upgrade))
        .route("/ws/chat", get(ws_chat::upgrade))
        .route("/ws/supervisor", get(ws_supervisor::upgrade))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .merge(people::avatar_route())
        .merge(ui::router())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        // After the layer above: REST sets its own limits (`rest::router`), uploads and a chat's
        // files a larger one, and a webhook delivery its platform's (`plugboard_im::Posts`).
        .merge(api)
        .merge(chat_files::routes())
        .merge(messaging::webhook_routes())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// 200 when the store answers and every long-running task runs, 503 otherwise; the body names
/// each task, whether it runs and how many inputs it dropped on a panic.
async fn readyz(State(state): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let store = state
        .store
        .queues(crate::domain::AccountId::DEFAULT)
        .await
        .is_ok();
    let ready = store && state.health.ready();
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready,
        "store": store,
        "router": state.dispatcher.router(),
        "tasks": state.health.report(),
        // A mailbox that cannot fetch is named here, but does not take the node out of service:
        // the cause (a password, the mail server) is not this node's.
        "mailboxes_failing": state.email.failing().into_iter()
            .map(|(address, reason)| serde_json::json!({"address": address, "error": reason}))
            .collect::<Vec<_>>(),
    });
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod limit_tests {
    use super::per_minute;
    use std::net::{IpAddr, Ipv4Addr};

    /// A flood from 10,000 addresses grows a limit table by as many entries; once each one's
    /// allowance is full again, the housekeeping's `retain_recent` forgets them all, while an
    /// address still spending its allowance is kept (and still limited).
    #[test]
    fn a_limit_table_forgets_addresses_whose_allowance_is_full_again() {
        // 60,000 a minute: an allowance refills in a millisecond, so the test need not wait
        // a minute; the pruning is the same at any rate.
        let limiter = per_minute::<IpAddr>(60_000);
        for n in 0..10_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
            assert!(limiter.check_key(&ip).is_ok());
        }
        assert_eq!(limiter.len(), 10_000);
        std::thread::sleep(std::time::Duration::from_millis(20));
        limiter.retain_recent();
        assert_eq!(limiter.len(), 0);

        let tight = per_minute::<IpAddr>(1);
        let busy = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(tight.check_key(&busy).is_ok());
        tight.retain_recent();
        assert_eq!(tight.len(), 1, "an address still limited is kept");
        assert!(tight.check_key(&busy).is_err());
    }
}

#[cfg(test)]
mod client_ip_tests {
    use super::client_ip;
    use axum::http::HeaderMap;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_first_untrusted_hop() {
        let proxy = ip("127.0.0.1");
        let lb = ip("10.0.0.2");
        let cases: [(&str, &str, &[&str], &str); 8] = [
            (
                "no proxies configured: the header is ignored",
                "198.51.100.7",
                &["203.0.113.9"],
                "198.51.100.7",
            ),
            (
                "an untrusted peer cannot claim an address",
                "198.51.100.7",
                &["203.0.113.9"],
                "198.51.100.7",
            ),
            (
                "nginx on the same host",
                "127.0.0.1",
                &["203.0.113.9"],
                "203.0.113.9",
            ),
            (
                "a forged first hop is skipped",
                "127.0.0.1",
                &["1.1.1.1, 203.0.113.9"],
                "203.0.113.9",
            ),
            (
                "two proxies of ours",
                "127.0.0.1",
                &["203.0.113.9, 10.0.0.2"],
                "203.0.113.9",
            ),
            (
                "several header lines",
                "127.0.0.1",
                &["1.1.1.1", "203.0.113.9"],
                "203.0.113.9",
            ),
            (
                "an unreadable hop stops the walk",
                "127.0.0.1",
                &["203.0.113.9, garbage"],
                "127.0.0.1",
            ),
            (
                "a port on the hop",
                "127.0.0.1",
                &["[2001:db8::1]:4711"],
                "2001:db8::1",
            ),
        ];
        for (n, (what, peer, forwarded, expected)) in cases.into_iter().enumerate() {
            let mut headers = HeaderMap::new();
            for line in forwarded {
                headers.append("x-forwarded-for", line.parse().unwrap());
            }
            let trusted = if n == 0 { vec![] } else { vec![proxy, lb] };
            assert_eq!(client_ip(ip(peer), &headers, &trusted), ip(expected), "{what}");
        }
        assert_eq!(
            client_ip(proxy, &HeaderMap::new(), &[proxy]),
            proxy,
            "no header: the proxy itself"
        );
    }
}
