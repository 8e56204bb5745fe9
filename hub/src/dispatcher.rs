//! The router's shell, and the one way every change of an interaction's state is made. One rule:
//! the router decides, the writes its decision needs are committed, and only then is anyone told
//! (consoles, widgets, connectors, the caller of the API). Three tasks in a pipeline:
//!
//! - the **router task** owns the routers (one per account) and a mirror of every live
//!   interaction; it feeds inputs and the clock to the router and stages, per input, the writes
//!   and the effects that follow from its decisions;
//! - the **committer** commits everything staged since its last commit in one transaction (group
//!   commit: one fsync for all the calls and chats that moved meanwhile);
//! - the **publisher** carries out the effects of committed work in order (screen pops read from
//!   the store, frames on the bus) and answers the callers.
//!
//! A commit that fails fails everything staged after it, and the routers are rebuilt from the
//! store: nobody was told of the decisions that were lost, so nothing shown disagrees with what
//! is on disk.

use crate::bus::frames::{Held, Offer, StateView};
use crate::bus::{AgentFrame, Bus, ChatFrame, ConnectorFrame};
use crate::domain::{
    AccountId, Agent, AgentId, AgentState, Author, CALL_HELD, CALL_RESUMED, Callback, Channel, Interaction,
    InteractionEvent, InteractionId, InteractionState, Millis, Queue, QueueId, now_millis,
};
use crate::health::Health;
use crate::profile;
use crate::routing::{
    Decision, Input, OwnerFirst, QueueRules, QueueStats, RevokeReason, Router, RouterError,
};
use crate::store::{DynStore, StoreError, TransitionDetails, Write, apply_transition};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this interaction is not yours")]
    NotYours,
    #[error("only a call can be put on hold")]
    NotACall,
    #[error("the dispatcher has stopped")]
    Stopped,
    /// The leading node refused the request (a routing rule, a transition out of order).
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

pub(crate) type Reply = oneshot::Sender<Result<Response, DispatchError>>;

/// Live figures of one queue for supervisors and the widget.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct QueueLive {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub name: String,
    pub waiting: usize,
    pub oldest_wait_ms: Option<Millis>,
    pub agents_available: usize,
    pub agents_staffed: usize,
    /// Staffed agents holding a contact (an Available one with room for more counts here too).
    #[serde(default)]
    pub agents_busy: usize,
    #[serde(default)]
    pub agents_on_break: usize,
    pub sl_target_secs: u32,
    /// Callbacks booked or to be tried again, not yet due.
    #[serde(default)]
    pub callbacks_scheduled: usize,
}

/// Who could take a contact in a queue right now: the chat widget offers the offline form unless
/// someone is `available`; a call to a queue that closes when unstaffed goes to voicemail unless
/// someone is `staffed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Staffing {
    /// Some agent with the queue's skills is available.
    pub available: bool,
    /// Some agent with the queue's skills is signed in (available, busy or on a break).
    pub staffed: bool,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct AgentLive {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    pub state: std::borrow::Cow<'static, str>,
    pub reason: Option<String>,
    /// When they took that state, epoch milliseconds.
    pub since: Millis,
    pub held: usize,
    /// What they hold per channel (channels with none left out).
    pub holds: std::collections::BTreeMap<String, usize>,
    /// The call they are talking on, when they are: where a supervisor listens in.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub on_call: Option<InteractionId>,
}

/// Live figures of one channel: contacts waiting for an agent, and held by one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ChannelLive {
    pub channel: std::borrow::Cow<'static, str>,
    pub waiting: usize,
    /// In conversation or wrap-up with an agent.
    pub active: usize,
}

/// Everything live of an account, as the router holds it now.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Live {
    pub queues: Vec<QueueLive>,
    pub agents: Vec<AgentLive>,
    /// Every channel, in `Channel::ALL` order.
    pub channels: Vec<ChannelLive>,
}

/// A supervisor's move of a contact that waits for an agent: to `queue` (its own if `None`)
/// and, with `to`, to that Available agent alone. Logged as `interaction.moved` with who and why.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Move {
    pub by: AgentId,
    pub interaction: InteractionId,
    pub queue: Option<QueueId>,
    pub to: Option<AgentId>,
    pub reason: String,
}

/// A supervisor's change of an agent's state: one who left for the day goes offline, one stuck on a
/// break comes back. Going offline, every contact they hold in conversation goes back to its
/// queue as a transfer, logged with who and why; the rest of a wrap-up ends on its timer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StateChange {
    pub by: AgentId,
    pub agent: AgentId,
    pub state: AgentState,
    pub reason: String,
}

/// A line for the interaction's event log that changes no state (`call.ended`, `call.held`...).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    pub kind: std::borrow::Cow<'static, str>,
    pub data: serde_json::Value,
}

/// What the dispatcher is asked; crosses nodes as JSON when the router leads elsewhere.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Request {
    /// A contact to route; `true`: a new one, created in the same commit as its routing. With
    /// an owner (agent, milliseconds), offered to them alone first (`routing::OwnerFirst`).
    Arrive(AccountId, Interaction, bool, Option<(AgentId, Millis)>),
    Accept(AccountId, AgentId, InteractionId),
    Decline(AccountId, AgentId, InteractionId),
    SetState(AccountId, AgentId, AgentState),
    /// Whether the agent can be reached on a channel (a call needs a registered phone).
    SetReachable(AccountId, AgentId, Channel, bool),
    /// The agent ends the conversation: wrap-up follows.
    End(AccountId, AgentId, InteractionId),
    /// The agent sends the interaction to another queue (a blind transfer).
    Transfer(AccountId, AgentId, InteractionId, QueueId),
    /// The agent sends the interaction to a named colleague (a blind transfer).
    TransferTo(AccountId, AgentId, InteractionId, AgentId),
    /// A supervisor moves a waiting contact.
    Move(AccountId, Move),
    /// A supervisor changes an agent's state.
    SetStateFor(AccountId, StateChange),
    /// The customer left: abandoned if still waiting, ended if an agent had it.
    Leave(AccountId, InteractionId, Leaving),
    WrapUp(AccountId, AgentId, InteractionId, WrapUp),
    /// A call the agent holds goes on hold (`true`) or comes off it.
    Hold(AccountId, AgentId, InteractionId, bool),
    /// A fact for the event log, committed in order with the transitions around it.
    Log(AccountId, InteractionId, LogLine),
    UpsertQueue(AccountId, Queue),
    UpsertAgent(AccountId, Agent),
    AgentView(AgentId),
    Live(AccountId),
    Staffing(AccountId, QueueId),
    /// Whom an agent (not them) consulting the queue about a call reaches.
    Consultant(AccountId, QueueId, AgentId),
    Positions(AccountId),
    /// The agent started this interaction (click-to-call): theirs at once.
    Dialled(AccountId, AgentId, Interaction),
    /// A new interaction the agent starts (a new email), created in the same commit as its
    /// assignment: theirs at once if they have room for it.
    Start(AccountId, AgentId, Interaction),
    /// Who holds the interaction (`true`: or is being offered it), as published.
    Watcher(InteractionId, bool),
    /// The customer wrote again in this closed interaction: it waits again, kept for the agent
    /// who had it if they are free.
    Reopen(AccountId, Interaction),
    /// The caller chose a callback: it waits on in its place, with nobody on the line.
    CallbackRequested(AccountId, InteractionId, Callback),
    /// The agent's call back went unanswered: it waits again once the next attempt is due.
    Reschedule(AccountId, AgentId, InteractionId, Callback),
    /// The agent snoozes the conversation they hold until then (not a call).
    Snooze(AccountId, AgentId, InteractionId, Millis),
    /// The customer wrote: a snoozed conversation is back at once (nothing if it is not snoozed).
    Wake(AccountId, InteractionId),
    /// An agent reopens a closed conversation (not a call) for themselves: theirs at once.
    ReopenFor(AccountId, AgentId, Interaction),
}

/// How long a snoozed conversation, once due, waits for the agent who snoozed it alone (if they
/// are Available) before anyone may be offered it.
pub const SNOOZE_OWNER_TURN_MS: Millis = 2 * 60 * 1000;

/// The answer to a `Request`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Response {
    Done,
    Interaction(Box<Interaction>),
    View(AgentState, Vec<Offer>),
    Live(Live),
    Staffing(Staffing),
    Positions(Vec<(InteractionId, usize)>),
    Agent(Option<AgentId>),
}

/// A request and where its answer goes.
pub(crate) struct Command {
    pub request: Request,
    pub reply: Reply,
    /// Another node's request (`cluster.rs`), by that node and its number there: recorded in
    /// the commit that carries it out, so a new leader given it again knows it was.
    pub forwarded: Option<(String, u64)>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Leaving {
    /// Leave an interaction an agent has alone; only a waiting one is abandoned.
    only_waiting: bool,
    /// Committed with the leaving (a call's `call.ended` with its talk time).
    log: Option<LogLine>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct WrapUp {
    disposition: String,
    note: Option<String>,
}

/// The handle the API and connectors use; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    route: Route,
    /// What has been published: who holds each active interaction, and who is being offered each
    /// ringing one. Only the publisher writes them; message handlers read them to route a
    /// message without a store round trip.
    published: Arc<Published>,
}

/// Where requests go: the router task of this node, or whichever node leads (`cluster`).
#[derive(Clone)]
enum Route {
    Local(mpsc::Sender<Command>),
    Cluster(Arc<crate::cluster::Node>),
}

#[derive(Default)]
pub(crate) struct Published {
    assignments: RwLock<HashMap<InteractionId, AgentId>>,
    ringing: RwLock<HashMap<InteractionId, AgentId>>,
    /// Each agent's presence as their consoles were last told it: a rebuild starts from it.
    presence: Mutex<HashMap<AgentId, AgentState>>,
    /// Where presence is copied for the next leader (several nodes).
    presence_out: Option<mpsc::UnboundedSender<(AgentId, AgentState)>>,
    /// Where each change of who holds or is offered an interaction goes, for the other nodes'
    /// mirrors (several nodes).
    watching_out: Option<mpsc::UnboundedSender<Watching>>,
    /// Bumped whenever a conversation may have moved between inbox lists (opened, offered,
    /// taken, ended, relabelled): consoles watching their inbox hear of it and read it again.
    /// It carries no content, so it tells nobody what they may not see.
    conversations: tokio::sync::watch::Sender<u64>,
    /// Bumped whenever the live figures may have changed (a commit of the routers', or a change
    /// the leading node shared): wallboards read them again. Carries no content.
    live: tokio::sync::watch::Sender<u64>,
}

/// Who holds an interaction and who is being offered it, after a change: what another node's
/// mirror of `Published` applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Watching {
    pub id: InteractionId,
    pub holder: Option<AgentId>,
    pub ringing: Option<AgentId>,
}

impl Published {
    pub(crate) fn new(
        presence_out: Option<mpsc::UnboundedSender<(AgentId, AgentState)>>,
        watching_out: Option<mpsc::UnboundedSender<Watching>>,
    ) -> Published {
        Published {
            presence_out,
            watching_out,
            ..Default::default()
        }
    }

    fn ring(&self, id: InteractionId, agent: Option<AgentId>) {
        match agent {
            Some(agent) => write_lock(&self.ringing).insert(id, agent),
            None => write_lock(&self.ringing).remove(&id),
        };
        self.changed(id);
    }

    fn hold(&self, id: InteractionId, agent: Option<AgentId>) {
        match agent {
            Some(agent) => write_lock(&self.assignments).insert(id, agent),
            None => write_lock(&self.assignments).remove(&id),
        };
        self.changed(id);
    }

    fn changed(&self, id: InteractionId) {
        self.conversations_changed();
        if let Some(out) = &self.watching_out {
            let _ = out.send(Watching {
                id,
                holder: read_lock(&self.assignments).get(&id).copied(),
                ringing: read_lock(&self.ringing).get(&id).copied(),
            });
        }
    }

    fn conversations_changed(&self) {
        self.conversations.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The live figures may have changed (on a follower: the leader said so).
    pub(crate) fn live_changed(&self) {
        self.live.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn live_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.live.subscribe()
    }

    /// A follower's mirror takes the leader's change.
    pub(crate) fn mirror(&self, w: Watching) {
        self.conversations_changed();
        self.live_changed();
        let mut held = write_lock(&self.assignments);
        let mut ringing = write_lock(&self.ringing);
        match w.holder {
            Some(agent) => held.insert(w.id, agent),
            None => held.remove(&w.id),
        };
        match w.ringing {
            Some(agent) => ringing.insert(w.id, agent),
            None => ringing.remove(&w.id),
        };
    }

    /// A follower's mirror may have missed changes: it starts again empty.
    pub(crate) fn forget(&self) {
        write_lock(&self.assignments).clear();
        write_lock(&self.ringing).clear();
    }

    /// This node stopped leading: what it published is someone else's to say now. `presence`
    /// is what the next term starts from.
    pub(crate) fn reset(&self, presence: HashMap<AgentId, AgentState>) {
        self.forget();
        *self.presence.lock().unwrap_or_else(|p| p.into_inner()) = presence;
    }

    fn watcher(&self, id: InteractionId, ringing: bool) -> Option<AgentId> {
        let held = read_lock(&self.assignments).get(&id).copied();
        held.or_else(|| {
            ringing
                .then(|| read_lock(&self.ringing).get(&id).copied())
                .flatten()
        })
    }
}

/// A running router task, committer and publisher.
pub(crate) struct Pipeline {
    pub tx: mpsc::Sender<Command>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Pipeline {
    /// Rebuilds the routers from the store (queues, agents, every waiting contact in its original
    /// order, every held one) and starts the tasks. With `fence`, every commit carries the
    /// leader's token, and fails once a newer leader has raised the store's fence.
    pub(crate) async fn start(
        store: DynStore,
        bus: Bus,
        health: Health,
        published: Arc<Published>,
        fence: Option<i64>,
    ) -> Result<Pipeline, StoreError> {
        let (staged_tx, staged_rx) = mpsc::channel(STAGED);
        let (committed_tx, committed_rx) = mpsc::channel(COMMITTED);
        let (rebuild_tx, rebuild_rx) = mpsc::unbounded_channel();
        let mut task = Task {
            store: store.clone(),
            routers: HashMap::new(),
            queues: HashMap::new(),
            agents: HashMap::new(),
            live: HashMap::new(),
            epoch: 0,
            last_rebuild: None,
            backoff: std::time::Duration::ZERO,
            staged: staged_tx,
            published: published.clone(),
            forwarded: None,
        };
        let committer = Committer {
            store: store.clone(),
            fence,
            committed: committed_tx,
            rebuild: rebuild_tx.clone(),
            discard_through: None,
            health: health.clone(),
        };
        let publisher = Publisher {
            store,
            bus,
            offers: HashMap::new(),
            published,
            health: health.clone(),
        };
        let mut tasks = Vec::new();
        let running = health.running("dispatcher.committer");
        tasks.push(tokio::spawn(async move {
            let _running = running;
            committer.run(staged_rx).await
        }));
        let running = health.running("dispatcher.publisher");
        tasks.push(tokio::spawn(async move {
            let _running = running;
            publisher.run(committed_rx).await
        }));
        if let Err(e) = task.restore().await {
            tasks.iter().for_each(|t| t.abort());
            return Err(e);
        }
        let (tx, rx) = mpsc::channel(4096);
        let running = health.running("dispatcher.router");
        tasks.push(tokio::spawn(async move {
            let _running = running;
            task.run(rx, rebuild_rx, health).await
        }));
        Ok(Pipeline { tx, tasks })
    }

    /// Stops at once: whatever was staged and not yet committed is dropped with it, and its
    /// callers hear that the dispatcher stopped.
    pub(crate) fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Hands a request to a router task of this node and waits for its answer.
pub(crate) async fn ask_local(
    tx: &mpsc::Sender<Command>,
    request: Request,
) -> Result<Response, DispatchError> {
    let (reply, answer) = oneshot::channel();
    tx.send(Command {
        request,
        reply,
        forwarded: None,
    })
    .await
    .map_err(|_| DispatchError::Stopped)?;
    answer.await.map_err(|_| DispatchError::Stopped)?
}

/// Staged groups waiting for the committer; a full queue holds the router task back.
const STAGED: usize = 4096;
/// Committed groups waiting for the publisher.
const COMMITTED: usize = 256;
/// The most writes one transaction takes.
const MAX_GROUP_WRITES: usize = 2048;

fn unexpected(response: Response) -> DispatchError {
    DispatchError::Failed(format!("an answer of the wrong kind: {response:?}"))
}

impl Dispatcher {
    /// A single node: rebuilds the routers from the store and starts them here.
    pub async fn start(store: DynStore, bus: Bus, health: Health) -> Result<Dispatcher, StoreError> {
        let published = Arc::new(Published::default());
        let pipeline = Pipeline::start(store, bus, health, published.clone(), None).await?;
        Ok(Dispatcher {
            route: Route::Local(pipeline.tx),
            published,
        })
    }

    /// One of several nodes: requests go to whichever node leads (this one, or another).
    pub(crate) fn clustered(node: Arc<crate::cluster::Node>, published: Arc<Published>) -> Dispatcher {
        Dispatcher {
            route: Route::Cluster(node),
            published,
        }
    }

    /// Where the routers run: `"here"`, or `"elsewhere"` (another node leads, or none does yet).
    pub fn router(&self) -> &'static str {
        match &self.route {
            Route::Cluster(node) if !node.leading() => "elsewhere",
            _ => "here",
        }
    }

    async fn ask(&self, request: Request) -> Result<Response, DispatchError> {
        match &self.route {
            Route::Local(tx) => ask_local(tx, request).await,
            Route::Cluster(node) => node.ask(request).await,
        }
    }

    async fn done(&self, request: Request) -> Result<(), DispatchError> {
        match self.ask(request).await? {
            Response::Done => Ok(()),
            other => Err(unexpected(other)),
        }
    }

    /// Routes a contact the store already has.
    pub async fn arrive(&self, account: AccountId, interaction: Interaction) -> Result<(), DispatchError> {
        self.route_contact(account, interaction, false, None).await
    }
    /// A new contact (`NewInteraction::queued`): created and routed in one commit (for a call,
    /// the queued interaction and its offer cost one fsync, shared with every other call
    /// arriving meanwhile).
    pub async fn open(&self, account: AccountId, interaction: Interaction) -> Result<(), DispatchError> {
        self.route_contact(account, interaction, true, None).await
    }
    /// `arrive` (`open`: `open`) for a customer with an owner: offered to `owner.0` alone for
    /// `owner.1` milliseconds while they are Available, keeping its place in the queue.
    pub async fn route_contact(
        &self,
        account: AccountId,
        interaction: Interaction,
        open: bool,
        owner: Option<(AgentId, Millis)>,
    ) -> Result<(), DispatchError> {
        self.done(Request::Arrive(account, interaction, open, owner))
            .await
    }
    pub async fn accept(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        self.done(Request::Accept(account, agent, id)).await
    }
    pub async fn decline(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        self.done(Request::Decline(account, agent, id)).await
    }
    /// Tells the router whether `agent` can be reached on `channel` now: with no registered
    /// phone, calls are not offered to them (and one offered is taken back) until it registers.
    pub async fn set_reachable(
        &self,
        account: AccountId,
        agent: AgentId,
        channel: Channel,
        reachable: bool,
    ) -> Result<(), DispatchError> {
        self.done(Request::SetReachable(account, agent, channel, reachable))
            .await
    }
    pub async fn set_state(
        &self,
        account: AccountId,
        agent: AgentId,
        state: AgentState,
    ) -> Result<(), DispatchError> {
        self.done(Request::SetState(account, agent, state)).await
    }
    pub async fn end(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        self.done(Request::End(account, agent, id)).await
    }
    pub async fn transfer(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        queue: QueueId,
    ) -> Result<(), DispatchError> {
        self.done(Request::Transfer(account, agent, id, queue)).await
    }
    /// A waiting caller chose to be called back: refused unless it still waits unoffered (an
    /// agent being offered the call is about to take it live).
    pub async fn callback_requested(
        &self,
        account: AccountId,
        id: InteractionId,
        callback: Callback,
    ) -> Result<(), DispatchError> {
        self.done(Request::CallbackRequested(account, id, callback)).await
    }
    /// The agent's call back was not answered: it waits in its queue again, set aside until
    /// `callback.due_at`.
    pub async fn reschedule(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        callback: Callback,
    ) -> Result<(), DispatchError> {
        self.done(Request::Reschedule(account, agent, id, callback)).await
    }
    /// The agent sets the chat or email they hold aside until `until`: their slot is free at
    /// once; then it comes back to them first (`SNOOZE_OWNER_TURN_MS`), else to the queue. A
    /// retry of a snooze already carried out (same agent, same time) changes nothing.
    pub async fn snooze(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        until: Millis,
    ) -> Result<(), DispatchError> {
        self.done(Request::Snooze(account, agent, id, until)).await
    }
    /// The customer wrote to the conversation: if it is snoozed, it is back now, for its agent
    /// first. Asked only when nobody holds or is offered the conversation.
    pub async fn wake(&self, account: AccountId, id: InteractionId) -> Result<(), DispatchError> {
        if self.watching(id, true).await.is_some() {
            return Ok(());
        }
        self.done(Request::Wake(account, id)).await
    }
    /// An agent reopens a closed chat or email: it is theirs at once (if they have room), with
    /// `interaction.reopened` and `interaction.started` on its log. Again for the same agent
    /// once it is theirs: nothing more.
    pub async fn reopen_for(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: Interaction,
    ) -> Result<(), DispatchError> {
        self.done(Request::ReopenFor(account, agent, interaction)).await
    }
    /// A blind transfer to a named, Available colleague; if they do not take it, anyone may.
    pub async fn transfer_to(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        to: AgentId,
    ) -> Result<(), DispatchError> {
        self.done(Request::TransferTo(account, agent, interaction, to))
            .await
    }

    /// A supervisor moves a waiting contact (`Move`); `Refused` when it no longer waits or the
    /// agent named is not Available with room.
    pub async fn move_waiting(&self, account: AccountId, m: Move) -> Result<(), DispatchError> {
        self.done(Request::Move(account, m)).await
    }

    /// A supervisor changes an agent's state (`StateChange`).
    pub async fn set_state_for(&self, account: AccountId, change: StateChange) -> Result<(), DispatchError> {
        self.done(Request::SetStateFor(account, change)).await
    }

    /// The customer left (closed the chat, hung up), with an optional log line committed with it.
    pub async fn leave(
        &self,
        account: AccountId,
        id: InteractionId,
        log: Option<LogLine>,
    ) -> Result<(), DispatchError> {
        let leaving = Leaving {
            only_waiting: false,
            log,
        };
        self.done(Request::Leave(account, id, leaving)).await
    }
    /// Abandons the interaction if it is still waiting for an agent; otherwise changes nothing.
    pub async fn abandon_if_waiting(
        &self,
        account: AccountId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        let leaving = Leaving {
            only_waiting: true,
            log: None,
        };
        self.done(Request::Leave(account, id, leaving)).await
    }
    pub async fn wrap_up(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        disposition: String,
        note: Option<String>,
    ) -> Result<Interaction, DispatchError> {
        let wrap = WrapUp { disposition, note };
        match self.ask(Request::WrapUp(account, agent, id, wrap)).await? {
            Response::Interaction(i) => Ok(*i),
            other => Err(unexpected(other)),
        }
    }
    /// Puts a call the agent holds on hold (the caller hears music) or takes it off.
    pub async fn hold(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        on: bool,
    ) -> Result<(), DispatchError> {
        self.done(Request::Hold(account, agent, id, on)).await
    }
    /// Appends a fact to the interaction's log, in order with its transitions.
    pub async fn log(
        &self,
        account: AccountId,
        id: InteractionId,
        line: LogLine,
    ) -> Result<(), DispatchError> {
        self.done(Request::Log(account, id, line)).await
    }
    pub async fn upsert_queue(&self, account: AccountId, queue: Queue) {
        if let Err(e) = self.done(Request::UpsertQueue(account, queue)).await {
            tracing::error!(error = %e, "the router did not hear of a queue's change");
        }
    }
    /// Changes of the live figures as this node hears of them (see `Published::live`).
    pub fn live_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.live_watch()
    }
    /// Changes of the inbox lists as this node hears of them (see `Published::conversations`).
    pub fn conversations_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.published.conversations.subscribe()
    }
    /// A conversation changed outside the routers (its labels): inbox watchers read again.
    pub fn conversations_changed(&self) {
        self.published.conversations_changed();
    }
    pub async fn upsert_agent(&self, account: AccountId, agent: Agent) {
        if let Err(e) = self.done(Request::UpsertAgent(account, agent)).await {
            tracing::error!(error = %e, "the router did not hear of an agent's change");
        }
    }
    /// The agent's presence and pending offers, as published, for a console's snapshot.
    pub async fn agent_view(&self, agent: AgentId) -> Result<(AgentState, Vec<Offer>), DispatchError> {
        match self.ask(Request::AgentView(agent)).await? {
            Response::View(state, offers) => Ok((state, offers)),
            other => Err(unexpected(other)),
        }
    }
    pub async fn live(&self, account: AccountId) -> Result<Live, DispatchError> {
        match self.ask(Request::Live(account)).await? {
            Response::Live(live) => Ok(live),
            other => Err(unexpected(other)),
        }
    }
    /// A closed interaction the customer wrote in again (an email reply): queued again, offered
    /// first to the agent who had it when they are Available, else to anyone.
    pub async fn reopen(&self, account: AccountId, interaction: Interaction) -> Result<(), DispatchError> {
        self.done(Request::Reopen(account, interaction)).await
    }
    /// An interaction the agent started (a click-to-call): assigned to them without an offer.
    pub async fn dialled(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: Interaction,
    ) -> Result<(), DispatchError> {
        self.done(Request::Dialled(account, agent, interaction)).await
    }
    /// A new contact the agent starts themselves (`NewInteraction::queued`, a new email to a
    /// customer): created and assigned to them in one commit, without an offer, if they have room
    /// on its channel (`RouterError::NoRoom` otherwise, and nothing is stored).
    pub async fn start_for(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: Interaction,
    ) -> Result<(), DispatchError> {
        self.done(Request::Start(account, agent, interaction)).await
    }

    /// Every waiting contact's place in its queue (1 is next), for callers' announcements.
    pub async fn positions(
        &self,
        account: AccountId,
    ) -> Result<HashMap<InteractionId, usize>, DispatchError> {
        match self.ask(Request::Positions(account)).await? {
            Response::Positions(p) => Ok(p.into_iter().collect()),
            other => Err(unexpected(other)),
        }
    }

    /// Who could take a contact in the queue right now.
    pub async fn staffing(&self, account: AccountId, queue: QueueId) -> Result<Staffing, DispatchError> {
        match self.ask(Request::Staffing(account, queue)).await? {
            Response::Staffing(s) => Ok(s),
            other => Err(unexpected(other)),
        }
    }

    /// The colleague an agent consulting `queue` reaches now (`Router::consultant`), if anyone.
    pub async fn consultant(
        &self,
        account: AccountId,
        queue: QueueId,
        asking: AgentId,
    ) -> Result<Option<AgentId>, DispatchError> {
        match self.ask(Request::Consultant(account, queue, asking)).await? {
            Response::Agent(a) => Ok(a),
            other => Err(unexpected(other)),
        }
    }

    /// The agent holding an active interaction, if any.
    pub async fn holder(&self, id: InteractionId) -> Option<AgentId> {
        self.watching(id, false).await
    }
    /// The agent whose console shows the interaction: its holder, or the agent it rings for.
    pub async fn watcher(&self, id: InteractionId) -> Option<AgentId> {
        self.watching(id, true).await
    }

    /// Who holds the interaction by this node's own record (a follower's mirror), asking nobody.
    #[cfg(test)]
    pub(crate) fn mirrored(&self, id: InteractionId) -> Option<AgentId> {
        self.published.watcher(id, false)
    }

    /// Read from what this node published; a node that does not lead reads its mirror of the
    /// leader's, and asks the leader what the mirror does not know (it may be behind).
    async fn watching(&self, id: InteractionId, ringing: bool) -> Option<AgentId> {
        let known = self.published.watcher(id, ringing);
        match &self.route {
            Route::Cluster(node) if known.is_none() && !node.leading() => {
                match node.ask(Request::Watcher(id, ringing)).await {
                    Ok(Response::Agent(agent)) => agent,
                    Ok(other) => {
                        tracing::error!(error = %unexpected(other), "asking who holds an interaction");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "asking the leader who holds an interaction");
                        None
                    }
                }
            }
            _ => known,
        }
    }
}

fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}
fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

// --- staged work ---

/// What is carried out once a staged group's writes are durable, in order. `write` is the index
/// of the transition whose result (the interaction as it left it) the effect shows.
enum Effect {
    /// The screen pop (card, what the customer wrote) goes to the agent's consoles; the
    /// connector rings.
    Offer {
        account: AccountId,
        agent: AgentId,
        expires_at: Millis,
        write: usize,
    },
    Revoked {
        interaction: InteractionId,
        agent: AgentId,
        channel: Channel,
        reason: &'static str,
    },
    /// The agent has it now: the screen pop, and the widget hears who joined.
    Assigned {
        account: AccountId,
        agent: AgentId,
        write: usize,
        joined: Option<Author>,
    },
    /// Restored from the store: the agent holds it (their consoles load it themselves).
    Holder(InteractionId, AgentId),
    Unassigned(InteractionId),
    Presence(AgentId, AgentState),
    /// The agent's consoles get the interaction as the write left it.
    Updated {
        agent: AgentId,
        write: usize,
    },
    Agent(AgentId, Box<AgentFrame>),
    Connector(Channel, ConnectorFrame),
    Chat(InteractionId, ChatFrame),
}

enum Answer {
    Nobody,
    Done(Reply),
    Interaction(Reply, usize),
    View(AgentId, Reply),
}

/// One input's writes and effects; committed and carried out as a unit.
struct Staged {
    epoch: u64,
    writes: Vec<Write>,
    effects: Vec<Effect>,
    answer: Answer,
    /// The live figures changed though nothing may be written: a contact committed by its
    /// intake (a chat, an email) now waits in the router's queue.
    live: bool,
}

impl Staged {
    fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }
}

// --- the router task ---

struct AgentEntry {
    account: AccountId,
    name: String,
    /// Who they are to customers: the widget hears it when they join a chat.
    author: Author,
    state: AgentState,
    /// When they took that state (since the router started, for those it found already in it).
    since: Millis,
}

struct Task {
    store: DynStore,
    routers: HashMap<AccountId, Router>,
    /// Every queue as last configured, for the live figures without a store read.
    queues: HashMap<QueueId, Queue>,
    agents: HashMap<AgentId, AgentEntry>,
    /// Every interaction not yet closed, as the staged writes leave it: what the router task
    /// checks a request against without a store read.
    live: HashMap<InteractionId, (AccountId, Interaction)>,
    /// Bumped on every rebuild; the committer discards what older epochs staged after a failure.
    epoch: u64,
    last_rebuild: Option<tokio::time::Instant>,
    backoff: std::time::Duration,
    staged: mpsc::Sender<Staged>,
    published: Arc<Published>,
    /// The forwarded request being carried out, if the one at hand is another node's.
    forwarded: Option<(String, u64)>,
}

fn rules(q: &Queue) -> QueueRules {
    QueueRules {
        id: q.id,
        required_skills: q.required_skills.clone(),
        max_wait_ms: q.max_wait_secs.map(|s| i64::from(s) * 1000),
        overflow_queue: q.overflow_queue,
        offer_timeout_ms: i64::from(q.offer_timeout_secs) * 1000,
        wrap_up_ms: i64::from(q.wrap_up_secs) * 1000,
    }
}

impl Task {
    /// Loads everything the routers hold from the store. At start every agent is Offline; on a
    /// rebuild after a failed commit, agents keep the presence their consoles were last told.
    async fn restore(&mut self) -> Result<(), StoreError> {
        let now = now_millis();
        self.routers.clear();
        self.queues.clear();
        self.agents.clear();
        self.live.clear();
        let waiting = self.store.waiting_interactions().await?;
        let held = self.store.held_interactions().await?;
        let mut accounts: Vec<AccountId> = vec![AccountId::DEFAULT];
        accounts.extend(waiting.iter().chain(&held).map(|(a, _)| *a));
        accounts.sort();
        accounts.dedup();
        for account in accounts {
            for queue in self.store.queues(account).await? {
                self.upsert_queue(account, queue);
            }
            for agent in self.store.agents(account).await? {
                self.upsert_agent(account, agent);
            }
        }
        let mut s = self.stage(Answer::Nobody);
        for (account, i) in held {
            let Some(agent) = i.agent_id else { continue };
            let input = Input::Restore {
                interaction: i.id,
                agent,
                queue: i.queue_id,
                channel: i.channel,
                wrapping_up: i.state == InteractionState::WrapUp,
            };
            if let Err(e) = self.router(account).handle(input, now) {
                tracing::warn!(interaction = %i.id, error = %e, "could not restore a held interaction");
            }
            if i.state == InteractionState::Active {
                s.effect(Effect::Holder(i.id, agent));
            }
            self.live.insert(i.id, (account, i));
        }
        for (account, i) in waiting {
            let id = i.id;
            let (queue, channel, priority, arrived_at, offered_to) =
                (i.queue_id, i.channel, i.priority, i.arrived_at, i.agent_id);
            let due_at = i.callback.as_ref().and_then(|c| c.due_at);
            // A snoozed conversation is due at its time, for the agent who snoozed it first.
            let snooze = i.snoozed_until.map(|until| {
                let owner = i.agent_id.map(|agent| OwnerFirst {
                    agent,
                    wait_ms: SNOOZE_OWNER_TURN_MS,
                });
                (until, owner)
            });
            self.live.insert(id, (account, i));
            if let Some(agent) = offered_to.filter(|_| self.live[&id].1.state == InteractionState::Offered) {
                // The offer's decision is gone with the router that made it; it waits again in
                // its place, and a console still showing it is told.
                let details = TransitionDetails {
                    data: json!({"agent_id": agent, "reason": "restart"}),
                    ..Default::default()
                };
                self.transition(account, id, InteractionEvent::OfferTimedOut, details, now, &mut s);
                s.effect(Effect::Revoked {
                    interaction: id,
                    agent,
                    channel,
                    reason: "timed_out",
                });
            }
            // After a restart an owner's turn is not given again: the contact waited already.
            // A snoozed one has not had its agent's turn yet: it gets it when it is due.
            let (due_at, owner) = match snooze {
                Some((until, owner)) => (Some(until), owner),
                None => (due_at, None),
            };
            let input = Input::Arrive {
                interaction: id,
                queue,
                channel,
                priority,
                arrived_at,
                owner,
                due_at,
            };
            match self.router(account).handle(input, now) {
                Err(e) => {
                    tracing::warn!(interaction = %id, error = %e, "could not requeue a waiting interaction")
                }
                // Due while the hub was down: it is back now.
                Ok(_) if snooze.is_some_and(|(until, _)| until <= now) => {
                    let details = TransitionDetails {
                        data: json!({"reason": "due", "until": snooze.map(|(u, _)| u),
                            "agent_id": snooze.and_then(|(_, o)| o.map(|o| o.agent))}),
                        ..Default::default()
                    };
                    self.transition(account, id, InteractionEvent::Woken, details, now, &mut s);
                }
                Ok(_) => {}
            }
        }
        // Agents keep their published presence (empty at start: everyone is Offline).
        let presence: Vec<(AgentId, AgentState)> = self
            .published
            .presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(a, s)| (*a, s.clone()))
            .collect();
        // Whoever the hub does not know as present is Offline from now, whatever the presence
        // log said last (a hub that stopped took its agents' presence with it).
        let present: HashSet<AgentId> = presence.iter().map(|(a, _)| *a).collect();
        for (agent, entry) in &self.agents {
            if !present.contains(agent) {
                s.writes.push(Write::Presence {
                    account: entry.account,
                    agent: *agent,
                    state: AgentState::Offline,
                    at: now,
                });
            }
        }
        for (agent, state) in presence {
            let Some(account) = self.agents.get(&agent).map(|a| a.account) else {
                continue;
            };
            let input = Input::SetState {
                agent,
                state: state.clone(),
            };
            if let Ok(decisions) = self.decide(account, input) {
                self.presence(agent, state, &mut s);
                self.stage_decisions(account, decisions, &mut s);
            }
        }
        self.send(s).await;
        Ok(())
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut rebuild: mpsc::UnboundedReceiver<u64>,
        health: Health,
    ) {
        loop {
            let deadline = self.routers.values().filter_map(Router::next_deadline).min();
            let sleep = async {
                match deadline {
                    Some(at) => {
                        let wait = u64::try_from(at - now_millis()).unwrap_or(0);
                        tokio::time::sleep(std::time::Duration::from_millis(wait)).await
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                failed = rebuild.recv() => match failed {
                    Some(epoch) if epoch == self.epoch => self.rebuild().await,
                    Some(_) => {}
                    None => return,
                },
                command = rx.recv() => match command {
                    Some(command) => {
                        self.forwarded = command.forwarded.clone();
                        // A panic left the routers half-way through a decision: start again
                        // from the store.
                        let handled = health.guard("dispatcher.router", self.command(command)).await;
                        self.forwarded = None;
                        if handled.is_none() {
                            self.rebuild().await;
                        }
                    }
                    None => return,
                },
                () = sleep => {
                    let accounts: Vec<AccountId> = self.routers.keys().copied().collect();
                    for account in accounts {
                        self.route(account, Input::Tick, Answer::Nobody).await;
                    }
                }
            }
        }
    }

    /// A commit failed: what the routers decided since is lost, so they start again from what
    /// the store has.
    async fn rebuild(&mut self) {
        self.epoch += 1;
        metrics::counter!("plugboard_router_rebuilds_total").increment(1);
        // A store that keeps refusing (a full disk) is not hammered: each rebuild soon after the
        // last waits twice as long, up to 5 s, before it starts again.
        let now = tokio::time::Instant::now();
        self.backoff = match self.last_rebuild {
            Some(last) if now - last < std::time::Duration::from_secs(10) => (self.backoff * 2).clamp(
                std::time::Duration::from_millis(50),
                std::time::Duration::from_secs(5),
            ),
            _ => std::time::Duration::ZERO,
        };
        tokio::time::sleep(self.backoff).await;
        self.last_rebuild = Some(tokio::time::Instant::now());
        let mut wait = std::time::Duration::from_millis(50);
        while let Err(e) = self.restore().await {
            tracing::error!(error = %e, "rebuilding the routers from the store");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(std::time::Duration::from_secs(5));
        }
        tracing::warn!(
            epoch = self.epoch,
            "routers rebuilt from the store after a failed commit"
        );
    }

    fn stage(&self, answer: Answer) -> Staged {
        Staged {
            epoch: self.epoch,
            writes: Vec::new(),
            effects: Vec::new(),
            answer,
            live: false,
        }
    }

    /// Hands staged work to the committer; waits while it is behind (back-pressure).
    async fn send(&self, mut staged: Staged) {
        if let Some((node, id)) = &self.forwarded
            && !staged.writes.is_empty()
        {
            staged.writes.push(Write::Forwarded {
                node: node.clone(),
                id: *id,
                at: now_millis(),
            });
        }
        if self.staged.send(staged).await.is_err() {
            tracing::error!("the committer has stopped");
        }
    }

    async fn command(&mut self, command: Command) {
        let Command { request, reply, .. } = command;
        match request {
            Request::Arrive(account, i, open, owner) => {
                // Already routed: a rebuild found it in the store before its arrival reached
                // this node (a takeover while it was forwarded). It is in its place already.
                if self.live.contains_key(&i.id) {
                    let _ = reply.send(Ok(Response::Done));
                    return;
                }
                let opened = open.then(|| Write::Open {
                    account,
                    interaction: i.clone(),
                });
                let input = Input::Arrive {
                    interaction: i.id,
                    queue: i.queue_id,
                    channel: i.channel,
                    priority: i.priority,
                    arrived_at: i.arrived_at,
                    owner: owner.map(|(agent, wait_ms)| crate::routing::OwnerFirst { agent, wait_ms }),
                    due_at: i.callback.as_ref().and_then(|c| c.due_at),
                };
                let id = i.id;
                self.live.insert(id, (account, i));
                metrics::gauge!("plugboard_live_interactions").set(self.live.len() as f64);
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        s.live = true;
                        s.writes.extend(opened);
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        self.live.remove(&id);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Accept(account, agent, interaction) => {
                self.route(account, Input::Accept { interaction, agent }, Answer::Done(reply))
                    .await;
            }
            Request::Decline(account, agent, interaction) => {
                self.route(
                    account,
                    Input::Decline { interaction, agent },
                    Answer::Done(reply),
                )
                .await;
            }
            Request::SetReachable(account, agent, channel, reachable) => {
                let input = Input::SetReachable {
                    agent,
                    channel,
                    reachable,
                };
                self.route(account, input, Answer::Done(reply)).await;
            }
            Request::SetState(account, agent, state) => {
                let input = Input::SetState {
                    agent,
                    state: state.clone(),
                };
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        // The console hears it is available before it hears of the offer that follows.
                        self.presence(agent, state, &mut s);
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::End(account, agent, interaction) => {
                if !self.holds(agent, interaction) {
                    let _ = reply.send(Err(DispatchError::NotYours));
                    return;
                }
                let mut s = self.stage(Answer::Done(reply));
                self.end(account, interaction, None, &mut s);
                self.send(s).await;
            }
            Request::Transfer(account, agent, interaction, queue) => {
                let result = if !self.holds(agent, interaction) {
                    Err(DispatchError::NotYours)
                } else if self.queues.get(&queue).is_none_or(|q| q.account_id != account) {
                    Err(StoreError::NotFound.into())
                } else {
                    Ok(())
                };
                if let Err(e) = result {
                    let _ = reply.send(Err(e));
                    return;
                }
                let mut s = self.stage(Answer::Done(reply));
                let from = self.live.get(&interaction).map(|(_, i)| i.queue_id);
                let details = TransitionDetails {
                    queue_id: Some(queue),
                    data: json!({"agent_id": agent, "from": from, "to": queue}),
                    ..Default::default()
                };
                self.transferred(account, agent, interaction, details, &mut s);
                match self.decide(account, Input::Transfer { interaction, queue }) {
                    Ok(decisions) => self.stage_decisions(account, decisions, &mut s),
                    Err(e) => tracing::error!(error = %e, "the router refused a transfer it was told of"),
                }
                self.send(s).await;
            }
            Request::TransferTo(account, agent, interaction, to) => {
                if !self.holds(agent, interaction) {
                    let _ = reply.send(Err(DispatchError::NotYours));
                    return;
                }
                // The router decides first: the colleague must be Available.
                match self.decide(account, Input::TransferTo { interaction, to }) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        let details = TransitionDetails {
                            data: json!({"agent_id": agent, "to_agent": to}),
                            ..Default::default()
                        };
                        self.transferred(account, agent, interaction, details, &mut s);
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Move(account, m) => {
                let from = match self.live.get(&m.interaction) {
                    Some((a, i)) if *a == account => i.queue_id,
                    _ => {
                        let refused = DispatchError::Refused("it no longer waits for an agent".into());
                        let _ = reply.send(Err(refused));
                        return;
                    }
                };
                let queue = m.queue.unwrap_or(from);
                if self.queues.get(&queue).is_none_or(|q| q.account_id != account) {
                    let _ = reply.send(Err(StoreError::NotFound.into()));
                    return;
                }
                let input = Input::Move {
                    interaction: m.interaction,
                    queue,
                    to: m.to,
                };
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        let moved = (queue != from).then_some(queue);
                        let by_name = self.agents.get(&m.by).map(|a| a.name.clone());
                        let details = TransitionDetails {
                            queue_id: moved,
                            data: json!({"from": from, "to": moved, "to_agent": m.to, "by": m.by,
                                "by_name": by_name, "reason": m.reason}),
                            ..Default::default()
                        };
                        self.transition(
                            account,
                            m.interaction,
                            InteractionEvent::Moved,
                            details,
                            now_millis(),
                            &mut s,
                        );
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::SetStateFor(account, c) => {
                if self.agents.get(&c.agent).is_none_or(|a| a.account != account) {
                    let _ = reply.send(Err(StoreError::NotFound.into()));
                    return;
                }
                let held: Vec<(InteractionId, QueueId)> = match c.state {
                    AgentState::Offline => self
                        .live
                        .iter()
                        .filter(|(id, _)| self.holds(c.agent, **id))
                        .map(|(id, (_, i))| (*id, i.queue_id))
                        .collect(),
                    _ => Vec::new(),
                };
                let input = Input::SetState {
                    agent: c.agent,
                    state: c.state.clone(),
                };
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        let by_name = self.agents.get(&c.by).map(|a| a.name.clone());
                        for (interaction, queue) in held {
                            let details = TransitionDetails {
                                queue_id: Some(queue),
                                data: json!({"agent_id": c.agent, "from": queue, "to": queue, "by": c.by,
                                    "by_name": by_name, "reason": c.reason}),
                                ..Default::default()
                            };
                            self.transferred(account, c.agent, interaction, details, &mut s);
                            match self.decide(account, Input::Transfer { interaction, queue }) {
                                Ok(decisions) => self.stage_decisions(account, decisions, &mut s),
                                Err(e) => {
                                    tracing::error!(error = %e, "the router refused a transfer it was told of")
                                }
                            }
                        }
                        self.presence(c.agent, c.state, &mut s);
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Leave(account, interaction, leaving) => {
                let state = match self.known(account, interaction).await {
                    Ok(state) => state,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                };
                // The visitor closed the tab of a chat its agent snoozed: it stays theirs, to
                // come back to them at its time (they end it then). Leaving outright ends it.
                let snoozed = self
                    .live
                    .get(&interaction)
                    .is_some_and(|(_, i)| i.snoozed_until.is_some());
                if snoozed && leaving.only_waiting {
                    let _ = reply.send(Ok(Response::Done));
                    return;
                }
                let mut s = self.stage(Answer::Done(reply));
                let now = now_millis();
                match state {
                    InteractionState::Queued | InteractionState::Offered => {
                        let wait = self.live.get(&interaction).map_or(0, |(_, i)| now - i.arrived_at);
                        if let Some(line) = leaving.log {
                            log(account, interaction, line, now, &mut s);
                        }
                        let details = TransitionDetails {
                            data: json!({"wait_ms": wait}),
                            ..Default::default()
                        };
                        self.transition(
                            account,
                            interaction,
                            InteractionEvent::Abandoned,
                            details,
                            now,
                            &mut s,
                        );
                        match self.decide(account, Input::Abandon { interaction }) {
                            Ok(decisions) => self.stage_decisions(account, decisions, &mut s),
                            // A contact the router never held (a call out that never started).
                            Err(DispatchError::Router(RouterError::UnknownInteraction(_))) => {}
                            Err(e) => tracing::error!(error = %e, "the router refused an abandon"),
                        }
                        s.effect(Effect::Chat(interaction, ChatFrame::Ended));
                    }
                    InteractionState::Active if !leaving.only_waiting => {
                        self.end(account, interaction, leaving.log, &mut s);
                    }
                    _ => {
                        if let Some(line) = leaving.log {
                            log(account, interaction, line, now, &mut s);
                        }
                    }
                }
                self.send(s).await;
            }
            Request::WrapUp(account, agent, interaction, wrap) => {
                let current = match self.live.get(&interaction) {
                    Some((a, i)) if *a == account => Some((i.agent_id, i.state)),
                    _ => None,
                };
                let was_active = match current {
                    Some((Some(holder), state)) if holder == agent => state == InteractionState::Active,
                    Some(_) => {
                        let _ = reply.send(Err(DispatchError::NotYours));
                        return;
                    }
                    // Closed already (a second wrap-up) or not ours to know: the store says why.
                    None => match self.store.interaction(account, interaction).await {
                        Ok(i) if i.agent_id != Some(agent) => {
                            let _ = reply.send(Err(DispatchError::NotYours));
                            return;
                        }
                        // A second wrap-up (a double click) is the client's mistake: refused
                        // here, it never reaches a commit whose failure would rebuild the routers.
                        Ok(i) if i.state.is_terminal() => {
                            let refused = crate::domain::InvalidTransition {
                                from: i.state,
                                event: InteractionEvent::WrappedUp,
                            };
                            let _ = reply.send(Err(StoreError::InvalidTransition(refused).into()));
                            return;
                        }
                        Ok(i) => i.state == InteractionState::Active,
                        Err(e) => {
                            let _ = reply.send(Err(e.into()));
                            return;
                        }
                    },
                };
                let mut s = self.stage(Answer::Nobody);
                let details = TransitionDetails {
                    disposition: Some(wrap.disposition.clone()),
                    wrap_up_note: wrap.note,
                    data: json!({"agent_id": agent, "disposition": wrap.disposition}),
                    ..Default::default()
                };
                let w = self.transition(
                    account,
                    interaction,
                    InteractionEvent::WrappedUp,
                    details,
                    now_millis(),
                    &mut s,
                );
                s.answer = Answer::Interaction(reply, w);
                s.effect(Effect::Unassigned(interaction));
                // The router may already have released the slot when the wrap-up time ran out.
                match self.decide(account, Input::WrapUpDone { interaction }) {
                    Ok(decisions) => self.stage_decisions(account, decisions, &mut s),
                    Err(DispatchError::Router(RouterError::UnknownInteraction(_))) => {}
                    Err(e) => tracing::error!(error = %e, "the router refused a wrap-up"),
                }
                s.effect(Effect::Updated { agent, write: w });
                if was_active {
                    s.effect(Effect::Chat(interaction, ChatFrame::Ended));
                }
                self.send(s).await;
            }
            Request::Hold(account, agent, interaction, on) => {
                if !self.holds(agent, interaction) {
                    let _ = reply.send(Err(DispatchError::NotYours));
                    return;
                }
                if self.live[&interaction].1.channel != Channel::Voice {
                    let _ = reply.send(Err(DispatchError::NotACall));
                    return;
                }
                let mut s = self.stage(Answer::Done(reply));
                let line = LogLine {
                    kind: if on { CALL_HELD } else { CALL_RESUMED }.into(),
                    data: json!({ "agent_id": agent }),
                };
                log(account, interaction, line, now_millis(), &mut s);
                s.effect(Effect::Connector(
                    Channel::Voice,
                    ConnectorFrame::Hold { interaction, on },
                ));
                s.effect(Effect::Agent(
                    agent,
                    Box::new(AgentFrame::CallHold {
                        interaction_id: interaction,
                        on,
                    }),
                ));
                self.send(s).await;
            }
            Request::Log(account, interaction, line) => {
                let mut s = self.stage(Answer::Done(reply));
                log(account, interaction, line, now_millis(), &mut s);
                self.send(s).await;
            }
            Request::UpsertQueue(account, queue) => {
                let _ = reply.send(Ok(Response::Done));
                self.upsert_queue(account, queue);
                self.route(account, Input::Tick, Answer::Nobody).await;
            }
            Request::UpsertAgent(account, agent) => {
                let _ = reply.send(Ok(Response::Done));
                self.upsert_agent(account, agent);
                self.route(account, Input::Tick, Answer::Nobody).await;
            }
            Request::AgentView(agent) => {
                // Answered by the publisher, in order with what it has published.
                self.send(self.stage(Answer::View(agent, reply))).await;
            }
            Request::Live(account) => {
                let _ = reply.send(Ok(Response::Live(self.live_figures(account))));
            }
            Request::Staffing(account, queue) => {
                let router = self.router(account);
                let staffing = Staffing {
                    available: router.can_serve(queue),
                    staffed: router.queue_stats(queue).agents_staffed > 0,
                };
                let _ = reply.send(Ok(Response::Staffing(staffing)));
            }
            Request::Consultant(account, queue, asking) => {
                let colleague = self.router(account).consultant(queue, asking);
                let _ = reply.send(Ok(Response::Agent(colleague)));
            }
            Request::Dialled(account, agent, i) => {
                let input = Input::Restore {
                    interaction: i.id,
                    agent,
                    queue: i.queue_id,
                    channel: i.channel,
                    wrapping_up: false,
                };
                self.started(account, agent, i, input, InteractionEvent::Dialled, None, reply)
                    .await;
            }
            Request::Start(account, agent, i) => {
                if self.live.contains_key(&i.id) {
                    let _ = reply.send(Err(RouterError::AlreadyKnown(i.id).into()));
                    return;
                }
                let input = Input::Start {
                    interaction: i.id,
                    agent,
                    queue: i.queue_id,
                    channel: i.channel,
                };
                let opened = Write::Open {
                    account,
                    interaction: i.clone(),
                };
                self.started(
                    account,
                    agent,
                    i,
                    input,
                    InteractionEvent::Started,
                    Some(opened),
                    reply,
                )
                .await;
            }
            Request::Reopen(account, i) => {
                // Reopened already (the same reply delivered twice): nothing more to do.
                if self.live.contains_key(&i.id) {
                    let _ = reply.send(Ok(Response::Done));
                    return;
                }
                let now = now_millis();
                let input = Input::Return {
                    interaction: i.id,
                    queue: i.queue_id,
                    channel: i.channel,
                    priority: i.priority,
                    arrived_at: now,
                    agent: i.agent_id,
                };
                let (id, last_agent) = (i.id, i.agent_id);
                self.live.insert(id, (account, i));
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        let details = TransitionDetails {
                            data: json!({"last_agent": last_agent}),
                            ..Default::default()
                        };
                        self.transition(account, id, InteractionEvent::Reopened, details, now, &mut s);
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        self.live.remove(&id);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::CallbackRequested(account, interaction, callback) => {
                let waiting = self
                    .live
                    .get(&interaction)
                    .is_some_and(|(a, i)| *a == account && i.state == InteractionState::Queued);
                if !waiting {
                    let refused = DispatchError::Refused("it no longer waits unoffered in its queue".into());
                    let _ = reply.send(Err(refused));
                    return;
                }
                let mut s = self.stage(Answer::Done(reply));
                s.live = true;
                // The number is the interaction's (`callback`), not the log's: an erasure clears it.
                let details = TransitionDetails {
                    callback: Some(callback),
                    ..Default::default()
                };
                let event = InteractionEvent::CallbackRequested;
                self.transition(account, interaction, event, details, now_millis(), &mut s);
                self.send(s).await;
            }
            Request::Reschedule(account, agent, interaction, callback) => {
                if !self.holds(agent, interaction) {
                    let _ = reply.send(Err(DispatchError::NotYours));
                    return;
                }
                let until = callback.due_at.unwrap_or_else(now_millis);
                match self.decide(account, Input::Defer { interaction, until }) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        s.live = true;
                        let queue = self.live[&interaction].1.queue_id;
                        let details = TransitionDetails {
                            data: json!({"agent_id": agent, "to": queue, "due_at": until,
                                "attempts": callback.attempts}),
                            callback: Some(callback),
                            ..Default::default()
                        };
                        let w = self.transition(
                            account,
                            interaction,
                            InteractionEvent::Rescheduled,
                            details,
                            now_millis(),
                            &mut s,
                        );
                        s.effect(Effect::Unassigned(interaction));
                        s.effect(Effect::Updated { agent, write: w });
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Snooze(account, agent, interaction, until) => {
                let already = self.live.get(&interaction).is_some_and(|(a, i)| {
                    *a == account && i.snoozed_until == Some(until) && i.agent_id == Some(agent)
                });
                if already {
                    let _ = reply.send(Ok(Response::Done));
                    return;
                }
                if !self.holds(agent, interaction) {
                    let _ = reply.send(Err(DispatchError::NotYours));
                    return;
                }
                if self.live[&interaction].1.channel == Channel::Voice {
                    let refused = DispatchError::Refused("a call cannot be snoozed".into());
                    let _ = reply.send(Err(refused));
                    return;
                }
                let input = Input::Snooze {
                    interaction,
                    until,
                    owner_wait_ms: SNOOZE_OWNER_TURN_MS,
                };
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        s.live = true;
                        // It stays the agent's while it sleeps: their snoozed list shows it.
                        let by_name = self.agents.get(&agent).map(|a| a.name.clone());
                        let details = TransitionDetails {
                            agent_id: Some(agent),
                            snoozed_until: Some(until),
                            data: json!({"agent_id": agent, "until": until, "by_name": by_name}),
                            ..Default::default()
                        };
                        let w = self.transition(
                            account,
                            interaction,
                            InteractionEvent::Snoozed,
                            details,
                            now_millis(),
                            &mut s,
                        );
                        s.effect(Effect::Unassigned(interaction));
                        s.effect(Effect::Updated { agent, write: w });
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Wake(account, interaction) => {
                let snoozed = self
                    .live
                    .get(&interaction)
                    .filter(|(a, i)| *a == account && i.snoozed_until.is_some())
                    .map(|(_, i)| (i.snoozed_until, i.agent_id));
                let Some((until, agent)) = snoozed else {
                    let _ = reply.send(Ok(Response::Done));
                    return;
                };
                match self.decide(account, Input::Wake { interaction }) {
                    Ok(decisions) => {
                        let mut s = self.stage(Answer::Done(reply));
                        s.live = true;
                        let details = TransitionDetails {
                            data: json!({"reason": "customer_replied", "until": until, "agent_id": agent}),
                            ..Default::default()
                        };
                        let now = now_millis();
                        self.transition(
                            account,
                            interaction,
                            InteractionEvent::Woken,
                            details,
                            now,
                            &mut s,
                        );
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::ReopenFor(account, agent, i) => {
                if let Some((a, _)) = self.live.get(&i.id) {
                    // Reopened for them already (a retry): nothing more to do.
                    let result = if *a == account && self.holds(agent, i.id) {
                        Ok(Response::Done)
                    } else {
                        Err(DispatchError::Refused("this conversation is open already".into()))
                    };
                    let _ = reply.send(result);
                    return;
                }
                if i.channel == Channel::Voice {
                    let refused = DispatchError::Refused("a call cannot be reopened".into());
                    let _ = reply.send(Err(refused));
                    return;
                }
                let input = Input::Start {
                    interaction: i.id,
                    agent,
                    queue: i.queue_id,
                    channel: i.channel,
                };
                let (id, last_agent) = (i.id, i.agent_id);
                self.live.insert(id, (account, i));
                match self.decide(account, input) {
                    Ok(decisions) => {
                        let now = now_millis();
                        let mut s = self.stage(Answer::Done(reply));
                        let by_name = self.agents.get(&agent).map(|a| a.name.clone());
                        let details = TransitionDetails {
                            data: json!({"last_agent": last_agent, "by": agent, "by_name": by_name}),
                            ..Default::default()
                        };
                        self.transition(account, id, InteractionEvent::Reopened, details, now, &mut s);
                        let details = TransitionDetails {
                            agent_id: Some(agent),
                            data: json!({"agent_id": agent}),
                            ..Default::default()
                        };
                        let w = self.transition(account, id, InteractionEvent::Started, details, now, &mut s);
                        let joined = self.agents.get(&agent).map(|a| a.author.clone());
                        s.effect(Effect::Assigned {
                            account,
                            agent,
                            write: w,
                            joined,
                        });
                        self.stage_decisions(account, decisions, &mut s);
                        self.send(s).await;
                    }
                    Err(e) => {
                        self.live.remove(&id);
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Request::Watcher(id, ringing) => {
                let _ = reply.send(Ok(Response::Agent(self.published.watcher(id, ringing))));
            }
            Request::Positions(account) => {
                let queues: Vec<QueueId> = self
                    .queues
                    .values()
                    .filter(|q| q.account_id == account)
                    .map(|q| q.id)
                    .collect();
                let router = self.router(account);
                let positions = queues
                    .into_iter()
                    .flat_map(|q| router.waiting(q).into_iter().zip(1..))
                    .collect();
                let _ = reply.send(Ok(Response::Positions(positions)));
            }
        }
    }

    /// The interaction's state as staged; one the dispatcher has not seen (a call out that never
    /// started) is read from the store.
    async fn known(
        &mut self,
        account: AccountId,
        id: InteractionId,
    ) -> Result<InteractionState, DispatchError> {
        match self.live.get(&id) {
            Some((a, i)) if *a == account => Ok(i.state),
            Some(_) => Err(StoreError::NotFound.into()),
            None => {
                let i = self.store.interaction(account, id).await?;
                let state = i.state;
                if !matches!(state, InteractionState::Closed | InteractionState::Abandoned) {
                    self.live.insert(id, (account, i));
                }
                Ok(state)
            }
        }
    }

    /// Whether the agent has the interaction active (as staged).
    fn holds(&self, agent: AgentId, id: InteractionId) -> bool {
        self.live
            .get(&id)
            .is_some_and(|(_, i)| i.state == InteractionState::Active && i.agent_id == Some(agent))
    }

    /// Stages a transition, applied at once to the mirror. One the state machine refuses is
    /// staged all the same: the store refuses it too, and the rebuild that follows sets both
    /// straight.
    fn transition(
        &mut self,
        account: AccountId,
        id: InteractionId,
        event: InteractionEvent,
        details: TransitionDetails,
        at: Millis,
        s: &mut Staged,
    ) -> usize {
        if let Some((_, i)) = self.live.get_mut(&id) {
            match apply_transition(i, event, &details, at) {
                Ok(()) if matches!(i.state, InteractionState::Closed | InteractionState::Abandoned) => {
                    self.live.remove(&id);
                    metrics::gauge!("plugboard_live_interactions").set(self.live.len() as f64);
                }
                Ok(()) => {}
                Err(e) => tracing::error!(%id, error = %e, "the router and the store disagree"),
            }
        }
        s.writes.push(Write::Transition {
            account,
            id,
            event,
            details,
            at,
        });
        s.writes.len() - 1
    }

    /// An interaction the agent started (dialled, or a new email): the router gives it to them
    /// (`input`), and the commit holds its opening (if new), `event` and the assignment.
    #[allow(clippy::too_many_arguments)]
    async fn started(
        &mut self,
        account: AccountId,
        agent: AgentId,
        i: Interaction,
        input: Input,
        event: InteractionEvent,
        opened: Option<Write>,
        reply: Reply,
    ) {
        let id = i.id;
        self.live.insert(id, (account, i));
        match self.decide(account, input) {
            Ok(decisions) => {
                let mut s = self.stage(Answer::Done(reply));
                s.writes.extend(opened);
                let details = TransitionDetails {
                    agent_id: Some(agent),
                    data: json!({"agent_id": agent}),
                    ..Default::default()
                };
                let w = self.transition(account, id, event, details, now_millis(), &mut s);
                s.effect(Effect::Assigned {
                    account,
                    agent,
                    write: w,
                    joined: None,
                });
                self.stage_decisions(account, decisions, &mut s);
                self.send(s).await;
            }
            Err(e) => {
                self.live.remove(&id);
                let _ = reply.send(Err(e));
            }
        }
    }

    /// The conversation is over; wrap-up follows.
    fn end(&mut self, account: AccountId, interaction: InteractionId, line: Option<LogLine>, s: &mut Staged) {
        let now = now_millis();
        if let Some(line) = line {
            log(account, interaction, line, now, s);
        }
        let (channel, agent) = self
            .live
            .get(&interaction)
            .map_or((Channel::Chat, None), |(_, i)| (i.channel, i.agent_id));
        let w = self.transition(
            account,
            interaction,
            InteractionEvent::Ended,
            TransitionDetails::default(),
            now,
            s,
        );
        s.effect(Effect::Unassigned(interaction));
        match self.decide(account, Input::End { interaction }) {
            Ok(decisions) => self.stage_decisions(account, decisions, s),
            Err(e) => tracing::error!(error = %e, "the router refused an end"),
        }
        s.effect(Effect::Connector(channel, ConnectorFrame::Ended { interaction }));
        if let Some(agent) = agent {
            s.effect(Effect::Updated { agent, write: w });
        }
        s.effect(Effect::Chat(interaction, ChatFrame::Ended));
    }

    /// The agent let go of it: it waits again (in another queue, or for a named colleague).
    fn transferred(
        &mut self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        details: TransitionDetails,
        s: &mut Staged,
    ) {
        let channel = self.live[&interaction].1.channel;
        let w = self.transition(
            account,
            interaction,
            InteractionEvent::Transferred,
            details,
            now_millis(),
            s,
        );
        s.effect(Effect::Unassigned(interaction));
        s.effect(Effect::Connector(
            channel,
            ConnectorFrame::Transferred { interaction },
        ));
        s.effect(Effect::Updated { agent, write: w });
    }

    fn presence(&mut self, agent: AgentId, state: AgentState, s: &mut Staged) {
        if let Some(entry) = self.agents.get_mut(&agent) {
            if entry.state != state {
                let at = now_millis();
                // The presence log reports read agent time from.
                s.writes.push(Write::Presence {
                    account: entry.account,
                    agent,
                    state: state.clone(),
                    at,
                });
                entry.since = at;
            }
            entry.state = state.clone();
        }
        s.effect(Effect::Presence(agent, state));
    }

    /// Feeds one input to the account's router and stages what it decides.
    async fn route(&mut self, account: AccountId, input: Input, answer: Answer) {
        match self.decide(account, input) {
            Ok(decisions) => self.staged_decisions(account, decisions, answer).await,
            Err(e) => match answer {
                Answer::Done(reply) => {
                    let _ = reply.send(Err(e));
                }
                _ => tracing::error!(error = %e, "routing"),
            },
        }
    }

    async fn staged_decisions(&mut self, account: AccountId, decisions: Vec<Decision>, answer: Answer) {
        if decisions.is_empty() && matches!(answer, Answer::Nobody) {
            return;
        }
        let mut s = self.stage(answer);
        self.stage_decisions(account, decisions, &mut s);
        self.send(s).await;
    }

    fn decide(&mut self, account: AccountId, input: Input) -> Result<Vec<Decision>, DispatchError> {
        tracing::debug!(?input, "routing");
        Ok(self.router(account).handle(input, now_millis())?)
    }

    fn stage_decisions(&mut self, account: AccountId, decisions: Vec<Decision>, s: &mut Staged) {
        let now = now_millis();
        for decision in decisions {
            tracing::debug!(?decision, "staging");
            match decision {
                Decision::Offer {
                    interaction,
                    agent,
                    queue: _,
                    expires_at,
                } => {
                    let details = TransitionDetails {
                        agent_id: Some(agent),
                        data: json!({"agent_id": agent, "expires_at": expires_at}),
                        ..Default::default()
                    };
                    let write =
                        self.transition(account, interaction, InteractionEvent::Offered, details, now, s);
                    s.effect(Effect::Offer {
                        account,
                        agent,
                        expires_at,
                        write,
                    });
                }
                Decision::OfferRevoked {
                    interaction,
                    agent,
                    reason,
                } => {
                    let channel = self
                        .live
                        .get(&interaction)
                        .map_or(Channel::Chat, |(_, i)| i.channel);
                    let (event, why) = match reason {
                        RevokeReason::Declined => (Some(InteractionEvent::Declined), "declined"),
                        RevokeReason::TimedOut => (Some(InteractionEvent::OfferTimedOut), "timed_out"),
                        RevokeReason::AgentUnavailable => {
                            (Some(InteractionEvent::Declined), "agent_unavailable")
                        }
                        RevokeReason::Unreachable => (Some(InteractionEvent::Declined), "unreachable"),
                        // The abandon itself is staged by `leave`.
                        RevokeReason::Abandoned => (None, "abandoned"),
                        // The `Overflowed` decision that follows moves it back to waiting.
                        RevokeReason::Overflowed => (None, "overflowed"),
                        // The supervisor's `Moved`, staged before, did.
                        RevokeReason::Moved => (None, "moved"),
                    };
                    if let Some(event) = event {
                        let details = TransitionDetails {
                            data: json!({"agent_id": agent, "reason": why}),
                            ..Default::default()
                        };
                        self.transition(account, interaction, event, details, now, s);
                    }
                    s.effect(Effect::Revoked {
                        interaction,
                        agent,
                        channel,
                        reason: why,
                    });
                }
                Decision::Assigned { interaction, agent } => {
                    let details = TransitionDetails {
                        agent_id: Some(agent),
                        data: json!({"agent_id": agent}),
                        ..Default::default()
                    };
                    let write =
                        self.transition(account, interaction, InteractionEvent::Accepted, details, now, s);
                    let joined = self.agents.get(&agent).map(|a| a.author.clone());
                    s.effect(Effect::Assigned {
                        account,
                        agent,
                        write,
                        joined,
                    });
                }
                Decision::AgentStateChanged { agent, state } => self.presence(agent, state, s),
                Decision::Overflowed {
                    interaction,
                    from,
                    to,
                } => {
                    let details = TransitionDetails {
                        queue_id: Some(to),
                        data: json!({"from": from, "to": to}),
                        ..Default::default()
                    };
                    self.transition(
                        account,
                        interaction,
                        InteractionEvent::Overflowed,
                        details,
                        now,
                        s,
                    );
                }
                Decision::Released { .. } => {}
                // One more waiting: the wallboard hears of it even when nobody can take it yet.
                Decision::Due { interaction } => {
                    s.live = true;
                    // A snoozed conversation whose time came: back on its timeline (one the
                    // customer woke was logged so before its decisions were staged).
                    let snoozed = self
                        .live
                        .get(&interaction)
                        .and_then(|(_, i)| i.snoozed_until.map(|until| (until, i.agent_id)));
                    if let Some((until, agent)) = snoozed {
                        let details = TransitionDetails {
                            data: json!({"reason": "due", "until": until, "agent_id": agent}),
                            ..Default::default()
                        };
                        self.transition(account, interaction, InteractionEvent::Woken, details, now, s);
                    }
                }
            }
        }
    }

    fn router(&mut self, account: AccountId) -> &mut Router {
        self.routers.entry(account).or_default()
    }

    fn upsert_queue(&mut self, account: AccountId, queue: Queue) {
        let _ = self
            .router(account)
            .handle(Input::UpsertQueue(rules(&queue)), now_millis());
        self.queues.insert(queue.id, queue);
    }

    fn upsert_agent(&mut self, account: AccountId, agent: Agent) {
        let input = Input::UpsertAgent {
            agent: agent.id,
            skills: agent.skills.clone(),
            capacity: agent.capacity,
        };
        let _ = self.router(account).handle(input, now_millis());
        let author = agent.author();
        self.agents
            .entry(agent.id)
            .and_modify(|e| {
                e.name = agent.name.clone();
                e.author = author.clone();
            })
            .or_insert(AgentEntry {
                account,
                name: agent.name,
                author,
                state: AgentState::Offline,
                since: now_millis(),
            });
    }

    fn live_figures(&mut self, account: AccountId) -> Live {
        let now = now_millis();
        let mut queues: Vec<Queue> = self
            .queues
            .values()
            .filter(|q| q.account_id == account)
            .cloned()
            .collect();
        queues.sort_by(|a, b| a.name.cmp(&b.name));
        let router = self.routers.entry(account).or_default();
        let queues = queues
            .into_iter()
            .map(|q| {
                let QueueStats {
                    waiting,
                    oldest_arrived_at,
                    agents_available,
                    agents_staffed,
                    agents_busy,
                    agents_on_break,
                    scheduled,
                } = router.queue_stats(q.id);
                QueueLive {
                    id: q.id,
                    name: q.name,
                    waiting,
                    oldest_wait_ms: oldest_arrived_at.map(|t| now - t),
                    agents_available,
                    agents_staffed,
                    agents_busy,
                    agents_on_break,
                    sl_target_secs: q.sl_target_secs,
                    callbacks_scheduled: scheduled,
                }
            })
            .collect();
        let mut held: HashMap<AgentId, std::collections::BTreeMap<String, usize>> = HashMap::new();
        let mut on_call: HashMap<AgentId, InteractionId> = HashMap::new();
        let mut channels: Vec<ChannelLive> = Channel::ALL
            .iter()
            .map(|c| ChannelLive {
                channel: c.as_str().into(),
                waiting: 0,
                active: 0,
            })
            .collect();
        for (a, i) in self.live.values() {
            if let (InteractionState::Active, Some(agent)) = (i.state, i.agent_id) {
                *held
                    .entry(agent)
                    .or_default()
                    .entry(i.channel.as_str().to_string())
                    .or_default() += 1;
                // A voicemail has nobody on the line; a callback being placed has.
                if i.channel == Channel::Voice && (!i.offline || i.callback.is_some()) {
                    on_call.insert(agent, i.id);
                }
            }
            let Some(n) = Channel::ALL.iter().position(|c| *c == i.channel) else {
                continue;
            };
            if *a != account {
                continue;
            }
            if i.state.is_waiting() {
                channels[n].waiting += 1;
            } else if matches!(i.state, InteractionState::Active | InteractionState::WrapUp) {
                channels[n].active += 1;
            }
        }
        let mut agents: Vec<AgentLive> = self
            .agents
            .iter()
            .filter(|(_, a)| a.account == account)
            .map(|(id, a)| {
                let view = StateView::from(&a.state);
                let holds = held.remove(id).unwrap_or_default();
                AgentLive {
                    id: *id,
                    name: a.name.clone(),
                    state: view.state.into(),
                    reason: view.reason,
                    since: a.since,
                    held: holds.values().sum(),
                    holds,
                    on_call: on_call.remove(id),
                }
            })
            .collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        Live {
            queues,
            agents,
            channels,
        }
    }
}

fn log(account: AccountId, id: InteractionId, line: LogLine, at: Millis, s: &mut Staged) {
    s.writes.push(Write::Log {
        account,
        id,
        kind: line.kind,
        data: line.data,
        at,
    });
}

// --- the committer ---

/// A staged group as the committer left it: its writes' results, or why they are not on disk.
type Committed = (Staged, Result<Vec<Option<Interaction>>, Arc<StoreError>>);

struct Committer {
    store: DynStore,
    /// The leader's fencing token when several nodes share the store.
    fence: Option<i64>,
    committed: mpsc::Sender<Committed>,
    rebuild: mpsc::UnboundedSender<u64>,
    /// After a failed commit: everything staged by this epoch or before is discarded.
    discard_through: Option<u64>,
    health: Health,
}

impl Committer {
    async fn run(mut self, mut rx: mpsc::Receiver<Staged>) {
        let mut group: Vec<Staged> = Vec::new();
        while let Some(first) = rx.recv().await {
            group.push(first);
            let mut writes = group[0].writes.len();
            while writes < MAX_GROUP_WRITES {
                match rx.try_recv() {
                    Ok(staged) => {
                        writes += staged.writes.len();
                        group.push(staged);
                    }
                    Err(_) => break,
                }
            }
            let epoch = group.iter().map(|s| s.epoch).max().unwrap_or_default();
            let health = self.health.clone();
            if health
                .guard("dispatcher.committer", self.commit(std::mem::take(&mut group)))
                .await
                .is_none()
            {
                // Whether that group is on disk is unknown: the routers read it back.
                self.discard_through = Some(epoch);
                let _ = self.rebuild.send(epoch);
            }
        }
    }

    async fn commit(&mut self, group: Vec<Staged>) {
        let (stale, group): (Vec<Staged>, Vec<Staged>) = group
            .into_iter()
            .partition(|s| self.discard_through.is_some_and(|through| s.epoch <= through));
        for s in stale {
            let lost = Arc::new(StoreError::Corrupt("lost with a failed commit before it".into()));
            self.forward(s, Err(lost)).await;
        }
        if group.is_empty() {
            return;
        }
        let writes: Vec<Write> = group.iter().flat_map(|s| s.writes.iter().cloned()).collect();
        let started = std::time::Instant::now();
        let result = if writes.is_empty() {
            Ok(Vec::new())
        } else {
            self.store.commit(self.fence, &writes).await
        };
        metrics::histogram!("plugboard_dispatch_commit_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("plugboard_dispatch_group_writes").record(writes.len() as f64);
        match result {
            Ok(done) => {
                let mut done = done.into_iter();
                for s in group {
                    let mine: Vec<Option<Interaction>> = done.by_ref().take(s.writes.len()).collect();
                    self.forward(s, Ok(mine)).await;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = writes.len(), "a dispatcher commit failed; rebuilding the routers");
                metrics::counter!("plugboard_dispatch_commit_failures_total").increment(1);
                let epoch = group.iter().map(|s| s.epoch).max().unwrap_or_default();
                self.discard_through = Some(epoch);
                let _ = self.rebuild.send(epoch);
                let e = Arc::new(e);
                for s in group {
                    self.forward(s, Err(e.clone())).await;
                }
            }
        }
    }

    async fn forward(&self, s: Staged, result: Result<Vec<Option<Interaction>>, Arc<StoreError>>) {
        if self.committed.send((s, result)).await.is_err() {
            tracing::error!("the publisher has stopped");
        }
    }
}

// --- the publisher ---

struct Publisher {
    store: DynStore,
    bus: Bus,
    /// Pending offers, for consoles that (re)connect while one is ringing.
    offers: HashMap<InteractionId, (AgentId, Offer)>,
    published: Arc<Published>,
    health: Health,
}

impl Publisher {
    async fn run(mut self, mut rx: mpsc::Receiver<Committed>) {
        while let Some((staged, result)) = rx.recv().await {
            let done = match result {
                Ok(done) => done,
                Err(e) => {
                    let failed = || DispatchError::Store(StoreError::Corrupt(format!("not committed: {e}")));
                    match staged.answer {
                        Answer::Nobody => {}
                        Answer::Done(reply) => {
                            let _ = reply.send(Err(failed()));
                        }
                        Answer::Interaction(reply, _) => {
                            let _ = reply.send(Err(failed()));
                        }
                        Answer::View(agent, reply) => {
                            let (state, offers) = self.view(agent);
                            let _ = reply.send(Ok(Response::View(state, offers)));
                        }
                    }
                    continue;
                }
            };
            if done.iter().any(Option::is_some) {
                self.published.conversations_changed();
            }
            let touched = staged.live || !staged.effects.is_empty() || !done.is_empty();
            for effect in staged.effects {
                let health = self.health.clone();
                match health
                    .guard("dispatcher.publisher", self.effect(effect, &done))
                    .await
                {
                    Some(Ok(())) | None => {}
                    Some(Err(e)) => tracing::error!(error = %e, "could not carry out a committed decision"),
                }
            }
            if touched {
                self.published.live_changed();
            }
            // A supervisor watching a conversation sees each change as it lands: the last state
            // of each interaction this commit changed.
            let mut last: HashMap<InteractionId, &Interaction> = HashMap::new();
            for i in done.iter().flatten() {
                last.insert(i.id, i);
            }
            for i in last.values() {
                self.bus.to_watchers(i);
            }
            match staged.answer {
                Answer::Nobody => {}
                Answer::Done(reply) => {
                    let _ = reply.send(Ok(Response::Done));
                }
                Answer::Interaction(reply, w) => {
                    let answer = result_of(&done, w).map(|i| Response::Interaction(Box::new(i.clone())));
                    let _ = reply.send(answer);
                }
                Answer::View(agent, reply) => {
                    let (state, offers) = self.view(agent);
                    let _ = reply.send(Ok(Response::View(state, offers)));
                }
            }
        }
    }

    fn view(&self, agent: AgentId) -> (AgentState, Vec<Offer>) {
        let state = self
            .published
            .presence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&agent)
            .cloned()
            .unwrap_or(AgentState::Offline);
        let offers = self
            .offers
            .values()
            .filter(|(a, _)| *a == agent)
            .map(|(_, offer)| offer.clone())
            .collect();
        (state, offers)
    }

    /// An interaction's messages for a frame; a call has none, and is not read for them.
    async fn messages(
        &self,
        account: AccountId,
        i: &Interaction,
    ) -> Result<Vec<crate::domain::Message>, StoreError> {
        if i.channel == Channel::Voice {
            return Ok(Vec::new());
        }
        self.store.messages(account, i.id, 0).await
    }

    async fn effect(&mut self, effect: Effect, done: &[Option<Interaction>]) -> Result<(), DispatchError> {
        match effect {
            Effect::Offer {
                account,
                agent,
                expires_at,
                write,
            } => {
                let i = result_of(done, write)?.clone();
                let (interaction, channel) = (i.id, i.channel);
                let (card, preview) = futures_util::try_join!(
                    profile::card(&self.store, account, i.customer_id),
                    self.messages(account, &i),
                )?;
                let offer = Offer::new(i, card, expires_at, preview);
                self.offers.insert(interaction, (agent, offer.clone()));
                self.published.ring(interaction, Some(agent));
                self.bus.to_agent(agent, AgentFrame::Offer(offer));
                self.bus
                    .to_connector(channel, ConnectorFrame::Offered { interaction, agent });
            }
            Effect::Revoked {
                interaction,
                agent,
                channel,
                reason,
            } => {
                self.offers.remove(&interaction);
                self.published.ring(interaction, None);
                self.bus
                    .to_connector(channel, ConnectorFrame::OfferRevoked { interaction, agent });
                self.bus.to_agent(
                    agent,
                    AgentFrame::OfferRevoked {
                        interaction_id: interaction,
                        reason,
                    },
                );
            }
            Effect::Assigned {
                account,
                agent,
                write: w,
                joined,
            } => {
                let i = result_of(done, w)?.clone();
                let interaction = i.id;
                // The card the offer popped a moment ago is the card: three reads fewer a contact.
                let offered = self.offers.remove(&interaction).map(|(_, offer)| offer.card);
                write_lock(&self.published.ringing).remove(&interaction);
                self.published.hold(interaction, Some(agent));
                let (card, messages) = match offered {
                    Some(card) => (card, self.messages(account, &i).await?),
                    None => futures_util::try_join!(
                        profile::card(&self.store, account, i.customer_id),
                        self.messages(account, &i),
                    )?,
                };
                let held = Held {
                    customer_online: crate::bus::frames::customer_online(&self.bus, &i),
                    card,
                    messages,
                    interaction: i,
                };
                self.bus.to_agent(agent, AgentFrame::Assigned(held));
                if let Some(agent) = joined {
                    self.bus.to_chat(interaction, ChatFrame::AgentJoined { agent });
                }
            }
            Effect::Holder(interaction, agent) => self.published.hold(interaction, Some(agent)),
            Effect::Unassigned(interaction) => self.published.hold(interaction, None),
            Effect::Presence(agent, state) => {
                self.bus
                    .to_agent(agent, AgentFrame::State(StateView::from(&state)));
                if let Some(out) = &self.published.presence_out {
                    let _ = out.send((agent, state.clone()));
                }
                let mut presence = self.published.presence.lock().unwrap_or_else(|p| p.into_inner());
                if state == AgentState::Offline {
                    presence.remove(&agent);
                } else {
                    presence.insert(agent, state);
                }
            }
            Effect::Updated { agent, write } => {
                let interaction = result_of(done, write)?.clone();
                self.bus.to_agent(agent, AgentFrame::Updated { interaction });
            }
            Effect::Agent(agent, frame) => self.bus.to_agent(agent, *frame),
            Effect::Connector(channel, frame) => self.bus.to_connector(channel, frame),
            Effect::Chat(interaction, frame) => self.bus.to_chat(interaction, frame),
        }
        Ok(())
    }
}

fn result_of(done: &[Option<Interaction>], write: usize) -> Result<&Interaction, DispatchError> {
    done.get(write)
        .and_then(Option::as_ref)
        .ok_or_else(|| StoreError::Corrupt("a committed transition answered no interaction".into()).into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{Capacity, Role};
    use crate::store::{NewAgent, NewInteraction, QueueSpec};
    use sqlx::Connection;
    use std::time::Duration;

    /// A store on SQLite with a Support queue, Bob (an agent) and Maria (a customer).
    pub(crate) struct Site {
        _dir: tempfile::TempDir,
        url: String,
        pub store: DynStore,
        pub queue: Queue,
        pub agent: AgentId,
        pub customer: crate::domain::CustomerId,
    }

    pub(crate) async fn site() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("hub.db").display());
        let store = crate::store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let account = AccountId::DEFAULT;
        let queue = store
            .create_queue(account, QueueSpec::named("Support"))
            .await
            .unwrap();
        let agent = NewAgent {
            email: "bob@example.com".into(),
            name: "Bob".into(),
            role: Role::Agent,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Capacity::default(),
            password_hash: "$argon2id$v=19$stub".into(),
        };
        let agent = store.create_agent(account, agent).await.unwrap().id;
        let identity = [("email".to_string(), "maria@example.com".to_string())];
        let customer = store
            .resolve_customer(account, &identity, Some("Maria"))
            .await
            .unwrap()
            .id;
        Site {
            _dir: dir,
            url,
            store,
            queue,
            agent,
            customer,
        }
    }

    /// Maria's chat to Support, arriving now.
    pub(crate) fn new_chat(site: &Site) -> NewInteraction {
        NewInteraction {
            customer_id: site.customer,
            channel: Channel::Chat,
            queue_id: site.queue.id,
            priority: 0,
            entry_point: "widget:Support".into(),
            offline: false,
            arrived_at: now_millis(),
        }
    }

    /// The same, already in the store.
    async fn chat(site: &Site) -> Interaction {
        site.store
            .create_interaction(AccountId::DEFAULT, new_chat(site))
            .await
            .unwrap()
    }

    /// While set, the database refuses every change of an interaction (a full disk, a lost
    /// PostgreSQL primary): a real failure of a real commit.
    async fn refuse_transitions(url: &str, refuse: bool) {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let sql = if refuse {
            "CREATE TRIGGER refuse BEFORE UPDATE ON interactions BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        } else {
            "DROP TRIGGER refuse"
        };
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }

    async fn next_frame(rx: &mut crate::bus::Receiver<AgentFrame>) -> Arc<AgentFrame> {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a frame within 10 s")
            .expect("subscribed")
    }

    /// The old dispatcher applied the offer in the router before its write, and only logged the
    /// failed write: the router held an offer no console saw, and put the agent on Break for
    /// missing it. Now nobody hears of a decision that is not on disk, and the routers start
    /// again from the store: once the database takes writes again, the chat is offered.
    #[tokio::test]
    async fn a_failed_commit_offers_nothing_and_the_chat_is_offered_once_the_store_recovers() {
        let site = site().await;
        let bus = Bus::default();
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        let mut consoles = bus.subscribe_agent(site.agent);
        let account = AccountId::DEFAULT;
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        assert!(matches!(
            *next_frame(&mut consoles.rx).await,
            AgentFrame::State(_)
        ));

        refuse_transitions(&site.url, true).await;
        let i = chat(&site).await;
        let refused = dispatcher.arrive(account, i.clone()).await;
        assert!(refused.is_err(), "the arrival's offer could not be committed");
        // Longer than nothing: no offer, no revocation, no Break reaches the console.
        let quiet = tokio::time::timeout(Duration::from_millis(500), consoles.rx.recv()).await;
        assert!(
            quiet.is_err(),
            "the console heard of an uncommitted decision: {quiet:?}"
        );

        refuse_transitions(&site.url, false).await;
        loop {
            match &*next_frame(&mut consoles.rx).await {
                AgentFrame::Offer(offer) => {
                    assert_eq!(offer.interaction.id, i.id);
                    break;
                }
                AgentFrame::State(view) => assert_eq!(view.state, "available", "never on Break"),
                other => panic!("unexpected {other:?}"),
            }
        }
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        let kinds: Vec<String> = site
            .store
            .events(account, i.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                "interaction.queued",
                "interaction.offered",
                "interaction.accepted"
            ],
            "the refused offer left no trace"
        );
    }

    /// A console that wraps up twice (a double click) gets a clear refusal, not a failed group
    /// commit (which would have failed everyone else's work in it and rebuilt the routers).
    #[tokio::test]
    async fn a_second_wrap_up_is_refused_before_it_reaches_the_store() {
        let site = site().await;
        let bus = Bus::default();
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        let account = AccountId::DEFAULT;
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        let i = chat(&site).await;
        dispatcher.arrive(account, i.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        dispatcher.end(account, site.agent, i.id).await.unwrap();
        let wrap = |d: Dispatcher| async move {
            d.wrap_up(account, site.agent, i.id, "resolved".into(), None)
                .await
        };
        wrap(dispatcher.clone()).await.unwrap();
        let again = wrap(dispatcher.clone()).await;
        assert!(
            matches!(again, Err(DispatchError::Store(StoreError::InvalidTransition(_)))),
            "{again:?}"
        );
        // And the next contact is routed as usual.
        let next = chat(&site).await;
        dispatcher.arrive(account, next.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, next.id).await.unwrap();
    }

    /// With several nodes, a chat's arrival can reach a new leader after its rebuild has already
    /// found the chat in the store and offered it. The old code took the late arrival as news:
    /// it reset its own record of the chat to queued, and the agent who accepted the offer was
    /// then told the chat was not theirs to end.
    #[tokio::test]
    async fn an_arrival_already_restored_from_the_store_changes_nothing() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let i = chat(&site).await;
        let dispatcher = Dispatcher::start(site.store.clone(), Bus::default(), Health::default())
            .await
            .unwrap();
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        dispatcher.arrive(account, i.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        dispatcher.end(account, site.agent, i.id).await.unwrap();
        let closed = dispatcher
            .wrap_up(account, site.agent, i.id, "resolved".into(), None)
            .await
            .unwrap();
        assert_eq!(closed.state, InteractionState::Closed);
    }

    /// A hundred contacts arriving at once (committed together in a few groups): each is offered
    /// exactly once, and never before its offer is on disk.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_arrivals_are_each_offered_once_and_only_after_their_commit() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let patch = crate::store::AgentPatch {
            capacity: Some(Capacity {
                chat: 200,
                ..Capacity::default()
            }),
            ..Default::default()
        };
        let agent = site.store.update_agent(account, site.agent, patch).await.unwrap();
        let bus = Bus::default();
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher.upsert_agent(account, agent).await;
        let mut consoles = bus.subscribe_agent(site.agent);
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        let mut chats = Vec::new();
        for _ in 0..100 {
            chats.push(chat(&site).await);
        }
        let arrivals = chats.iter().map(|i| {
            let d = dispatcher.clone();
            let i = i.clone();
            tokio::spawn(async move { d.arrive(account, i).await })
        });
        for arrival in arrivals.collect::<Vec<_>>() {
            arrival.await.unwrap().unwrap();
        }
        let mut offered = std::collections::HashSet::new();
        while offered.len() < chats.len() {
            if let AgentFrame::Offer(offer) = &*next_frame(&mut consoles.rx).await {
                assert!(offered.insert(offer.interaction.id), "offered twice");
                let stored = site
                    .store
                    .interaction(account, offer.interaction.id)
                    .await
                    .unwrap();
                assert_eq!(
                    stored.state,
                    InteractionState::Offered,
                    "published before it was on disk"
                );
            }
        }
    }

    /// A new email the agent writes: the interaction is created and theirs in one commit, with no
    /// offer; with no room for another email, nothing at all is stored.
    #[tokio::test]
    async fn a_started_email_is_the_agents_at_once_or_not_stored_at_all() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let patch = crate::store::AgentPatch {
            capacity: Some(Capacity {
                email: 1,
                ..Capacity::default()
            }),
            ..Default::default()
        };
        let agent = site.store.update_agent(account, site.agent, patch).await.unwrap();
        let bus = Bus::default();
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher.upsert_agent(account, agent).await;
        let mut consoles = bus.subscribe_agent(site.agent);
        let new_email = || {
            NewInteraction {
                channel: Channel::Email,
                entry_point: "mailbox:support".into(),
                ..new_chat(&site)
            }
            .queued()
        };
        // Offline does not matter: the agent chose to write.
        let first = new_email();
        dispatcher
            .start_for(account, site.agent, first.clone())
            .await
            .unwrap();
        match &*next_frame(&mut consoles.rx).await {
            AgentFrame::Assigned(held) => assert_eq!(held.interaction.id, first.id),
            other => panic!("unexpected {other:?}"),
        }
        let stored = site.store.interaction(account, first.id).await.unwrap();
        assert_eq!(
            (stored.state, stored.agent_id),
            (InteractionState::Active, Some(site.agent))
        );
        assert_eq!(dispatcher.holder(first.id).await, Some(site.agent));
        let kinds: Vec<String> = site
            .store
            .events(account, first.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["interaction.queued", "interaction.started"]);

        let second = new_email();
        let refused = dispatcher.start_for(account, site.agent, second.clone()).await;
        assert!(
            matches!(
                refused,
                Err(DispatchError::Router(RouterError::NoRoom {
                    channel: Channel::Email,
                    ..
                }))
            ),
            "{refused:?}"
        );
        assert!(matches!(
            site.store.interaction(account, second.id).await,
            Err(StoreError::NotFound)
        ));
        // Starting the same one twice is refused too, and changes nothing.
        assert!(
            dispatcher
                .start_for(account, site.agent, first.clone())
                .await
                .is_err()
        );
        assert_eq!(dispatcher.holder(first.id).await, Some(site.agent));
    }

    async fn kinds(site: &Site, id: InteractionId) -> Vec<String> {
        let events = site.store.events(AccountId::DEFAULT, id).await.unwrap();
        events.into_iter().map(|e| e.kind).collect()
    }

    /// Skips frames up to the one telling the agent the interaction is snoozed.
    async fn until_snoozed(rx: &mut crate::bus::Receiver<AgentFrame>, id: InteractionId) {
        loop {
            if let AgentFrame::Updated { interaction } = &*next_frame(rx).await
                && interaction.id == id
                && interaction.snoozed_until.is_some()
            {
                return;
            }
        }
    }

    /// Bob snoozes the chat he holds: his slot is free at once, the chat stays his (his snoozed
    /// list) with its time in the store; a hub that restarts meanwhile finds it there, and when
    /// the time comes it is offered to Bob again, before anyone else.
    #[tokio::test]
    async fn a_snoozed_chat_frees_the_slot_survives_a_restart_and_comes_back_to_its_agent() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let bus = Bus::default();
        let mut consoles = bus.subscribe_agent(site.agent);
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        let i = chat(&site).await;
        dispatcher.arrive(account, i.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        let until = now_millis() + 1_500;
        dispatcher.snooze(account, site.agent, i.id, until).await.unwrap();
        // A retry of the same snooze changes nothing.
        dispatcher.snooze(account, site.agent, i.id, until).await.unwrap();
        let stored = site.store.interaction(account, i.id).await.unwrap();
        assert_eq!(
            (stored.state, stored.agent_id, stored.snoozed_until),
            (InteractionState::Queued, Some(site.agent), Some(until))
        );
        assert_eq!(dispatcher.holder(i.id).await, None);
        until_snoozed(&mut consoles.rx, i.id).await;
        let live = dispatcher.live(account).await.unwrap();
        assert_eq!(live.queues[0].waiting, 0, "a snoozed chat waits for nobody");
        drop(dispatcher);

        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        loop {
            if let AgentFrame::Offer(offer) = &*next_frame(&mut consoles.rx).await
                && offer.interaction.id == i.id
            {
                break;
            }
        }
        assert!(now_millis() >= until, "offered before its time");
        let stored = site.store.interaction(account, i.id).await.unwrap();
        assert_eq!(
            (stored.state, stored.agent_id, stored.snoozed_until),
            (InteractionState::Offered, Some(site.agent), None)
        );
        assert_eq!(
            kinds(&site, i.id).await[2..],
            [
                "interaction.accepted",
                "interaction.snoozed",
                "interaction.woken",
                "interaction.offered"
            ]
        );
        let events = site.store.events(account, i.id).await.unwrap();
        assert_eq!(events[4].data["reason"], "due");
    }

    /// The customer writes to a snoozed conversation: it comes back to its agent at once. A call
    /// cannot be snoozed.
    #[tokio::test]
    async fn the_customer_writing_wakes_a_snoozed_chat_and_a_call_cannot_be_snoozed() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let bus = Bus::default();
        let mut consoles = bus.subscribe_agent(site.agent);
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        let i = chat(&site).await;
        dispatcher.arrive(account, i.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        let until = now_millis() + 3_600_000;
        dispatcher.snooze(account, site.agent, i.id, until).await.unwrap();
        until_snoozed(&mut consoles.rx, i.id).await;
        dispatcher.wake(account, i.id).await.unwrap();
        loop {
            if let AgentFrame::Offer(offer) = &*next_frame(&mut consoles.rx).await
                && offer.interaction.id == i.id
            {
                break;
            }
        }
        // Once more (a second message): nothing more.
        dispatcher.wake(account, i.id).await.unwrap();
        let events = site.store.events(account, i.id).await.unwrap();
        let woken: Vec<_> = events.iter().filter(|e| e.kind == "interaction.woken").collect();
        assert_eq!(woken.len(), 1);
        assert_eq!(woken[0].data["reason"], "customer_replied");
        dispatcher.accept(account, site.agent, i.id).await.unwrap();

        let call = site
            .store
            .create_interaction(
                account,
                NewInteraction {
                    channel: Channel::Voice,
                    entry_point: "sip:+4930123".into(),
                    ..new_chat(&site)
                },
            )
            .await
            .unwrap();
        dispatcher.arrive(account, call.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, call.id).await.unwrap();
        let refused = dispatcher.snooze(account, site.agent, call.id, until).await;
        assert!(matches!(refused, Err(DispatchError::Refused(_))), "{refused:?}");
        assert_eq!(dispatcher.holder(call.id).await, Some(site.agent));
    }

    /// Bob reopens a chat he closed: his at once, never queued, reopened and started on its log;
    /// asked again, nothing more.
    #[tokio::test]
    async fn an_agent_reopens_a_closed_chat_for_themselves() {
        let site = site().await;
        let account = AccountId::DEFAULT;
        let bus = Bus::default();
        let mut consoles = bus.subscribe_agent(site.agent);
        let dispatcher = Dispatcher::start(site.store.clone(), bus.clone(), Health::default())
            .await
            .unwrap();
        dispatcher
            .set_state(account, site.agent, AgentState::Available)
            .await
            .unwrap();
        let i = chat(&site).await;
        dispatcher.arrive(account, i.clone()).await.unwrap();
        dispatcher.accept(account, site.agent, i.id).await.unwrap();
        dispatcher.end(account, site.agent, i.id).await.unwrap();
        let closed = dispatcher
            .wrap_up(account, site.agent, i.id, "resolved".into(), None)
            .await
            .unwrap();
        dispatcher
            .reopen_for(account, site.agent, closed.clone())
            .await
            .unwrap();
        loop {
            if let AgentFrame::Assigned(held) = &*next_frame(&mut consoles.rx).await
                && held.interaction.id == i.id
            {
                break;
            }
        }
        let stored = site.store.interaction(account, i.id).await.unwrap();
        assert_eq!(
            (stored.state, stored.agent_id, stored.disposition),
            (InteractionState::Active, Some(site.agent), None)
        );
        assert_eq!(dispatcher.holder(i.id).await, Some(site.agent));
        dispatcher.reopen_for(account, site.agent, closed).await.unwrap();
        let kinds = kinds(&site, i.id).await;
        assert_eq!(
            kinds[kinds.len() - 3..],
            [
                "interaction.wrapped_up",
                "interaction.reopened",
                "interaction.started"
            ]
        );
        dispatcher.end(account, site.agent, i.id).await.unwrap();
    }
}
