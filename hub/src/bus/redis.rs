//! The bus across nodes, through Redis. Three tasks per node:
//!
//! - the publisher sends each frame with a Lua script that numbers it from the key's counter and
//!   publishes it on the key's channel in one atomic step (`PUBLISH_FRAME`), many frames per
//!   round trip;
//! - the listener holds this node's pub/sub connection: it subscribes to a key's channel when
//!   the key's first local subscriber appears and unsubscribes when its last goes, checks every
//!   frame's number (`sequence.rs`) and hands the frame to the local subscribers;
//! - the presence task writes this node's counts of open consoles and widgets to Redis and keeps
//!   them alive (`presence.rs`).
//!
//! One channel per key rather than one per topic: Redis finds a channel's subscribers in a hash
//! table, so a `PUBLISH` costs the same with ten channels or a million, and a node receives only
//! the frames its own sockets need. With one channel per topic every node would receive and
//! decode every agent's frames to keep one in N.

use super::Fanout;
use super::presence::{self, Announcement, Replica};
use super::sequence::{Feed, Verdict};
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub, PubSubSink};
use ::redis::{Client, RedisError, RedisResult};
use futures_util::StreamExt;
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// `KEYS[1]`: the key's channel, which is also the name of its counter. `ARGV[1]`: the frame as
/// JSON, empty for "frames of this key were lost: resynchronise". `ARGV[2]`: how long an idle
/// counter is kept (ms). Returns the frame's number. Payload on the channel: `<number> <json>`.
const PUBLISH_FRAME: &str = r"
local seq = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[1], seq .. ' ' .. ARGV[1])
return seq
";

/// `KEYS[1]`: this node's presence hash. `ARGV`: field, count, the presence channel, the
/// announcement, the hash's expiry (ms).
const SET_PRESENCE: &str = r"
if ARGV[2] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PUBLISH', ARGV[3], ARGV[4])
";

/// `KEYS[1]`: this node's presence hash. `ARGV`: the presence channel, the announcement, the
/// expiry (ms). Returns whether the hash still exists (it is gone after a Redis restart).
const HEARTBEAT: &str = r"
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return redis.call('EXISTS', KEYS[1])
";

/// A key's counter outlives its last frame by this much; a subscriber idle for longer sees the
/// count start again and resynchronises once.
const COUNTER_KEPT: Duration = Duration::from_secs(24 * 3600);
/// Frames sent in one round trip at most.
const BATCH: usize = 256;
/// Channels subscribed with one command at most.
const SUBSCRIBE_BATCH: usize = 512;
const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);
/// A node not heard from for this long is taken for dead and its sockets for closed.
const PRESENCE_EXPIRY: Duration = Duration::from_secs(10);
/// The pub/sub connection is pinged this often; no answer within `REQUEST_TIMEOUT` counts as a
/// dropped connection (a silent network failure sends no reset).
const PING_EVERY: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// How a node reaches the other nodes' bus.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Put before every Redis key and channel name, so several deployments, or tests, can
    /// share one Redis.
    pub prefix: String,
    /// This node's name in presence entries: unique per running process.
    pub node: String,
}

impl RedisSettings {
    /// The production names (`plugboard:` keys) and a fresh node name.
    pub fn new(url: impl Into<String>) -> RedisSettings {
        RedisSettings {
            url: url.into(),
            prefix: "plugboard:".into(),
            node: uuid::Uuid::now_v7().simple().to_string(),
        }
    }
}

/// A key whose count of local subscribers changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Change {
    pub topic: &'static str,
    pub key: String,
}

/// A frame on its way to Redis.
struct Outgoing {
    channel: String,
    json: Vec<u8>,
    /// A connector's frame: retried until Redis takes it rather than given up.
    durable: bool,
}

/// Redis key and channel names.
#[derive(Debug, Clone)]
struct Names {
    prefix: String,
    node: String,
    presence_channel: String,
}

impl Names {
    fn new(settings: &RedisSettings) -> Names {
        Names {
            prefix: settings.prefix.clone(),
            node: settings.node.clone(),
            presence_channel: format!("{}presence", settings.prefix),
        }
    }

    fn channel(&self, topic: &str, key: &str) -> String {
        format!("{}bus:{topic}:{key}", self.prefix)
    }

    fn presence_hash(&self, node: &str) -> String {
        format!("{}presence:{node}", self.prefix)
    }
}

/// What the tasks share.
struct Shared {
    names: Names,
    topics: [Arc<dyn Fanout>; 5],
    replica: Mutex<Replica>,
}

impl Shared {
    fn topic(&self, name: &str) -> Option<usize> {
        self.topics.iter().position(|t| t.name() == name)
    }

    fn replica(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A node's connection to the shared bus; dropping it stops the tasks.
pub(crate) struct Link {
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<Outgoing>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for Link {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Link {
    pub(crate) async fn start(settings: RedisSettings, topics: [Arc<dyn Fanout>; 5]) -> RedisResult<Link> {
        let client = Client::open(settings.url.as_str())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REQUEST_TIMEOUT))
            .set_response_timeout(Some(REQUEST_TIMEOUT));
        let manager = client.get_connection_manager_with_config(config).await?;
        let pubsub = client.get_async_pubsub().await?;
        let (listen_tx, listen_rx) = mpsc::unbounded_channel();
        let (presence_tx, presence_rx) = mpsc::unbounded_channel();
        for topic in &topics {
            let mut told = vec![listen_tx.clone()];
            if !topic.durable() {
                told.push(presence_tx.clone());
            }
            topic.link(told);
        }
        let shared = Arc::new(Shared {
            names: Names::new(&settings),
            replica: Mutex::new(Replica::new(&settings.node)),
            topics,
        });
        let (out, out_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            tokio::spawn(publisher(manager.clone(), out_rx)).abort_handle(),
            tokio::spawn(listener(
                shared.clone(),
                client,
                manager.clone(),
                listen_rx,
                pubsub,
            ))
            .abort_handle(),
            tokio::spawn(presence_keeper(shared.clone(), manager, presence_rx)).abort_handle(),
        ];
        Ok(Link { shared, out, tasks })
    }

    pub(crate) fn publish<V: Serialize>(&self, topic: &str, key: &str, durable: bool, frame: &V) {
        let json = match serde_json::to_vec(frame) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(error = %e, topic, "could not serialise a frame for the bus");
                return;
            }
        };
        let _ = self.out.send(Outgoing {
            channel: self.shared.names.channel(topic, key),
            json,
            durable,
        });
    }

    pub(crate) fn remote_sessions(&self, topic: &str, key: &str) -> usize {
        self.shared.replica().count(&presence::field(topic, key))
    }
}

fn backoff(now: Duration) -> Duration {
    (now * 2).min(MAX_BACKOFF)
}

/// Sends frames in order, a batch per round trip. A connector's frame that Redis did not take is
/// sent again; an agent's or a chat's is not (it would arrive late and out of place): instead the
/// key is owed a resynchronisation marker, sent as soon as Redis answers again, which makes its
/// subscribers on every node take a fresh snapshot.
async fn publisher(mut conn: ConnectionManager, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let keep = COUNTER_KEPT.as_millis() as u64;
    let mut queue: VecDeque<Outgoing> = VecDeque::new();
    let mut owed: HashSet<String> = HashSet::new();
    let mut wait = MIN_BACKOFF;
    loop {
        if queue.is_empty() && owed.is_empty() {
            match rx.recv().await {
                Some(frame) => queue.push_back(frame),
                None => return,
            }
        }
        while queue.len() < BATCH {
            match rx.try_recv() {
                Ok(frame) => queue.push_back(frame),
                Err(_) => break,
            }
        }
        let markers: Vec<String> = owed.iter().cloned().collect();
        let batch: Vec<Outgoing> = queue.drain(..queue.len().min(BATCH)).collect();
        let mut pipe = ::redis::pipe();
        for channel in &markers {
            pipe.cmd("EVAL")
                .arg(PUBLISH_FRAME)
                .arg(1)
                .arg(channel)
                .arg("")
                .arg(keep)
                .ignore();
        }
        for frame in &batch {
            pipe.cmd("EVAL")
                .arg(PUBLISH_FRAME)
                .arg(1)
                .arg(&frame.channel)
                .arg(&frame.json)
                .arg(keep)
                .ignore();
        }
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => {
                owed.clear();
                wait = MIN_BACKOFF;
                metrics::counter!("plugboard_bus_published_total").increment(batch.len() as u64);
            }
            Err(e) => {
                tracing::warn!(error = %e, frames = batch.len(), "could not publish on Redis");
                metrics::counter!("plugboard_bus_publish_failures_total").increment(1);
                // Retried connector frames go back in front of anything queued since, in order.
                for frame in batch.into_iter().rev() {
                    if frame.durable {
                        queue.push_front(frame);
                    } else {
                        owed.insert(frame.channel);
                    }
                }
                tokio::time::sleep(wait).await;
                wait = backoff(wait);
            }
        }
    }
}

/// A subscribed channel: which topic and key, and where its sequence stands.
struct Subscribed {
    topic: usize,
    key: String,
    feed: Feed,
}

/// Keeps this node's pub/sub connection, reconnecting for ever. Each time it drops, every
/// agent and chat subscriber of this node resynchronises (frames may have been published
/// meanwhile) and connectors are subscribed again.
async fn listener(
    shared: Arc<Shared>,
    client: Client,
    mut conn: ConnectionManager,
    mut changes: mpsc::UnboundedReceiver<Change>,
    first: PubSub,
) {
    let mut connection = Some(first);
    // A connector's last number heard, across connections, to count what an outage lost.
    let mut durable_last: HashMap<String, u64> = HashMap::new();
    let mut wait = MIN_BACKOFF;
    loop {
        let pubsub = match connection.take() {
            Some(pubsub) => Ok(pubsub),
            None => tokio::time::timeout(REQUEST_TIMEOUT, client.get_async_pubsub())
                .await
                .unwrap_or_else(|_| Err(timed_out())),
        };
        let error = match pubsub {
            Ok(pubsub) => {
                let started = Instant::now();
                let e = listen(&shared, pubsub, &mut conn, &mut changes, &mut durable_last).await;
                if started.elapsed() > MAX_BACKOFF {
                    wait = MIN_BACKOFF;
                }
                e
            }
            Err(e) => e,
        };
        tracing::warn!(error = %error, "the bus lost its Redis subscriptions; subscribers resynchronise");
        metrics::counter!("plugboard_bus_disconnects_total").increment(1);
        for topic in &shared.topics {
            topic.offline();
        }
        tokio::time::sleep(wait).await;
        wait = backoff(wait);
    }
}

fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "Redis did not answer in time",
    ))
}

/// One connection's life; returns why it ended.
async fn listen(
    shared: &Shared,
    pubsub: PubSub,
    conn: &mut ConnectionManager,
    changes: &mut mpsc::UnboundedReceiver<Change>,
    durable_last: &mut HashMap<String, u64>,
) -> RedisError {
    let (mut sink, mut stream) = pubsub.split();
    let mut subscribed: HashMap<String, Subscribed> = HashMap::new();
    let start = async {
        sink.subscribe(&shared.names.presence_channel).await?;
        load_presence(shared, conn).await
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, start).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return e,
        Err(_) => return timed_out(),
    }
    // Everything with local subscribers now, and whatever changed while disconnected.
    let mut dirty: HashSet<(usize, String)> = HashSet::new();
    for (i, topic) in shared.topics.iter().enumerate() {
        dirty.extend(topic.keys().into_iter().map(|key| (i, key)));
    }
    // At most one change of subscriptions under way; frames keep being heard meanwhile (a node
    // taking hundreds of calls a second changes its subscriptions hundreds of times a second,
    // and every frame waited behind those round trips when this loop awaited them).
    let mut changing: Option<Subscribing> = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        while let Ok(change) = changes.try_recv() {
            if let Some(i) = shared.topic(change.topic) {
                dirty.insert((i, change.key));
            }
        }
        if changing.is_none() && !dirty.is_empty() {
            let (unwanted, wanted) = reconcile(shared, &mut subscribed, &mut dirty, durable_last);
            if !unwanted.is_empty() || !wanted.is_empty() {
                let work = resubscribe(sink.clone(), conn.clone(), unwanted, wanted);
                changing = Some(Box::pin(tokio::time::timeout(REQUEST_TIMEOUT, work)));
            }
        }
        tokio::select! {
            message = stream.next() => match message {
                Some(message) => heard(shared, &mut subscribed, durable_last, &message),
                None => return RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "the pub/sub connection closed",
                )),
            },
            Some(change) = changes.recv() => if let Some(i) = shared.topic(change.topic) {
                dirty.insert((i, change.key));
            },
            done = async { changing.as_mut().expect("guarded").await }, if changing.is_some() => {
                changing = None;
                match done {
                    Ok(Ok(counters)) => went_live(shared, &mut subscribed, durable_last, counters),
                    Ok(Err(e)) => return e,
                    Err(_) => return timed_out(),
                }
            }
            _ = ping.tick() => {
                match tokio::time::timeout(REQUEST_TIMEOUT, sink.ping::<::redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return e,
                    Err(_) => return timed_out(),
                }
            }
        }
    }
}

/// A change of this node's subscriptions on its way: each newly subscribed channel's counter,
/// read once the subscription took effect.
type Subscribing = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<RedisResult<Vec<(String, u64)>>, tokio::time::error::Elapsed>>
            + Send,
    >,
>;

/// Decides how this node's subscriptions change for the keys in `dirty`, as its local
/// subscribers now stand: the channels to leave, and those to join (already listed in
/// `subscribed`, so frames heard before their counter is read are kept in order).
fn reconcile(
    shared: &Shared,
    subscribed: &mut HashMap<String, Subscribed>,
    dirty: &mut HashSet<(usize, String)>,
    durable_last: &mut HashMap<String, u64>,
) -> (Vec<String>, Vec<String>) {
    let mut wanted = Vec::new();
    let mut unwanted = Vec::new();
    for (i, key) in dirty.drain() {
        let topic = &shared.topics[i];
        let channel = shared.names.channel(topic.name(), &key);
        match (topic.count(&key) > 0, subscribed.get(&channel)) {
            (true, None) => {
                subscribed.insert(
                    channel.clone(),
                    Subscribed {
                        topic: i,
                        key,
                        feed: Feed::new(),
                    },
                );
                wanted.push(channel);
            }
            // Subscribers that arrived after the channel went live (or after a gap was handled).
            (true, Some(s)) => {
                if matches!(s.feed, Feed::Live { .. }) {
                    topic.go_live(&key);
                }
            }
            (false, Some(_)) => {
                subscribed.remove(&channel);
                durable_last.remove(&channel);
                unwanted.push(channel);
            }
            (false, None) => {}
        }
    }
    (unwanted, wanted)
}

/// Leaves and joins channels, and reads each joined channel's counter after the subscription
/// took effect: anything numbered above it is sure to arrive.
async fn resubscribe(
    mut sink: PubSubSink,
    mut conn: ConnectionManager,
    unwanted: Vec<String>,
    wanted: Vec<String>,
) -> RedisResult<Vec<(String, u64)>> {
    for chunk in unwanted.chunks(SUBSCRIBE_BATCH) {
        sink.unsubscribe(chunk).await?;
    }
    let mut counted = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(SUBSCRIBE_BATCH) {
        sink.subscribe(chunk).await?;
        let counters: Vec<Option<u64>> = ::redis::cmd("MGET").arg(chunk).query_async(&mut conn).await?;
        counted.extend(
            chunk
                .iter()
                .cloned()
                .zip(counters.into_iter().map(|c| c.unwrap_or(0))),
        );
    }
    Ok(counted)
}

/// Newly joined channels go live from their counters.
fn went_live(
    shared: &Shared,
    subscribed: &mut HashMap<String, Subscribed>,
    durable_last: &mut HashMap<String, u64>,
    counters: Vec<(String, u64)>,
) {
    for (channel, counter) in counters {
        let Some(s) = subscribed.get_mut(&channel) else {
            continue;
        };
        s.feed.counted(counter);
        let topic = &shared.topics[s.topic];
        if topic.durable()
            && let Some(last) = durable_last.get(&channel)
            && counter > *last
        {
            lost_connector_frames(topic.name(), &s.key, counter - last);
        }
        topic.go_live(&s.key);
    }
}

fn lost_connector_frames(topic: &str, key: &str, n: u64) {
    tracing::error!(
        topic,
        key,
        frames = n,
        "a connector missed frames while Redis was unreachable"
    );
    metrics::counter!("plugboard_bus_connector_frames_lost_total", "channel" => key.to_string()).increment(n);
}

/// A frame (or a presence announcement) heard on the pub/sub connection.
fn heard(
    shared: &Shared,
    subscribed: &mut HashMap<String, Subscribed>,
    durable_last: &mut HashMap<String, u64>,
    message: &::redis::Msg,
) {
    let channel = message.get_channel_name();
    if channel == shared.names.presence_channel {
        if let Some(announcement) = std::str::from_utf8(message.get_payload_bytes())
            .ok()
            .and_then(Announcement::parse)
        {
            shared.replica().heard(announcement, Instant::now());
        }
        return;
    }
    // Unsubscribed meanwhile.
    let Some(s) = subscribed.get_mut(channel) else {
        return;
    };
    let topic = &shared.topics[s.topic];
    let Some((seq, json)) = split_numbered(message.get_payload_bytes()) else {
        tracing::error!(channel, "a frame on the bus without its number");
        return;
    };
    let verdict = s.feed.heard(seq);
    if topic.durable() {
        durable_last.insert(channel.to_string(), seq);
    }
    let trouble = match verdict {
        Verdict::Gap { expected, got } => Some(format!("expected frame {expected}, got {got}")),
        Verdict::Deliver if json.is_empty() => Some("a publisher lost frames".to_string()),
        Verdict::Deliver => None,
    };
    match (trouble, topic.durable()) {
        (None, _) => deliver(topic.as_ref(), &s.key, json),
        (Some(why), true) => {
            let lost = match verdict {
                Verdict::Gap { expected, got } => got.saturating_sub(expected),
                Verdict::Deliver => 0,
            };
            lost_connector_frames(topic.name(), &s.key, lost);
            tracing::error!(channel, why, "a connector missed frames");
            if !json.is_empty() {
                deliver(topic.as_ref(), &s.key, json);
            }
        }
        (Some(why), false) => {
            tracing::info!(channel, why, "frames missed: the key's subscribers resynchronise");
            metrics::counter!("plugboard_bus_resyncs_total", "topic" => topic.name()).increment(1);
            topic.resync(&s.key);
        }
    }
}

fn deliver(topic: &dyn Fanout, key: &str, json: &[u8]) {
    if let Err(e) = topic.deliver(key, json) {
        tracing::error!(error = %e, topic = topic.name(), key, "a frame on the bus did not decode");
        metrics::counter!("plugboard_bus_undecodable_total", "topic" => topic.name()).increment(1);
        // Its subscribers missed it: like a gap.
        topic.resync(key);
    }
}

/// `<number> <json>` → the number and the JSON (empty for a resynchronisation marker).
fn split_numbered(payload: &[u8]) -> Option<(u64, &[u8])> {
    let space = payload.iter().position(|b| *b == b' ')?;
    let seq = std::str::from_utf8(&payload[..space]).ok()?.parse().ok()?;
    Some((seq, &payload[space + 1..]))
}

/// Reads every node's presence hash into the replica.
async fn load_presence(shared: &Shared, conn: &mut ConnectionManager) -> RedisResult<()> {
    let pattern = format!("{}*", shared.names.presence_hash(""));
    let mut hashes = Vec::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = ::redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        if !keys.is_empty() {
            let mut pipe = ::redis::pipe();
            for key in &keys {
                pipe.cmd("HGETALL").arg(key);
            }
            let counts: Vec<HashMap<String, u32>> = pipe.query_async(conn).await?;
            for (key, counts) in keys.into_iter().zip(counts) {
                let node = key[pattern.len() - 1..].to_string();
                hashes.push((node, counts));
            }
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    shared.replica().load(hashes, Instant::now());
    Ok(())
}

/// Writes this node's counts of open consoles and widgets as they change, renews them, and
/// forgets the nodes that stopped renewing theirs.
async fn presence_keeper(
    shared: Arc<Shared>,
    mut conn: ConnectionManager,
    mut changes: mpsc::UnboundedReceiver<Change>,
) {
    let names = &shared.names;
    let hash = names.presence_hash(&names.node);
    let expiry = PRESENCE_EXPIRY.as_millis() as u64;
    let mut dirty: HashSet<(usize, String)> = HashSet::new();
    let mut beat = tokio::time::interval(HEARTBEAT_EVERY);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(change) => if let Some(i) = shared.topic(change.topic) {
                    dirty.insert((i, change.key));
                },
                None => return,
            },
            _ = beat.tick() => {
                let exists: RedisResult<bool> = ::redis::cmd("EVAL")
                    .arg(HEARTBEAT)
                    .arg(1)
                    .arg(&hash)
                    .arg(&names.presence_channel)
                    .arg(Announcement::alive(&names.node))
                    .arg(expiry)
                    .query_async(&mut conn)
                    .await;
                match exists {
                    // Lost (a Redis restart, or away longer than the expiry): write it all again.
                    Ok(false) => {
                        for (i, topic) in shared.topics.iter().enumerate() {
                            if !topic.durable() {
                                dirty.extend(topic.keys().into_iter().map(|key| (i, key)));
                            }
                        }
                    }
                    Ok(true) => {}
                    Err(e) => tracing::warn!(error = %e, "could not renew this node's presence"),
                }
                shared.replica().sweep(Instant::now(), PRESENCE_EXPIRY);
            }
        }
        while let Ok(change) = changes.try_recv() {
            if let Some(i) = shared.topic(change.topic) {
                dirty.insert((i, change.key));
            }
        }
        if dirty.is_empty() {
            continue;
        }
        let mut pipe = ::redis::pipe();
        for (i, key) in &dirty {
            let topic = &shared.topics[*i];
            let field = presence::field(topic.name(), key);
            let count = topic.count(key);
            pipe.cmd("EVAL")
                .arg(SET_PRESENCE)
                .arg(1)
                .arg(&hash)
                .arg(&field)
                .arg(count)
                .arg(&names.presence_channel)
                .arg(Announcement::set(&names.node, &field, count))
                .arg(expiry)
                .ignore();
        }
        match pipe.query_async::<()>(&mut conn).await {
            Ok(()) => dirty.clear(),
            // Kept dirty: written again with the next change or heartbeat.
            Err(e) => tracing::warn!(error = %e, "could not write this node's presence"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_payloads_split() {
        assert_eq!(split_numbered(b"12 {\"a\":1}"), Some((12, &b"{\"a\":1}"[..])));
        assert_eq!(split_numbered(b"7 "), Some((7, &b""[..])));
        assert_eq!(split_numbered(b"x {}"), None);
        assert_eq!(split_numbered(b"12"), None);
    }
}
