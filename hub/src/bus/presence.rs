//! Who has a console or a widget open on the other nodes, as this node last heard it, with no IO.
//!
//! Each node keeps its own counts in a Redis hash of its own (`presence:<node>`, field
//! `agent:<id>` or `chat:<id>` → open sockets), which expires unless the node renews it, and
//! announces every change and a heartbeat on one channel that every node listens to. From those
//! announcements, and a full read of the hashes whenever its connection (re)starts, each node
//! keeps this replica, so `Bus::chat_sessions` stays a plain synchronous read. Announcements
//! carry absolute counts, so applying one twice or late converges. A node that stops
//! announcing (it died) is forgotten after the expiry.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// An announcement on the presence channel, as text: `set <node> <field> <count>` or
/// `alive <node>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Announcement<'a> {
    Set {
        node: &'a str,
        field: &'a str,
        count: u32,
    },
    Alive {
        node: &'a str,
    },
}

impl<'a> Announcement<'a> {
    pub(crate) fn parse(text: &'a str) -> Option<Announcement<'a>> {
        let mut words = text.split(' ');
        match (
            words.next()?,
            words.next()?,
            words.next(),
            words.next(),
            words.next(),
        ) {
            ("set", node, Some(field), Some(count), None) => Some(Announcement::Set {
                node,
                field,
                count: count.parse().ok()?,
            }),
            ("alive", node, None, None, None) => Some(Announcement::Alive { node }),
            _ => None,
        }
    }

    pub(crate) fn set(node: &str, field: &str, count: usize) -> String {
        format!("set {node} {field} {count}")
    }

    pub(crate) fn alive(node: &str) -> String {
        format!("alive {node}")
    }
}

pub(crate) fn field(topic: &str, key: &str) -> String {
    format!("{topic}:{key}")
}

#[derive(Debug)]
struct Remote {
    heard_at: Instant,
    counts: HashMap<String, u32>,
}

/// The other nodes' counts.
#[derive(Debug)]
pub(crate) struct Replica {
    own: String,
    nodes: HashMap<String, Remote>,
}

impl Replica {
    pub(crate) fn new(own: &str) -> Replica {
        Replica {
            own: own.to_string(),
            nodes: HashMap::new(),
        }
    }

    pub(crate) fn heard(&mut self, announcement: Announcement<'_>, now: Instant) {
        let node = match announcement {
            Announcement::Set { node, .. } | Announcement::Alive { node } => node,
        };
        if node == self.own {
            return;
        }
        let remote = self.nodes.entry(node.to_string()).or_insert_with(|| Remote {
            heard_at: now,
            counts: HashMap::new(),
        });
        remote.heard_at = now;
        if let Announcement::Set { field, count, .. } = announcement {
            if count == 0 {
                remote.counts.remove(field);
            } else {
                remote.counts.insert(field.to_string(), count);
            }
        }
    }

    /// Replaces everything with a full read of every node's hash.
    pub(crate) fn load(&mut self, hashes: Vec<(String, HashMap<String, u32>)>, now: Instant) {
        self.nodes.clear();
        for (node, mut counts) in hashes {
            if node != self.own {
                counts.retain(|_, n| *n > 0);
                self.nodes.insert(
                    node,
                    Remote {
                        heard_at: now,
                        counts,
                    },
                );
            }
        }
    }

    /// Forgets nodes not heard from for `expiry`.
    pub(crate) fn sweep(&mut self, now: Instant, expiry: Duration) {
        self.nodes
            .retain(|_, remote| now.saturating_duration_since(remote.heard_at) < expiry);
    }

    pub(crate) fn count(&self, field: &str) -> usize {
        self.nodes
            .values()
            .filter_map(|remote| remote.counts.get(field))
            .map(|n| *n as usize)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_read_back() {
        let text = Announcement::set("n1", "chat:abc", 2);
        assert_eq!(
            Announcement::parse(&text),
            Some(Announcement::Set {
                node: "n1",
                field: "chat:abc",
                count: 2
            })
        );
        assert_eq!(
            Announcement::parse(&Announcement::alive("n1")),
            Some(Announcement::Alive { node: "n1" })
        );
        for bad in ["", "set n1", "set n1 f x", "alive", "alive n1 x", "gone n1"] {
            assert_eq!(Announcement::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn counts_add_up_across_nodes_and_leave_with_a_dead_node() {
        let t0 = Instant::now();
        let expiry = Duration::from_secs(10);
        let mut replica = Replica::new("me");
        let heard =
            |r: &mut Replica, text: &str, at: Instant| r.heard(Announcement::parse(text).unwrap(), at);
        heard(&mut replica, "set a chat:1 1", t0);
        heard(&mut replica, "set b chat:1 2", t0);
        heard(&mut replica, "set me chat:1 5", t0);
        assert_eq!(
            replica.count("chat:1"),
            3,
            "its own node is counted locally, not here"
        );
        heard(&mut replica, "set a chat:1 0", t0);
        assert_eq!(replica.count("chat:1"), 2);
        // b keeps announcing itself; a falls silent and is forgotten.
        heard(&mut replica, "set a chat:2 1", t0);
        heard(&mut replica, "alive b", t0 + Duration::from_secs(8));
        replica.sweep(t0 + Duration::from_secs(11), expiry);
        assert_eq!(replica.count("chat:2"), 0);
        assert_eq!(replica.count("chat:1"), 2);
    }

    #[test]
    fn a_full_read_replaces_what_was_heard() {
        let now = Instant::now();
        let mut replica = Replica::new("me");
        replica.heard(Announcement::parse("set a agent:1 1").unwrap(), now);
        replica.load(
            vec![
                ("b".into(), HashMap::from([("agent:1".into(), 2)])),
                ("me".into(), HashMap::from([("agent:1".into(), 9)])),
            ],
            now,
        );
        assert_eq!(replica.count("agent:1"), 2);
    }
}
