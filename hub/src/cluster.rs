//! Several nodes on one PostgreSQL and one Redis: the routers run on exactly one node at a time,
//! the one holding the router lease (`lease.rs`); every node takes requests (consoles, widgets,
//! calls) and hands them to the dispatcher through `Node::ask`, which runs them here while this
//! node leads and forwards them to the leader otherwise.
//!
//! Forwarding goes through Redis: a request is pushed onto one list that only the leader takes
//! from, in order, and its answer is published on the asking node's reply channel. A request
//! pushed while no node leads waits in the list for the next leader, and one the leader took
//! waits on its term's in-flight list until answered, so a takeover loses no request: the next
//! leader carries out what its predecessor had taken, except what the store says was carried out
//! already (the commit that carries out a forwarded request records it). One older than
//! `FORWARD_TIMEOUT` when taken is answered "stopped" rather than carried out, since its caller
//! has already given up on it.
//!
//! Taking the lease, the new leader raises the store's fence to its token (so a deposed leader
//! that has not noticed yet cannot commit anything more), restores the agents' presence from
//! Redis, and rebuilds the routers from the store: every waiting contact in its original order.
//! Losing the lease stops the routers at once.
//!
//! Who holds each interaction (what a chat message is routed to) is read on every message; the
//! leader publishes each change of it, and the other nodes keep a mirror that answers without a
//! round trip. The mirror may be behind: what it does not know is asked of the leader, and after
//! a gap in the leader's numbering (or a new leader, or a lost connection) it starts again empty.

use crate::bus::{Bus, RedisSettings};
use crate::dispatcher::{
    Command, DispatchError, Dispatcher, Pipeline, Published, Request, Response, Watching, ask_local,
};
use crate::domain::{AgentId, AgentState, now_millis};
use crate::health::Health;
use crate::lease::{FencingToken, Lease, LeaseTiming, router_key};
use crate::store::{DynStore, StoreError};
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a node waits for the leader's answer; long enough to cover a takeover.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests the leader takes off the list per round trip at most.
const BATCH: usize = 256;
const RETRY: Duration = Duration::from_millis(200);

/// A request on its way to the leader.
#[derive(serde::Serialize, serde::Deserialize)]
struct Forwarded {
    node: String,
    id: u64,
    /// Milliseconds since the epoch after which the asking node no longer waits.
    until: i64,
    request: Request,
}

/// The leader's answer, published on the asking node's reply channel.
#[derive(serde::Serialize, serde::Deserialize)]
struct Answered {
    id: u64,
    result: Result<Response, WireError>,
}

/// A change of who holds or is offered an interaction, or (`None`) of the live figures alone,
/// numbered within the leader's term.
#[derive(serde::Serialize, serde::Deserialize)]
struct Numbered {
    term: u64,
    seq: u64,
    watching: Option<Watching>,
}

/// The leader tells followers' wallboards that the live figures changed at most this often.
const LIVE_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// A `DispatchError` as it crosses nodes.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum WireError {
    Refused(String),
    NotFound,
    Conflict(String),
    NotYours,
    NotACall,
    Stopped,
    Failed(String),
}

impl From<DispatchError> for WireError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Router(e) => WireError::Refused(e.to_string()),
            DispatchError::Refused(m) => WireError::Refused(m),
            DispatchError::Store(StoreError::NotFound) => WireError::NotFound,
            DispatchError::Store(StoreError::Conflict { constraint }) => WireError::Conflict(constraint),
            DispatchError::Store(e @ StoreError::InvalidTransition(_)) => WireError::Refused(e.to_string()),
            DispatchError::Store(StoreError::Deposed { .. }) | DispatchError::Stopped => WireError::Stopped,
            DispatchError::Store(e) => WireError::Failed(e.to_string()),
            DispatchError::NotYours => WireError::NotYours,
            DispatchError::NotACall => WireError::NotACall,
            DispatchError::Failed(m) => WireError::Failed(m),
        }
    }
}

impl From<WireError> for DispatchError {
    fn from(e: WireError) -> Self {
        match e {
            WireError::Refused(m) => DispatchError::Refused(m),
            WireError::NotFound => DispatchError::Store(StoreError::NotFound),
            WireError::Conflict(constraint) => DispatchError::Store(StoreError::Conflict { constraint }),
            WireError::NotYours => DispatchError::NotYours,
            WireError::NotACall => DispatchError::NotACall,
            WireError::Stopped => DispatchError::Stopped,
            WireError::Failed(m) => DispatchError::Failed(m),
        }
    }
}

/// Redis key and channel names.
#[derive(Clone)]
struct Names {
    requests: String,
    /// The set of in-flight lists, one per term (`Serving`).
    inflight: String,
    watching: String,
    presence: String,
    lease: String,
    prefix: String,
}

impl Names {
    fn new(prefix: &str) -> Names {
        Names {
            requests: format!("{prefix}router:requests"),
            inflight: format!("{prefix}router:inflight"),
            watching: format!("{prefix}router:watching"),
            presence: format!("{prefix}router:presence"),
            lease: router_key(prefix),
            prefix: prefix.into(),
        }
    }
    fn replies(&self, node: &str) -> String {
        format!("{}router:replies:{node}", self.prefix)
    }
    /// The requests a term has taken and not yet answered.
    fn inflight(&self, term: FencingToken) -> String {
        format!("{}router:inflight:{}", self.prefix, term.0)
    }
}

/// This node's part in the cluster.
pub(crate) struct Node {
    name: String,
    names: Names,
    conn: ConnectionManager,
    /// The router task, while this node leads.
    leading: RwLock<Option<mpsc::Sender<Command>>>,
    /// Forwarded requests waiting for their answers.
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Response, DispatchError>>>>,
    next: AtomicU64,
    /// The fencing token of this node's term while it leads.
    term: AtomicU64,
}

impl Node {
    /// Whether the routers run here now.
    pub(crate) fn leading(&self) -> bool {
        self.leading.read().unwrap_or_else(|p| p.into_inner()).is_some()
    }

    pub(crate) async fn ask(&self, request: Request) -> Result<Response, DispatchError> {
        let local = self.leading.read().unwrap_or_else(|p| p.into_inner()).clone();
        match local {
            Some(tx) => ask_local(&tx, request).await,
            None => self.forward(request).await,
        }
    }

    async fn forward(&self, request: Request) -> Result<Response, DispatchError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let forwarded = Forwarded {
            node: self.name.clone(),
            id,
            until: now_millis() + FORWARD_TIMEOUT.as_millis() as i64,
            request,
        };
        let json = serde_json::to_vec(&forwarded).map_err(|e| DispatchError::Failed(e.to_string()))?;
        let (tx, rx) = oneshot::channel();
        self.lock_pending().insert(id, tx);
        let mut conn = self.conn.clone();
        let pushed: redis::RedisResult<()> = conn.rpush(&self.names.requests, json).await;
        if let Err(e) = pushed {
            self.lock_pending().remove(&id);
            tracing::warn!(error = %e, "could not forward a request to the leading node");
            return Err(DispatchError::Stopped);
        }
        match tokio::time::timeout(FORWARD_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(DispatchError::Stopped),
            Err(_) => {
                self.lock_pending().remove(&id);
                metrics::counter!("plugboard_cluster_forward_timeouts_total").increment(1);
                Err(DispatchError::Stopped)
            }
        }
    }

    fn lock_pending(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<Result<Response, DispatchError>>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_leading(&self, tx: Option<mpsc::Sender<Command>>) {
        *self.leading.write().unwrap_or_else(|p| p.into_inner()) = tx;
    }
}

/// Joins the cluster: answers for this node's forwarded requests, campaigns for the router lease
/// and runs the routers while it holds it.
pub async fn start(
    settings: RedisSettings,
    store: DynStore,
    bus: Bus,
    health: Health,
) -> anyhow::Result<Dispatcher> {
    let client = redis::Client::open(settings.url.as_str())?;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(3)))
        .set_response_timeout(Some(Duration::from_secs(3)));
    let conn = client.get_connection_manager_with_config(config).await?;
    let names = Names::new(&settings.prefix);
    let node = Arc::new(Node {
        name: settings.node.clone(),
        names,
        conn: conn.clone(),
        leading: RwLock::new(None),
        pending: Mutex::new(HashMap::new()),
        // Numbered on from the start time, so a node started again under its name does not
        // reuse a number an earlier run's requests were recorded under.
        next: AtomicU64::new((now_millis() as u64) << 20),
        term: AtomicU64::new(0),
    });
    let (presence_tx, presence_rx) = mpsc::unbounded_channel();
    let (watching_tx, watching_rx) = mpsc::unbounded_channel();
    let published = Arc::new(Published::new(Some(presence_tx), Some(watching_tx)));
    tokio::spawn(keep_presence(
        conn.clone(),
        node.names.presence.clone(),
        presence_rx,
    ));
    tokio::spawn(share_watching(node.clone(), watching_rx, published.live_watch()));
    let channels = [node.names.replies(&node.name), node.names.watching.clone()];
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&channels).await?;
    let running = health.running("cluster.replies");
    tokio::spawn({
        let (node, client, published) = (node.clone(), client.clone(), published.clone());
        async move {
            let _running = running;
            hear(node, published, client, channels, pubsub).await
        }
    });

    let running = health.running("cluster.leadership");
    let leader = Leadership {
        node: node.clone(),
        client,
        store,
        bus,
        published: published.clone(),
        timing: LeaseTiming::default(),
    };
    tokio::spawn(async move {
        let _running = running;
        leader.run().await
    });
    Ok(Dispatcher::clustered(node, published))
}

/// Hands each answer published on this node's reply channel to the request waiting for it, and
/// keeps the mirror of who holds what while another node leads.
async fn hear(
    node: Arc<Node>,
    published: Arc<Published>,
    client: redis::Client,
    channels: [String; 2],
    first: redis::aio::PubSub,
) {
    let mut pubsub = Some(first);
    loop {
        let mut current = match pubsub.take() {
            Some(p) => p,
            None => match client.get_async_pubsub().await {
                Ok(mut p) => match p.subscribe(&channels).await {
                    Ok(()) => p,
                    Err(e) => {
                        tracing::warn!(error = %e, "subscribing to this node's replies");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "connecting to Redis for this node's replies");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            },
        };
        // Whatever was published while this node was not listening is unknown.
        if !node.leading() {
            published.forget();
        }
        let mut last = (0, 0);
        let mut messages = current.on_message();
        while let Some(message) = messages.next().await {
            if message.get_channel_name() == channels[1] {
                let Ok(numbered) = serde_json::from_slice::<Numbered>(message.get_payload_bytes()) else {
                    tracing::error!("an unreadable change from the leading node");
                    continue;
                };
                if node.leading() {
                    continue;
                }
                if (numbered.term, numbered.seq) != (last.0, last.1 + 1) {
                    published.forget();
                }
                last = (numbered.term, numbered.seq);
                match numbered.watching {
                    Some(watching) => published.mirror(watching),
                    None => published.live_changed(),
                }
                continue;
            }
            let answered: Answered = match serde_json::from_slice(message.get_payload_bytes()) {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "an unreadable answer from the leading node");
                    continue;
                }
            };
            if let Some(waiting) = node.lock_pending().remove(&answered.id) {
                let _ = waiting.send(answered.result.map_err(DispatchError::from));
            }
        }
        // The connection dropped: answers sent meanwhile are lost and their requests time out.
        tracing::warn!("lost the reply channel; reconnecting");
    }
}

/// Publishes each change of who holds what while this node leads, numbered within its term, and
/// that the live figures changed, at most every `LIVE_EVERY`.
async fn share_watching(
    node: Arc<Node>,
    mut rx: mpsc::UnboundedReceiver<Watching>,
    mut live: tokio::sync::watch::Receiver<u64>,
) {
    let mut conn = node.conn.clone();
    let (mut term, mut seq) = (0, 0);
    let mut live_due: Option<tokio::time::Instant> = None;
    let mut live_last = tokio::time::Instant::now();
    loop {
        let watching = tokio::select! {
            watching = rx.recv() => match watching {
                Some(w) => Some(w),
                None => return,
            },
            changed = live.changed(), if live_due.is_none() => {
                if changed.is_err() {
                    return;
                }
                live_due = Some((live_last + LIVE_EVERY).max(tokio::time::Instant::now()));
                continue;
            }
            () = tokio::time::sleep_until(live_due.unwrap_or_else(tokio::time::Instant::now)), if live_due.is_some() => {
                live_due = None;
                live_last = tokio::time::Instant::now();
                None
            }
        };
        if !node.leading() {
            continue;
        }
        let now = node.term.load(Ordering::Relaxed);
        if now != term {
            (term, seq) = (now, 0);
        }
        seq += 1;
        let numbered = Numbered { term, seq, watching };
        let Ok(json) = serde_json::to_vec(&numbered) else {
            continue;
        };
        let sent: redis::RedisResult<()> = conn.publish(&node.names.watching, json).await;
        if let Err(e) = sent {
            // The followers see the gap in the numbering and start their mirrors again.
            tracing::warn!(error = %e, "could not publish who holds an interaction");
        }
    }
}

/// Copies each agent's published presence into a Redis hash, in order, for the next leader.
async fn keep_presence(
    mut conn: ConnectionManager,
    key: String,
    mut rx: mpsc::UnboundedReceiver<(AgentId, AgentState)>,
) {
    while let Some((agent, state)) = rx.recv().await {
        let field = agent.to_string();
        loop {
            let written: redis::RedisResult<()> = if state == AgentState::Offline {
                conn.hdel(&key, &field).await
            } else {
                match serde_json::to_string(&state) {
                    Ok(json) => conn.hset(&key, &field, json).await,
                    Err(_) => Ok(()),
                }
            };
            match written {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "copying an agent's presence to Redis");
                    tokio::time::sleep(RETRY).await;
                }
            }
        }
    }
}

/// The campaign for the router lease and the terms this node leads.
struct Leadership {
    node: Arc<Node>,
    client: redis::Client,
    store: DynStore,
    bus: Bus,
    published: Arc<Published>,
    timing: LeaseTiming,
}

impl Leadership {
    async fn run(self) {
        let mut lease = self.campaign();
        loop {
            let token = lease.acquired().await;
            let started = std::time::Instant::now();
            match self.lead(&mut lease, token).await {
                Ok(()) => tracing::warn!(token = token.0, "this node no longer leads the routers"),
                Err(Refusal::Deposed(current)) => {
                    // The store knows a newer leader than Redis does (Redis lost its counter):
                    // draw a token above it.
                    tracing::warn!(
                        token = token.0,
                        current,
                        "the store knows a newer leader; campaigning again"
                    );
                    lease.raise_floor(FencingToken(current as u64));
                    lease.release().await;
                    lease = self.campaign();
                }
                Err(Refusal::Failed(e)) => {
                    tracing::error!(error = %e, "could not start leading the routers; giving the lease up");
                    lease.release().await;
                    tokio::time::sleep(self.timing.retry_every).await;
                    lease = self.campaign();
                }
            }
            metrics::histogram!("plugboard_cluster_term_seconds").record(started.elapsed().as_secs_f64());
        }
    }

    fn campaign(&self) -> Lease {
        Lease::campaign(
            self.node.conn.clone(),
            self.node.names.lease.clone(),
            self.node.name.clone(),
            self.timing,
        )
    }

    /// One term: fence, rebuild, serve forwarded requests until the lease is lost.
    async fn lead(&self, lease: &mut Lease, token: FencingToken) -> Result<(), Refusal> {
        let fence = token.0 as i64;
        match self.store.fence(fence).await {
            Ok(()) => {}
            Err(StoreError::Deposed { current, .. }) => return Err(Refusal::Deposed(current)),
            Err(e) => return Err(Refusal::Failed(e.to_string())),
        }
        let presence = self
            .presence()
            .await
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        self.published.reset(presence);
        let health = Health::default();
        let pipeline = Pipeline::start(
            self.store.clone(),
            self.bus.clone(),
            health.clone(),
            self.published.clone(),
            Some(fence),
        )
        .await
        .map_err(|e| Refusal::Failed(e.to_string()))?;
        self.node.term.store(token.0, Ordering::Relaxed);
        self.node.set_leading(Some(pipeline.tx.clone()));
        tracing::warn!(token = token.0, node = %self.node.name, "this node leads the routers");
        metrics::counter!("plugboard_cluster_terms_total").increment(1);
        let serving = tokio::spawn(
            Serving {
                client: self.client.clone(),
                conn: self.node.conn.clone(),
                store: self.store.clone(),
                tx: pipeline.tx.clone(),
                inflight: self.node.names.inflight(token),
                names: self.node.names.clone(),
            }
            .run(),
        );
        let stopped = async {
            // A pipeline task that died (it is not restarted mid-term) ends the term, so another
            // node, or this one afresh, rebuilds.
            while health.ready() {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        };
        let result = tokio::select! {
            () = lease.lost() => Ok(()),
            () = stopped => Err(Refusal::Failed("a dispatcher task stopped".into())),
        };
        self.node.set_leading(None);
        serving.abort();
        pipeline.stop();
        self.published.reset(HashMap::new());
        result
    }

    async fn presence(&self) -> redis::RedisResult<HashMap<AgentId, AgentState>> {
        let mut conn = self.node.conn.clone();
        let stored: HashMap<String, String> = conn.hgetall(&self.node.names.presence).await?;
        Ok(stored
            .into_iter()
            .filter_map(|(agent, state)| Some((agent.parse().ok()?, serde_json::from_str(&state).ok()?)))
            .collect())
    }
}

enum Refusal {
    Deposed(i64),
    Failed(String),
}

/// Takes forwarded requests off the list in order and hands them to the router task; each
/// answer is published to the node that asked.
///
/// A request taken is moved, not popped, onto this term's in-flight list, and removed from it
/// once answered, so a leader that dies with requests in hand loses none: the next leader first
/// takes over every earlier term's in-flight list (`TAKE_OVER`), then serves the list as usual.
struct Serving {
    client: redis::Client,
    conn: ConnectionManager,
    store: DynStore,
    tx: mpsc::Sender<Command>,
    names: Names,
    /// This term's in-flight list.
    inflight: String,
}

/// Moves every earlier term's in-flight list, the oldest term's first, to the head of this
/// term's (KEYS[2]) and registers this term's in the set of them (KEYS[1]); returns what this
/// term now holds.
const TAKE_OVER: &str = r"
local lists = redis.call('SMEMBERS', KEYS[1])
local function term(list) return tonumber(string.match(list, '(%d+)$')) or 0 end
table.sort(lists, function(a, b) return term(a) > term(b) end)
for _, list in ipairs(lists) do
  if list ~= KEYS[2] then
    local items = redis.call('LRANGE', list, 0, -1)
    for i = #items, 1, -1 do redis.call('LPUSH', KEYS[2], items[i]) end
    redis.call('DEL', list)
    redis.call('SREM', KEYS[1], list)
  end
end
redis.call('SADD', KEYS[1], KEYS[2])
return redis.call('LRANGE', KEYS[2], 0, -1)
";

/// Moves up to ARGV[1] requests from the head of KEYS[1] to the tail of KEYS[2], in order.
const TAKE: &str = r"
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
end
return items
";

/// How long a forwarded request's record is kept after it was carried out: well past the time
/// its node waits for the answer.
const KEEP_FORWARDED: Duration = Duration::from_secs(60);

impl Serving {
    async fn run(self) {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let mut blocking = None;
        let mut taken_over = false;
        let mut pruned = tokio::time::Instant::now();
        loop {
            let mut link = match blocking.take() {
                Some(link) => link,
                None => match self
                    .client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                {
                    Ok(link) => link,
                    Err(e) => {
                        tracing::warn!(error = %e, "connecting to Redis for forwarded requests");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                },
            };
            if !taken_over {
                let held: redis::RedisResult<Vec<Vec<u8>>> = redis::Script::new(TAKE_OVER)
                    .key(&self.names.inflight)
                    .key(&self.inflight)
                    .invoke_async(&mut link)
                    .await;
                match held {
                    Ok(held) => {
                        if !held.is_empty() {
                            tracing::warn!(
                                requests = held.len(),
                                "taking over requests an earlier leader had not answered"
                            );
                            metrics::counter!("plugboard_cluster_taken_over_total")
                                .increment(held.len() as u64);
                        }
                        for item in held {
                            if !self.serve(item, true).await {
                                return;
                            }
                        }
                        taken_over = true;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "taking over an earlier leader's requests");
                        tokio::time::sleep(RETRY).await;
                        continue;
                    }
                }
            }
            if pruned.elapsed() > KEEP_FORWARDED {
                pruned = tokio::time::Instant::now();
                let store = self.store.clone();
                tokio::spawn(async move {
                    let before = now_millis() - KEEP_FORWARDED.as_millis() as i64;
                    if let Err(e) = store.prune_forwarded(before).await {
                        tracing::warn!(error = %e, "forgetting old forwarded requests");
                    }
                });
            }
            let first: redis::RedisResult<Option<Vec<u8>>> = redis::cmd("BLMOVE")
                .arg(&self.names.requests)
                .arg(&self.inflight)
                .arg("LEFT")
                .arg("RIGHT")
                .arg(1.0)
                .query_async(&mut link)
                .await;
            let mut items = match first {
                Ok(Some(item)) => vec![item],
                Ok(None) => {
                    blocking = Some(link);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "waiting for forwarded requests");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            let more: redis::RedisResult<Vec<Vec<u8>>> = redis::Script::new(TAKE)
                .key(&self.names.requests)
                .key(&self.inflight)
                .arg(BATCH - 1)
                .invoke_async(&mut link)
                .await;
            items.extend(more.unwrap_or_default());
            blocking = Some(link);
            for item in items {
                if !self.serve(item, false).await {
                    return;
                }
            }
        }
    }

    /// Hands one request to the router task and answers it once carried out; `false` once the
    /// router task has stopped. One taken over from an earlier term may have been carried out
    /// already: the store says so, and it is answered without being carried out again.
    async fn serve(&self, item: Vec<u8>, taken_over: bool) -> bool {
        let forwarded: Forwarded = match serde_json::from_slice(&item) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, "an unreadable forwarded request");
                self.done(item);
                return true;
            }
        };
        let channel = self.names.replies(&forwarded.node);
        let id = forwarded.id;
        if forwarded.until < now_millis() {
            // Its caller gave up on it: carrying it out now would surprise everyone.
            metrics::counter!("plugboard_cluster_stale_requests_total").increment(1);
            answer(self.conn.clone(), channel, id, Err(DispatchError::Stopped)).await;
            self.done(item);
            return true;
        }
        if taken_over {
            match self.store.forwarded(&forwarded.node, id).await {
                Ok(true) => {
                    let outcome = carried_out(&self.store, &forwarded.request).await;
                    answer(self.conn.clone(), channel, id, outcome).await;
                    self.done(item);
                    return true;
                }
                Ok(false) => {}
                Err(e) => {
                    // Not known to be carried out: carrying it out could do it twice.
                    tracing::warn!(error = %e, "reading whether a forwarded request was carried out");
                    answer(self.conn.clone(), channel, id, Err(e.into())).await;
                    self.done(item);
                    return true;
                }
            }
        }
        let (reply, answered) = oneshot::channel();
        let command = Command {
            request: forwarded.request,
            reply,
            forwarded: Some((forwarded.node, id)),
        };
        if self.tx.send(command).await.is_err() {
            return false;
        }
        let (conn, inflight, router) = (self.conn.clone(), self.inflight.clone(), self.tx.clone());
        tokio::spawn(async move {
            let outcome = match answered.await {
                // Its commit was fenced, or the term ended before it was carried out: it stays
                // in flight for the next leader.
                Ok(Err(DispatchError::Store(StoreError::Deposed { .. }))) => return,
                Err(_) | Ok(Err(DispatchError::Stopped)) if router.is_closed() => return,
                // Its handler failed and the term goes on: carrying it out again could fail again.
                Err(_) => Err(DispatchError::Stopped),
                Ok(outcome) => outcome,
            };
            answer(conn.clone(), channel, id, outcome).await;
            forget(conn, inflight, item).await;
        });
        true
    }

    /// Takes an answered request off this term's in-flight list.
    fn done(&self, item: Vec<u8>) {
        tokio::spawn(forget(self.conn.clone(), self.inflight.clone(), item));
    }
}

async fn forget(mut conn: ConnectionManager, inflight: String, item: Vec<u8>) {
    let removed: redis::RedisResult<i64> = conn.lrem(&inflight, 1, item).await;
    if let Err(e) = removed {
        tracing::warn!(error = %e, "could not take an answered request off the in-flight list");
    }
}

/// The answer to a request an earlier leader carried out and did not answer: what it answers
/// when carried out, read back from the store.
async fn carried_out(store: &DynStore, request: &Request) -> Result<Response, DispatchError> {
    match request {
        Request::WrapUp(account, _, id, _) => Ok(Response::Interaction(Box::new(
            store.interaction(*account, *id).await?,
        ))),
        _ => Ok(Response::Done),
    }
}

async fn answer(
    mut conn: ConnectionManager,
    channel: String,
    id: u64,
    outcome: Result<Response, DispatchError>,
) {
    let answered = Answered {
        id,
        result: outcome.map_err(WireError::from),
    };
    match serde_json::to_vec(&answered) {
        Ok(json) => {
            let sent: redis::RedisResult<()> = conn.publish(&channel, json).await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, "could not answer a forwarded request");
            }
        }
        Err(e) => tracing::error!(error = %e, "could not serialise an answer"),
    }
}

#[cfg(test)]
mod tests {
    //! Two nodes in one process on one real Redis (`PLUGBOARD_TEST_REDIS`) and one store, each
    //! with its own Redis connections, as two hub processes would have.

    use super::*;
    use crate::dispatcher::LogLine;
    use crate::dispatcher::tests::{new_chat, site};
    use crate::domain::{AccountId, Interaction, InteractionId};
    use crate::store::Write;
    use crate::test_redis::TestRedis;

    const TAKEOVER: Duration = Duration::from_secs(5);

    async fn node(redis: &TestRedis, url: String, name: &str, store: &DynStore) -> Dispatcher {
        let settings = RedisSettings {
            url,
            ..redis.settings(name)
        };
        let bus = Bus::redis(settings.clone()).await.expect("the bus");
        start(settings, store.clone(), bus, Health::default())
            .await
            .expect("joining")
    }

    async fn until(what: &str, within: Duration, check: impl Fn() -> bool) -> Duration {
        let started = tokio::time::Instant::now();
        while !check() {
            assert!(started.elapsed() < within, "not {what} within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        started.elapsed()
    }

    /// A follower answers who holds a chat from its mirror of the leader's, and follows its
    /// changes: an accepted chat, then one ended and wrapped up.
    #[tokio::test]
    async fn a_follower_mirrors_who_holds_each_chat() {
        let Some(redis) = TestRedis::get() else { return };
        let site = site().await;
        let (store, account, bob) = (site.store.clone(), AccountId::DEFAULT, site.agent);
        let a = node(&redis, redis.url.clone(), "node-a", &store).await;
        until("node a leads", TAKEOVER, || a.router() == "here").await;
        let b = node(&redis, redis.url.clone(), "node-b", &store).await;

        b.set_state(account, bob, AgentState::Available).await.unwrap();
        let chat = new_chat(&site).queued();
        let id = chat.id;
        b.open(account, chat).await.unwrap();
        b.accept(account, bob, id).await.unwrap();
        until("node b's mirror has bob holding it", TAKEOVER, || {
            b.mirrored(id) == Some(bob)
        })
        .await;
        assert_eq!(b.holder(id).await, Some(bob));
        b.end(account, bob, id).await.unwrap();
        until("node b's mirror lets go of it", TAKEOVER, || {
            b.mirrored(id).is_none()
        })
        .await;
        assert_eq!(b.holder(id).await, None);
    }

    /// The leader loses Redis but not the store: within 5 s the other node leads, with every
    /// queued contact in its place; the old leader stops routing, and what it would still have
    /// committed under its old token is refused by the store.
    #[tokio::test]
    async fn a_leader_cut_off_from_redis_is_replaced_and_its_late_writes_are_fenced() {
        let Some(redis) = TestRedis::get() else { return };
        let site = site().await;
        let (store, account) = (site.store.clone(), AccountId::DEFAULT);
        let chat = || new_chat(&site).queued();

        let a = node(&redis, redis.user("node-a").await, "node-a", &store).await;
        until("node a leads", TAKEOVER, || a.router() == "here").await;
        let b = node(&redis, redis.url.clone(), "node-b", &store).await;
        assert_eq!(b.router(), "elsewhere");

        // Five chats arrive on node b and are routed by node a, in order.
        let mut order: Vec<InteractionId> = Vec::new();
        for _ in 0..5 {
            let i: Interaction = chat();
            order.push(i.id);
            b.open(account, i).await.expect("forwarded to the leader");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let positions = b.positions(account).await.unwrap();
        let mut by_place: Vec<(usize, InteractionId)> = positions.iter().map(|(i, p)| (*p, *i)).collect();
        by_place.sort();
        assert_eq!(by_place.into_iter().map(|(_, i)| i).collect::<Vec<_>>(), order);

        // Node a is cut off from Redis (and refused if it tries again); the store still answers it.
        redis.acl("node-a", &["off"]).await;
        redis.kill("node-a").await;
        let took = until("node b leads", TAKEOVER, || b.router() == "here").await;
        until("node a stops leading", TAKEOVER, || a.router() == "elsewhere").await;
        eprintln!("node b led {} ms after node a was cut off", took.as_millis());

        // Node b has every queued chat, in its original order.
        let positions = b.positions(account).await.unwrap();
        let mut by_place: Vec<(usize, InteractionId)> = positions.iter().map(|(i, p)| (*p, *i)).collect();
        by_place.sort();
        assert_eq!(by_place.into_iter().map(|(_, i)| i).collect::<Vec<_>>(), order);

        // Node a no longer routes: it can only forward, and cannot reach Redis.
        assert!(a.open(account, chat()).await.is_err());

        // A deposed leader that had not noticed (paused between its last renewal and a commit)
        // writes with its old token, 1: the store refuses, and nothing it decided is told.
        let stale = Pipeline::start(
            store.clone(),
            Bus::default(),
            Health::default(),
            Arc::new(Published::default()),
            Some(1),
        )
        .await
        .unwrap();
        let late = chat();
        let late_id = late.id;
        let refused = ask_local(&stale.tx, Request::Arrive(account, late, true, None)).await;
        assert!(
            refused.is_err(),
            "a deposed leader's write was accepted: {refused:?}"
        );
        stale.stop();
        assert!(matches!(
            store.interaction(account, late_id).await,
            Err(StoreError::NotFound)
        ));
        // The new leader still serves.
        b.open(account, chat()).await.expect("the new leader routes");
    }

    /// A leader that dies with forwarded requests in hand (taken off the list, handed to its
    /// router task, not answered) loses none of them: the next leader carries out the one it had
    /// not carried out, answers the one it had without doing it twice, and answers one whose
    /// caller gave up "stopped" without doing it at all.
    #[tokio::test]
    async fn requests_a_dead_leader_had_taken_are_answered_by_the_next_and_carried_out_once() {
        let Some(redis) = TestRedis::get() else { return };
        let site = site().await;
        let (store, account) = (site.store.clone(), AccountId::DEFAULT);
        let names = Names::new(&redis.prefix);
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let conn = client.get_connection_manager().await.unwrap();
        let chat = new_chat(&site).queued();
        let open = Write::Open {
            account,
            interaction: chat.clone(),
        };
        store.commit(None, &[open]).await.unwrap();
        let line = |kind: &'static str| LogLine {
            kind: kind.into(),
            data: serde_json::json!({}),
        };
        let asked = |id, until, kind| {
            let request = Request::Log(account, chat.id, line(kind));
            let node = "node-asking".to_string();
            serde_json::to_vec(&Forwarded {
                node,
                id,
                until,
                request,
            })
            .unwrap()
        };
        let waiting = now_millis() + 30_000;
        let mut answers = client.get_async_pubsub().await.unwrap();
        answers.subscribe(names.replies("node-asking")).await.unwrap();
        let _: () = conn
            .clone()
            .rpush(
                &names.requests,
                vec![asked(1, waiting, "test.done"), asked(2, waiting, "test.not_yet")],
            )
            .await
            .unwrap();

        // The dying leader takes both and hands them to its router task, which carries out the
        // first (its commit records it) and dies before answering either.
        let (tx, mut router) = mpsc::channel(8);
        let dying = tokio::spawn(
            Serving {
                client: client.clone(),
                conn: conn.clone(),
                store: store.clone(),
                tx,
                inflight: names.inflight(FencingToken(0)),
                names: names.clone(),
            }
            .run(),
        );
        let (first, second) = (router.recv().await.unwrap(), router.recv().await.unwrap());
        assert_eq!(first.forwarded, Some(("node-asking".into(), 1)));
        let Request::Log(_, _, done) = first.request else {
            panic!("not the first request")
        };
        let carried_out = [
            Write::Log {
                account,
                id: chat.id,
                kind: done.kind,
                data: done.data,
                at: now_millis(),
            },
            Write::Forwarded {
                node: "node-asking".into(),
                id: 1,
                at: now_millis(),
            },
        ];
        store.commit(None, &carried_out).await.unwrap();
        dying.abort();
        drop((first.reply, second, router));
        // A third it had taken when its caller was still waiting; by now the caller gave up.
        let _: () = conn
            .clone()
            .rpush(
                names.inflight(FencingToken(0)),
                asked(3, now_millis() - 1, "test.stale"),
            )
            .await
            .unwrap();

        let next = node(&redis, redis.url.clone(), "node-next", &store).await;
        until("the next node leads", TAKEOVER, || next.router() == "here").await;
        let mut heard = HashMap::new();
        let mut messages = answers.on_message();
        while heard.len() < 3 {
            let message = tokio::time::timeout(TAKEOVER, messages.next())
                .await
                .expect("every request answered")
                .unwrap();
            let answered: Answered = serde_json::from_slice(message.get_payload_bytes()).unwrap();
            heard.insert(answered.id, answered.result);
        }
        assert!(matches!(heard[&1], Ok(Response::Done)), "{:?}", heard[&1]);
        assert!(matches!(heard[&2], Ok(Response::Done)), "{:?}", heard[&2]);
        assert!(matches!(heard[&3], Err(WireError::Stopped)), "{:?}", heard[&3]);

        let logged: Vec<String> = store
            .events(account, chat.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .filter(|k| k.starts_with("test."))
            .collect();
        assert_eq!(logged, ["test.done", "test.not_yet"]);
        // Nothing is left in flight, and the dead term's list is gone.
        let mut conn = conn.clone();
        let lists: Vec<String> = conn.smembers(&names.inflight).await.unwrap();
        assert_eq!(lists.len(), 1, "{lists:?}");
        assert_ne!(lists[0], names.inflight(FencingToken(0)));
        let left = async {
            loop {
                let n: usize = conn.clone().llen(&lists[0]).await.unwrap();
                if n == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(TAKEOVER, left)
            .await
            .expect("answered requests leave the in-flight list");
    }

    /// A request whose handler fails while the term goes on (the router task rebuilt after a
    /// panic) is answered "stopped" at once and leaves the in-flight list, instead of waiting
    /// there, unanswered, for a takeover.
    #[tokio::test]
    async fn a_request_whose_handler_failed_is_answered_stopped_and_not_kept() {
        let Some(redis) = TestRedis::get() else { return };
        let site = site().await;
        let names = Names::new(&redis.prefix);
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let mut conn = client.get_connection_manager().await.unwrap();
        let mut answers = client.get_async_pubsub().await.unwrap();
        answers.subscribe(names.replies("node-asking")).await.unwrap();
        let asked = Forwarded {
            node: "node-asking".into(),
            id: 7,
            until: now_millis() + 30_000,
            request: Request::Positions(AccountId::DEFAULT),
        };
        let _: () = conn
            .rpush(&names.requests, serde_json::to_vec(&asked).unwrap())
            .await
            .unwrap();
        let (tx, mut router) = mpsc::channel(8);
        let inflight = names.inflight(FencingToken(3));
        let serving = tokio::spawn(
            Serving {
                client: client.clone(),
                conn: conn.clone(),
                store: site.store.clone(),
                tx,
                inflight: inflight.clone(),
                names: names.clone(),
            }
            .run(),
        );
        // Its handler panics: the reply goes, the router task lives on.
        drop(router.recv().await.unwrap().reply);
        let message = tokio::time::timeout(TAKEOVER, answers.on_message().next())
            .await
            .expect("answered")
            .unwrap();
        let answered: Answered = serde_json::from_slice(message.get_payload_bytes()).unwrap();
        assert_eq!(answered.id, 7);
        assert!(
            matches!(answered.result, Err(WireError::Stopped)),
            "{:?}",
            answered.result
        );
        until("it leaves the in-flight list", TAKEOVER, || {
            redis::Client::open(redis.url.as_str())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("LLEN").arg(&inflight).query::<usize>(&mut c))
                .is_ok_and(|n| n == 0)
        })
        .await;
        serving.abort();
        drop(router);
    }
}
