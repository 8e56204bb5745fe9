//! Fan-out of live events, keyed by who they are for: one agent's consoles (every open tab), one
//! chat conversation's widget, or one channel's connector. In-process for a single node.
//!
//! A websocket subscriber that falls behind by more than `BUFFER` frames is dropped rather than
//! allowed to hold memory; its socket closes and the client reconnects and resynchronises from the
//! store. A connector is in-process and must hear everything, so its buffer is far larger.

pub mod frames;

pub use frames::{AgentFrame, ChatFrame, ConnectorFrame};

use crate::domain::{AgentId, Channel, InteractionId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

const BUFFER: usize = 256;
/// A connector's backlog: a burst of calls at a thousand a second fits many times over.
const CONNECTOR_BUFFER: usize = 1 << 16;

#[derive(Clone)]
pub struct Bus {
    agents: Arc<Topic<AgentId, AgentFrame>>,
    chats: Arc<Topic<InteractionId, ChatFrame>>,
    connectors: Arc<Topic<Channel, ConnectorFrame>>,
}

impl Default for Bus {
    fn default() -> Self {
        Bus {
            agents: Arc::new(Topic::new(BUFFER)),
            chats: Arc::new(Topic::new(BUFFER)),
            connectors: Arc::new(Topic::new(CONNECTOR_BUFFER)),
        }
    }
}

impl Bus {
    pub fn subscribe_connector(&self, channel: Channel) -> Subscription<Channel, ConnectorFrame> {
        Topic::subscribe(&self.connectors, channel)
    }
    pub fn to_connector(&self, channel: Channel, frame: ConnectorFrame) {
        self.connectors.publish(&channel, frame);
    }
    pub fn subscribe_agent(&self, agent: AgentId) -> Subscription<AgentId, AgentFrame> {
        Topic::subscribe(&self.agents, agent)
    }
    pub fn subscribe_chat(&self, interaction: InteractionId) -> Subscription<InteractionId, ChatFrame> {
        Topic::subscribe(&self.chats, interaction)
    }
    pub fn to_agent(&self, agent: AgentId, frame: AgentFrame) {
        self.agents.publish(&agent, frame);
    }
    pub fn to_chat(&self, interaction: InteractionId, frame: ChatFrame) {
        self.chats.publish(&interaction, frame);
    }
    /// Widgets open on a conversation right now.
    pub fn chat_sessions(&self, interaction: InteractionId) -> usize {
        self.chats.count(&interaction)
    }
    /// Consoles an agent has open right now.
    pub fn agent_sessions(&self, agent: AgentId) -> usize {
        self.agents.count(&agent)
    }
}

/// Every open subscription of every key, each with its id so it can remove itself.
type Subscribers<K, V> = HashMap<K, Vec<(u64, mpsc::Sender<Arc<V>>)>>;

struct Topic<K, V> {
    subscribers: Mutex<Subscribers<K, V>>,
    next_id: AtomicU64,
    buffer: usize,
}

impl<K: Hash + Eq + Copy, V> Topic<K, V> {
    fn new(buffer: usize) -> Self {
        Topic {
            subscribers: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            buffer,
        }
    }

    fn subscribe(this: &Arc<Self>, key: K) -> Subscription<K, V> {
        let (tx, rx) = mpsc::channel(this.buffer);
        let id = this.next_id.fetch_add(1, Ordering::Relaxed);
        this.lock().entry(key).or_default().push((id, tx));
        Subscription {
            rx,
            topic: this.clone(),
            key,
            id,
        }
    }

    fn publish(&self, key: &K, frame: V) {
        let frame = Arc::new(frame);
        let mut map = self.lock();
        if let Some(subs) = map.get_mut(key) {
            // A full or closed channel drops that subscriber only.
            subs.retain(|(_, tx)| tx.try_send(frame.clone()).is_ok());
            if subs.is_empty() {
                map.remove(key);
            }
        }
    }

    fn count(&self, key: &K) -> usize {
        self.lock().get(key).map_or(0, |subs| subs.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Subscribers<K, V>> {
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A live subscription; dropping it unsubscribes.
pub struct Subscription<K: Hash + Eq + Copy, V> {
    pub rx: mpsc::Receiver<Arc<V>>,
    topic: Arc<Topic<K, V>>,
    key: K,
    id: u64,
}

impl<K: Hash + Eq + Copy, V> Drop for Subscription<K, V> {
    fn drop(&mut self) {
        let mut map = self.topic.lock();
        if let Some(subs) = map.get_mut(&self.key) {
            subs.retain(|(id, _)| *id != self.id);
            if subs.is_empty() {
                map.remove(&self.key);
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
}
