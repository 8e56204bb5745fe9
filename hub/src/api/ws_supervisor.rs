//! `/ws/supervisor`: live queue and agent figures, pushed every second to supervisors' screens,
//! each supervisor's of the teams they lead (`crate::teams`).

use super::ws::{self, Incoming};
use super::{ApiError, AppState};
use crate::domain::Role;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use std::time::Duration;

pub async fn upgrade(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    ws::configure(upgrade).on_upgrade(move |socket| session(socket, state))
}

/// Supervisors only listen; anything they send after `auth` is answered with an error.
#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum ClientFrame {}

async fn session(socket: WebSocket, state: AppState) {
    let (mut sink, mut stream) = socket.split();
    let Some(signed_in) = super::ws_agent::authenticate(&state, &mut sink, &mut stream).await else {
        return;
    };
    let me = &signed_in.agent;
    if me.role < Role::Supervisor {
        ws::send_error(&mut sink, &ApiError::Forbidden, None).await;
        return;
    }
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = every_second.tick() => {
                // Before each push, as the session stands now: a logout, an expiry or a demotion
                // ends the stream within the second.
                match signed_in.recheck(&state).await {
                    Ok(now) if now.role >= Role::Supervisor => {}
                    Ok(_) => { super::ws_agent::turn_away(&mut sink, &ApiError::Forbidden).await; break }
                    Err(e) => { super::ws_agent::turn_away(&mut sink, &e).await; break }
                }
                // Teams as they stand now: an admin's change shows within the second.
                let Ok(scope) = super::reports::scope_of(&state, me).await else { break };
                let Ok(live) = state.dispatcher.live(me.account_id).await else { break };
                let live = scope.live(live);
                let frame = serde_json::json!({
                    "type": "queues", "queues": live.queues, "agents": live.agents, "channels": live.channels,
                });
                if !ws::send(&mut sink, &frame).await { break }
            }
            message = stream.next() => match ws::parse::<ClientFrame>(message) {
                Incoming::Closed => break,
                Incoming::TooBig => { ws::close_too_big(&mut sink).await; break }
                Incoming::Frame(never) => match never {},
                Incoming::Skip => {}
                Incoming::Invalid(e, r) => { if !ws::send_error(&mut sink, &e, r).await { break } }
            },
        }
    }
}
