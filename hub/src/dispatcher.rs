//! The router's shell: one task owns the routers (one per account), feeds them inputs and the
//! clock, commits every decision to the store and only then publishes it on the bus. Every change
//! of an interaction's state goes through this task, so they are serialised and never race.

use crate::bus::frames::{Held, Offer, StateView};
use crate::bus::{AgentFrame, Bus, ChatFrame, ConnectorFrame};
use crate::domain::{
    AccountId, Agent, AgentId, AgentState, Interaction, InteractionEvent, InteractionId, InteractionState,
    Millis, Queue, QueueId, now_millis,
};
use crate::profile;
use crate::routing::{Decision, Input, QueueRules, QueueStats, RevokeReason, Router, RouterError};
use crate::store::{DynStore, StoreError, TransitionDetails};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Router(#[from] RouterError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("this interaction is not yours")]
    NotYours,
    #[error("the dispatcher has stopped")]
    Stopped,
}

type Reply<T> = oneshot::Sender<Result<T, DispatchError>>;

/// Live figures of one queue for supervisors and the widget.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct QueueLive {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub name: String,
    pub waiting: usize,
    pub oldest_wait_ms: Option<Millis>,
    pub agents_available: usize,
    pub agents_staffed: usize,
    pub sl_target_secs: u32,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AgentLive {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    pub state: &'static str,
    pub reason: Option<String>,
    pub held: usize,
}

enum Command {
    Arrive(AccountId, Interaction, Reply<()>),
    Accept(AccountId, AgentId, InteractionId, Reply<()>),
    Decline(AccountId, AgentId, InteractionId, Reply<()>),
    SetState(AccountId, AgentId, AgentState, Reply<()>),
    /// The agent ends the conversation: wrap-up follows.
    End(AccountId, AgentId, InteractionId, Reply<()>),
    /// The agent sends the interaction to another queue (a blind transfer).
    Transfer(AccountId, AgentId, InteractionId, QueueId, Reply<()>),
    /// The agent sends the interaction to a named colleague (a blind transfer).
    TransferTo(AccountId, AgentId, InteractionId, AgentId, Reply<()>),
    /// The customer left: abandoned if still waiting, ended if an agent had it (unless
    /// `only_waiting`: then an interaction an agent has is left alone).
    Leave(AccountId, InteractionId, bool, Reply<()>),
    WrapUp(
        AccountId,
        AgentId,
        InteractionId,
        String,
        Option<String>,
        Reply<Interaction>,
    ),
    UpsertQueue(AccountId, Queue),
    UpsertAgent(AccountId, Agent),
    AgentView(AgentId, Reply<(AgentState, Vec<Offer>)>),
    Live(AccountId, Reply<(Vec<QueueLive>, Vec<AgentLive>)>),
    CanServe(AccountId, QueueId, Reply<bool>),
    Positions(AccountId, Reply<HashMap<InteractionId, usize>>),
    /// The agent started this interaction (click-to-call): theirs at once.
    Dialled(AccountId, AgentId, InteractionId, Reply<()>),
}

/// The handle the API and connectors use; cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    tx: mpsc::Sender<Command>,
    /// Who holds each active interaction. Only the dispatcher task writes it; message handlers
    /// read it to route a message without a store round trip.
    assignments: Arc<RwLock<HashMap<InteractionId, AgentId>>>,
    /// Who is being offered each ringing interaction, likewise: what the customer writes while
    /// it rings reaches that console's preview.
    ringing: Arc<RwLock<HashMap<InteractionId, AgentId>>>,
}

macro_rules! ask {
    ($self:ident, $variant:ident $(, $arg:expr)*) => {{
        let (tx, rx) = oneshot::channel();
        $self.tx.send(Command::$variant($($arg,)* tx)).await.map_err(|_| DispatchError::Stopped)?;
        rx.await.map_err(|_| DispatchError::Stopped)?
    }};
}

impl Dispatcher {
    /// Rebuilds the routers from the store (queues, agents, every waiting contact in its original
    /// order, every held one) and starts the task.
    pub async fn start(store: DynStore, bus: Bus) -> Result<Dispatcher, StoreError> {
        let assignments = Arc::new(RwLock::new(HashMap::new()));
        let ringing = Arc::new(RwLock::new(HashMap::new()));
        let mut task = Task {
            store: store.clone(),
            bus,
            routers: HashMap::new(),
            queues: HashMap::new(),
            agents: HashMap::new(),
            offers: HashMap::new(),
            assignments: assignments.clone(),
            ringing: ringing.clone(),
        };
        task.restore().await?;
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(task.run(rx));
        Ok(Dispatcher {
            tx,
            assignments,
            ringing,
        })
    }

    pub async fn arrive(&self, account: AccountId, interaction: Interaction) -> Result<(), DispatchError> {
        ask!(self, Arrive, account, interaction)
    }
    pub async fn accept(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        ask!(self, Accept, account, agent, id)
    }
    pub async fn decline(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        ask!(self, Decline, account, agent, id)
    }
    pub async fn set_state(
        &self,
        account: AccountId,
        agent: AgentId,
        state: AgentState,
    ) -> Result<(), DispatchError> {
        ask!(self, SetState, account, agent, state)
    }
    pub async fn end(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        ask!(self, End, account, agent, id)
    }
    pub async fn transfer(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        queue: QueueId,
    ) -> Result<(), DispatchError> {
        ask!(self, Transfer, account, agent, id, queue)
    }
    /// A blind transfer to a named, Available colleague; if they do not take it, anyone may.
    pub async fn transfer_to(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        to: AgentId,
    ) -> Result<(), DispatchError> {
        ask!(self, TransferTo, account, agent, interaction, to)
    }

    pub async fn leave(&self, account: AccountId, id: InteractionId) -> Result<(), DispatchError> {
        ask!(self, Leave, account, id, false)
    }
    /// Abandons the interaction if it is still waiting for an agent; otherwise changes nothing.
    pub async fn abandon_if_waiting(
        &self,
        account: AccountId,
        id: InteractionId,
    ) -> Result<(), DispatchError> {
        ask!(self, Leave, account, id, true)
    }
    pub async fn wrap_up(
        &self,
        account: AccountId,
        agent: AgentId,
        id: InteractionId,
        disposition: String,
        note: Option<String>,
    ) -> Result<Interaction, DispatchError> {
        ask!(self, WrapUp, account, agent, id, disposition, note)
    }
    pub async fn upsert_queue(&self, account: AccountId, queue: Queue) {
        let _ = self.tx.send(Command::UpsertQueue(account, queue)).await;
    }
    pub async fn upsert_agent(&self, account: AccountId, agent: Agent) {
        let _ = self.tx.send(Command::UpsertAgent(account, agent)).await;
    }
    /// The agent's presence and pending offers, for a console's snapshot.
    pub async fn agent_view(&self, agent: AgentId) -> Result<(AgentState, Vec<Offer>), DispatchError> {
        ask!(self, AgentView, agent)
    }
    pub async fn live(&self, account: AccountId) -> Result<(Vec<QueueLive>, Vec<AgentLive>), DispatchError> {
        ask!(self, Live, account)
    }
    /// Whether some agent is available with the queue's skills right now.
    /// An interaction the agent started (a click-to-call): assigned to them without an offer.
    pub async fn dialled(
        &self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
    ) -> Result<(), DispatchError> {
        ask!(self, Dialled, account, agent, interaction)
    }

    /// Every waiting contact's place in its queue (1 is next), for callers' announcements.
    pub async fn positions(
        &self,
        account: AccountId,
    ) -> Result<HashMap<InteractionId, usize>, DispatchError> {
        ask!(self, Positions, account)
    }

    pub async fn can_serve(&self, account: AccountId, queue: QueueId) -> Result<bool, DispatchError> {
        ask!(self, CanServe, account, queue)
    }
    /// The agent holding an active interaction, if any.
    pub fn holder(&self, id: InteractionId) -> Option<AgentId> {
        self.assignments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }
    /// The agent whose console shows the interaction: its holder, or the agent it rings for.
    pub fn watcher(&self, id: InteractionId) -> Option<AgentId> {
        let ringing = || {
            self.ringing
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id)
                .copied()
        };
        self.holder(id).or_else(ringing)
    }
    /// Whether the dispatcher task is running (for `/readyz`).
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }
}

struct AgentEntry {
    account: AccountId,
    name: String,
    state: AgentState,
}

struct Task {
    store: DynStore,
    bus: Bus,
    routers: HashMap<AccountId, Router>,
    /// Every queue as last configured, for the live figures without a store read.
    queues: HashMap<QueueId, Queue>,
    agents: HashMap<AgentId, AgentEntry>,
    /// Pending offers, for consoles that (re)connect while one is ringing.
    offers: HashMap<InteractionId, (AgentId, Offer)>,
    assignments: Arc<RwLock<HashMap<InteractionId, AgentId>>>,
    ringing: Arc<RwLock<HashMap<InteractionId, AgentId>>>,
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
    async fn restore(&mut self) -> Result<(), StoreError> {
        let now = now_millis();
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
                self.assign(i.id, agent);
            }
        }
        for (account, i) in waiting {
            if i.state == InteractionState::Offered {
                // The offer died with the previous process; it waits again in its place.
                let details = TransitionDetails {
                    data: json!({"reason": "restart"}),
                    ..Default::default()
                };
                self.store
                    .transition(account, i.id, InteractionEvent::OfferTimedOut, details, now)
                    .await?;
            }
            let input = Input::Arrive {
                interaction: i.id,
                queue: i.queue_id,
                channel: i.channel,
                priority: i.priority,
                arrived_at: i.arrived_at,
            };
            if let Err(e) = self.router(account).handle(input, now) {
                tracing::warn!(interaction = %i.id, error = %e, "could not requeue a waiting interaction");
            }
        }
        Ok(())
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
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
                command = rx.recv() => match command {
                    Some(command) => self.command(command).await,
                    None => return,
                },
                () = sleep => {
                    let accounts: Vec<AccountId> = self.routers.keys().copied().collect();
                    for account in accounts {
                        if let Err(e) = self.route(account, Input::Tick).await {
                            tracing::error!(error = %e, "router tick failed");
                        }
                    }
                }
            }
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Arrive(account, i, reply) => {
                let input = Input::Arrive {
                    interaction: i.id,
                    queue: i.queue_id,
                    channel: i.channel,
                    priority: i.priority,
                    arrived_at: i.arrived_at,
                };
                let _ = reply.send(self.route(account, input).await);
            }
            Command::Accept(account, agent, interaction, reply) => {
                let _ = reply.send(self.route(account, Input::Accept { interaction, agent }).await);
            }
            Command::Decline(account, agent, interaction, reply) => {
                let _ = reply.send(self.route(account, Input::Decline { interaction, agent }).await);
            }
            Command::SetState(account, agent, state, reply) => {
                match self.decide(
                    account,
                    Input::SetState {
                        agent,
                        state: state.clone(),
                    },
                ) {
                    Ok(decisions) => {
                        // The console hears it is available before it hears of the offer that follows.
                        self.agent_state_changed(agent, state);
                        self.carry_out_all(account, decisions).await;
                        let _ = reply.send(Ok(()));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Command::End(account, agent, interaction, reply) => {
                let result = match self.holder(interaction) {
                    Some(holder) if holder == agent => self.end(account, interaction).await,
                    _ => Err(DispatchError::NotYours),
                };
                let _ = reply.send(result);
            }
            Command::Transfer(account, agent, interaction, queue, reply) => {
                let result = match self.holder(interaction) {
                    Some(holder) if holder == agent => {
                        self.transfer(account, agent, interaction, queue).await
                    }
                    _ => Err(DispatchError::NotYours),
                };
                let _ = reply.send(result);
            }
            Command::TransferTo(account, agent, interaction, to, reply) => {
                let result = match self.holder(interaction) {
                    Some(holder) if holder == agent => {
                        self.transfer_to(account, agent, interaction, to).await
                    }
                    _ => Err(DispatchError::NotYours),
                };
                let _ = reply.send(result);
            }
            Command::Leave(account, interaction, only_waiting, reply) => {
                let _ = reply.send(self.leave(account, interaction, only_waiting).await);
            }
            Command::WrapUp(account, agent, interaction, disposition, note, reply) => {
                let _ = reply.send(self.wrap_up(account, agent, interaction, disposition, note).await);
            }
            Command::UpsertQueue(account, queue) => {
                self.upsert_queue(account, queue);
                let _ = self.route(account, Input::Tick).await;
            }
            Command::UpsertAgent(account, agent) => {
                self.upsert_agent(account, agent);
                let _ = self.route(account, Input::Tick).await;
            }
            Command::AgentView(agent, reply) => {
                let state = self
                    .agents
                    .get(&agent)
                    .map_or(AgentState::Offline, |a| a.state.clone());
                let offers = self
                    .offers
                    .values()
                    .filter(|(a, _)| *a == agent)
                    .map(|(_, offer)| offer.clone())
                    .collect();
                let _ = reply.send(Ok((state, offers)));
            }
            Command::Live(account, reply) => {
                let _ = reply.send(self.live(account).await);
            }
            Command::CanServe(account, queue, reply) => {
                let _ = reply.send(Ok(self.router(account).can_serve(queue)));
            }
            Command::Dialled(account, agent, interaction, reply) => {
                let _ = reply.send(self.dialled(account, agent, interaction).await);
            }
            Command::Positions(account, reply) => {
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
                let _ = reply.send(Ok(positions));
            }
        }
    }

    fn router(&mut self, account: AccountId) -> &mut Router {
        self.routers.entry(account).or_default()
    }

    fn holder(&self, id: InteractionId) -> Option<AgentId> {
        self.assignments
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .copied()
    }

    fn assign(&self, id: InteractionId, agent: AgentId) {
        self.assignments
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, agent);
    }

    fn stop_ringing(&mut self, id: InteractionId) {
        self.offers.remove(&id);
        self.ringing
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    fn unassign(&self, id: InteractionId) {
        self.assignments
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
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
        self.agents
            .entry(agent.id)
            .and_modify(|e| e.name = agent.name.clone())
            .or_insert(AgentEntry {
                account,
                name: agent.name,
                state: AgentState::Offline,
            });
    }

    fn agent_state_changed(&mut self, agent: AgentId, state: AgentState) {
        self.bus
            .to_agent(agent, AgentFrame::State(StateView::from(&state)));
        if let Some(entry) = self.agents.get_mut(&agent) {
            entry.state = state;
        }
    }

    /// Feeds one input to the account's router and carries out what it decides.
    async fn route(&mut self, account: AccountId, input: Input) -> Result<(), DispatchError> {
        let decisions = self.decide(account, input)?;
        self.carry_out_all(account, decisions).await;
        Ok(())
    }

    fn decide(&mut self, account: AccountId, input: Input) -> Result<Vec<Decision>, DispatchError> {
        tracing::debug!(?input, "routing");
        Ok(self.router(account).handle(input, now_millis())?)
    }

    async fn carry_out_all(&mut self, account: AccountId, decisions: Vec<Decision>) {
        for decision in decisions {
            tracing::debug!(?decision, "carrying out");
            if let Err(e) = self.carry_out(account, decision).await {
                tracing::error!(error = %e, "could not carry out a routing decision");
            }
        }
    }

    async fn carry_out(&mut self, account: AccountId, decision: Decision) -> Result<(), DispatchError> {
        let now = now_millis();
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
                let i = self
                    .store
                    .transition(account, interaction, InteractionEvent::Offered, details, now)
                    .await?;
                let offer = Offer {
                    card: profile::card(&self.store, account, i.customer_id).await?,
                    preview: self.store.messages(account, interaction, 0).await?,
                    interaction: i,
                    expires_at,
                };
                let channel = offer.interaction.channel;
                self.offers.insert(interaction, (agent, offer.clone()));
                self.ringing
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(interaction, agent);
                self.bus.to_agent(agent, AgentFrame::Offer(offer));
                self.bus
                    .to_connector(channel, ConnectorFrame::Offered { interaction, agent });
            }
            Decision::OfferRevoked {
                interaction,
                agent,
                reason,
            } => {
                if let Some((_, offer)) = self.offers.get(&interaction) {
                    self.bus.to_connector(
                        offer.interaction.channel,
                        ConnectorFrame::OfferRevoked { interaction, agent },
                    );
                }
                self.stop_ringing(interaction);
                let (event, why) = match reason {
                    RevokeReason::Declined => (Some(InteractionEvent::Declined), "declined"),
                    RevokeReason::TimedOut => (Some(InteractionEvent::OfferTimedOut), "timed_out"),
                    RevokeReason::AgentUnavailable => (Some(InteractionEvent::Declined), "agent_unavailable"),
                    // The abandon itself was already committed by `leave`.
                    RevokeReason::Abandoned => (None, "abandoned"),
                    // The `Overflowed` decision that follows moves it back to waiting.
                    RevokeReason::Overflowed => (None, "overflowed"),
                };
                if let Some(event) = event {
                    let details = TransitionDetails {
                        data: json!({"agent_id": agent, "reason": why}),
                        ..Default::default()
                    };
                    self.store
                        .transition(account, interaction, event, details, now)
                        .await?;
                }
                self.bus.to_agent(
                    agent,
                    AgentFrame::OfferRevoked {
                        interaction_id: interaction,
                        reason: why,
                    },
                );
            }
            Decision::Assigned { interaction, agent } => {
                self.stop_ringing(interaction);
                let details = TransitionDetails {
                    agent_id: Some(agent),
                    data: json!({"agent_id": agent}),
                    ..Default::default()
                };
                let i = self
                    .store
                    .transition(account, interaction, InteractionEvent::Accepted, details, now)
                    .await?;
                self.assigned(account, i, agent).await?;
                let agent_name = self
                    .agents
                    .get(&agent)
                    .map(|a| a.name.clone())
                    .unwrap_or_default();
                self.bus
                    .to_chat(interaction, ChatFrame::AgentJoined { agent_name });
            }
            Decision::AgentStateChanged { agent, state } => self.agent_state_changed(agent, state),
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
                self.store
                    .transition(account, interaction, InteractionEvent::Overflowed, details, now)
                    .await?;
            }
            Decision::Released { .. } => {}
        }
        Ok(())
    }

    /// The agent has it now: the screen pop goes to their consoles.
    async fn assigned(
        &mut self,
        account: AccountId,
        i: Interaction,
        agent: AgentId,
    ) -> Result<(), DispatchError> {
        let interaction = i.id;
        self.assign(interaction, agent);
        let held = Held {
            customer_online: crate::bus::frames::customer_online(&self.bus, &i),
            card: profile::card(&self.store, account, i.customer_id).await?,
            messages: self.store.messages(account, interaction, 0).await?,
            interaction: i,
        };
        self.bus.to_agent(agent, AgentFrame::Assigned(held));
        Ok(())
    }

    /// An interaction the agent started (click-to-call): it takes the agent's slot for its
    /// channel at once, without ever being offered.
    async fn dialled(
        &mut self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
    ) -> Result<(), DispatchError> {
        let i = self.store.interaction(account, interaction).await?;
        let input = Input::Restore {
            interaction,
            agent,
            queue: i.queue_id,
            channel: i.channel,
            wrapping_up: false,
        };
        let decisions = self.decide(account, input)?;
        let details = TransitionDetails {
            agent_id: Some(agent),
            data: json!({"agent_id": agent}),
            ..Default::default()
        };
        let i = self
            .store
            .transition(
                account,
                interaction,
                InteractionEvent::Dialled,
                details,
                now_millis(),
            )
            .await?;
        self.assigned(account, i, agent).await?;
        self.carry_out_all(account, decisions).await;
        Ok(())
    }

    async fn end(&mut self, account: AccountId, interaction: InteractionId) -> Result<(), DispatchError> {
        let now = now_millis();
        let i = self
            .store
            .transition(
                account,
                interaction,
                InteractionEvent::Ended,
                TransitionDetails::default(),
                now,
            )
            .await?;
        self.unassign(interaction);
        self.route(account, Input::End { interaction }).await?;
        self.bus
            .to_connector(i.channel, ConnectorFrame::Ended { interaction });
        if let Some(agent) = i.agent_id {
            self.bus.to_agent(agent, AgentFrame::Updated { interaction: i });
        }
        self.bus.to_chat(interaction, ChatFrame::Ended);
        Ok(())
    }

    /// Back to waiting, in `queue`, with its original arrival time; the agent's slot is free.
    async fn transfer(
        &mut self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        queue: QueueId,
    ) -> Result<(), DispatchError> {
        // Refuse an unknown queue before anything changes.
        self.store.queue(account, queue).await?;
        let before = self.store.interaction(account, interaction).await?;
        let details = TransitionDetails {
            queue_id: Some(queue),
            data: json!({"agent_id": agent, "from": before.queue_id, "to": queue}),
            ..Default::default()
        };
        let i = self
            .store
            .transition(
                account,
                interaction,
                InteractionEvent::Transferred,
                details,
                now_millis(),
            )
            .await?;
        self.unassign(interaction);
        self.bus
            .to_connector(i.channel, ConnectorFrame::Transferred { interaction });
        self.bus.to_agent(agent, AgentFrame::Updated { interaction: i });
        self.route(account, Input::Transfer { interaction, queue }).await
    }

    /// The router decides first (the colleague must be Available), then the transfer is logged,
    /// then the offer to them goes out.
    async fn transfer_to(
        &mut self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        to: AgentId,
    ) -> Result<(), DispatchError> {
        let decisions = self.decide(account, Input::TransferTo { interaction, to })?;
        let details = TransitionDetails {
            data: json!({"agent_id": agent, "to_agent": to}),
            ..Default::default()
        };
        let i = self
            .store
            .transition(
                account,
                interaction,
                InteractionEvent::Transferred,
                details,
                now_millis(),
            )
            .await?;
        self.unassign(interaction);
        self.bus
            .to_connector(i.channel, ConnectorFrame::Transferred { interaction });
        self.bus.to_agent(agent, AgentFrame::Updated { interaction: i });
        self.carry_out_all(account, decisions).await;
        Ok(())
    }

    async fn leave(
        &mut self,
        account: AccountId,
        interaction: InteractionId,
        only_waiting: bool,
    ) -> Result<(), DispatchError> {
        let i = self.store.interaction(account, interaction).await?;
        match i.state {
            InteractionState::Queued | InteractionState::Offered => {
                let wait = now_millis() - i.arrived_at;
                let details = TransitionDetails {
                    data: json!({"wait_ms": wait}),
                    ..Default::default()
                };
                self.store
                    .transition(
                        account,
                        interaction,
                        InteractionEvent::Abandoned,
                        details,
                        now_millis(),
                    )
                    .await?;
                self.route(account, Input::Abandon { interaction }).await?;
                self.bus.to_chat(interaction, ChatFrame::Ended);
                Ok(())
            }
            InteractionState::Active if !only_waiting => self.end(account, interaction).await,
            InteractionState::Active => Ok(()),
            InteractionState::WrapUp | InteractionState::Closed | InteractionState::Abandoned => Ok(()),
        }
    }

    async fn wrap_up(
        &mut self,
        account: AccountId,
        agent: AgentId,
        interaction: InteractionId,
        disposition: String,
        note: Option<String>,
    ) -> Result<Interaction, DispatchError> {
        let current = self.store.interaction(account, interaction).await?;
        if current.agent_id != Some(agent) {
            return Err(DispatchError::NotYours);
        }
        let was_active = current.state == InteractionState::Active;
        let details = TransitionDetails {
            disposition: Some(disposition.clone()),
            wrap_up_note: note,
            data: json!({"agent_id": agent, "disposition": disposition}),
            ..Default::default()
        };
        let i = self
            .store
            .transition(
                account,
                interaction,
                InteractionEvent::WrappedUp,
                details,
                now_millis(),
            )
            .await?;
        self.unassign(interaction);
        // The router may already have released the slot when the wrap-up time ran out.
        match self.route(account, Input::WrapUpDone { interaction }).await {
            Ok(()) | Err(DispatchError::Router(RouterError::UnknownInteraction(_))) => {}
            Err(e) => return Err(e),
        }
        self.bus.to_agent(
            agent,
            AgentFrame::Updated {
                interaction: i.clone(),
            },
        );
        if was_active {
            self.bus.to_chat(interaction, ChatFrame::Ended);
        }
        Ok(i)
    }

    async fn live(&mut self, account: AccountId) -> Result<(Vec<QueueLive>, Vec<AgentLive>), DispatchError> {
        let now = now_millis();
        let mut queues: Vec<&Queue> = self.queues.values().filter(|q| q.account_id == account).collect();
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
                } = router.queue_stats(q.id);
                QueueLive {
                    id: q.id,
                    name: q.name.clone(),
                    waiting,
                    oldest_wait_ms: oldest_arrived_at.map(|t| now - t),
                    agents_available,
                    agents_staffed,
                    sl_target_secs: q.sl_target_secs,
                }
            })
            .collect();
        let held = {
            let map = self.assignments.read().unwrap_or_else(|p| p.into_inner());
            let mut counts: HashMap<AgentId, usize> = HashMap::new();
            for agent in map.values() {
                *counts.entry(*agent).or_default() += 1;
            }
            counts
        };
        let mut agents: Vec<AgentLive> = self
            .agents
            .iter()
            .filter(|(_, a)| a.account == account)
            .map(|(id, a)| {
                let view = StateView::from(&a.state);
                AgentLive {
                    id: *id,
                    name: a.name.clone(),
                    state: view.state,
                    reason: view.reason,
                    held: held.get(id).copied().unwrap_or(0),
                }
            })
            .collect();
        agents.sort_by(|a, b| a.name.cmp(&b.name));
        Ok((queues, agents))
    }
}
