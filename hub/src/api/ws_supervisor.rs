//! `/ws/supervisor`: the wallboard. Live queue and agent figures with today's totals, pushed to
//! supervisors' screens when they change (`crate::wallboard` makes the boards), each
//! supervisor's of the teams they lead (`crate::teams`).

use super::ws::{self, Incoming};
use super::{ApiError, AppState};
use crate::domain::Role;
use crate::teams::Scope;
use crate::wallboard::Board;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

pub async fn upgrade(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    ws::configure(upgrade).on_upgrade(move |socket| session(socket, state))
}

/// Supervisors only listen; anything they send after `auth` is answered with an error.
#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum ClientFrame {}

async fn session(socket: WebSocket, state: AppState) {
    let (mut sink, mut stream) = ws::split(socket, &state.config.http);
    let Some(signed_in) = super::ws_agent::authenticate(&state, &mut sink, &mut stream).await else {
        return;
    };
    let timeouts = ws::ConsoleTimeouts::of(&state.config.http);
    let mut keepalive = timeouts.keepalive();
    let mut heard = tokio::time::Instant::now();
    let me = &signed_in.agent;
    if me.role < Role::Supervisor {
        ws::send_error(&mut sink, &ApiError::Forbidden, None).await;
        return;
    }
    let Ok(mut scope) = super::reports::scope_of(&state, me).await else {
        return;
    };
    let mut boards = state.wallboards.subscribe(me.account_id);
    // The latest board goes out at once, if there is one yet.
    boards.mark_changed();
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = every_second.tick() => {
                // As the session stands now: a logout, an expiry or a demotion ends the stream
                // within the second, and a change of their teams shows within it.
                match signed_in.recheck(&state).await {
                    Ok(now) if now.role >= Role::Supervisor => {}
                    Ok(_) => { super::ws_agent::turn_away(&mut sink, &ApiError::Forbidden).await; break }
                    Err(e) => { super::ws_agent::turn_away(&mut sink, &e).await; break }
                }
                match super::reports::scope_of(&state, me).await {
                    Ok(now) if now != scope => {
                        // Their teams changed: the latest board again, as they now see it.
                        scope = now;
                        let board = boards.borrow().clone();
                        if let Some(board) = board
                            && !ws::send(&mut sink, &frame(&board, &scope)).await
                        {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            changed = boards.changed() => {
                if changed.is_err() { break }
                let board = boards.borrow_and_update().clone();
                if let Some(board) = board
                    && !ws::send(&mut sink, &frame(&board, &scope)).await
                {
                    break;
                }
            }
            _ = keepalive.tick() => if !ws::keep_alive(&mut sink, heard, timeouts.idle).await { break },
            message = stream.next() => match ws::parse::<ClientFrame>(ws::heard(message, &mut heard)) {
                Incoming::Closed => break,
                Incoming::TooBig => { ws::close_too_big(&mut sink).await; break }
                Incoming::Frame(never) => match never {},
                Incoming::Skip => {}
                Incoming::Invalid(e, r) => { if !ws::send_error(&mut sink, &e, r).await { break } }
            },
        }
    }
}

/// The `queues` frame: what `scope` holds of the board, each queue and agent with its `today`.
fn frame(board: &Board, scope: &Scope) -> Value {
    let with_today = |mut v: Value, today: Value| {
        v["today"] = today;
        v
    };
    let queues: Vec<Value> = board
        .live
        .queues
        .iter()
        .filter(|q| scope.queue(q.id))
        .map(|q| {
            with_today(
                json!(q),
                json!(board.today.queues.get(&q.id).cloned().unwrap_or_default()),
            )
        })
        .collect();
    let agents: Vec<Value> = board
        .live
        .agents
        .iter()
        .filter(|a| scope.agent(a.id))
        .map(|a| {
            with_today(
                json!(a),
                json!(board.today.agents.get(&a.id).cloned().unwrap_or_default()),
            )
        })
        .collect();
    json!({
        "type": "queues", "at": board.at, "quarter_hours": board.today.quarter_hours,
        "queues": queues, "agents": agents, "channels": board.live.channels,
    })
}
