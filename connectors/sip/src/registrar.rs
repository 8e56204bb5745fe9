//! The registrar's bindings table (RFC 3261 §10.3): which phones an agent's address-of-record can
//! be reached at, until when. The transport parses a REGISTER (after digest authentication) into
//! a [`RegisterRequest`] and sends back the response the [`RegisterOutcome`] describes; the B2BUA
//! asks [`Registrar::lookup`] where to ring an agent. Time is always passed in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// One `Contact` header value of a REGISTER, as the transport parsed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactParam {
    /// The contact URI as received, or `*` for the wildcard.
    pub uri: String,
    /// Its `expires` parameter, which overrides the `Expires` header.
    pub expires: Option<u32>,
    /// Its `q` parameter in thousandths (`q=0.5` is 500), for the order of [`Registrar::lookup`].
    pub q: Option<u16>,
    /// Its other header parameters as received (`;+sip.instance="<urn:uuid:...>";reg-id=1`),
    /// returned intact in the 200 OK (RFC 5626 §6).
    pub params: String,
    /// The device behind it (`+sip.instance`, with `reg-id` when given): a device that
    /// registers again from another address replaces its binding rather than adding one.
    pub instance: Option<String>,
    /// It names its flow (`reg-id` beside `+sip.instance`): with outbound (RFC 5626), the
    /// binding lives as long as the connection it came on.
    pub reg_id: bool,
}

/// Where a REGISTER came from and over what: the flow a phone is rung back on (RFC 5626 §5.3,
/// RFC 3261 §18.2.2). A phone on TCP keeps the connection it registered on open, and is rung
/// over it: its Contact address is often a port nothing listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    pub source: std::net::SocketAddr,
    pub transport: crate::service::Transport,
}

/// What the registrar needs of a REGISTER request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterRequest {
    /// The address-of-record, from the To header, canonicalised by the caller (`sip:1001@host`).
    pub aor: String,
    /// The Contact header values; none means "tell me my bindings" (RFC 3261 §10.2.3).
    pub contacts: Vec<ContactParam>,
    /// The `Expires` header.
    pub expires: Option<u32>,
    pub call_id: String,
    pub cseq: u32,
    /// The flow it arrived on.
    pub flow: Option<Flow>,
    /// The phone asked for RFC 5626 outbound on this flow (`Supported: outbound`, straight to us
    /// over TCP or TLS): its contacts that name their flow are bound to the connection.
    pub outbound: bool,
}

/// A binding as the 200 OK lists it: the contact and the seconds it has left.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactView {
    pub uri: String,
    pub expires: u32,
    pub q: Option<u16>,
    /// The contact's other parameters as the phone sent them ([`ContactParam::params`]).
    pub params: String,
    /// The flow it registered on, to ring it back on.
    pub flow: Option<Flow>,
}

/// One change to the bindings table, as data: what the hub shares with its other nodes, so a
/// phone registered through one node can be rung from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// A contact bound or refreshed: reachable for `contact.expires` seconds from now.
    Bound { aor: String, contact: ContactView },
    /// The phone removed one contact (`expires=0`).
    Removed { aor: String, uri: String },
    /// The phone removed every contact of its AOR (`Contact: *`).
    RemovedAll { aor: String },
    /// A binding ran out without a refresh (here: it may have been refreshed through another
    /// node, which is why this is not the same as `Removed`).
    Lapsed { aor: String, uri: String },
}

/// The response to send, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// 200 OK listing every current binding of the AOR, with `expires` on each.
    Ok { bindings: Vec<ContactView> },
    /// 423 Interval Too Brief with a `Min-Expires` header (RFC 3261 §10.3 step 7).
    IntervalTooBrief { min_expires: u32 },
    /// 400 Bad Request: the request breaks a rule of §10.3 (the reason goes in the phrase).
    Invalid(&'static str),
    /// A request older than the binding it would change (same Call-ID, CSeq not higher): the
    /// update is aborted (§10.3 step 7) and nothing changes. Answered 500, as other registrars do.
    OutOfOrder,
}

impl RegisterOutcome {
    pub fn status(&self) -> u16 {
        match self {
            RegisterOutcome::Ok { .. } => 200,
            RegisterOutcome::IntervalTooBrief { .. } => 423,
            RegisterOutcome::Invalid(_) => 400,
            RegisterOutcome::OutOfOrder => 500,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Shorter non-zero registrations are refused with 423.
    pub min_expires: u32,
    /// Longer ones are cut down to this (§10.3 step 7 allows the registrar to shorten).
    pub max_expires: u32,
    /// Used when neither the contact nor the request says.
    pub default_expires: u32,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
        }
    }
}

#[derive(Debug, Clone)]
struct Binding {
    uri: String,
    params: String,
    flow: Option<Flow>,
    /// Bound to its flow (RFC 5626 outbound): removed when the connection closes.
    outbound: bool,
    key: String,
    call_id: String,
    cseq: u32,
    q: Option<u16>,
    until: Instant,
}

impl Binding {
    fn view(&self, now: Instant) -> ContactView {
        let left = self.until.saturating_duration_since(now);
        // Rounded up, so a binding listed in a response is never shown as already lapsed.
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        ContactView {
            uri: self.uri.clone(),
            expires: u32::try_from(secs).unwrap_or(u32::MAX),
            q: self.q,
            params: self.params.clone(),
            flow: self.flow,
        }
    }
}

/// The bindings of every address-of-record.
#[derive(Debug, Default)]
pub struct Registrar {
    config: RegistrarConfig,
    bindings: HashMap<String, Vec<Binding>>,
    /// What changed since the last [`Registrar::take_changes`], in order.
    changes: Vec<BindingChange>,
}

impl Registrar {
    pub fn new(config: RegistrarConfig) -> Self {
        Registrar {
            config,
            bindings: HashMap::new(),
            changes: Vec::new(),
        }
    }

    /// The changes made since the last call, oldest first: binds, refreshes and removals by
    /// REGISTER, and lapses found by [`Registrar::expire`]. A REGISTER that changes nothing (a
    /// query, a refused request) adds none.
    pub fn take_changes(&mut self) -> Vec<BindingChange> {
        std::mem::take(&mut self.changes)
    }

    /// Applies one REGISTER (RFC 3261 §10.3 steps 6 to 8). All or nothing: a request that fails
    /// for one contact changes no binding.
    pub fn handle(&mut self, request: &RegisterRequest, now: Instant) -> RegisterOutcome {
        if request.aor.is_empty() {
            return RegisterOutcome::Invalid("missing address-of-record");
        }
        if request.contacts.iter().any(|c| c.uri.trim().is_empty()) {
            return RegisterOutcome::Invalid("empty Contact");
        }
        let current: Vec<Binding> = self
            .bindings
            .get(&request.aor)
            .map(|list| list.iter().filter(|b| b.until > now).cloned().collect())
            .unwrap_or_default();
        let is_stale = |b: &Binding| b.call_id == request.call_id && request.cseq <= b.cseq;

        // Step 6: "*" is valid only alone and with Expires: 0, and removes every binding.
        if request.contacts.iter().any(|c| c.uri.trim() == "*") {
            if request.contacts.len() != 1
                || request.expires != Some(0)
                || request.contacts[0].expires.is_some()
            {
                return RegisterOutcome::Invalid("Contact: * needs Expires: 0 and no other contact");
            }
            if current.iter().any(is_stale) {
                return RegisterOutcome::OutOfOrder;
            }
            self.bindings.remove(&request.aor);
            self.changes.push(BindingChange::RemovedAll {
                aor: request.aor.clone(),
            });
            return RegisterOutcome::Ok { bindings: Vec::new() };
        }

        // Step 7, checked for every contact before anything changes.
        let mut next = current.clone();
        let mut changes = Vec::new();
        for contact in &request.contacts {
            let requested = contact
                .expires
                .or(request.expires)
                .unwrap_or(self.config.default_expires);
            if requested != 0 && requested < self.config.min_expires {
                return RegisterOutcome::IntervalTooBrief {
                    min_expires: self.config.min_expires,
                };
            }
            let expires = requested.min(self.config.max_expires);
            let key = match &contact.instance {
                Some(instance) => format!("instance:{instance}"),
                None => uri_key(&contact.uri),
            };
            if current.iter().any(|b| b.key == key && is_stale(b)) {
                return RegisterOutcome::OutOfOrder;
            }
            let aor = request.aor.clone();
            // The same device from another address: its old contact is gone.
            for moved in next
                .iter()
                .filter(|b| b.key == key && b.uri != contact.uri.trim())
            {
                changes.push(BindingChange::Removed {
                    aor: aor.clone(),
                    uri: moved.uri.clone(),
                });
            }
            next.retain(|b| b.key != key);
            if expires > 0 {
                let binding = Binding {
                    uri: contact.uri.trim().to_owned(),
                    params: contact.params.clone(),
                    flow: request.flow,
                    outbound: request.outbound && contact.reg_id,
                    key,
                    call_id: request.call_id.clone(),
                    cseq: request.cseq,
                    q: contact.q,
                    until: now + Duration::from_secs(u64::from(expires)),
                };
                changes.push(BindingChange::Bound {
                    aor,
                    contact: binding.view(now),
                });
                next.push(binding);
            } else {
                let uri = contact.uri.trim().to_owned();
                changes.push(BindingChange::Removed { aor, uri });
            }
        }
        // Only now: a request refused for a later contact changed nothing.
        self.changes.extend(changes);

        // Step 8: the response lists all current bindings.
        let bindings = next.iter().map(|b| b.view(now)).collect();
        if next.is_empty() {
            self.bindings.remove(&request.aor);
        } else {
            self.bindings.insert(request.aor.clone(), next);
        }
        RegisterOutcome::Ok { bindings }
    }

    /// Drops lapsed bindings and returns them as (AOR, contact URI), so the hub can mark an
    /// agent's phone as gone.
    pub fn expire(&mut self, now: Instant) -> Vec<(String, String)> {
        let mut lapsed = Vec::new();
        self.bindings.retain(|aor, list| {
            list.retain(|b| {
                let alive = b.until > now;
                if !alive {
                    lapsed.push((aor.clone(), b.uri.clone()));
                }
                alive
            });
            !list.is_empty()
        });
        lapsed.sort();
        self.changes
            .extend(lapsed.iter().map(|(aor, uri)| BindingChange::Lapsed {
                aor: aor.clone(),
                uri: uri.clone(),
            }));
        lapsed
    }

    /// A connection closed (RFC 5626 §5.4: its flow failed): the bindings registered with
    /// outbound on it are removed, for the phone registers again on a new flow; the hub stops
    /// ringing a device that cannot be reached. Other bindings on it stay until they lapse.
    pub fn flow_failed(&mut self, flow: Flow) {
        let mut gone = Vec::new();
        self.bindings.retain(|aor, list| {
            list.retain(|b| {
                let failed = b.outbound && b.flow == Some(flow);
                if failed {
                    gone.push(BindingChange::Removed {
                        aor: aor.clone(),
                        uri: b.uri.clone(),
                    });
                }
                !failed
            });
            !list.is_empty()
        });
        self.changes.extend(gone);
    }

    /// Where to ring `aor` now: its live bindings, highest `q` first (no `q` counts as 1.0).
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<ContactView> {
        let mut live: Vec<ContactView> = self
            .bindings
            .get(aor)
            .into_iter()
            .flatten()
            .filter(|b| b.until > now)
            .map(|b| b.view(now))
            .collect();
        live.sort_by_key(|c| std::cmp::Reverse(c.q.unwrap_or(1000)));
        live
    }

    /// The connection a live binding with this contact URI registered on over TCP or TLS,
    /// whichever AOR it is of (only a connection is rung back on; a phone on UDP is rung at its
    /// Contact). The bindings on UDP are passed over without comparing their URIs: every call's
    /// ring asks.
    pub fn flow_of(&self, uri: &str, now: Instant) -> Option<Flow> {
        let key = uri_key(uri);
        self.bindings
            .values()
            .flatten()
            .filter(|b| b.flow.is_some_and(|f| f.transport.reliable()))
            .find(|b| b.until > now && uri_key(&b.uri) == key)
            .and_then(|b| b.flow)
    }

    /// Where to ring a phone account: the live bindings of every AOR with that user part (a phone
    /// may register under any host name of ours; the registrar only lets a user bind its own).
    pub fn lookup_user(&self, user: &str, now: Instant) -> Vec<ContactView> {
        let mut aors: Vec<&String> = self
            .bindings
            .keys()
            .filter(|aor| crate::message::aor_user(aor) == user)
            .collect();
        aors.sort();
        aors.into_iter().flat_map(|aor| self.lookup(aor, now)).collect()
    }
}

/// A comparison key for contact URIs, a practical subset of RFC 3261 §19.1.4: scheme and host
/// compare without case, the user part with case, URI parameters in any order and without case,
/// headers (`?…`) and the enclosing `<>` ignored.
fn uri_key(uri: &str) -> String {
    let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
    let uri = uri.split('?').next().unwrap_or(uri);
    let mut parts = uri.split(';');
    let base = parts.next().unwrap_or("");
    let (scheme, rest) = base.split_once(':').unwrap_or(("", base));
    let (user, host) = match rest.rsplit_once('@') {
        Some((user, host)) => (user, host),
        None => ("", rest),
    };
    let mut params: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
    params.sort();
    let mut key = format!(
        "{}:{user}@{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase()
    );
    for p in params {
        key.push(';');
        key.push_str(&p);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    const AOR: &str = "sip:1001@pbx.example.com";

    fn contact(uri: &str, expires: Option<u32>) -> ContactParam {
        ContactParam {
            uri: uri.into(),
            expires,
            ..ContactParam::default()
        }
    }

    fn register(
        contacts: Vec<ContactParam>,
        expires: Option<u32>,
        call_id: &str,
        cseq: u32,
    ) -> RegisterRequest {
        RegisterRequest {
            aor: AOR.into(),
            contacts,
            expires,
            call_id: call_id.into(),
            cseq,
            flow: None,
            outbound: false,
        }
    }

    fn ok(bindings: &[(&str, u32)]) -> RegisterOutcome {
        RegisterOutcome::Ok {
            bindings: bindings
                .iter()
                .map(|&(uri, expires)| ContactView {
                    uri: uri.into(),
                    expires,
                    ..ContactView::default()
                })
                .collect(),
        }
    }

    const DESK: &str = "<sip:1001@192.0.2.20:5060>";
    const SOFT: &str = "<sip:1001@198.51.100.3:5062;transport=tcp>";

    /// One registrar, requests in order: (what, seconds since start, request, outcome).
    #[test]
    fn rfc3261_section_10_3_scenarios() {
        let rows: Vec<(&str, u64, RegisterRequest, RegisterOutcome)> = vec![
            (
                "first registration",
                0,
                register(vec![contact(DESK, None)], Some(600), "a", 1),
                ok(&[(DESK, 600)]),
            ),
            (
                "second phone, contact expires param wins over header",
                10,
                register(vec![contact(SOFT, Some(300))], Some(600), "b", 1),
                ok(&[(DESK, 590), (SOFT, 300)]),
            ),
            (
                "query lists both with time left",
                20,
                register(vec![], None, "q", 1),
                ok(&[(DESK, 580), (SOFT, 290)]),
            ),
            (
                "refresh with higher CSeq",
                30,
                register(vec![contact(DESK, None)], Some(600), "a", 2),
                ok(&[(SOFT, 280), (DESK, 600)]),
            ),
            (
                "same Call-ID, same CSeq: out of order",
                31,
                register(vec![contact(DESK, None)], Some(600), "a", 2),
                RegisterOutcome::OutOfOrder,
            ),
            (
                "same Call-ID, lower CSeq: out of order",
                32,
                register(vec![contact(DESK, Some(0))], None, "a", 1),
                RegisterOutcome::OutOfOrder,
            ),
            (
                "other Call-ID may update regardless of CSeq",
                33,
                register(vec![contact(DESK, None)], Some(900), "c", 1),
                ok(&[(SOFT, 277), (DESK, 900)]),
            ),
            (
                "too brief",
                40,
                register(vec![contact(SOFT, Some(30))], None, "b", 2),
                RegisterOutcome::IntervalTooBrief { min_expires: 60 },
            ),
            (
                "423 for one contact changes nothing for another",
                41,
                register(
                    vec![contact(SOFT, Some(0)), contact(DESK, Some(10))],
                    None,
                    "c",
                    2,
                ),
                RegisterOutcome::IntervalTooBrief { min_expires: 60 },
            ),
            (
                "still both",
                42,
                register(vec![], None, "q", 2),
                ok(&[(SOFT, 268), (DESK, 891)]),
            ),
            (
                "too long is clamped to max",
                50,
                register(vec![contact(SOFT, Some(86_400))], None, "b", 3),
                ok(&[(DESK, 883), (SOFT, 3600)]),
            ),
            (
                "URI comparison ignores host case, param order, brackets",
                60,
                register(
                    vec![contact("sip:1001@PBX-Phone.example.com;transport=tcp;lr", None)],
                    Some(120),
                    "d",
                    1,
                ),
                ok(&[
                    (DESK, 873),
                    (SOFT, 3590),
                    ("sip:1001@PBX-Phone.example.com;transport=tcp;lr", 120),
                ]),
            ),
            (
                "same phone, other spelling: refresh, not a new binding",
                61,
                register(
                    vec![contact("<sip:1001@pbx-phone.EXAMPLE.com;LR;transport=TCP>", None)],
                    Some(0),
                    "d",
                    2,
                ),
                ok(&[(DESK, 872), (SOFT, 3589)]),
            ),
            (
                "removing one with expires=0",
                70,
                register(vec![contact(SOFT, Some(0))], Some(600), "b", 4),
                ok(&[(DESK, 863)]),
            ),
            (
                "star without Expires: 0",
                80,
                register(vec![contact("*", None)], Some(60), "e", 1),
                bad(),
            ),
            (
                "star without Expires at all",
                80,
                register(vec![contact("*", None)], None, "e", 1),
                bad(),
            ),
            (
                "star with another contact",
                80,
                register(vec![contact("*", None), contact(SOFT, None)], Some(0), "e", 1),
                bad(),
            ),
            (
                "star with expires param",
                80,
                register(vec![contact("*", Some(0))], Some(0), "e", 1),
                bad(),
            ),
            (
                "star from the Call-ID of a binding with a stale CSeq",
                80,
                register(vec![contact("*", None)], Some(0), "c", 1),
                RegisterOutcome::OutOfOrder,
            ),
            (
                "star removes all",
                81,
                register(vec![contact("*", None)], Some(0), "e", 1),
                ok(&[]),
            ),
            ("nothing left", 82, register(vec![], None, "q", 3), ok(&[])),
            (
                "empty contact URI",
                83,
                register(vec![contact(" ", None)], None, "f", 1),
                bad_contact(),
            ),
        ];
        let t0 = Instant::now();
        let mut registrar = Registrar::new(RegistrarConfig::default());
        for (what, secs, request, want) in rows {
            let got = registrar.handle(&request, t0 + Duration::from_secs(secs));
            assert_eq!(got, want, "{what}");
        }
    }

    fn bad() -> RegisterOutcome {
        RegisterOutcome::Invalid("Contact: * needs Expires: 0 and no other contact")
    }

    fn bad_contact() -> RegisterOutcome {
        RegisterOutcome::Invalid("empty Contact")
    }

    #[test]
    fn expire_and_lookup() {
        let t0 = Instant::now();
        let mut r = Registrar::new(RegistrarConfig {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 120,
        });
        let mut low = contact(SOFT, Some(300));
        low.q = Some(100);
        r.handle(&register(vec![contact(DESK, None), low], None, "a", 1), t0);
        let other = RegisterRequest {
            aor: "sip:1002@pbx.example.com".into(),
            ..register(vec![], None, "z", 1)
        };
        r.handle(
            &RegisterRequest {
                contacts: vec![contact("<sip:1002@192.0.2.30>", Some(60))],
                ..other
            },
            t0,
        );

        let at = |s| t0 + Duration::from_secs(s);
        let uris = |v: Vec<ContactView>| v.into_iter().map(|c| (c.uri, c.expires)).collect::<Vec<_>>();
        assert_eq!(
            uris(r.lookup(AOR, at(0))),
            [(DESK.to_owned(), 120), (SOFT.to_owned(), 300)]
        );
        assert_eq!(
            uris(r.lookup(AOR, at(120))),
            [(SOFT.to_owned(), 180)],
            "lapsed binding hidden"
        );
        assert!(r.lookup("sip:nobody@pbx.example.com", at(0)).is_empty());

        assert_eq!(r.expire(at(59)), []);
        assert_eq!(
            r.expire(at(120)),
            [
                (AOR.to_owned(), DESK.to_owned()),
                (
                    "sip:1002@pbx.example.com".to_owned(),
                    "<sip:1002@192.0.2.30>".to_owned()
                )
            ]
        );
        assert_eq!(r.expire(at(121)), [], "reported once");
        assert_eq!(r.expire(at(300)), [(AOR.to_owned(), SOFT.to_owned())]);
        assert!(r.lookup(AOR, at(300)).is_empty());
    }

    #[test]
    fn a_lapsed_binding_does_not_block_a_new_registration() {
        // The phone rebooted: same Call-ID is unlikely, but a lapsed binding must not count.
        let t0 = Instant::now();
        let mut r = Registrar::new(RegistrarConfig::default());
        r.handle(&register(vec![contact(DESK, Some(60))], None, "a", 5), t0);
        let got = r.handle(
            &register(vec![contact(DESK, Some(60))], None, "a", 1),
            t0 + Duration::from_secs(61),
        );
        assert_eq!(got, ok(&[(DESK, 60)]));
    }

    /// What the hub shares with its other nodes: every bind, refresh, removal and lapse, in
    /// order, and nothing for a query or a refused request.
    #[test]
    fn changes_are_reported_in_order() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut r = Registrar::new(RegistrarConfig::default());
        let view = |uri: &str, expires| ContactView {
            uri: uri.into(),
            expires,
            ..ContactView::default()
        };
        let bound = |uri: &str, expires| BindingChange::Bound {
            aor: AOR.into(),
            contact: view(uri, expires),
        };
        r.handle(&register(vec![contact(DESK, Some(600))], None, "a", 1), at(0));
        r.handle(&register(vec![contact(DESK, Some(300))], None, "a", 2), at(10));
        assert_eq!(r.take_changes(), [bound(DESK, 600), bound(DESK, 300)]);
        assert_eq!(r.take_changes(), [], "taken once");

        // A query, a too-brief interval and a request refused for its second contact change
        // nothing, so they report nothing.
        r.handle(&register(vec![], None, "q", 1), at(20));
        r.handle(&register(vec![contact(SOFT, Some(5))], None, "b", 1), at(20));
        r.handle(
            &register(vec![contact(SOFT, Some(300)), contact(" ", None)], None, "b", 2),
            at(20),
        );
        assert_eq!(r.take_changes(), []);

        r.handle(
            &register(
                vec![contact(SOFT, Some(300)), contact(DESK, Some(0))],
                None,
                "b",
                3,
            ),
            at(30),
        );
        assert_eq!(
            r.take_changes(),
            [
                bound(SOFT, 300),
                BindingChange::Removed {
                    aor: AOR.into(),
                    uri: DESK.into()
                }
            ]
        );
        r.expire(at(330));
        assert_eq!(
            r.take_changes(),
            [BindingChange::Lapsed {
                aor: AOR.into(),
                uri: SOFT.into()
            }]
        );
        r.handle(&register(vec![contact(DESK, None)], None, "c", 1), at(400));
        r.handle(&register(vec![contact("*", None)], Some(0), "c", 2), at(401));
        assert_eq!(
            r.take_changes(),
            [bound(DESK, 3600), BindingChange::RemovedAll { aor: AOR.into() }]
        );
    }

    /// RFC 5626 §6: a device (its `+sip.instance` and `reg-id`) has one binding whatever
    /// address it registers from; its parameters and the flow it came on are kept, and an AOR
    /// with two devices keeps both.
    #[test]
    fn a_device_is_one_binding_with_its_parameters_and_flow() {
        let t0 = Instant::now();
        let mut r = Registrar::new(RegistrarConfig::default());
        let device = |uri: &str, instance: &str, port: u16| {
            let params = format!(";+sip.instance=\"<urn:uuid:{instance}>\";reg-id=1;+sip.ice");
            let request = RegisterRequest {
                flow: Some(Flow {
                    source: ([192, 0, 2, 20], port).into(),
                    transport: crate::service::Transport::Tcp,
                }),
                ..register(
                    vec![ContactParam {
                        uri: uri.into(),
                        expires: Some(600),
                        params: params.clone(),
                        instance: Some(format!("urn:uuid:{instance};reg-id=1")),
                        ..ContactParam::default()
                    }],
                    None,
                    instance,
                    u32::from(port),
                )
            };
            (request, params)
        };
        let (first, params) = device("<sip:1001@192.0.2.20:40001;transport=tcp>", "a", 40001);
        let RegisterOutcome::Ok { bindings } = r.handle(&first, t0) else {
            panic!("refused");
        };
        assert_eq!(bindings[0].params, params);
        assert_eq!(bindings[0].flow.unwrap().source.port(), 40001);
        r.take_changes();
        // The phone restarted and connects from another port: same device, one binding.
        let (moved, _) = device("<sip:1001@192.0.2.20:40002;transport=tcp>", "a", 40002);
        let RegisterOutcome::Ok { bindings } = r.handle(&moved, t0) else {
            panic!("refused");
        };
        let uris: Vec<&str> = bindings.iter().map(|b| b.uri.as_str()).collect();
        assert_eq!(uris, ["<sip:1001@192.0.2.20:40002;transport=tcp>"]);
        assert!(matches!(
            &r.take_changes()[..],
            [BindingChange::Removed { uri, .. }, BindingChange::Bound { .. }]
                if uri == "<sip:1001@192.0.2.20:40001;transport=tcp>"
        ));
        let flow = r.flow_of("sip:1001@192.0.2.20:40002;transport=tcp", t0).unwrap();
        assert_eq!(flow.source.port(), 40002);
        assert_eq!(r.flow_of("<sip:1001@192.0.2.20:40001;transport=tcp>", t0), None);
        // Another device of the same account is a second binding.
        let (other, _) = device("<sip:1001@192.0.2.21:40003;transport=tcp>", "b", 40003);
        let RegisterOutcome::Ok { bindings } = r.handle(&other, t0) else {
            panic!("refused");
        };
        assert_eq!(bindings.len(), 2);
    }

    /// RFC 5626 §5.4: a binding registered with outbound lives as long as its connection. The
    /// device that registered again on a new connection keeps its binding when the old one
    /// closes; a binding registered without outbound stays until it lapses.
    #[test]
    fn an_outbound_binding_goes_with_its_connection() {
        let t0 = Instant::now();
        let mut r = Registrar::new(RegistrarConfig::default());
        let flow = |port: u16| Flow {
            source: ([192, 0, 2, 20], port).into(),
            transport: crate::service::Transport::Tcp,
        };
        let device = |instance: &str, port: u16, outbound: bool, cseq: u32| RegisterRequest {
            flow: Some(flow(port)),
            outbound,
            ..register(
                vec![ContactParam {
                    uri: format!("<sip:1001@192.0.2.20:{port};transport=tcp>"),
                    instance: Some(format!("urn:uuid:{instance};reg-id=1")),
                    reg_id: true,
                    ..ContactParam::default()
                }],
                None,
                instance,
                cseq,
            )
        };
        r.handle(&device("a", 40001, true, 1), t0);
        r.handle(&device("b", 40002, false, 1), t0);
        r.take_changes();
        r.flow_failed(flow(40002));
        assert!(r.take_changes().is_empty(), "no outbound on that connection");
        r.flow_failed(flow(40001));
        assert_eq!(
            r.take_changes(),
            [BindingChange::Removed {
                aor: AOR.into(),
                uri: "<sip:1001@192.0.2.20:40001;transport=tcp>".into()
            }]
        );
        let left: Vec<String> = r.lookup(AOR, t0).into_iter().map(|c| c.uri).collect();
        assert_eq!(left, ["<sip:1001@192.0.2.20:40002;transport=tcp>"]);
        // Registered again on a new connection before the old one is seen to close.
        r.handle(&device("a", 40003, true, 2), t0);
        r.take_changes();
        r.flow_failed(flow(40001));
        assert!(r.take_changes().is_empty());
        assert_eq!(r.lookup(AOR, t0).len(), 2);
    }

    #[test]
    fn status_codes() {
        let cases = [
            (ok(&[]), 200),
            (RegisterOutcome::IntervalTooBrief { min_expires: 60 }, 423),
            (bad(), 400),
            (RegisterOutcome::OutOfOrder, 500),
        ];
        for (outcome, status) in cases {
            assert_eq!(outcome.status(), status, "{outcome:?}");
        }
    }
}
