//! `/ws/chat`: the customer's widget, the web-chat channel. A visitor starts a conversation with
//! the pre-chat form (which resolves them to a customer and queues the chat) and keeps it with a
//! token that reaches that one conversation only. Every message is committed before its ack.

use super::ws::{self, Incoming, Sink};
use super::{ApiError, AppState, ClientIp};
use crate::auth;
use crate::bus::frames::ChatFrame;
use crate::bus::{AgentFrame, Subscription};
use crate::domain::{AccountId, Channel, InteractionId, InteractionState, Message, Sender, now_millis};
use crate::intake::{Arrived, Entry};
use crate::store::{ChatSession, NewMessage, StoreError};
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt;
use plugboard_channel::Inbound;
use serde::Deserialize;
use std::net::IpAddr;
use std::time::Duration;
use tokio::time::Instant;

pub async fn upgrade(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The page the widget runs on, as the browser names it: checked against the widget's
    // `chat.allowed_origins` once the socket says which widget it is.
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_string);
    ws::configure(upgrade).on_upgrade(move |socket| session(socket, state, ip, origin))
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum ClientFrame {
    #[serde(rename = "hello")]
    Hello {
        queue: Option<String>,
        token: Option<String>,
        after: Option<i64>,
    },
    #[serde(rename = "start")]
    Start {
        name: String,
        email: String,
        phone: Option<String>,
        message: Option<String>,
        #[serde(default)]
        offline: bool,
        client_id: Option<String>,
        /// The site's signed user, making them that customer; without it `email` and `phone`
        /// are only claims.
        identity: Option<crate::visitor::SignedUser>,
    },
    #[serde(rename = "message")]
    Message { client_id: String, body: String },
    #[serde(rename = "typing")]
    Typing { typing: bool },
    #[serde(rename = "leave")]
    Leave,
    /// After the end: the transcript mailed to `email` (in the visitor's `locale`).
    #[serde(rename = "transcript")]
    Transcript { email: String, locale: Option<String> },
    /// After the end, on a queue that asks: the customer's rating, 1 to 5, and what they add.
    #[serde(rename = "csat")]
    Csat { score: i64, comment: Option<String> },
}

/// One widget connection: which queue it talks to, and its conversation once there is one.
struct Conversation {
    account: AccountId,
    queue: String,
    interaction: Option<InteractionId>,
    subscription: Option<Subscription<InteractionId, ChatFrame>>,
    /// The conversation is over (seen on resume, or its `ended` frame went by): a message now
    /// is only a resend's ack or refused. Kept here so an open chat's messages cost no read.
    ended: bool,
    /// What the visitor's messages in the conversation add up to (`chat.max_conversation_bytes`):
    /// read from the store when the socket takes the conversation up (and before each message
    /// while another widget is open on it), else counted here.
    sent_bytes: usize,
    /// The `Origin` the socket was opened from.
    origin: Option<String>,
}

impl Conversation {
    /// Refuses a widget used on a site its `chat.allowed_origins` does not list.
    fn check_origin(&self, state: &AppState) -> Result<(), ApiError> {
        if state
            .config
            .chat
            .origin_allowed(&self.queue, self.origin.as_deref())
        {
            Ok(())
        } else {
            Err(ApiError::OriginRefused)
        }
    }
}

async fn session(socket: WebSocket, state: AppState, ip: IpAddr, origin: Option<String>) {
    let (mut sink, mut stream) = ws::split(socket, &state.config.http);
    let mut conversation = Conversation {
        account: AccountId::DEFAULT,
        queue: state.config.chat.default_queue.clone(),
        interaction: None,
        subscription: None,
        ended: false,
        sent_bytes: 0,
        origin,
    };
    let chat = &state.config.chat;
    let secs = |s: u32| Duration::from_secs(u64::from(s.max(1)));
    let hello_by = Instant::now() + secs(chat.hello_timeout_secs);
    let mut greeted = false;
    let idle = secs(chat.idle_timeout_secs);
    // Pings often enough that a live browser's pongs always land within `idle`.
    let mut keepalive = tokio::time::interval_at(Instant::now() + idle / 3, idle / 3);
    let mut heard = Instant::now();
    metrics::gauge!("plugboard_chat_sockets").increment(1.0);
    loop {
        let next_frame = async {
            match conversation.subscription.as_mut() {
                Some(s) => s.rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = next_frame => match frame {
                Some(frame) => {
                    conversation.ended |= matches!(*frame, ChatFrame::Ended);
                    // An agent reopened the chat while this widget was still on it: it goes on.
                    conversation.ended &= !matches!(*frame, ChatFrame::AgentJoined { .. });
                    if !ws::send(&mut sink, frame.as_ref()).await { break }
                }
                None => break,
            },
            () = tokio::time::sleep_until(hello_by), if !greeted => {
                ws::close(&mut sink, ws::CLOSE_POLICY, "no hello").await;
                break;
            }
            _ = keepalive.tick() => if !ws::keep_alive(&mut sink, heard, idle).await { break },
            message = stream.next() => {
                heard = Instant::now();
                match ws::parse::<ClientFrame>(message) {
                    Incoming::Closed => break,
                    Incoming::TooBig => { ws::close_too_big(&mut sink).await; break }
                    Incoming::Skip => {}
                    Incoming::Invalid(e, r) => { if !ws::send_error(&mut sink, &e, r).await { break } }
                    Incoming::Frame(frame) => {
                        greeted |= matches!(frame, ClientFrame::Hello { .. });
                        let client_id = match &frame {
                            ClientFrame::Message { client_id, .. } => Some(client_id.clone()),
                            ClientFrame::Start { client_id, .. } => client_id.clone(),
                            _ => None,
                        };
                        if let Err(e) = handle(&state, ip, &mut conversation, &mut sink, frame).await
                            && !ws::send_error(&mut sink, &e, client_id).await
                        {
                            break;
                        }
                    }
                }
            }
        }
    }
    metrics::gauge!("plugboard_chat_sockets").decrement(1.0);
    if let Some(interaction) = conversation.interaction {
        drop(conversation.subscription);
        tell_presence(&state, interaction).await;
        abandon_unless_back(state, conversation.account, interaction);
    }
}

/// Tells the agent holding the chat whether the customer still has a widget open on it.
async fn tell_presence(state: &AppState, interaction: InteractionId) {
    if let Some(agent) = state.dispatcher.holder(interaction).await {
        let online = state.bus.chat_sessions(interaction) > 0;
        state.bus.to_agent(
            agent,
            AgentFrame::CustomerPresence {
                interaction_id: interaction,
                online,
            },
        );
    }
}

/// A visitor whose last widget closed while the chat still waits has probably left: unless a
/// widget is open on the conversation again after the grace period, the chat is abandoned, so
/// no agent is offered a customer who is gone and the abandonment counts.
fn abandon_unless_back(state: AppState, account: AccountId, interaction: InteractionId) {
    let grace = std::time::Duration::from_secs(u64::from(state.config.chat.abandon_after_secs));
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if state.bus.chat_sessions(interaction) == 0
            && let Err(e) = state.dispatcher.abandon_if_waiting(account, interaction).await
        {
            tracing::warn!(%interaction, error = %e, "could not abandon a chat whose visitor left");
        }
    });
}

async fn handle(
    state: &AppState,
    ip: IpAddr,
    conversation: &mut Conversation,
    sink: &mut Sink,
    frame: ClientFrame,
) -> Result<(), ApiError> {
    match frame {
        ClientFrame::Hello { queue, token, after } => {
            if conversation.interaction.is_some() {
                return Err(ApiError::BadRequest(
                    "this socket already has a conversation".into(),
                ));
            }
            if let Some(queue) = queue.filter(|q| !q.trim().is_empty()) {
                conversation.queue = queue;
            }
            conversation.check_origin(state)?;
            if let Some(token) = token {
                match state.store.chat_session(&auth::hash_token(&token)).await {
                    Ok(session) => {
                        let interaction = state
                            .store
                            .interaction(session.account_id, session.interaction_id)
                            .await?;
                        let grace = i64::from(state.config.chat.token_grace_secs) * 1000;
                        let expired = interaction.ended_at.is_some_and(|t| now_millis() - t > grace);
                        // Past its grace period an ended conversation's token opens nothing: the
                        // transcript is not for whoever finds the browser later.
                        if !expired {
                            let account = session.account_id;
                            return resume(
                                state,
                                conversation,
                                sink,
                                account,
                                interaction,
                                after.unwrap_or(0),
                            )
                            .await;
                        }
                    }
                    Err(StoreError::NotFound) => {} // a stale token: start afresh
                    Err(e) => return Err(e.into()),
                }
            }
            let queue = state
                .store
                .queue_by_name(conversation.account, &conversation.queue)
                .await?;
            // Outside the queue's business hours nobody is, whoever is signed in: the widget
            // offers its offline form.
            let open = queue.hours.as_ref().is_none_or(|h| h.open_at(now_millis()));
            let agents_available = open
                && state
                    .dispatcher
                    .staffing(conversation.account, queue.id)
                    .await?
                    .available;
            ws::send(
                sink,
                &ChatFrame::Ready {
                    agents_available,
                    transcript_by_email: state
                        .email
                        .transcript_mailbox(conversation.account, queue.id)
                        .is_some(),
                    csat: queue.csat,
                    queue: queue.name,
                },
            )
            .await;
        }
        ClientFrame::Start {
            name,
            email,
            phone,
            message,
            offline,
            client_id,
            identity,
        } => {
            if conversation.interaction.is_some() {
                return Err(ApiError::BadRequest(
                    "this socket already has a conversation".into(),
                ));
            }
            conversation.check_origin(state)?;
            if state.start_limiter.check_key(&ip).is_err() {
                return Err(ApiError::RateLimited);
            }
            check_start(&name, message.as_deref(), offline)?;
            let account = conversation.account;
            let queue = state.store.queue_by_name(account, &conversation.queue).await?;
            let visitor = crate::visitor::identify(
                &email,
                phone.as_deref(),
                identity.as_ref(),
                state.config.chat.identity_secret(&queue.name),
                &uuid::Uuid::now_v7().to_string(),
                &state.config.default_region,
            )?;
            let claim = visitor.claim;
            let inbound = Inbound {
                channel: Channel::Chat,
                entry_point: format!("widget:{}", queue.name),
                identities: visitor.identities,
                display_name: Some(name),
                thread: Default::default(),
                automated: None,
                message: None,
            };
            let entry = Entry {
                offline,
                ..Entry::on(&queue)
            };
            // Before the chat is routed: its session (the widget's token), its first line (the
            // offer's preview) and the widget's subscription, so no frame about it can be missed.
            let ready = async |arrived: &Arrived| -> Result<(), ApiError> {
                let interaction = &arrived.interaction;
                // Before the offer reads the card: the agent sees who they say they are.
                if let Some(claim) = &claim {
                    state.store.set_claim(account, arrived.customer.id, claim).await?;
                }
                let now = now_millis();
                let (token, token_hash) = auth::new_token();
                let session = ChatSession {
                    account_id: account,
                    customer_id: arrived.customer.id,
                    interaction_id: interaction.id,
                };
                state
                    .store
                    .create_chat_session(&token_hash, &session, now)
                    .await?;
                let first = match message.filter(|m| !m.trim().is_empty()) {
                    Some(body) => {
                        conversation.sent_bytes = body.len();
                        let client_id = client_id.unwrap_or_else(|| format!("start-{}", interaction.id));
                        Some(
                            customer_message(state, account, interaction.id, false, client_id, body)
                                .await?
                                .0,
                        )
                    }
                    None => None,
                };
                conversation.interaction = Some(interaction.id);
                let mut subscription = state.bus.subscribe_chat(interaction.id);
                subscription.ready().await;
                conversation.subscription = Some(subscription);
                let started = ChatFrame::Started {
                    token,
                    interaction_id: interaction.id,
                    offline,
                    message: first,
                };
                ws::send(sink, &started).await;
                Ok(())
            };
            state.intake.take(account, inbound, entry, ready).await?;
        }
        ClientFrame::Message { client_id, body } => {
            ws::check_body(&body)?;
            ws::check_client_id(&client_id)?;
            let id = conversation.interaction.ok_or_else(no_conversation)?;
            if !conversation.ended {
                if state.message_limiter.check_key(&id).is_err() {
                    return Err(ApiError::RateLimited);
                }
                // Another widget (a second tab) on the conversation writes too: count from the
                // store, which sees both. Alone, this socket's count is the whole story.
                if state.bus.chat_sessions(id) > 1 {
                    let stored = state.store.messages(conversation.account, id, 0).await?;
                    conversation.sent_bytes = visitor_bytes(&stored);
                }
                let most = state.config.chat.max_conversation_bytes;
                if conversation.sent_bytes + body.len() > most {
                    return Err(ApiError::ConversationFull(most));
                }
            }
            let bytes = body.len();
            let (message, created) = customer_message(
                state,
                conversation.account,
                id,
                conversation.ended,
                client_id.clone(),
                body,
            )
            .await?;
            if created {
                conversation.sent_bytes += bytes;
            }
            ws::send(
                sink,
                &ChatFrame::MessageAck {
                    client_id,
                    message: message.clone(),
                },
            )
            .await;
            if created {
                let agent = state.dispatcher.watcher(id).await;
                // Nobody holds it: if it is snoozed, the customer's message brings it back now.
                if agent.is_none() {
                    state.dispatcher.wake(conversation.account, id).await?;
                }
                state.bus.to_agent_and_watchers(agent, message);
            }
        }
        ClientFrame::Typing { typing } => {
            let id = conversation.interaction.ok_or_else(no_conversation)?;
            if let Some(agent) = state.dispatcher.holder(id).await {
                state.bus.to_agent(
                    agent,
                    AgentFrame::Typing {
                        interaction_id: id,
                        typing,
                    },
                );
            }
        }
        ClientFrame::Leave => {
            let id = conversation.interaction.ok_or_else(no_conversation)?;
            state.dispatcher.leave(conversation.account, id, None).await?;
        }
        ClientFrame::Transcript { email, locale } => {
            let id = conversation.interaction.ok_or_else(no_conversation)?;
            if !conversation.ended {
                return Err(ApiError::InvalidState(
                    "the transcript is sent once the chat has ended".into(),
                ));
            }
            let account = conversation.account;
            let interaction = state.store.interaction(account, id).await?;
            let language = crate::transcript::Language::of_locale(locale.as_deref());
            let (text, _) = super::rest::transcript(state, account, &interaction, language).await?;
            let (message, _) = state
                .email
                .send_transcript(account, &interaction, &email, text, language)
                .await?;
            let to = message
                .channel
                .as_ref()
                .and_then(|c| c.details["to"][0]["email"].as_str())
                .unwrap_or_default()
                .to_owned();
            ws::send(sink, &ChatFrame::TranscriptQueued { email: to }).await;
        }
        ClientFrame::Csat { score, comment } => {
            let id = conversation.interaction.ok_or_else(no_conversation)?;
            if !conversation.ended {
                return Err(crate::csat::Refusal::NotEnded.into());
            }
            let (kept, new) =
                super::csat::rate(state, conversation.account, id, score, comment.as_deref()).await?;
            let frame = ChatFrame::CsatRecorded {
                score: kept.score.get(),
                already: !new,
            };
            ws::send(sink, &frame).await;
        }
    }
    Ok(())
}

fn no_conversation() -> ApiError {
    ApiError::BadRequest("start a conversation first".into())
}

/// Commits a customer's message (once per `client_id`), refusing it once the conversation is over.
async fn customer_message(
    state: &AppState,
    account: AccountId,
    interaction: InteractionId,
    ended: bool,
    client_id: String,
    body: String,
) -> Result<(Message, bool), ApiError> {
    if ended {
        // A resend of something already stored still gets its ack.
        let stored = state.store.messages(account, interaction, 0).await?;
        if let Some(m) = stored
            .into_iter()
            .find(|m| m.sender == Sender::Customer && m.client_id == client_id)
        {
            return Ok((m, false));
        }
        return Err(ApiError::InvalidState("this conversation has ended".into()));
    }
    let started = std::time::Instant::now();
    let new = NewMessage {
        interaction_id: interaction,
        sender: Sender::Customer,
        agent_id: None,
        body,
        client_id,
    };
    let result = state.store.append_message(account, new, now_millis()).await?;
    metrics::histogram!("plugboard_message_commit_seconds").record(started.elapsed().as_secs_f64());
    if result.1 {
        metrics::counter!("plugboard_messages_total", "sender" => "customer").increment(1);
    }
    Ok(result)
}

/// What the visitor's messages add up to (`chat.max_conversation_bytes`).
fn visitor_bytes(messages: &[Message]) -> usize {
    messages
        .iter()
        .filter(|m| m.sender == Sender::Customer)
        .map(|m| m.body.len())
        .sum()
}

async fn resume(
    state: &AppState,
    conversation: &mut Conversation,
    sink: &mut Sink,
    account: AccountId,
    interaction: crate::domain::Interaction,
    after: i64,
) -> Result<(), ApiError> {
    conversation.account = account;
    conversation.interaction = Some(interaction.id);
    conversation.ended = interaction.state.is_terminal() || interaction.state == InteractionState::WrapUp;
    // Subscribe before reading the messages so nothing falls between the two.
    let mut subscription = state.bus.subscribe_chat(interaction.id);
    // With Redis, until the subscription is confirmed a frame could pass unseen.
    subscription.ready().await;
    conversation.subscription = Some(subscription);
    tell_presence(state, interaction.id).await;
    // All of them, to count what the visitor has sent (bounded by the very limit counted).
    let mut messages = state.store.messages(account, interaction.id, 0).await?;
    conversation.sent_bytes = visitor_bytes(&messages);
    // The hub's own lines (a mailed transcript's record) are for the agents.
    messages.retain(|m| m.seq > after && m.sender != Sender::System);
    let holder = interaction
        .agent_id
        .filter(|_| interaction.state == InteractionState::Active);
    let authors = super::people::authors(
        state,
        account,
        messages.iter().filter_map(|m| m.agent_id).chain(holder).collect(),
    )
    .await?;
    let csat = state.store.queue(account, interaction.queue_id).await?.csat;
    let rated = match csat {
        true => state.store.rating(account, interaction.id).await?,
        false => None,
    };
    let frame = ChatFrame::Resumed {
        interaction_id: interaction.id,
        csat,
        csat_score: rated.map(|r| r.score.get()),
        transcript_by_email: state
            .email
            .transcript_mailbox(account, interaction.queue_id)
            .is_some(),
        state: interaction.state,
        agent: holder.and_then(|id| authors.iter().find(|a| a.id == id).cloned()),
        authors,
        messages,
    };
    ws::send(sink, &frame).await;
    Ok(())
}

/// What a `start` must carry before anything is stored: a name, and a message that fits (which an
/// offline start cannot do without).
fn check_start(name: &str, message: Option<&str>, offline: bool) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > 200 {
        return Err(ApiError::BadRequest(
            "please give a name (at most 200 bytes)".into(),
        ));
    }
    if let Some(body) = message {
        ws::check_body(body)?;
    }
    if offline && message.is_none_or(|m| m.trim().is_empty()) {
        return Err(ApiError::BadRequest("an offline message needs a message".into()));
    }
    Ok(())
}

/// A widget's frame as a stranger may send it, read and checked as far as `handle` goes before
/// the store, the visitor's claim checked against a widget secret
/// (fuzz/fuzz_targets/ws_frames.rs).
#[cfg(fuzzing)]
pub(super) fn fuzz_frame(text: &str) {
    let Incoming::Frame(frame) = ws::read_text::<ClientFrame>(text) else {
        return;
    };
    match frame {
        ClientFrame::Start {
            name,
            email,
            phone,
            message,
            offline,
            identity,
            ..
        } => {
            if check_start(&name, message.as_deref(), offline).is_err() {
                return;
            }
            let _ = crate::visitor::identify(
                &email,
                phone.as_deref(),
                identity.as_ref(),
                Some("widget secret"),
                "visitor",
                "US",
            );
        }
        ClientFrame::Message { client_id, body } => {
            let _ = ws::check_body(&body).and_then(|()| ws::check_client_id(&client_id));
        }
        _ => {}
    }
}
