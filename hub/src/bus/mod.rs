//! Fan-out of live events, keyed by who they are for: one agent's consoles (every open tab), one
//! chat conversation's widget, or one channel's connector. In-process on a single node; with
//! `redis_url` set, through Redis pub/sub (`redis.rs`), so a frame published on any node reaches
//! the subscribers of its key on every node, and each node hears only the keys its own
//! subscribers want.
//!
//! A websocket subscriber that falls behind by more than `BUFFER` frames is dropped rather than
//! allowed to hold memory; its socket closes and the client reconnects and resynchronises from the
//! store. With Redis the same happens to every local subscriber of a key whose frames this node
//! may have missed: a gap in the key's sequence numbers, or a Redis connection that dropped.
//! A connector must hear everything, so its subscription is never dropped: its queue is unbounded
//! and its backlog is the `plugboard_bus_connector_backlog` gauge.

#[cfg(test)]
mod across_nodes;
pub mod frames;
mod presence;
mod redis;
mod sequence;

pub use frames::{AgentFrame, ChatFrame, ConnectorFrame};
pub use redis::RedisSettings;

use crate::domain::{AgentId, Channel, Interaction, InteractionId, Message};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{mpsc, oneshot};

const BUFFER: usize = 256;

#[derive(Clone)]
pub struct Bus {
    agents: Arc<Topic<AgentId, AgentFrame>>,
    chats: Arc<Topic<InteractionId, ChatFrame>>,
    /// Supervisors watching a conversation read-only: its messages as they come.
    watchers: Arc<Topic<InteractionId, AgentFrame>>,
    connectors: Arc<Topic<Channel, ConnectorFrame>>,
    /// Carries no frames: a node subscribes to a call's key while it holds the call's media, so
    /// every node can tell a live call from one whose node died.
    calls: Arc<Topic<InteractionId, ()>>,
    /// Unset: in-process, a single node.
    redis: Option<Arc<redis::Link>>,
}

impl Default for Bus {
    /// The in-process bus of a single node.
    fn default() -> Self {
        Bus {
            agents: Arc::new(Topic::new("agent", Queue::Bounded(BUFFER))),
            chats: Arc::new(Topic::new("chat", Queue::Bounded(BUFFER))),
            watchers: Arc::new(Topic::new("watch", Queue::Bounded(BUFFER))),
            connectors: Arc::new(Topic::new("connector", Queue::Unbounded)),
            calls: Arc::new(Topic::new("call", Queue::Bounded(1))),
            redis: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("connecting to Redis: {0}")]
    Redis(#[from] ::redis::RedisError),
}

impl Bus {
    /// A bus shared by every node using the same Redis. Fails if Redis cannot be reached now;
    /// afterwards a lost connection is retried for ever (subscribers resynchronise meanwhile).
    pub async fn redis(settings: RedisSettings) -> Result<Bus, BusError> {
        let mut bus = Bus::default();
        let link = redis::Link::start(
            settings,
            [
                bus.agents.clone() as Arc<dyn Fanout>,
                bus.chats.clone(),
                bus.watchers.clone(),
                bus.connectors.clone(),
                bus.calls.clone(),
            ],
        )
        .await?;
        bus.redis = Some(Arc::new(link));
        Ok(bus)
    }

    pub fn subscribe_connector(&self, channel: Channel) -> Subscription<Channel, ConnectorFrame> {
        Topic::subscribe(&self.connectors, channel)
    }
    pub fn to_connector(&self, channel: Channel, frame: ConnectorFrame) {
        self.publish(&self.connectors, channel, frame);
    }
    pub fn subscribe_agent(&self, agent: AgentId) -> Subscription<AgentId, AgentFrame> {
        Topic::subscribe(&self.agents, agent)
    }
    pub fn subscribe_chat(&self, interaction: InteractionId) -> Subscription<InteractionId, ChatFrame> {
        Topic::subscribe(&self.chats, interaction)
    }
    pub fn to_agent(&self, agent: AgentId, frame: AgentFrame) {
        self.publish(&self.agents, agent, frame);
    }
    pub fn to_chat(&self, interaction: InteractionId, frame: ChatFrame) {
        self.publish(&self.chats, interaction, frame);
    }
    /// Hears an interaction's messages as a supervisor watching it (`watched.message`).
    pub fn subscribe_watch(&self, interaction: InteractionId) -> Subscription<InteractionId, AgentFrame> {
        Topic::subscribe(&self.watchers, interaction)
    }
    /// A message as it now is (new, or with its delivery or files), to the agent whose console
    /// shows its interaction, if any, and to whoever watches the interaction (only published
    /// when someone does, so an unwatched chat costs nothing more).
    pub fn to_agent_and_watchers(&self, agent: Option<AgentId>, message: Message) {
        if self.sessions(&self.watchers, message.interaction_id) > 0 {
            let frame = AgentFrame::WatchedMessage {
                message: message.clone(),
            };
            self.publish(&self.watchers, message.interaction_id, frame);
        }
        if let Some(agent) = agent {
            self.to_agent(agent, AgentFrame::Message { message });
        }
    }
    /// An interaction as it now is, to whoever watches it (only published when someone does).
    pub fn to_watchers(&self, interaction: &Interaction) {
        if self.sessions(&self.watchers, interaction.id) > 0 {
            let frame = AgentFrame::WatchedUpdated {
                interaction: interaction.clone(),
            };
            self.publish(&self.watchers, interaction.id, frame);
        }
    }
    /// Widgets open on a conversation right now, on every node.
    pub fn chat_sessions(&self, interaction: InteractionId) -> usize {
        self.sessions(&self.chats, interaction)
    }
    /// Marks this node as holding the call's media for as long as the answer is kept.
    pub fn hold_call(&self, interaction: InteractionId) -> Subscription<InteractionId, ()> {
        Topic::subscribe(&self.calls, interaction)
    }
    /// Nodes holding the call's media right now (as last announced: a node that died counts
    /// until its presence expires).
    pub fn call_nodes(&self, interaction: InteractionId) -> usize {
        self.sessions(&self.calls, interaction)
    }
    /// Whether other nodes share this bus (Redis).
    pub fn shared(&self) -> bool {
        self.redis.is_some()
    }
    /// Consoles an agent has open right now, on every node.
    pub fn agent_sessions(&self, agent: AgentId) -> usize {
        self.sessions(&self.agents, agent)
    }

    fn publish<K: Key, V: Serialize + DeserializeOwned + Send + Sync + 'static>(
        &self,
        topic: &Arc<Topic<K, V>>,
        key: K,
        frame: V,
    ) {
        match &self.redis {
            // Even this node's own subscribers hear it back from Redis, so every node sees one
            // order per key and the sequence numbers have no holes.
            Some(link) => link.publish(topic.name, &key.to_wire(), topic.durable(), &frame),
            None => topic.deliver(&key, Arc::new(frame)),
        }
    }

    /// This node's subscribers, plus the other nodes' as last announced through Redis.
    fn sessions<K: Key, V>(&self, topic: &Topic<K, V>, key: K) -> usize {
        let remote = match &self.redis {
            Some(link) => link.remote_sessions(topic.name, &key.to_wire()),
            None => 0,
        };
        topic.count(&key) + remote
    }
}

/// A topic's key as it is written in Redis channel names and presence entries.
pub trait Key: Hash + Eq + Copy + Send + Sync + 'static {
    fn to_wire(&self) -> String;
    fn from_wire(s: &str) -> Option<Self>;
}

impl Key for AgentId {
    fn to_wire(&self) -> String {
        self.to_string()
    }
    fn from_wire(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Key for InteractionId {
    fn to_wire(&self) -> String {
        self.to_string()
    }
    fn from_wire(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

impl Key for Channel {
    fn to_wire(&self) -> String {
        self.as_str().to_string()
    }
    fn from_wire(s: &str) -> Option<Self> {
        Channel::parse(s)
    }
}

/// How a topic queues frames for each subscriber.
#[derive(Debug, Clone, Copy)]
enum Queue {
    /// At most this many; a subscriber whose queue is full is dropped.
    Bounded(usize),
    /// Never full, never dropped (connectors).
    Unbounded,
}

enum Tx<V> {
    Bounded(mpsc::Sender<Arc<V>>),
    Unbounded(mpsc::UnboundedSender<Arc<V>>, metrics::Gauge),
}

impl<V> Tx<V> {
    /// False when the subscriber must go: its queue is full or it hung up.
    fn send(&self, frame: Arc<V>) -> bool {
        match self {
            Tx::Bounded(tx) => tx.try_send(frame).is_ok(),
            Tx::Unbounded(tx, backlog) => {
                let sent = tx.send(frame).is_ok();
                if sent {
                    backlog.increment(1.0);
                }
                sent
            }
        }
    }
}

/// The receiving end of a subscription: `recv` yields the key's frames in order, and `None` once
/// the subscription was dropped for falling behind or for a gap (resynchronise from the store).
pub struct Receiver<V> {
    inner: Rx<V>,
}

enum Rx<V> {
    Bounded(mpsc::Receiver<Arc<V>>),
    Unbounded(mpsc::UnboundedReceiver<Arc<V>>, metrics::Gauge),
}

impl<V> Receiver<V> {
    pub async fn recv(&mut self) -> Option<Arc<V>> {
        match &mut self.inner {
            Rx::Bounded(rx) => rx.recv().await,
            Rx::Unbounded(rx, backlog) => {
                let frame = rx.recv().await;
                if frame.is_some() {
                    backlog.decrement(1.0);
                }
                frame
            }
        }
    }

    /// Frames waiting to be read.
    pub fn len(&self) -> usize {
        match &self.inner {
            Rx::Bounded(rx) => rx.len(),
            Rx::Unbounded(rx, _) => rx.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn try_recv(&mut self) -> Result<Arc<V>, mpsc::error::TryRecvError> {
        match &mut self.inner {
            Rx::Bounded(rx) => rx.try_recv(),
            Rx::Unbounded(rx, backlog) => {
                let frame = rx.try_recv();
                if frame.is_ok() {
                    backlog.decrement(1.0);
                }
                frame
            }
        }
    }
}

impl<V> Drop for Receiver<V> {
    fn drop(&mut self) {
        if let Rx::Unbounded(rx, backlog) = &self.inner {
            backlog.decrement(rx.len() as f64);
        }
    }
}

/// One key's subscribers on this node.
struct Entry<V> {
    subscribers: Vec<(u64, Tx<V>)>,
    /// With Redis: this node's Redis subscription to the key is confirmed, so a frame published
    /// anywhere from now on reaches these subscribers. Always true in-process.
    live: bool,
    /// `Subscription::ready` calls waiting for `live`.
    waiting: Vec<oneshot::Sender<()>>,
}

type Entries<K, V> = HashMap<K, Entry<V>>;

struct Topic<K, V> {
    /// `agent`, `chat` or `connector`: the middle of its Redis channel names.
    name: &'static str,
    queue: Queue,
    entries: Mutex<Entries<K, V>>,
    next_id: AtomicU64,
    /// With Redis: told the key whenever its count of local subscribers changes.
    changes: OnceLock<Vec<mpsc::UnboundedSender<redis::Change>>>,
}

impl<K: Key, V> Topic<K, V> {
    fn new(name: &'static str, queue: Queue) -> Self {
        Topic {
            name,
            queue,
            entries: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            changes: OnceLock::new(),
        }
    }

    fn durable(&self) -> bool {
        matches!(self.queue, Queue::Unbounded)
    }

    fn subscribe(this: &Arc<Self>, key: K) -> Subscription<K, V> {
        let id = this.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = match this.queue {
            Queue::Bounded(n) => {
                let (tx, rx) = mpsc::channel(n);
                (Tx::Bounded(tx), Rx::Bounded(rx))
            }
            Queue::Unbounded => {
                let (tx, rx) = mpsc::unbounded_channel();
                let backlog = metrics::gauge!("plugboard_bus_connector_backlog", "channel" => key.to_wire());
                (Tx::Unbounded(tx, backlog.clone()), Rx::Unbounded(rx, backlog))
            }
        };
        let linked = this.changes.get().is_some();
        let mut entries = this.lock();
        let entry = entries.entry(key).or_insert_with(|| Entry {
            subscribers: Vec::new(),
            live: !linked,
            waiting: Vec::new(),
        });
        entry.subscribers.push((id, tx));
        let ready = (!entry.live).then(|| {
            let (tx, rx) = oneshot::channel();
            entry.waiting.push(tx);
            rx
        });
        this.changed(&key);
        drop(entries);
        Subscription {
            rx: Receiver { inner: rx },
            ready,
            topic: this.clone(),
            key,
            id,
        }
    }

    /// Hands a frame to every local subscriber of the key; a full or closed queue drops that
    /// subscriber only.
    fn deliver(&self, key: &K, frame: Arc<V>) {
        let mut entries = self.lock();
        if let Some(entry) = entries.get_mut(key) {
            let before = entry.subscribers.len();
            entry.subscribers.retain(|(_, tx)| tx.send(frame.clone()));
            if entry.subscribers.len() != before {
                if entry.subscribers.is_empty() {
                    entries.remove(key);
                }
                self.changed(key);
            }
        }
    }

    fn count(&self, key: &K) -> usize {
        self.lock().get(key).map_or(0, |e| e.subscribers.len())
    }

    /// Tells the Redis link (if any) that the key's local subscribers changed. Called with the
    /// lock held, so the link hears changes in the order they happened.
    fn changed(&self, key: &K) {
        if let Some(changes) = self.changes.get() {
            for tx in changes {
                let _ = tx.send(redis::Change {
                    topic: self.name,
                    key: key.to_wire(),
                });
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<K, V>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the Redis link needs from a topic, whatever its key and frame types.
trait Fanout: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Never dropped (connectors): a gap is counted and logged instead.
    fn durable(&self) -> bool;
    /// Connects the topic to the link: from now on every change of a key's local subscribers
    /// is sent to each of these, and new subscribers wait for the key to go live.
    fn link(&self, changes: Vec<mpsc::UnboundedSender<redis::Change>>);
    fn count(&self, key: &str) -> usize;
    /// Keys with local subscribers.
    fn keys(&self) -> Vec<String>;
    /// Decodes a frame from Redis and hands it to the key's local subscribers.
    fn deliver(&self, key: &str, json: &[u8]) -> Result<(), serde_json::Error>;
    /// This node hears every frame of the key from now on.
    fn go_live(&self, key: &str);
    /// This node may have missed frames of the key: its local subscribers must resynchronise.
    /// Durable topics keep theirs.
    fn resync(&self, key: &str);
    /// The connection to Redis dropped: every key must be subscribed again, and every
    /// non-durable subscriber resynchronises.
    fn offline(&self);
}

impl<K: Key, V: DeserializeOwned + Send + Sync + 'static> Fanout for Topic<K, V> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn durable(&self) -> bool {
        Topic::durable(self)
    }

    fn link(&self, changes: Vec<mpsc::UnboundedSender<redis::Change>>) {
        let _ = self.changes.set(changes);
        for entry in self.lock().values_mut() {
            entry.live = false;
        }
    }

    fn count(&self, key: &str) -> usize {
        K::from_wire(key).map_or(0, |k| Topic::count(self, &k))
    }

    fn keys(&self) -> Vec<String> {
        self.lock().keys().map(Key::to_wire).collect()
    }

    fn deliver(&self, key: &str, json: &[u8]) -> Result<(), serde_json::Error> {
        let Some(key) = K::from_wire(key) else {
            return Ok(());
        };
        let frame: V = serde_json::from_slice(json)?;
        Topic::deliver(self, &key, Arc::new(frame));
        Ok(())
    }

    fn go_live(&self, key: &str) {
        let Some(key) = K::from_wire(key) else { return };
        if let Some(entry) = self.lock().get_mut(&key) {
            entry.live = true;
            for waiter in entry.waiting.drain(..) {
                let _ = waiter.send(());
            }
        }
    }

    fn resync(&self, key: &str) {
        let Some(key) = K::from_wire(key) else { return };
        let mut entries = self.lock();
        if Topic::durable(self) {
            return;
        }
        // Dropping the senders closes every receiver: each socket closes and its client
        // reconnects for a fresh snapshot.
        if entries.remove(&key).is_some() {
            self.changed(&key);
        }
    }

    fn offline(&self) {
        let mut entries = self.lock();
        if Topic::durable(self) {
            for entry in entries.values_mut() {
                entry.live = false;
            }
            return;
        }
        let keys: Vec<K> = entries.keys().copied().collect();
        entries.clear();
        for key in keys {
            self.changed(&key);
        }
    }
}

/// A live subscription; dropping it unsubscribes.
pub struct Subscription<K: Key, V> {
    pub rx: Receiver<V>,
    /// Fires when the key goes live on this node; `None` once it has.
    ready: Option<oneshot::Receiver<()>>,
    topic: Arc<Topic<K, V>>,
    key: K,
    id: u64,
}

impl<K: Key, V> Subscription<K, V> {
    /// Returns once every frame published from now on is sure to arrive (or `rx` to end): at
    /// once in-process; with Redis, when this node's subscription to the key is confirmed, one
    /// round trip after the first local subscriber of the key. A caller that reads a snapshot
    /// after this cannot miss a frame between the two.
    pub async fn ready(&mut self) {
        if let Some(ready) = self.ready.take() {
            // An error means the subscription was dropped meanwhile: `rx` says so.
            let _ = ready.await;
        }
    }
}

impl<K: Key, V> Drop for Subscription<K, V> {
    fn drop(&mut self) {
        let mut entries = self.topic.lock();
        if let Some(entry) = entries.get_mut(&self.key) {
            let before = entry.subscribers.len();
            entry.subscribers.retain(|(id, _)| *id != self.id);
            if entry.subscribers.len() != before {
                if entry.subscribers.is_empty() {
                    entries.remove(&self.key);
                }
                self.topic.changed(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_reach_only_their_key_and_every_tab() {
        let bus = Bus::default();
        let (a, b) = (AgentId::new(), AgentId::new());
        let mut a1 = bus.subscribe_agent(a);
        let mut a2 = bus.subscribe_agent(a);
        let mut b1 = bus.subscribe_agent(b);
        bus.to_agent(
            a,
            AgentFrame::Error {
                code: "x".into(),
                message: "m".into(),
                r#ref: None,
            },
        );
        assert!(a1.rx.recv().await.is_some());
        assert!(a2.rx.recv().await.is_some());
        assert!(b1.rx.try_recv().is_err());
        drop(a1);
        assert_eq!(bus.agent_sessions(a), 1);
        drop(a2);
        assert_eq!(bus.agent_sessions(a), 0);
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_dropped_without_blocking_others() {
        let bus = Bus::default();
        let i = InteractionId::new();
        let slow = bus.subscribe_chat(i);
        let mut fast = bus.subscribe_chat(i);
        for _ in 0..BUFFER + 1 {
            bus.to_chat(i, ChatFrame::Typing { typing: true });
            assert!(fast.rx.recv().await.is_some());
        }
        // The slow one was dropped from the topic when its buffer filled.
        assert_eq!(bus.chats.count(&i), 1);
        drop(slow);
    }

    #[tokio::test]
    async fn a_connector_that_does_not_read_is_never_dropped() {
        let bus = Bus::default();
        let mut voice = bus.subscribe_connector(Channel::Voice);
        let frames = 100 * BUFFER;
        for _ in 0..frames {
            bus.to_connector(
                Channel::Voice,
                ConnectorFrame::Ended {
                    interaction: InteractionId::new(),
                },
            );
        }
        for _ in 0..frames {
            assert!(voice.rx.try_recv().is_ok());
        }
        assert!(voice.rx.try_recv().is_err());
        assert_eq!(bus.connectors.count(&Channel::Voice), 1);
    }
}
