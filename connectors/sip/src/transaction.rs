//! Server transactions (RFC 3261 §17.2) for the requests this server answers at once with a final
//! response. Every parsed request passes through here before the service: a retransmission of a
//! request already answered gets the same response again (§17.2.2, "Completed" state) instead of
//! being handled twice, and the entry is forgotten when Timer J fires (64*T1 on UDP, at once on a
//! reliable transport). Pure: time is a parameter, the server calls [`ServerTransactions::expire`].
//!
//! Since every response here is final and immediate, the Trying and Proceeding states never last
//! past one call and are not represented. An INVITE answered with a final error over UDP is kept
//! the same way, and its response is also sent again on Timer G (T1, doubling up to T2) until the
//! ACK arrives or Timer H (64*T1) gives up (§17.2.1); its 2xx is the B2BUA's to retransmit.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::message::SipRequest;

/// RFC 3261 §17.1.1.1: T1, the round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 §17.2.2: Timer J on an unreliable transport.
pub const TIMER_J: Duration = Duration::from_millis(64 * 500);
/// RFC 3261 §17.1.2.2: the cap on retransmission intervals.
const T2: Duration = Duration::from_secs(4);

/// What identifies a server transaction (RFC 3261 §17.2.3): the top Via's branch and sent-by and
/// the method, or for pre-RFC 3261 peers (no `z9hG4bK` cookie) the request's identifying headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionKey(String);

impl TransactionKey {
    pub fn of(request: &SipRequest) -> Self {
        // ACK belongs to the INVITE transaction it acknowledges (§17.2.3).
        let method = match request.method.as_str() {
            "ACK" => "INVITE",
            m => m,
        };
        match request.top_via() {
            Some((sent_by, Some(branch))) if branch.starts_with("z9hG4bK") => {
                TransactionKey(format!("{branch}\n{}\n{method}", sent_by.to_ascii_lowercase()))
            }
            _ => TransactionKey(format!(
                "2543\n{}\n{}\n{}\n{}\n{method}",
                request.call_id(),
                request.cseq().map_or(0, |(n, _)| n),
                request.from_tag().unwrap_or(""),
                request.header("Via").unwrap_or(""),
            )),
        }
    }
}

/// What to do with an incoming request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A new transaction: handle it, then [`ServerTransactions::completed`].
    New,
    /// A retransmission: send this response again, and nothing else.
    Retransmission(Vec<u8>),
    /// An ACK for a transaction we hold: absorbed, no response (§17.2.1).
    Absorbed,
}

#[derive(Debug)]
struct Completed {
    response: Vec<u8>,
    until: Instant,
}

/// An INVITE's final error over UDP, until its ACK: where and when Timer G sends it again.
#[derive(Debug)]
struct Resend {
    to: SocketAddr,
    next: Instant,
    interval: Duration,
    until: Instant,
}

/// The completed transactions still waiting for Timer J. Every call's requests pass through here
/// and the timers run every few tens of milliseconds, so neither timer looks at more than it
/// must: Timer J takes entries in the order they were completed (all live equally long), and
/// Timer G looks only at the few INVITE errors not yet ACKed.
#[derive(Debug, Default)]
pub struct ServerTransactions {
    completed: HashMap<TransactionKey, Completed>,
    /// Keys in the order completed, with the Timer J they were given then.
    expiry: VecDeque<(Instant, TransactionKey)>,
    resends: HashMap<TransactionKey, Resend>,
}

impl ServerTransactions {
    /// An ACK for a completed INVITE stops Timer G (§17.2.1, the Confirmed state).
    pub fn lookup(&mut self, key: &TransactionKey, is_ack: bool, now: Instant) -> Lookup {
        match self.completed.get(key).filter(|c| c.until > now) {
            Some(_) if is_ack => {
                self.resends.remove(key);
                Lookup::Absorbed
            }
            Some(c) => Lookup::Retransmission(c.response.clone()),
            None => Lookup::New,
        }
    }

    /// The final response has been sent: keep it for retransmissions until Timer J, which is
    /// zero on a reliable transport (§17.2.2), so nothing is kept there. `resend_to` is where an
    /// INVITE's final error goes again on Timer G until its ACK (UDP only).
    pub fn completed(
        &mut self,
        key: TransactionKey,
        response: Vec<u8>,
        reliable: bool,
        now: Instant,
        resend_to: Option<SocketAddr>,
    ) {
        if !reliable {
            let until = now + TIMER_J;
            if let Some(to) = resend_to {
                let resend = Resend {
                    to,
                    next: now + T1,
                    interval: T1,
                    until,
                };
                self.resends.insert(key.clone(), resend);
            }
            self.expiry.push_back((until, key.clone()));
            self.completed.insert(key, Completed { response, until });
        }
    }

    /// Timer G: the final errors to send again now, and where.
    pub fn due(&mut self, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut due = Vec::new();
        for (key, r) in &mut self.resends {
            let Some(c) = self.completed.get(key) else {
                continue;
            };
            if r.next <= now && r.until > now {
                due.push((r.to, c.response.clone()));
                r.interval = (r.interval * 2).min(T2);
                r.next = now + r.interval;
            }
        }
        due
    }

    /// Timer J (and Timer H for the resends): forgets transactions whose time is up.
    pub fn expire(&mut self, now: Instant) {
        while let Some((until, _)) = self.expiry.front()
            && *until <= now
        {
            let Some((until, key)) = self.expiry.pop_front() else {
                break;
            };
            // A key completed again later has a later Timer J of its own.
            if self.completed.get(&key).is_some_and(|c| c.until == until) {
                self.completed.remove(&key);
                self.resends.remove(&key);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.completed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.completed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{SipMessage, parse};

    fn request(method: &str, branch: &str, cseq: u32) -> SipRequest {
        let cseq_method = if method == "ACK" { "ACK" } else { method };
        let text = format!(
            "{method} sip:pbx SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch={branch}\r\n\
             From: <sip:a@x>;tag=f\r\nTo: <sip:pbx>\r\nCall-ID: c\r\nCSeq: {cseq} {cseq_method}\r\n\
             Content-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => unreachable!(),
        }
    }

    /// (what, request, reliable, ms since start, expected lookup); a `New` is completed with a
    /// response named after the row.
    #[test]
    fn rfc3261_section_17_2_table() {
        let rows: Vec<(&str, SipRequest, bool, u64, Lookup)> = vec![
            (
                "first OPTIONS",
                request("OPTIONS", "z9hG4bKa", 1),
                false,
                0,
                Lookup::New,
            ),
            (
                "retransmitted OPTIONS",
                request("OPTIONS", "z9hG4bKa", 1),
                false,
                500,
                Lookup::Retransmission(b"first OPTIONS".to_vec()),
            ),
            (
                "other branch",
                request("OPTIONS", "z9hG4bKb", 2),
                false,
                600,
                Lookup::New,
            ),
            (
                "same branch, other method",
                request("REGISTER", "z9hG4bKa", 1),
                false,
                700,
                Lookup::New,
            ),
            (
                "INVITE",
                request("INVITE", "z9hG4bKi", 1),
                false,
                800,
                Lookup::New,
            ),
            (
                "its ACK",
                request("ACK", "z9hG4bKi", 1),
                false,
                900,
                Lookup::Absorbed,
            ),
            (
                "stray ACK",
                request("ACK", "z9hG4bKz", 1),
                false,
                900,
                Lookup::New,
            ),
            (
                "RFC 2543 peer",
                request("OPTIONS", "old", 5),
                false,
                1000,
                Lookup::New,
            ),
            (
                "RFC 2543 retransmission",
                request("OPTIONS", "old", 5),
                false,
                1100,
                Lookup::Retransmission(b"RFC 2543 peer".to_vec()),
            ),
            (
                "RFC 2543 next request",
                request("OPTIONS", "old", 6),
                false,
                1200,
                Lookup::New,
            ),
            (
                "over TCP",
                request("OPTIONS", "z9hG4bKt", 1),
                true,
                1300,
                Lookup::New,
            ),
            (
                "over TCP again: nothing kept",
                request("OPTIONS", "z9hG4bKt", 1),
                true,
                1400,
                Lookup::New,
            ),
            (
                "just before Timer J",
                request("OPTIONS", "z9hG4bKa", 1),
                false,
                31_999,
                Lookup::Retransmission(b"first OPTIONS".to_vec()),
            ),
            (
                "after Timer J: a new transaction",
                request("OPTIONS", "z9hG4bKa", 1),
                false,
                32_000,
                Lookup::New,
            ),
        ];
        let t0 = Instant::now();
        let mut table = ServerTransactions::default();
        for (what, req, reliable, ms, want) in rows {
            let now = t0 + Duration::from_millis(ms);
            table.expire(now);
            let key = TransactionKey::of(&req);
            let got = table.lookup(&key, req.method.as_str() == "ACK", now);
            assert_eq!(got, want, "{what}");
            if got == Lookup::New && req.method.as_str() != "ACK" {
                table.completed(key, what.as_bytes().to_vec(), reliable, now, None);
            }
        }
        table.expire(t0 + Duration::from_secs(64));
        assert!(table.is_empty());
    }

    /// §17.2.1: an INVITE's final error over UDP goes again at T1, 2*T1, 4*T1… capped at T2,
    /// until its ACK (which is absorbed) or Timer H.
    #[test]
    fn timer_g_resends_an_invites_error_until_the_ack() {
        let t0 = Instant::now();
        let to: SocketAddr = "192.0.2.1:5060".parse().unwrap();
        let mut table = ServerTransactions::default();
        let invite = TransactionKey::of(&request("INVITE", "z9hG4bKg", 1));
        table.completed(invite.clone(), b"486".to_vec(), false, t0, Some(to));
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut sent = Vec::new();
        for ms in (0..=9_000).step_by(50) {
            if !table.due(at(ms)).is_empty() {
                sent.push(ms);
            }
        }
        assert_eq!(sent, vec![500, 1500, 3500, 7500]);
        assert_eq!(table.due(at(11_500)), vec![(to, b"486".to_vec())]);
        let ack = TransactionKey::of(&request("ACK", "z9hG4bKg", 1));
        assert_eq!(table.lookup(&ack, true, at(12_000)), Lookup::Absorbed);
        assert!(table.due(at(20_000)).is_empty());
        // Timer H: without an ACK the resends end with the transaction.
        let other = TransactionKey::of(&request("INVITE", "z9hG4bKh", 1));
        table.completed(other, b"404".to_vec(), false, t0, Some(to));
        assert!(!table.due(at(31_000)).is_empty());
        assert!(table.due(at(40_000)).is_empty());
    }
}
