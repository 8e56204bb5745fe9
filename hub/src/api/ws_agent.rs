//! `/ws/agent`: one agent console. Authenticates with the first frame, sends a full snapshot
//! (so a reconnecting console catches up), then relays the agent's actions to the dispatcher and
//! the store, and the agent's bus frames to the browser.

use super::ws::{self, Incoming, Sink};
use super::{ApiError, AppState};
use crate::bus::frames::{AgentProfile, Held, StateView};
use crate::bus::{AgentFrame, ChatFrame, Subscription};
use crate::dispatcher::LogLine;
use crate::domain::{
    Agent, AgentId, AgentState, CustomerId, InteractionId, Millis, QueueId, Role, Sender, WATCHED, now_millis,
};
use crate::profile;
use crate::store::NewMessage;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

pub async fn upgrade(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    ws::configure(upgrade).on_upgrade(move |socket| session(socket, state))
}

/// Why a call cannot be placed from this node.
const CANNOT_DIAL: &str = "calling out is not set up on this hub: it needs SIP and a carrier trunk to call through (sip.outbound_trunk)";

#[derive(Deserialize)]
#[serde(tag = "type")]
enum ClientFrame {
    #[serde(rename = "auth")]
    Auth { token: String },
    #[serde(rename = "state.set")]
    SetState { state: String, reason: Option<String> },
    #[serde(rename = "offer.accept")]
    Accept { interaction_id: InteractionId },
    #[serde(rename = "offer.decline")]
    Decline { interaction_id: InteractionId },
    #[serde(rename = "message")]
    Message {
        interaction_id: InteractionId,
        client_id: String,
        #[serde(default)]
        body: String,
        /// Files the agent uploaded (`POST /uploads`) to send with it, by upload id.
        #[serde(default)]
        attachments: Vec<crate::domain::UploadId>,
    },
    #[serde(rename = "typing")]
    Typing {
        interaction_id: InteractionId,
        typing: bool,
    },
    #[serde(rename = "interaction.end")]
    End { interaction_id: InteractionId },
    #[serde(rename = "call.hold")]
    Hold { interaction_id: InteractionId, on: bool },
    #[serde(rename = "call.dial")]
    Dial { customer_id: CustomerId },
    /// The console's WebRTC offer to carry a call's audio (the agent's device is the browser).
    #[serde(rename = "call.media.offer")]
    MediaOffer {
        interaction_id: InteractionId,
        sdp: String,
    },
    /// An ICE candidate of the console's for that audio (`RTCIceCandidate.candidate`).
    #[serde(rename = "call.media.candidate")]
    MediaCandidate {
        interaction_id: InteractionId,
        candidate: String,
    },
    /// Keys the agent pressed on the console's keypad, for the other party of a call they hold.
    #[serde(rename = "call.dtmf")]
    Dtmf {
        interaction_id: InteractionId,
        digits: String,
    },
    /// The agent holding a call consults a colleague about it: `step` `start` (with `agent_id`,
    /// or `queue_id` for whoever that queue would offer its next call to, and an optional
    /// `note`: the caller is held, the colleague's phone rings), `conference`,
    /// `transfer` (the colleague takes the call) or `end` (back to the caller). The colleague
    /// may `end` it too, and with the browser as their device `join` it (with `sdp`).
    #[serde(rename = "call.consult")]
    Consult {
        interaction_id: InteractionId,
        step: ConsultStep,
        agent_id: Option<AgentId>,
        queue_id: Option<QueueId>,
        note: Option<String>,
        sdp: Option<String>,
    },
    /// A supervisor listens to a call of their teams' as `mode` (`monitor`, `whisper`,
    /// `barge`), changes how, or leaves it (`mode: null`). With `sdp` (a WebRTC offer with its
    /// candidates) their browser carries the audio; without, their desk phone rings.
    #[serde(rename = "call.monitor")]
    Monitor {
        interaction_id: InteractionId,
        mode: Option<plugboard_sip::mix::Mix>,
        sdp: Option<String>,
    },
    /// To a queue (`queue_id`) or to a named colleague (`agent_id`).
    #[serde(rename = "interaction.transfer")]
    Transfer {
        interaction_id: InteractionId,
        queue_id: Option<QueueId>,
        agent_id: Option<AgentId>,
    },
    #[serde(rename = "wrap_up")]
    WrapUp {
        interaction_id: InteractionId,
        disposition: String,
        note: Option<String>,
    },
    /// Start (`on`) or stop hearing `conversations.changed` while the inbox is on screen.
    #[serde(rename = "conversations.watch")]
    WatchConversations { on: bool },
    /// A supervisor watches one conversation read-only (`interaction_id`), or stops (`null`).
    #[serde(rename = "conversation.watch")]
    WatchConversation { interaction_id: Option<InteractionId> },
    #[serde(rename = "note.add")]
    AddNote {
        customer_id: CustomerId,
        interaction_id: Option<InteractionId>,
        body: String,
    },
}

/// A signed-in socket: who it is, and the session it signed in with (checked again whenever
/// the agent's sessions change).
pub(super) struct SignedIn {
    pub agent: Agent,
    session: Vec<u8>,
    /// When the session ends by itself: the socket is turned away then, as at a logout.
    pub expires_at: Millis,
}

impl SignedIn {
    /// The agent as their session stands now: `Unauthorized` once it has ended (logged out,
    /// password changed, expired, deactivated), with their current role otherwise.
    pub async fn recheck(&self, state: &AppState) -> Result<Agent, ApiError> {
        match state.store.session_agent(&self.session, now_millis()).await {
            Ok(live) => Ok(live.agent),
            Err(crate::store::StoreError::NotFound) => Err(ApiError::SessionEnded),
            Err(e) => Err(e.into()),
        }
    }
}

/// Reads the first frame: it must be a valid `auth`.
pub(super) async fn authenticate(
    state: &AppState,
    sink: &mut Sink,
    stream: &mut futures_util::stream::SplitStream<WebSocket>,
) -> Option<SignedIn> {
    let auth = ws::ConsoleTimeouts::of(&state.config.http).auth;
    let Ok(first) = tokio::time::timeout(auth, stream.next()).await else {
        ws::close(sink, ws::CLOSE_POLICY, "no auth").await;
        return None;
    };
    let signed_in = match ws::parse::<ClientFrame>(first) {
        Incoming::Frame(ClientFrame::Auth { token }) => {
            state.session_for_token(&token).await.map(|live| SignedIn {
                agent: live.agent,
                session: crate::auth::hash_token(&token),
                expires_at: live.expires_at,
            })
        }
        Incoming::TooBig => {
            ws::close_too_big(sink).await;
            return None;
        }
        _ => Err(ApiError::Unauthorized),
    };
    match signed_in {
        Ok(signed_in) => Some(signed_in),
        Err(e) => {
            ws::send_error(sink, &e, None).await;
            None
        }
    }
}

/// Tells a socket its session is over (or its role no longer allows it) and closes it.
pub(super) async fn turn_away(sink: &mut Sink, error: &ApiError) {
    ws::send_error(sink, error, None).await;
    ws::close(sink, ws::CLOSE_POLICY, "session ended").await;
}

async fn session(socket: WebSocket, state: AppState) {
    let (mut sink, mut stream) = ws::split(socket, &state.config.http);
    let Some(signed_in) = authenticate(&state, &mut sink, &mut stream).await else {
        return;
    };
    let timeouts = ws::ConsoleTimeouts::of(&state.config.http);
    let mut keepalive = timeouts.keepalive();
    let mut heard = tokio::time::Instant::now();
    let mut agent = signed_in.agent.clone();
    // Subscribe before reading the snapshot so nothing falls between the two.
    let mut subscription = state.bus.subscribe_agent(agent.id);
    // With Redis, until the subscription is confirmed a frame could pass unseen.
    subscription.ready().await;
    match snapshot(&state, &agent).await {
        Ok(frame) => {
            if !ws::send(&mut sink, &frame).await {
                return;
            }
        }
        Err(e) => {
            ws::send_error(&mut sink, &e, None).await;
            return;
        }
    }
    metrics::gauge!("plugboard_agent_sockets").increment(1.0);
    let mut changes = state.dispatcher.conversations_watch();
    let mut watching = false;
    // The conversation a supervisor watches read-only, if any.
    let mut watched: Option<Subscription<InteractionId, AgentFrame>> = None;
    // A change heard: `conversations.changed` goes out when this comes, so a burst of changes is one frame.
    let mut changes_due: Option<tokio::time::Instant> = None;
    // The session's own end: checked again then (and turned away, its session being over).
    let mut expires = tokio::time::Instant::now()
        + Duration::from_millis(u64::try_from(signed_in.expires_at - now_millis()).unwrap_or(0));
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(expires) => match signed_in.recheck(&state).await {
                Err(e) => { turn_away(&mut sink, &e).await; break }
                // Not over by this node's clock yet: look again in a while.
                Ok(_) => expires = tokio::time::Instant::now() + Duration::from_secs(1),
            },
            seen = changes.changed(), if watching && changes_due.is_none() => match seen {
                Ok(()) => changes_due = Some(tokio::time::Instant::now() + CONVERSATIONS_COALESCE),
                Err(_) => watching = false,
            },
            () = tokio::time::sleep_until(changes_due.unwrap_or_else(tokio::time::Instant::now)), if changes_due.is_some() => {
                changes_due = None;
                changes.borrow_and_update();
                if !ws::send(&mut sink, &AgentFrame::ConversationsChanged).await { break }
            },
            frame = subscription.rx.recv() => match frame {
                Some(frame) if matches!(*frame, AgentFrame::SessionsChanged) => match signed_in.recheck(&state).await {
                    // Their name or picture may have changed: what they send from now on shows it.
                    Ok(now) => agent = now,
                    Err(e) => { turn_away(&mut sink, &e).await; break }
                },
                Some(frame) => if !ws::send(&mut sink, frame.as_ref()).await { break },
                // Dropped for falling behind: the console reconnects and gets a fresh snapshot.
                None => break,
            },
            frame = next_watched(&mut watched), if watched.is_some() => match frame {
                Some(frame) => if !ws::send(&mut sink, frame.as_ref()).await { break },
                // As above: the console reconnects and asks to watch again.
                None => break,
            },
            _ = keepalive.tick() => if !ws::keep_alive(&mut sink, heard, timeouts.idle).await { break },
            message = stream.next() => match ws::parse::<ClientFrame>(ws::heard(message, &mut heard)) {
                Incoming::Closed => break,
                Incoming::TooBig => { ws::close_too_big(&mut sink).await; break }
                Incoming::Skip => {}
                Incoming::Invalid(e, r) => { if !ws::send_error(&mut sink, &e, r).await { break } }
                Incoming::Frame(ClientFrame::WatchConversations { on }) => {
                    watching = on;
                    changes.borrow_and_update();
                    if !on { changes_due = None }
                }
                Incoming::Frame(ClientFrame::WatchConversation { interaction_id }) => {
                    watched = None;
                    if let Some(id) = interaction_id {
                        match watch(&state, &signed_in, id).await {
                            Ok((subscription, frame)) => {
                                watched = Some(subscription);
                                if !ws::send(&mut sink, &frame).await { break }
                            }
                            Err(e) => if !ws::send_error(&mut sink, &e, Some(id.to_string())).await { break },
                        }
                    }
                }
                Incoming::Frame(frame) => {
                    // Going available, and listening to a call, are checked against the session
                    // as it stands: a user deactivated a moment ago must not come back into the
                    // routing, nor a supervisor no longer one hear a call.
                    let mut current = None;
                    if matches!(frame, ClientFrame::SetState { .. } | ClientFrame::Monitor { .. }) {
                        match signed_in.recheck(&state).await {
                            Ok(live) => current = Some(live),
                            Err(e) => {
                                turn_away(&mut sink, &e).await;
                                break;
                            }
                        }
                    }
                    let client_id = match &frame {
                        ClientFrame::Message { client_id, .. } => Some(client_id.clone()),
                        ClientFrame::MediaOffer { interaction_id, .. }
                        | ClientFrame::MediaCandidate { interaction_id, .. }
                        | ClientFrame::Monitor { interaction_id, .. }
                        | ClientFrame::Consult { interaction_id, .. }
                        | ClientFrame::Dtmf { interaction_id, .. } => Some(interaction_id.to_string()),
                        _ => None,
                    };
                    if let Err(e) = handle(&state, current.as_ref().unwrap_or(&agent), &mut sink, frame).await
                        && !ws::send_error(&mut sink, &e, client_id).await
                    {
                        break;
                    }
                }
            },
        }
    }
    metrics::gauge!("plugboard_agent_sockets").decrement(1.0);
}

/// The most files an agent sends in one chat message.
const MAX_CHAT_FILES: usize = 10;

/// An agent's chat message carrying files they uploaded (only theirs: an upload id is not a key
/// to another agent's file), committed with the files named on it.
async fn with_files(
    state: &AppState,
    agent: &Agent,
    message: NewMessage,
    uploads: &[crate::domain::UploadId],
) -> Result<(crate::domain::Message, bool), ApiError> {
    let account = agent.account_id;
    let mut files = Vec::with_capacity(uploads.len());
    for id in uploads {
        let upload = state.store.upload(account, *id).await?;
        if upload.agent_id != agent.id {
            return Err(ApiError::NotFound);
        }
        files.push(crate::store::NewAttachment {
            filename: upload.filename,
            content_type: upload.content_type,
            size: upload.size,
            sha256: upload.sha256,
            content_id: None,
        });
    }
    let interaction = state.store.interaction(account, message.interaction_id).await?;
    if interaction.channel != crate::domain::Channel::Chat {
        return Err(ApiError::BadRequest(
            "files go with a chat message here; a mail or a messaging reply carries its own".into(),
        ));
    }
    let new = crate::store::NewChannelMessage {
        opening: Vec::new(),
        message,
        entry_point: interaction.entry_point,
        external_id: None,
        details: serde_json::json!({}),
        attachments: files,
        outbound: None,
        fetch_media: false,
    };
    Ok(state
        .store
        .append_channel_message(account, new, now_millis())
        .await?)
}

async fn next_watched(
    watched: &mut Option<Subscription<InteractionId, AgentFrame>>,
) -> Option<Arc<AgentFrame>> {
    match watched {
        Some(subscription) => subscription.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// A supervisor begins watching a conversation read-only: one they may see in their inbox (their
/// teams', `crate::conversations::viewer_of`; else 404), heard from now on, logged on it with who
/// watches, and sent as it stands (`watched`), so nothing falls between the two.
async fn watch(
    state: &AppState,
    signed_in: &SignedIn,
    id: InteractionId,
) -> Result<(Subscription<InteractionId, AgentFrame>, AgentFrame), ApiError> {
    let me = signed_in.recheck(state).await?;
    if me.role < Role::Supervisor {
        return Err(ApiError::Forbidden);
    }
    let viewer = super::conversations::viewer(state, &me).await?;
    let line = state.store.conversation(me.account_id, &viewer, id).await?;
    let mut subscription = state.bus.subscribe_watch(id);
    subscription.ready().await;
    let logged = LogLine {
        kind: WATCHED.into(),
        data: serde_json::json!({ "by": me.id, "by_name": me.name }),
    };
    state.dispatcher.log(me.account_id, id, logged).await?;
    let messages = state.store.messages(me.account_id, id, 0).await?;
    let frame = AgentFrame::Watched {
        interaction: line.interaction,
        messages,
    };
    Ok((subscription, frame))
}

/// The longest SDP offer a console may send (Chromium's audio-only offers are about 2 KiB).
const MAX_SDP: usize = 16 * 1024;
/// The longest ICE candidate line.
const MAX_CANDIDATE: usize = 512;

/// The most keys one `call.dtmf` carries (a long account number and a PIN, with room to spare).
const MAX_DIGITS: usize = 32;

/// Keys a phone's keypad has: `0`-`9`, `*`, `#` and `A`-`D`, at least one, at most
/// [`MAX_DIGITS`].
fn keypad_digits(digits: &str) -> Result<(), ApiError> {
    if digits.is_empty() || digits.chars().count() > MAX_DIGITS {
        return Err(ApiError::BadRequest(format!(
            "digits: from 1 to {MAX_DIGITS} keys"
        )));
    }
    match digits
        .chars()
        .find(|&k| plugboard_sip::dtmf::event_of(k).is_none())
    {
        Some(key) => Err(ApiError::BadRequest(format!(
            "digits: {key:?} is not a key of a phone's keypad (0-9, *, #, A-D)"
        ))),
        None => Ok(()),
    }
}

/// Only the agent who holds a call, and only for a call, may carry its audio.
async fn held_call(state: &AppState, agent: &Agent, interaction: InteractionId) -> Result<(), ApiError> {
    if state.dispatcher.holder(interaction).await != Some(agent.id) {
        return Err(ApiError::Forbidden);
    }
    let held = state.store.interaction(agent.account_id, interaction).await?;
    if held.channel != crate::domain::Channel::Voice {
        return Err(ApiError::BadRequest("only a call carries audio".into()));
    }
    Ok(())
}

/// A browser's WebRTC offer, refused with a clear error when too big or not SDP.
fn offer_checked(sdp: &str) -> Result<(), ApiError> {
    if sdp.len() > MAX_SDP {
        return Err(ApiError::BadRequest(format!(
            "an SDP offer has at most {MAX_SDP} bytes"
        )));
    }
    plugboard_sip::webrtc::parse_offer(sdp).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(())
}

/// Whom an agent consulting `queue` about a call reaches: the colleague the queue would offer its
/// next call to. A queue of another account is not found; with nobody free in it now the agent
/// hears so as from any consult the hub cannot start (`call_consult`: `None`), still with the caller.
async fn consultant(
    state: &AppState,
    agent: &Agent,
    interaction: InteractionId,
    queue: QueueId,
) -> Result<Option<AgentId>, ApiError> {
    let queue = state.store.queue(agent.account_id, queue).await?;
    let colleague = state
        .dispatcher
        .consultant(agent.account_id, queue.id, agent.id)
        .await?;
    if colleague.is_none() {
        let why = format!("nobody in {} is free to take a consult now", queue.name);
        state
            .bus
            .to_agent(agent.id, crate::telephony::consult_error(interaction, why));
    }
    Ok(colleague)
}

/// The longest note a consult carries to the colleague.
const MAX_CONSULT_NOTE: usize = 500;

/// A step of `call.consult`.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum ConsultStep {
    Start,
    Conference,
    Transfer,
    End,
    Join,
}

/// A supervisor asking to listen to a call: one of their teams' they may see (else 404), on the
/// line with an agent now. Answers the supervisor as their session stands.
async fn monitorable_call(
    state: &AppState,
    agent: &Agent,
    interaction: InteractionId,
) -> Result<Agent, ApiError> {
    if agent.role < Role::Supervisor {
        return Err(ApiError::Forbidden);
    }
    let viewer = super::conversations::viewer(state, agent).await?;
    let line = state
        .store
        .conversation(agent.account_id, &viewer, interaction)
        .await?;
    let call = line.interaction;
    if call.channel != crate::domain::Channel::Voice {
        return Err(ApiError::BadRequest("only a call can be listened to".into()));
    }
    if call.state != crate::domain::InteractionState::Active {
        return Err(ApiError::InvalidState(
            "this call is not connected to an agent now: it can be listened to while they talk".into(),
        ));
    }
    Ok(agent.clone())
}

/// How long `conversations.changed` waits for more changes before it goes out.
const CONVERSATIONS_COALESCE: Duration = Duration::from_millis(300);

async fn snapshot(state: &AppState, agent: &Agent) -> Result<AgentFrame, ApiError> {
    let account = agent.account_id;
    let (presence, offers) = state.dispatcher.agent_view(agent.id).await?;
    let mut interactions = Vec::new();
    for interaction in state.store.agent_interactions(account, agent.id).await? {
        interactions.push(Held {
            customer_online: crate::bus::frames::customer_online(&state.bus, &interaction),
            card: profile::card(&state.store, account, interaction.customer_id).await?,
            messages: state.store.messages(account, interaction.id, 0).await?,
            interaction,
        });
    }
    Ok(AgentFrame::Snapshot {
        agent: AgentProfile {
            id: agent.id,
            name: agent.name.clone(),
            email: agent.email.clone(),
            role: agent.role,
            locale: agent.locale.clone(),
            capacity: agent.capacity,
            skills: agent.skills.clone(),
            device: agent.device,
        },
        state: StateView::from(&presence),
        offers,
        interactions,
        dispositions: state.store.dispositions(account).await?,
    })
}

pub(super) fn parse_state(state: &str, reason: Option<String>) -> Result<AgentState, ApiError> {
    match state {
        "available" => Ok(AgentState::Available),
        "offline" => Ok(AgentState::Offline),
        "break" => {
            let reason = reason
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .unwrap_or("break".into());
            if reason.len() > 100 {
                return Err(ApiError::BadRequest(
                    "a break reason has at most 100 bytes".into(),
                ));
            }
            Ok(AgentState::Break(reason))
        }
        other => Err(ApiError::BadRequest(format!("unknown state {other:?}"))),
    }
}

async fn handle(
    state: &AppState,
    agent: &Agent,
    sink: &mut Sink,
    frame: ClientFrame,
) -> Result<(), ApiError> {
    let account = agent.account_id;
    let dispatcher = &state.dispatcher;
    match frame {
        ClientFrame::Auth { .. } => return Err(ApiError::BadRequest("already authenticated".into())),
        // The session's loop keeps whether it watches the inbox, and which conversation.
        ClientFrame::WatchConversations { .. } | ClientFrame::WatchConversation { .. } => {}
        ClientFrame::SetState { state: s, reason } => {
            dispatcher
                .set_state(account, agent.id, parse_state(&s, reason)?)
                .await?;
        }
        ClientFrame::Accept { interaction_id } => {
            let offered = state.store.interaction(account, interaction_id).await?;
            match offered.callback {
                // Accepting a callback is calling the customer: this node's telephony places the
                // call, then accepts for the agent.
                Some(callback) if offered.channel == crate::domain::Channel::Voice => {
                    // Only the agent it rings for: nobody's phone rings for another's offer.
                    if dispatcher.watcher(interaction_id).await != Some(agent.id) {
                        return Err(ApiError::Forbidden);
                    }
                    let dial = crate::telephony::Dial {
                        account,
                        agent: agent.id,
                        customer: offered.customer_id,
                        number: callback.number.clone(),
                        callback: Some((interaction_id, callback)),
                    };
                    if !state.phones.dial(dial).await {
                        return Err(ApiError::InvalidState(CANNOT_DIAL.into()));
                    }
                }
                _ => dispatcher.accept(account, agent.id, interaction_id).await?,
            }
        }
        ClientFrame::Decline { interaction_id } => {
            dispatcher.decline(account, agent.id, interaction_id).await?
        }
        ClientFrame::Message {
            interaction_id,
            client_id,
            body,
            attachments,
        } => {
            if attachments.is_empty() || !body.is_empty() {
                ws::check_body(&body)?;
            }
            ws::check_client_id(&client_id)?;
            if attachments.len() > MAX_CHAT_FILES {
                return Err(ApiError::BadRequest(format!(
                    "at most {MAX_CHAT_FILES} files in one message"
                )));
            }
            if dispatcher.holder(interaction_id).await != Some(agent.id) {
                return Err(ApiError::Forbidden);
            }
            let started = std::time::Instant::now();
            let new = NewMessage {
                interaction_id,
                sender: Sender::Agent,
                agent_id: Some(agent.id),
                body,
                client_id: client_id.clone(),
            };
            let (message, created) = if attachments.is_empty() {
                state.store.append_message(account, new, now_millis()).await?
            } else {
                with_files(state, agent, new, &attachments).await?
            };
            metrics::histogram!("plugboard_message_commit_seconds").record(started.elapsed().as_secs_f64());
            ws::send(
                sink,
                &AgentFrame::MessageAck {
                    client_id,
                    message: message.clone(),
                },
            )
            .await;
            if created {
                metrics::counter!("plugboard_messages_total", "sender" => "agent").increment(1);
                state.bus.to_chat(
                    interaction_id,
                    ChatFrame::Message {
                        message: message.clone(),
                        author: Some(agent.author()),
                    },
                );
                state.bus.to_agent_and_watchers(Some(agent.id), message);
            }
        }
        ClientFrame::Typing {
            interaction_id,
            typing,
        } => {
            if dispatcher.holder(interaction_id).await != Some(agent.id) {
                return Err(ApiError::Forbidden);
            }
            state.bus.to_chat(interaction_id, ChatFrame::Typing { typing });
        }
        ClientFrame::End { interaction_id } => dispatcher.end(account, agent.id, interaction_id).await?,
        ClientFrame::Dial { customer_id } => {
            let customer = state.store.customer(account, customer_id).await?;
            let number = customer
                .phone
                .ok_or_else(|| ApiError::BadRequest("this customer has no phone number".into()))?;
            // This node's telephony, not the bus: every node hears the bus, and each would call.
            let dial = crate::telephony::Dial {
                account,
                agent: agent.id,
                customer: customer_id,
                number,
                callback: None,
            };
            if !state.phones.dial(dial).await {
                return Err(ApiError::InvalidState(CANNOT_DIAL.into()));
            }
        }
        ClientFrame::Hold { interaction_id, on } => {
            dispatcher.hold(account, agent.id, interaction_id, on).await?
        }
        ClientFrame::MediaOffer { interaction_id, sdp } => {
            offer_checked(&sdp)?;
            held_call(state, agent, interaction_id).await?;
            let frame = crate::bus::ConnectorFrame::MediaOffer {
                interaction: interaction_id,
                agent: agent.id,
                sdp,
            };
            state.bus.to_connector(crate::domain::Channel::Voice, frame);
        }
        ClientFrame::MediaCandidate {
            interaction_id,
            candidate,
        } => {
            // An empty candidate is the browser's end of gathering: nothing to pass on.
            if candidate.trim().is_empty() {
                return Ok(());
            }
            if candidate.len() > MAX_CANDIDATE {
                return Err(ApiError::BadRequest(format!(
                    "an ICE candidate has at most {MAX_CANDIDATE} bytes"
                )));
            }
            plugboard_sip::webrtc::parse_candidate(&candidate)
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
            held_call(state, agent, interaction_id).await?;
            let frame = crate::bus::ConnectorFrame::MediaCandidate {
                interaction: interaction_id,
                agent: agent.id,
                candidate,
            };
            state.bus.to_connector(crate::domain::Channel::Voice, frame);
        }
        ClientFrame::Consult {
            interaction_id,
            step,
            agent_id,
            queue_id,
            note,
            sdp,
        } => {
            use crate::bus::frames::Consulting;
            let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
            if note
                .as_ref()
                .is_some_and(|n| n.chars().count() > MAX_CONSULT_NOTE)
            {
                return Err(ApiError::BadRequest(format!(
                    "a consult's note has at most {MAX_CONSULT_NOTE} characters"
                )));
            }
            // The colleague joins or leaves a call they do not hold: the node holding it checks
            // they are the one consulted.
            if !matches!(step, ConsultStep::Join | ConsultStep::End) {
                held_call(state, agent, interaction_id).await?;
            }
            let agent_id = match (step, agent_id, queue_id) {
                (ConsultStep::Start, None, Some(queue)) => {
                    match consultant(state, agent, interaction_id, queue).await? {
                        Some(colleague) => Some(colleague),
                        None => return Ok(()),
                    }
                }
                _ => agent_id,
            };
            let step = match (step, agent_id, sdp) {
                (ConsultStep::Start, Some(colleague), _) => Consulting::Start { colleague, note },
                (ConsultStep::Start, None, _) => {
                    return Err(ApiError::BadRequest(
                        "name the colleague (agent_id) or the queue (queue_id) to consult".into(),
                    ));
                }
                (ConsultStep::Conference, ..) => Consulting::Conference,
                (ConsultStep::Transfer, ..) => Consulting::Transfer,
                (ConsultStep::End, ..) => Consulting::End,
                (ConsultStep::Join, _, Some(sdp)) => {
                    offer_checked(&sdp)?;
                    Consulting::Join { sdp }
                }
                (ConsultStep::Join, _, None) => {
                    return Err(ApiError::BadRequest(
                        "joining a consult takes the browser's offer (sdp)".into(),
                    ));
                }
            };
            let frame = crate::bus::ConnectorFrame::Consult {
                interaction: interaction_id,
                agent: agent.id,
                step,
            };
            state.bus.to_connector(crate::domain::Channel::Voice, frame);
        }
        ClientFrame::Monitor {
            interaction_id,
            mode,
            sdp,
        } => {
            if mode.is_some_and(|m| !m.supervising()) {
                return Err(ApiError::BadRequest(
                    "a supervisor's mode is monitor, whisper or barge".into(),
                ));
            }
            if let Some(sdp) = &sdp {
                offer_checked(sdp)?;
            }
            let me = monitorable_call(state, agent, interaction_id).await?;
            let frame = crate::bus::ConnectorFrame::Monitor {
                interaction: interaction_id,
                supervisor: me.id,
                name: me.name,
                mode,
                sdp,
            };
            state.bus.to_connector(crate::domain::Channel::Voice, frame);
        }
        ClientFrame::Dtmf {
            interaction_id,
            digits,
        } => {
            keypad_digits(&digits)?;
            held_call(state, agent, interaction_id).await?;
            let frame = crate::bus::ConnectorFrame::Keys {
                interaction: interaction_id,
                agent: agent.id,
                digits,
            };
            state.bus.to_connector(crate::domain::Channel::Voice, frame);
        }
        ClientFrame::Transfer {
            interaction_id,
            queue_id,
            agent_id,
        } => match (queue_id, agent_id) {
            (Some(queue), None) => {
                dispatcher
                    .transfer(account, agent.id, interaction_id, queue)
                    .await?
            }
            (None, Some(to)) => {
                dispatcher
                    .transfer_to(account, agent.id, interaction_id, to)
                    .await?
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "transfer to a queue_id or to an agent_id".into(),
                ));
            }
        },
        ClientFrame::WrapUp {
            interaction_id,
            disposition,
            note,
        } => {
            let known = state
                .store
                .dispositions(account)
                .await?
                .iter()
                .any(|d| d.code == disposition);
            if !known {
                return Err(ApiError::BadRequest(format!(
                    "unknown disposition {disposition:?}"
                )));
            }
            if let Some(note) = &note {
                ws::check_body(note).or_else(|e| if note.trim().is_empty() { Ok(()) } else { Err(e) })?;
            }
            let note = note.filter(|n| !n.trim().is_empty());
            dispatcher
                .wrap_up(account, agent.id, interaction_id, disposition, note)
                .await?;
        }
        ClientFrame::AddNote {
            customer_id,
            interaction_id,
            body,
        } => {
            ws::check_body(&body)?;
            if let Some(id) = interaction_id
                && state.store.interaction(account, id).await?.customer_id != customer_id
            {
                return Err(ApiError::BadRequest(
                    "that interaction is another customer's".into(),
                ));
            }
            let note = state
                .store
                .add_note(account, customer_id, interaction_id, agent.id, body.trim())
                .await?;
            // The colleagues it names (`@bob`) hear of it, with whom it is about.
            if note.body.contains('@') {
                let agents = state.store.agents(account).await?;
                let named = crate::crm::mentions::mentioned(&note.body, &agents, agent.id);
                if !named.is_empty() {
                    let customer_name = state.store.customer(account, customer_id).await?.name;
                    for colleague in named {
                        let frame = AgentFrame::NoteMentioned {
                            note: note.clone(),
                            by_name: agent.name.clone(),
                            customer_name: customer_name.clone(),
                        };
                        state.bus.to_agent(colleague, frame);
                    }
                }
            }
            state.bus.to_agent(agent.id, AgentFrame::NoteAdded { note });
        }
    }
    Ok(())
}

/// A frame as a stranger may send it, read and checked as far as `handle` goes before the
/// dispatcher or the store (fuzz/fuzz_targets/ws_frames.rs).
#[cfg(fuzzing)]
pub(super) fn fuzz_frame(text: &str) {
    let Incoming::Frame(frame) = ws::read_text::<ClientFrame>(text) else {
        return;
    };
    let _ = match frame {
        ClientFrame::SetState { state, reason } => parse_state(&state, reason).map(drop),
        ClientFrame::Message { client_id, body, .. } => {
            ws::check_body(&body).and_then(|()| ws::check_client_id(&client_id))
        }
        ClientFrame::AddNote { body, .. } => ws::check_body(&body),
        _ => Ok(()),
    };
}
