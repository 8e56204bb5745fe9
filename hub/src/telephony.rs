//! Where the SIP connector plugs into the hub. Agents' phones, kept in the store, are the
//! registrar's directory; `serve` starts the SIP server when `sip.listen` is set, and one task
//! here turns calls into interactions and back:
//!
//! - a caller the B2BUA answered (`CallEvent::Incoming`) is resolved to a customer by their
//!   number and queued through the dispatcher like any contact;
//! - unless the queue is closed (its business hours, or nobody staffed when its hours say so):
//!   then the caller hears the closed message and leaves a voicemail, and once they hang up the
//!   call becomes a voice interaction with `offline` set, waiting in the queue like an offline
//!   chat message, its recording where a call's would be. No phone rings for it: the agent
//!   offered it listens in the console and calls back;
//! - the router's offer of a call rings the agent's registered phone; the phone answering is the
//!   agent accepting, a phone that refuses declines, and an offer that times out (RONA) or is
//!   declined in the console cancels the ringing;
//! - a hang-up on either leg ends the interaction (abandoned, with its wait, if nobody had
//!   answered yet), and the agent ending the call in the console hangs up both legs;
//! - a transfer puts the caller back on hold music until the next agent answers, and hold does
//!   the same for as long as the agent keeps the call on hold;
//! - click-to-call: the agent's phone rings first, then the customer's number through the
//!   outbound trunk; the interaction is the agent's from the start and logged like any call. The
//!   click reaches this node's task straight from the console's socket (`Phones::dial`), never
//!   over the bus, which every node hears: one click, one call.
//!
//! - an agent whose device is the browser is not rung on a phone: the console rings, and once the
//!   agent holds the call their console's WebRTC offer (`ConnectorFrame::MediaOffer`) opens a
//!   browser leg (`plugboard_sip::webrtc`) bridged to the caller like a phone's; that leg going
//!   away (the tab closed, the network lost) is the agent hanging up. Their click-to-call starts
//!   the same way: the call is theirs at once, their console offers its audio, and only once
//!   that leg is attached is the customer's number called;
//! - keys the agent presses on the console's keypad (`ConnectorFrame::Keys`) go to the other
//!   party as RFC 4733 events.
//!
//! Several nodes: a call stays on the node that answered it, and a phone registers through
//! whichever node Kamailio sent its REGISTER to. Each registrar change is recorded in the store
//! (`phone_bindings`), so the node ringing an agent looks in its own registrar first and in the
//! shared table otherwise, and sends the INVITE straight to the phone's contact.

use crate::bus::{Bus, ConnectorFrame};
use crate::config::Config;
use crate::dispatcher::{Dispatcher, LogLine};
use crate::domain::{
    AccountId, AgentId, Callback, CallbackPolicy, Channel, Device, InteractionId, Missed, RawIdentity,
    now_millis,
};
use crate::store::{BindingUpdate, DynStore, NewInteraction, NewPhone, PhoneBinding, StoreError};
use anyhow::Context;
use plugboard_channel::Inbound;
use plugboard_sip::b2bua::{CallCommand, CallEvent, CallId, Destination, Listener, Menu, Party};
use plugboard_sip::digest::Algorithm;
use plugboard_sip::media::Audio;
use plugboard_sip::mix::Mix;
use plugboard_sip::registrar::BindingChange;
use plugboard_sip::server::{ServerConfig, SipServer, TlsSettings};
use plugboard_sip::service::{PhoneCredentials, PhoneDirectory, ServiceConfig};
use plugboard_sip::webrtc::BrowserLeg;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::mpsc;

/// Every phone's digests by SIP username, and whose phone it is. The registrar asks on each
/// REGISTER, synchronously, so they live in memory: loaded at start, changed by the phones API in
/// the same process, and read again from the store every few seconds (`refresh_directory`) for
/// the phones added or taken away through another node.
#[derive(Default)]
pub struct Phones {
    by_username: RwLock<HashMap<String, (AgentId, PhoneCredentials)>>,
    /// Counts this process's own changes (`put`, `remove`), so a reload read before one does not
    /// undo it.
    edits: std::sync::atomic::AtomicU64,
    /// The registrar, once SIP has started (weak: the server holds this directory).
    server: std::sync::OnceLock<std::sync::Weak<SipServer>>,
    /// The registrar's changes not yet in the store, oldest first, at most one per binding (a
    /// newer change of a binding replaces the older one): `record_bindings` takes them.
    unrecorded: Mutex<Vec<BindingUpdate>>,
    changed: tokio::sync::Notify,
    /// This node's telephony task, once SIP has started with a trunk to call out through:
    /// where click-to-call goes.
    dials: std::sync::OnceLock<mpsc::Sender<Dial>>,
    /// This node's telephony task, once SIP has started: told of every phone account that
    /// registers here, so its agent is offered calls again.
    registered: std::sync::OnceLock<mpsc::UnboundedSender<String>>,
}

/// A click-to-call, from an agent's console on this node; or the agent accepting a callback
/// offered to them (`callback`: its interaction), which is the hub calling the customer back.
#[derive(Debug)]
pub struct Dial {
    pub account: AccountId,
    pub agent: AgentId,
    pub customer: crate::domain::CustomerId,
    pub number: String,
    pub callback: Option<(InteractionId, Callback)>,
}

/// How often a node reads every phone again, to let in phones added through another node (and
/// turn away those taken away there).
const DIRECTORY_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);
/// How often the leader looks for calls whose node died (with several nodes).
const LOST_CALL_SWEEP: std::time::Duration = std::time::Duration::from_secs(10);

/// How much later than its own registrar a node counts a binding as lapsed in the shared table:
/// the row's expiry was stamped by the wall clock when the REGISTER came in, the lapse by the
/// registrar's monotonic clock, and the two may disagree by a moment. A refresh through another
/// node moves the row's expiry at least a registration interval (60 s or more) further.
const LAPSE_GRACE_MS: i64 = 2_000;

/// Whether `newer` makes the unrecorded `older` pointless: it changes the same binding (or, for
/// an AOR-wide removal, every binding of the AOR).
fn supersedes(newer: &BindingUpdate, older: &BindingUpdate) -> bool {
    let key = |u: &BindingUpdate| -> (String, Option<String>) {
        match u {
            BindingUpdate::Bound(b) => (b.aor.clone(), Some(b.contact.clone())),
            BindingUpdate::Removed { aor, contact } => (aor.clone(), contact.clone()),
            BindingUpdate::Lapsed { aor, contact, .. } => (aor.clone(), Some(contact.clone())),
        }
    };
    let ((new_aor, new_contact), (old_aor, old_contact)) = (key(newer), key(older));
    new_aor == old_aor && (new_contact.is_none() || new_contact == old_contact)
}

/// The store's form of a registrar change, stamped with the wall clock `now`.
fn binding_update(change: BindingChange, now: i64) -> BindingUpdate {
    match change {
        BindingChange::Bound { aor, contact } => BindingUpdate::Bound(PhoneBinding {
            username: plugboard_sip::message::aor_user(&aor).to_owned(),
            aor,
            contact: contact.uri,
            q: contact.q,
            expires_at: now + i64::from(contact.expires) * 1000,
        }),
        BindingChange::Removed { aor, uri } => BindingUpdate::Removed {
            aor,
            contact: Some(uri),
        },
        BindingChange::RemovedAll { aor } => BindingUpdate::Removed { aor, contact: None },
        BindingChange::Lapsed { aor, uri } => BindingUpdate::Lapsed {
            aor,
            contact: uri,
            at: now + LAPSE_GRACE_MS,
        },
    }
}

impl Phones {
    pub async fn load(store: &DynStore) -> Result<Arc<Phones>, StoreError> {
        let phones = Phones::default();
        for phone in store.phone_secrets().await? {
            phones.put(&phone);
        }
        Ok(Arc::new(phones))
    }

    pub fn put(&self, phone: &NewPhone) {
        let mut phones = self.write();
        phones.insert(phone.username.clone(), entry(phone));
        self.edits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn remove(&self, username: &str) {
        let mut phones = self.write();
        phones.remove(username);
        self.edits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Replaces the directory with the store's phones; `false` (nothing changed) when this
    /// process changed it meanwhile, since what was read may predate that change.
    async fn reload(&self, store: &DynStore) -> Result<bool, StoreError> {
        let before = self.edits.load(std::sync::atomic::Ordering::SeqCst);
        let stored = store.phone_secrets().await?;
        let mut phones = self.write();
        if self.edits.load(std::sync::atomic::Ordering::SeqCst) != before {
            return Ok(false);
        }
        *phones = stored.iter().map(|p| (p.username.clone(), entry(p))).collect();
        Ok(true)
    }

    /// Where a phone is registered now (empty when SIP is off or the phone is not registered).
    pub fn contacts(&self, username: &str) -> Vec<String> {
        self.server
            .get()
            .and_then(std::sync::Weak::upgrade)
            .map(|server| server.bindings_of(username).into_iter().map(|b| b.uri).collect())
            .unwrap_or_default()
    }

    /// Whether this node can call out: SIP runs here, with an outbound trunk.
    pub fn can_dial(&self) -> bool {
        self.dials.get().is_some()
    }

    /// Starts a click-to-call on this node. `false` (before anything is written) when it
    /// cannot call out.
    pub async fn dial(&self, dial: Dial) -> bool {
        match self.dials.get() {
            Some(tx) => tx.send(dial).await.is_ok(),
            None => false,
        }
    }

    /// Queues a registrar change for `record_bindings`.
    fn unrecorded(&self, update: BindingUpdate) {
        let mut unrecorded = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        unrecorded.retain(|older| !supersedes(&update, older));
        unrecorded.push(update);
        drop(unrecorded);
        self.changed.notify_one();
    }

    /// Puts back changes the store refused, before those that came meanwhile, unless one of
    /// those replaced them.
    fn requeue(&self, batch: Vec<BindingUpdate>) {
        let mut unrecorded = self.unrecorded.lock().unwrap_or_else(|p| p.into_inner());
        let newer = std::mem::take(&mut *unrecorded);
        let mut kept: Vec<BindingUpdate> = batch
            .into_iter()
            .filter(|older| !newer.iter().any(|n| supersedes(n, older)))
            .collect();
        kept.extend(newer);
        *unrecorded = kept;
    }

    /// The SIP usernames of an agent's phones.
    fn of_agent(&self, agent: AgentId) -> Vec<String> {
        self.by_username
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, (owner, _))| *owner == agent)
            .map(|(username, _)| username.clone())
            .collect()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, (AgentId, PhoneCredentials)>> {
        self.by_username.write().unwrap_or_else(|p| p.into_inner())
    }
}

fn entry(phone: &NewPhone) -> (AgentId, PhoneCredentials) {
    let credentials = PhoneCredentials {
        username: phone.username.clone(),
        realm: phone.realm.clone(),
        ha1_md5: phone.ha1_md5.clone(),
        ha1_sha256: phone.ha1_sha256.clone(),
    };
    (phone.agent_id, credentials)
}

/// Voice interactions waiting or in progress whose media no node holds.
async fn lost_calls(store: &DynStore, bus: &Bus) -> anyhow::Result<Vec<(AccountId, InteractionId)>> {
    let (waiting, held) = (
        store.waiting_interactions().await?,
        store.held_interactions().await?,
    );
    Ok(waiting
        .into_iter()
        .chain(held)
        .filter(|(_, i)| {
            // A voicemail, or a callback still waiting (`offline`), has no call left to lose.
            let no_call = i.offline && (i.callback.is_none() || i.state.is_waiting());
            i.channel == Channel::Voice
                && !no_call
                && i.state != crate::domain::InteractionState::WrapUp
                && bus.call_nodes(i.id) == 0
        })
        .map(|(account, i)| (account, i.id))
        .collect())
}

async fn end_lost_call(
    dispatcher: &Dispatcher,
    account: AccountId,
    id: InteractionId,
    by: &str,
) -> Result<(), crate::dispatcher::DispatchError> {
    let line = LogLine {
        kind: "call.ended".into(),
        data: json!({ "by": by }),
    };
    dispatcher.leave(account, id, Some(line)).await
}

/// With several nodes: every `LOST_CALL_SWEEP`, the node leading the routers ends the calls no
/// live node holds (their node died; its presence lapses after the bus's expiry). A call must be
/// found unheld by two sweeps in a row: one just taken may not have been announced yet.
async fn sweep_lost_calls(store: DynStore, dispatcher: Dispatcher, bus: Bus) {
    let mut every = tokio::time::interval(LOST_CALL_SWEEP);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut unheld: HashSet<InteractionId> = HashSet::new();
    loop {
        every.tick().await;
        if dispatcher.router() != "here" {
            unheld.clear();
            continue;
        }
        let found = match lost_calls(&store, &bus).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "looking for calls whose node died");
                continue;
            }
        };
        let mut now_unheld = HashSet::new();
        for (account, id) in found {
            if unheld.contains(&id) {
                if let Err(e) = end_lost_call(&dispatcher, account, id, "node_lost").await {
                    tracing::error!(error = %e, %id, "ending a call whose node died");
                }
            } else {
                now_unheld.insert(id);
            }
        }
        unheld = now_unheld;
    }
}

/// Reads the phones again every `DIRECTORY_REFRESH`: with several nodes, an admin adds or takes
/// away a phone through one of them, while Kamailio sends its REGISTERs to whichever node its
/// address hashes to.
async fn refresh_directory(phones: Arc<Phones>, store: DynStore) {
    let mut every = tokio::time::interval(DIRECTORY_REFRESH);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = phones.reload(&store).await {
            tracing::error!(error = %e, "reading agents' phones again");
        }
    }
}

impl PhoneDirectory for Phones {
    fn credentials(&self, user: &str) -> Option<PhoneCredentials> {
        self.by_username
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .map(|(_, c)| c.clone())
    }

    /// Called under the SIP service's lock: queued here, written by `record_bindings`; a phone
    /// that registers is reachable again (`Calls::registered`).
    fn bindings_changed(&self, change: BindingChange) {
        if let BindingChange::Bound { aor, .. } = &change
            && let Some(registered) = self.registered.get()
        {
            let _ = registered.send(plugboard_sip::message::aor_user(aor).to_owned());
        }
        self.unrecorded(binding_update(change, now_millis()));
    }
}

/// Records the registrar's changes in the store, in order, so every node can ring a phone that
/// registered through this one. What piled up during a write goes in the next, in one
/// transaction; a failed write is retried (newer changes of the same bindings win) rather than
/// dropped, or the other nodes would ring a phone that left, or never find one that came.
async fn record_bindings(phones: Arc<Phones>, store: DynStore) {
    loop {
        phones.changed.notified().await;
        let batch = std::mem::take(&mut *phones.unrecorded.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            continue;
        }
        if let Err(e) = store.update_bindings(&batch).await {
            tracing::error!(error = %e, "recording phones' registrations; retrying in a second");
            phones.requeue(batch);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            phones.changed.notify_one();
        }
    }
}

fn algorithm(name: &str) -> anyhow::Result<Algorithm> {
    match name.to_ascii_uppercase().as_str() {
        "MD5" => Ok(Algorithm::Md5),
        "SHA-256" => Ok(Algorithm::Sha256),
        other => {
            anyhow::bail!("sip.algorithms: unknown digest algorithm {other:?} (use \"SHA-256\" or \"MD5\")")
        }
    }
}

/// `sip.numbers` and `sip.menus` as the B2BUA takes them.
fn destinations(config: &crate::config::Sip) -> anyhow::Result<HashMap<String, Destination>> {
    let mut numbers: HashMap<String, Destination> = config
        .numbers
        .iter()
        .map(|(number, queue)| (number.clone(), Destination::Queue(queue.clone())))
        .collect();
    for (number, options) in &config.menus {
        let options = options
            .iter()
            .map(|(key, queue)| {
                let mut chars = key.chars();
                match (chars.next(), chars.next()) {
                    (Some(k), None) if k.is_ascii_digit() || k == '*' || k == '#' => Ok((k, queue.clone())),
                    _ => anyhow::bail!("sip.menus.{number:?}: {key:?} is not a phone key"),
                }
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            numbers
                .insert(number.clone(), Destination::Menu(Menu { options }))
                .is_none(),
            "sip: {number:?} is both a number and a menu"
        );
    }
    Ok(numbers)
}

/// Starts the SIP server on `sip.listen` and the task that connects calls to the dispatcher, or
/// nothing when `sip.listen` is unset. The server stops when the returned value is dropped.
pub async fn start(
    config: &Config,
    phones: Arc<Phones>,
    store: DynStore,
    bus: &Bus,
    dispatcher: Dispatcher,
    intake: crate::intake::Intake,
    health: &crate::health::Health,
) -> anyhow::Result<Option<Arc<SipServer>>> {
    let sip = &config.sip;
    let Some(listen) = sip.listen else {
        return Ok(None);
    };
    let algorithms = sip
        .algorithms
        .iter()
        .map(|a| algorithm(a))
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(
        !algorithms.is_empty(),
        "sip.algorithms: offer at least one digest algorithm"
    );
    let audio = match &sip.prompts {
        Some(dir) => Audio::load(dir).context("sip.prompts")?,
        None => Audio::builtin(),
    };
    // Voicemails are kept here too, whether calls are recorded or not.
    let recordings = config.data_dir.join("recordings");
    std::fs::create_dir_all(&recordings).with_context(|| format!("creating {}", recordings.display()))?;
    let service = ServiceConfig {
        realm: sip.realm.clone(),
        algorithms,
        trunks: sip.trunks.clone(),
        trust_trunks_over_udp: sip.trust_trunks_over_udp,
        numbers: destinations(sip)?,
        media_ip: sip.media_ip,
        outbound: sip.outbound_trunk,
        max_calls: sip.max_calls as usize,
        ..ServiceConfig::default()
    };
    let tls = match (sip.tls_listen, &sip.tls_cert, &sip.tls_key) {
        (None, _, _) => None,
        (Some(listen), Some(cert), Some(key)) => Some(TlsSettings {
            listen,
            cert: cert.clone(),
            key: key.clone(),
        }),
        (Some(_), _, _) => anyhow::bail!("sip.tls_listen needs sip.tls_cert and sip.tls_key"),
    };
    let (server, events) = SipServer::start(
        ServerConfig {
            udp: listen,
            tcp: listen,
            service,
            audio,
            tcp_limits: Default::default(),
            tls,
        },
        phones.clone(),
    )
    .await
    .with_context(|| format!("listening for SIP on {listen}"))?;
    let server = Arc::new(server);
    let _ = phones.server.set(Arc::downgrade(&server));
    let recording = health.running("telephony.registrations");
    let (recorder, recorder_store) = (phones.clone(), store.clone());
    tokio::spawn(async move {
        let _running = recording;
        record_bindings(recorder, recorder_store).await
    });
    let refreshing = health.running("telephony.directory");
    let (refresher, refresher_store) = (phones.clone(), store.clone());
    tokio::spawn(async move {
        let _running = refreshing;
        refresh_directory(refresher, refresher_store).await
    });
    let (registered_tx, registered) = mpsc::unbounded_channel();
    let _ = phones.registered.set(registered_tx);
    let (dial_tx, dials) = mpsc::channel(64);
    if sip.outbound_trunk.is_some() {
        let _ = phones.dials.set(dial_tx);
    }
    // Calls do not survive their node (their media died with the process). A single node at
    // start holds no call yet: whatever the store still has waiting or in progress was hung up.
    // With several nodes, a starting node must not touch the others' calls: the leader ends
    // those no live node holds (`sweep_lost_calls`).
    if bus.shared() {
        tokio::spawn(sweep_lost_calls(store.clone(), dispatcher.clone(), bus.clone()));
    } else {
        for (account, id) in lost_calls(&store, bus).await? {
            end_lost_call(&dispatcher, account, id, "restart").await?;
        }
    }
    let (later_tx, later_rx) = mpsc::unbounded_channel();
    let calls = Calls {
        server: server.clone(),
        bus: bus.clone(),
        outbound_queue: sip.outbound_queue.clone(),
        store,
        dispatcher,
        phones,
        intake,
        recordings: sip.record.then(|| recordings.clone()),
        voicemails: recordings,
        voicemail_max: std::time::Duration::from_secs(u64::from(sip.voicemail_max_secs)),
        announce_every: std::time::Duration::from_secs(u64::from(sip.announce_position_secs)),
        can_call_back: sip.outbound_trunk.is_some(),
        calls: HashMap::new(),
        by_interaction: HashMap::new(),
        later: later_tx,
        next_leg: 0,
    };
    let running = health.running("telephony");
    let health = health.clone();
    let mut frames = bus.subscribe_connector(Channel::Voice);
    frames.ready().await;
    tokio::spawn(async move {
        let _running = running;
        calls
            .run(events, frames, dials, registered, health, later_rx)
            .await
    });
    Ok(Some(server))
}

/// A call the hub knows as an interaction.
struct Call {
    account: AccountId,
    interaction: InteractionId,
    /// The agent whose phone rings for it now.
    ringing: Option<AgentId>,
    /// A click-to-call's agent (the call is theirs from the start).
    dialled_by: Option<AgentId>,
    /// When the legs were bridged, and with whom.
    answered: Option<(i64, AgentId)>,
    /// Since when the caller is on hold, and the hold time before that, with this agent.
    held_since: Option<i64>,
    hold_ms: i64,
    /// The agents who had the call before this one (a transfer ends a leg).
    legs: Vec<AgentLeg>,
    recording: Option<PathBuf>,
    /// Set when the queue was found closed: the caller leaves a voicemail, filed as the call's
    /// interaction once they hang up (by the task that found it closed, or the call's end).
    closed: Arc<std::sync::OnceLock<Closed>>,
    /// The agent's browser leg, when their console carries the call's audio, with its number
    /// (so the news of an older leg's end is not taken for this one's).
    browser: Option<(u64, BrowserLeg)>,
    /// The caller may choose a callback: to this number, offered again this often.
    callback_offer: Option<(String, std::time::Duration)>,
    /// The caller chose a callback and it is booked: they are saying goodbye, and the
    /// interaction waits on without them.
    booked: bool,
    /// This call is the agent calling a customer back, as booked; `true` once the customer's
    /// number refused or did not answer.
    calling_back: Option<(Callback, bool)>,
    /// A supervisor listening in, or a colleague the agent consults (asked to join, or on it).
    party: Option<ThirdParty>,
    /// The consulted colleague who took the call over, until the dispatcher offers it to them
    /// (then it is theirs at once: they are talking already).
    promoted_to: Option<AgentId>,
    /// Tells every node this one holds the call's media.
    _held_here: crate::bus::Subscription<InteractionId, ()>,
    /// The call's latest request to the dispatcher, still under way: the next waits for it, so
    /// a call's requests arrive in order while the loop goes on with other calls.
    last: Option<tokio::task::JoinHandle<()>>,
}

/// A third party on a call: a supervisor listening in or a consulted colleague, how they take
/// part, and from where.
struct ThirdParty {
    who: AgentId,
    name: String,
    mode: Mix,
    /// Their phone answered (or their browser's leg is on).
    joined: bool,
    /// Their browser's leg, when it carries their audio, with its number (see `Call::browser`).
    browser: Option<(u64, BrowserLeg)>,
    /// Their desk phone is rung (else their browser joins when it offers its audio).
    via_phone: bool,
    /// A consult's: who asked, why and about whom.
    consult: Option<Consult>,
    /// The agent handed the call to the consulted colleague: it is theirs once it is moved.
    completing: bool,
}

/// What a consulted colleague is told.
struct Consult {
    by: AgentId,
    by_name: String,
    note: Option<String>,
    customer: String,
}

impl ThirdParty {
    /// Whether the agent hears a supervisor (and so is told).
    fn heard(&self) -> bool {
        self.mode != Mix::Monitor
    }
}

/// One agent's part of a call: from their phone's answer to their hang-up or transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
struct AgentLeg {
    agent_id: AgentId,
    talk_ms: i64,
    hold_ms: i64,
}

impl Call {
    /// The agent on the call: who answered it, or whose click-to-call it is.
    fn agent(&self) -> Option<AgentId> {
        self.answered.map(|(_, agent)| agent).or(self.dialled_by)
    }

    /// The caller goes on hold (`on`) or comes off it now; false when they already were so.
    fn hold(&mut self, on: bool, now: i64) -> bool {
        match (on, self.held_since) {
            (true, None) => self.held_since = Some(now),
            (false, Some(since)) => {
                self.hold_ms += now - since;
                self.held_since = None;
            }
            _ => return false,
        }
        true
    }

    /// The agent's part ends now (a transfer, or the end of the call): counted into `legs`.
    fn close_leg(&mut self, now: i64) {
        let held = self.held_since.take().map_or(0, |since| now - since);
        let hold_ms = std::mem::take(&mut self.hold_ms) + held;
        if let Some((at, agent_id)) = self.answered.take() {
            self.legs.push(AgentLeg {
                agent_id,
                talk_ms: now - at - hold_ms,
                hold_ms,
            });
        }
    }

    /// `call.ended`'s figures: talk and hold time summed over every agent's leg, the last agent,
    /// each leg, and the one recording of them all.
    fn ended(&mut self, now: i64, by: Party) -> serde_json::Value {
        self.close_leg(now);
        let mut data = json!({ "by": party(by) });
        if let Some(last) = self.legs.last() {
            data["talk_ms"] = json!(self.legs.iter().map(|l| l.talk_ms).sum::<i64>());
            data["hold_ms"] = json!(self.legs.iter().map(|l| l.hold_ms).sum::<i64>());
            data["agent_id"] = json!(last.agent_id);
            data["legs"] = json!(self.legs);
            if let Some(path) = &self.recording {
                data["recording"] = json!(path.file_name().map(|n| n.to_string_lossy()));
            }
        }
        data
    }
}

/// A caller who found their queue closed: what their voicemail is filed with.
struct Closed {
    caller: Caller,
    queue: crate::domain::Queue,
}

/// Who called which number, as the B2BUA said.
struct Caller {
    call: CallId,
    number: Option<String>,
    display_name: Option<String>,
    dialled: String,
}

/// What a dial places: a new call out (its interaction just opened), or a callback's call under
/// the callback's own interaction.
enum Placing {
    Out(crate::domain::Interaction),
    Back(Callback),
}

/// The agent's call back that never reached the customer.
struct Unanswered {
    account: AccountId,
    agent: AgentId,
    interaction: InteractionId,
    callback: Callback,
    /// The customer's number refused or did not answer (else the agent's own phone did not).
    missed: bool,
}

impl Unanswered {
    /// A customer who did not answer is called again when the queue's policy says (the
    /// interaction waits in its queue until then), or, after the last attempt, the call ends for
    /// the agent to wrap up. A call the agent's own phone never took goes back to its queue, in
    /// its place, for the next agent. `line` is the call's `call.ended`.
    async fn follow_up(self, dispatcher: &Dispatcher, store: &DynStore, line: LogLine) -> anyhow::Result<()> {
        let Unanswered {
            account,
            agent,
            interaction: id,
            callback,
            missed,
        } = self;
        let queue = store.interaction(account, id).await?.queue_id;
        if !missed {
            dispatcher.log(account, id, line).await?;
            dispatcher.transfer(account, agent, id, queue).await?;
            return Ok(());
        }
        let policy = store
            .queue(account, queue)
            .await?
            .callbacks
            .unwrap_or(CallbackPolicy::BOOKED);
        match callback.missed(&policy, now_millis()) {
            Missed::Retry(next) => {
                dispatcher.log(account, id, line).await?;
                dispatcher.reschedule(account, agent, id, next).await?;
            }
            Missed::GiveUp => dispatcher.leave(account, id, Some(line)).await?,
        }
        Ok(())
    }
}

/// What a request handed off (`Calls::in_order`) tells the loop when it did not go through.
enum Later {
    /// The queue is closed: the caller leaves a voicemail.
    Closed { call: CallId },
    /// The call could not be queued: nobody can take it.
    HangUp { call: CallId, error: anyhow::Error },
    /// The phone answered but the dispatcher did not give the agent the call.
    NotAccepted { call: CallId },
    /// The browser leg numbered `leg` is gone (closed tab, lost network, never connected): the
    /// agent's, or a third party's.
    BrowserGone { call: CallId, leg: u64 },
    /// The call is queued where callers are offered a callback to `number` after every `after`.
    CallbackOffered {
        call: CallId,
        number: String,
        after: std::time::Duration,
    },
    /// Time to offer the waiting caller a callback (again).
    OfferCallback { call: CallId },
    /// The callback the caller chose is booked.
    CallbackBooked { call: CallId },
}

struct Calls {
    server: Arc<SipServer>,
    bus: Bus,
    outbound_queue: String,
    store: DynStore,
    dispatcher: Dispatcher,
    phones: Arc<Phones>,
    intake: crate::intake::Intake,
    recordings: Option<PathBuf>,
    /// Where voicemails go (as `<interaction id>.wav`, like recordings), and the longest one.
    voicemails: PathBuf,
    voicemail_max: std::time::Duration,
    /// Zero: no position announcements.
    announce_every: std::time::Duration,
    /// There is a trunk to call customers back through: callers may be offered a callback.
    can_call_back: bool,
    calls: HashMap<CallId, Call>,
    by_interaction: HashMap<InteractionId, CallId>,
    later: mpsc::UnboundedSender<Later>,
    /// The number of the next browser leg.
    next_leg: u64,
}

impl Calls {
    async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<CallEvent>,
        mut frames: crate::bus::Subscription<Channel, ConnectorFrame>,
        mut dials: mpsc::Receiver<Dial>,
        mut registered: mpsc::UnboundedReceiver<String>,
        health: crate::health::Health,
        mut later: mpsc::UnboundedReceiver<Later>,
    ) {
        let every = self.announce_every.max(std::time::Duration::from_secs(1));
        let mut announce = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            let result = tokio::select! {
                _ = announce.tick(), if !self.announce_every.is_zero() => {
                    health.guard("telephony", self.announce()).await
                }
                event = events.recv() => match event {
                    Some(event) => health.guard("telephony", self.event(event)).await,
                    None => return,
                },
                frame = frames.rx.recv() => match frame {
                    Some(frame) => health.guard("telephony", self.frame(&frame)).await,
                    None => return,
                },
                Some(dial) = dials.recv() => {
                    health.guard("telephony", self.click(dial)).await.map(Ok)
                }
                Some(username) = registered.recv() => {
                    health.guard("telephony", self.registered(&username)).await
                }
                Some(news) = later.recv() => {
                    self.later(news);
                    None
                }
            };
            if let Some(Err(e)) = result {
                tracing::error!(error = %e, "telephony");
            }
        }
    }

    fn later(&mut self, news: Later) {
        match news {
            Later::Closed { call } => {
                if let Some(c) = self.calls.get(&call) {
                    tracing::info!(interaction = %c.interaction, "the queue is closed: voicemail");
                    self.server.command(CallCommand::Voicemail {
                        call,
                        record: self.voicemails.join(format!("{}.wav", c.interaction)),
                        max: self.voicemail_max,
                    });
                }
            }
            Later::HangUp { call, error } => {
                // Nobody can take it: say so with a hang-up rather than music for ever.
                tracing::error!(error = %format!("{error:#}"), "a call could not be queued");
                if let Some(c) = self.calls.remove(&call) {
                    self.by_interaction.remove(&c.interaction);
                }
                self.server.command(CallCommand::Hangup { call });
            }
            Later::NotAccepted { call } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.answered = None;
                }
                self.server.command(CallCommand::Release { call });
            }
            Later::CallbackOffered { call, number, after } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.callback_offer = Some((number, after));
                    self.offer_callback_in(call, after);
                }
            }
            Later::OfferCallback { call } => {
                let Some(c) = self.calls.get(&call) else {
                    return;
                };
                let waiting =
                    !c.booked && c.ringing.is_none() && c.agent().is_none() && c.closed.get().is_none();
                if let (true, Some((_, after))) = (waiting, &c.callback_offer) {
                    let after = *after;
                    self.server.command(CallCommand::OfferCallback { call });
                    self.offer_callback_in(call, after);
                }
            }
            Later::CallbackBooked { call } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    tracing::info!(interaction = %c.interaction, "the caller chose a callback");
                    c.booked = true;
                    c.ringing = None;
                    self.server.command(CallCommand::CallbackBooked { call });
                }
            }
            Later::BrowserGone { call, leg } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return;
                };
                let ours =
                    |browser: &Option<(u64, BrowserLeg)>| browser.as_ref().is_some_and(|(n, _)| *n == leg);
                if ours(&c.browser) {
                    tracing::info!(interaction = %c.interaction, "the agent's browser left the call");
                    c.browser = None;
                    self.server.command(CallCommand::AgentLeft { call });
                } else if c.party.as_ref().is_some_and(|l| ours(&l.browser)) {
                    // A third party's browser (a supervisor's, a consulted colleague's) left.
                    self.server.command(CallCommand::DropParty { call });
                }
            }
        }
    }

    /// Offers the caller a callback `after` from now, if they are still waiting then.
    fn offer_callback_in(&self, call: CallId, after: std::time::Duration) {
        let later = self.later.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = later.send(Later::OfferCallback { call });
        });
    }

    /// Logs `line` on the call's interaction after the call's earlier requests.
    fn log_on_call(&mut self, call: CallId, account: AccountId, interaction: InteractionId, line: LogLine) {
        let dispatcher = self.dispatcher.clone();
        self.in_order(call, async move {
            let kind = line.kind.clone();
            if let Err(e) = dispatcher.log(account, interaction, line).await {
                tracing::error!(error = %e, %kind, "logging on a call");
            }
        });
    }

    /// Hands a dispatcher request for `call` off to a task of its own, after the call's earlier
    /// requests: the loop never waits for a commit, so the calls arriving meanwhile share it.
    fn in_order(&mut self, call: CallId, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let before = self.calls.get_mut(&call).and_then(|c| c.last.take());
        let task = tokio::spawn(async move {
            if let Some(before) = before {
                let _ = before.await;
            }
            work.await
        });
        if let Some(c) = self.calls.get_mut(&call) {
            c.last = Some(task);
        }
    }

    async fn event(&mut self, event: CallEvent) -> anyhow::Result<()> {
        match event {
            CallEvent::Incoming {
                call,
                caller,
                display_name,
                dialled,
                queue,
            } => {
                let account = AccountId::DEFAULT;
                // The interaction's id is known before it exists, so the call is tracked before
                // its offer can come back.
                let id = InteractionId::new();
                let recording = self.recordings.as_ref().map(|dir| dir.join(format!("{id}.wav")));
                self.track(call, account, id, None, recording);
                let (intake, dispatcher, later) =
                    (self.intake.clone(), self.dispatcher.clone(), self.later.clone());
                let can_call_back = self.can_call_back;
                let closed = self
                    .calls
                    .get(&call)
                    .map(|c| c.closed.clone())
                    .unwrap_or_default();
                let caller = Caller {
                    call,
                    number: caller,
                    display_name,
                    dialled,
                };
                self.in_order(call, async move {
                    let queued = async {
                        let queue = intake.store.queue_by_name(account, &queue).await?;
                        if is_closed(&dispatcher, account, &queue, now_millis()).await? {
                            let _ = closed.set(Closed { caller, queue });
                            let _ = later.send(Later::Closed { call });
                            return anyhow::Ok(());
                        }
                        queue_call(&intake, account, id, &caller, &queue, false).await?;
                        // Only a caller whose number we know can be called back.
                        let number = caller.number.clone().filter(|n| !n.is_empty());
                        if let (Some(policy), Some(number), true) = (queue.callbacks, number, can_call_back) {
                            let after = std::time::Duration::from_secs(u64::from(policy.offer_after_secs));
                            let _ = later.send(Later::CallbackOffered { call, number, after });
                        }
                        Ok(())
                    };
                    if let Err(e) = queued.await {
                        let error = e.context(format!("queueing a call for {queue:?}"));
                        let _ = later.send(Later::HangUp { call, error });
                    }
                });
            }
            CallEvent::AgentAnswered { call } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                if c.dialled_by.is_some() {
                    // Click-to-call: the agent picked up; the customer is being called.
                    return Ok(());
                }
                let Some(agent) = c.ringing.take() else {
                    // The offer was withdrawn as the phone answered: the caller waits on.
                    self.server.command(CallCommand::Release { call });
                    return Ok(());
                };
                let (account, interaction) = (c.account, c.interaction);
                c.answered = Some((now_millis(), agent));
                // The phone answering is the agent accepting, unless the console accepted first.
                if self.dispatcher.holder(interaction).await != Some(agent) {
                    let (dispatcher, later) = (self.dispatcher.clone(), self.later.clone());
                    self.in_order(call, async move {
                        if dispatcher.accept(account, agent, interaction).await.is_err() {
                            let _ = later.send(Later::NotAccepted { call });
                        }
                    });
                }
            }
            CallEvent::CustomerAnswered { call } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.answered = c.dialled_by.map(|agent| (now_millis(), agent));
                }
            }
            CallEvent::CustomerFailed { call, status } => {
                if let Some(c) = self.calls.get_mut(&call) {
                    if let Some((_, missed)) = &mut c.calling_back {
                        *missed = true;
                    }
                    let line = LogLine {
                        kind: "call.failed".into(),
                        data: json!({ "status": status }),
                    };
                    let (account, interaction) = (c.account, c.interaction);
                    self.log_on_call(call, account, interaction, line);
                }
            }
            CallEvent::CallbackChosen { call } => {
                let Some(c) = self.calls.get(&call) else {
                    return Ok(());
                };
                let Some((number, _)) = c.callback_offer.clone() else {
                    return Ok(());
                };
                let (account, interaction) = (c.account, c.interaction);
                let (dispatcher, later) = (self.dispatcher.clone(), self.later.clone());
                self.in_order(call, async move {
                    let callback = Callback {
                        number,
                        due_at: None,
                        attempts: 0,
                    };
                    // Booked only while it waits unoffered: a phone ringing for it now is about
                    // to put the caller through.
                    match dispatcher.callback_requested(account, interaction, callback).await {
                        Ok(()) => {
                            let _ = later.send(Later::CallbackBooked { call });
                        }
                        Err(e) => {
                            tracing::info!(%interaction, error = %e, "a callback the caller chose was not booked: they wait on");
                        }
                    }
                });
            }
            CallEvent::PartyJoined { call } => {
                if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.party.as_mut()) {
                    l.joined = true;
                    if l.consult.is_some() {
                        self.consult_changed(call, Some("call.consulted"));
                    } else {
                        self.monitoring_changed(call, false);
                    }
                }
            }
            CallEvent::PartyFailed { call, status } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                let Some(l) = c.party.take_if(|l| !l.joined) else {
                    return Ok(());
                };
                let account = c.account;
                if l.via_phone {
                    self.party_phone(call, account, l.who, false);
                }
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                if let Some(consult) = &l.consult {
                    // Back with the caller: say why to the agent, and that it is over to both.
                    c.hold(false, now_millis());
                    let why = match status {
                        408 => format!("{}'s desk phone did not answer", l.name),
                        status => format!("{}'s desk phone did not take the call (SIP {status})", l.name),
                    };
                    self.bus.to_agent(consult.by, consult_error(c.interaction, why));
                    for to in [consult.by, l.who] {
                        self.bus
                            .to_agent(to, consult_frame(c.interaction, None, false, &l, consult, to));
                    }
                    return Ok(());
                }
                let why = match status {
                    408 => "your desk phone did not answer".to_owned(),
                    486 => "this call cannot be listened to now: it is not connected to an agent, or someone else listens".to_owned(),
                    status => format!("your desk phone did not take the call (SIP {status})"),
                };
                self.bus.to_agent(l.who, monitor_error(c.interaction, why));
                self.bus
                    .to_agent(l.who, monitor_frame(c.interaction, None, &l.name));
            }
            CallEvent::PartyLeft { call } => {
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                let Some(l) = c.party.take() else {
                    return Ok(());
                };
                let (account, interaction) = (c.account, c.interaction);
                if l.consult.is_some() {
                    // The colleague hung up, or the agent went back to the caller.
                    self.consult_over(call, l);
                    return Ok(());
                }
                if l.via_phone {
                    self.party_phone(call, account, l.who, false);
                }
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                self.bus
                    .to_agent(l.who, monitor_frame(interaction, None, &l.name));
                if l.heard()
                    && let Some(agent) = c.agent()
                {
                    self.bus
                        .to_agent(agent, monitor_frame(interaction, None, &l.name));
                }
                let line = LogLine {
                    kind: "call.monitor_ended".into(),
                    data: json!({ "by": l.who, "by_name": l.name }),
                };
                self.log_on_call(call, account, interaction, line);
            }
            CallEvent::AgentFailed { call, status } => self.agent_failed(call, Some(status)),
            CallEvent::AgentUnreachable { call } => self.agent_failed(call, None),
            CallEvent::Ended { call, by } => {
                let Some(mut c) = self.calls.remove(&call) else {
                    return Ok(());
                };
                if let Some(l) = c.party.take() {
                    if l.via_phone {
                        self.party_phone(call, c.account, l.who, false);
                    }
                    match &l.consult {
                        Some(consult) => {
                            for to in [consult.by, l.who] {
                                self.bus
                                    .to_agent(to, consult_frame(c.interaction, None, false, &l, consult, to));
                            }
                        }
                        None => self
                            .bus
                            .to_agent(l.who, monitor_frame(c.interaction, None, &l.name)),
                    }
                }
                // A callback's call may have started for the interaction meanwhile.
                if self.by_interaction.get(&c.interaction) == Some(&call) {
                    self.by_interaction.remove(&c.interaction);
                }
                if c.booked {
                    // The caller said goodbye: the interaction waits on for the agent to call.
                    return Ok(());
                }
                // Whether the customer was put through to an agent at all.
                let reached = c.answered.is_some() || !c.legs.is_empty();
                let data = c.ended(now_millis(), by);
                let line = LogLine {
                    kind: "call.ended".into(),
                    data,
                };
                // One commit: the call's log line and the interaction's end, after the call's
                // requests still under way. A voicemail's call only now becomes an interaction.
                let (dispatcher, intake, store) =
                    (self.dispatcher.clone(), self.intake.clone(), self.store.clone());
                tokio::spawn(async move {
                    if let Some(before) = c.last {
                        let _ = before.await;
                    }
                    let ended = match (c.closed.get(), c.calling_back, c.dialled_by) {
                        (Some(Closed { caller, queue }), _, _) => {
                            queue_call(&intake, c.account, c.interaction, caller, queue, true).await
                        }
                        (None, Some((callback, missed)), Some(agent)) if !reached => {
                            let unanswered = Unanswered {
                                account: c.account,
                                agent,
                                interaction: c.interaction,
                                callback,
                                missed,
                            };
                            unanswered.follow_up(&dispatcher, &store, line).await
                        }
                        _ => dispatcher
                            .leave(c.account, c.interaction, Some(line))
                            .await
                            .map_err(anyhow::Error::from),
                    };
                    if let Err(e) = ended {
                        tracing::error!(error = %format!("{e:#}"), "ending a call's interaction");
                    }
                });
            }
        }
        Ok(())
    }

    /// The agent's phone did not take the call: it answered `status` (refused, busy, no
    /// answer), or, with none, it could not be reached at all (its connection is gone). A call
    /// the agent had accepted in the console goes back to the queue; otherwise the offer is
    /// declined, or for a phone out of reach taken back with no more calls offered to the agent
    /// until the phone registers again (as with no phone at all).
    fn agent_failed(&mut self, call: CallId, status: Option<u16>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.dialled_by.is_some() {
            // The agent did not pick up their own call: it ends here.
            tracing::info!(?status, "the agent's phone did not take a click-to-call");
            self.server.command(CallCommand::Hangup { call });
            return;
        }
        let Some(agent) = c.ringing.take() else {
            return;
        };
        let (account, interaction) = (c.account, c.interaction);
        tracing::info!(%interaction, %agent, ?status, "the agent's phone did not take the call");
        if status.is_none() {
            self.bus.to_agent(agent, no_phone());
        }
        let (dispatcher, store) = (self.dispatcher.clone(), self.store.clone());
        self.in_order(call, async move {
            if dispatcher.holder(interaction).await == Some(agent) {
                // Accepted in the console, but the phone cannot take it: back to the queue.
                let moved = match store.interaction(account, interaction).await {
                    Ok(i) => dispatcher.transfer(account, agent, interaction, i.queue_id).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = moved {
                    tracing::error!(error = %e, "requeueing a call the agent's phone refused");
                }
                if status.is_some() {
                    return;
                }
            } else if status.is_some() {
                // Already revoked (timed out) is fine: the router moved on.
                let _ = dispatcher.decline(account, agent, interaction).await;
                return;
            }
            if let Err(e) = dispatcher
                .set_reachable(account, agent, Channel::Voice, false)
                .await
            {
                tracing::error!(error = %e, "telling the router an agent's phone is out of reach");
            }
        });
    }

    /// Click-to-call: the agent's registered phone first, then the customer; the interaction is
    /// the agent's at once (it takes their voice slot) and is logged like an inbound call. A
    /// callback is called the same way, under its own interaction, which the agent accepts once
    /// the call is placed.
    async fn dial(&mut self, dial: Dial) -> anyhow::Result<()> {
        let Dial {
            account,
            agent,
            customer,
            number,
            callback,
        } = dial;
        let busy = self.calls.values().any(|c| {
            c.dialled_by == Some(agent)
                || c.ringing == Some(agent)
                || c.answered.is_some_and(|(_, a)| a == agent)
        });
        anyhow::ensure!(!busy, "you are already on a call");
        // The browser needs no registered phone: its leg comes with the console's offer.
        let contact = match self.store.agent(account, agent).await?.device {
            Device::Browser => None,
            Device::Desk => Some(
                self.contacts_of(account, agent)
                    .await
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("your phone is not registered"))?,
            ),
        };
        let (interaction, placing, recording) = match callback {
            Some((id, booked)) => {
                let recording = self.recordings.as_ref().map(|dir| dir.join(format!("{id}.wav")));
                (id, Placing::Back(booked), recording)
            }
            None => {
                let queue = self.store.queue_by_name(account, &self.outbound_queue).await?;
                let (i, recording) = self
                    .open(account, customer, &queue, format!("sip:outbound:{number}"))
                    .await?;
                (i.id, Placing::Out(i), recording)
            }
        };
        let placed = match &contact {
            Some(contact) => self.server.dial(contact, &number, recording.clone()),
            None => self.server.dial_from_browser(&number),
        };
        let Some(call) = placed else {
            if let Placing::Out(_) = placing {
                // It never started: closed as abandoned, not left waiting in a queue.
                self.dispatcher.leave(account, interaction, None).await?;
            }
            anyhow::bail!("{number} cannot be dialled, or no port is free for the call");
        };
        self.track(call, account, interaction, Some(agent), recording);
        match placing {
            Placing::Out(opened) => self.dispatcher.dialled(account, agent, opened).await?,
            Placing::Back(booked) => {
                if let Some(c) = self.calls.get_mut(&call) {
                    c.calling_back = Some((booked, false));
                }
                if let Err(e) = self.dispatcher.accept(account, agent, interaction).await {
                    // Taken back meanwhile (timed out, the agent left): nobody is called.
                    if let Some(c) = self.calls.remove(&call) {
                        self.by_interaction.remove(&c.interaction);
                    }
                    self.server.command(CallCommand::Hangup { call });
                    return Err(e.into());
                }
            }
        }
        Ok(())
    }

    /// Where to ring an agent: every device their phones registered through this node, else
    /// through another (the shared table, which also knows phones added on another node since
    /// this one started), best first. The INVITEs go straight to those contacts.
    async fn contacts_of(&self, account: AccountId, agent: AgentId) -> Vec<String> {
        let here: Vec<String> = self
            .phones
            .of_agent(agent)
            .iter()
            .flat_map(|username| self.server.bindings_of(username))
            .map(|binding| binding.uri)
            .collect();
        if !here.is_empty() {
            return here;
        }
        match self.store.phone_bindings(account, agent, now_millis()).await {
            Ok(bindings) => bindings.into_iter().map(|b| b.contact).collect(),
            Err(e) => {
                tracing::error!(error = %e, %agent, "looking up where a phone is registered");
                Vec::new()
            }
        }
    }

    /// A click-to-call's interaction for the customer in `queue` (created alone: it is the
    /// agent's from the start), and where its recording goes.
    async fn open(
        &self,
        account: AccountId,
        customer: crate::domain::CustomerId,
        queue: &crate::domain::Queue,
        entry_point: String,
    ) -> anyhow::Result<(crate::domain::Interaction, Option<PathBuf>)> {
        let new = NewInteraction {
            customer_id: customer,
            channel: Channel::Voice,
            queue_id: queue.id,
            priority: queue.priority,
            entry_point,
            offline: false,
            arrived_at: now_millis(),
        };
        let interaction = self.store.create_interaction(account, new).await?;
        let recording = self
            .recordings
            .as_ref()
            .map(|dir| dir.join(format!("{}.wav", interaction.id)));
        Ok((interaction, recording))
    }

    /// From now on the call and its interaction are one.
    fn track(
        &mut self,
        call: CallId,
        account: AccountId,
        interaction: InteractionId,
        dialled_by: Option<AgentId>,
        recording: Option<PathBuf>,
    ) {
        let c = Call {
            account,
            interaction,
            ringing: None,
            dialled_by,
            answered: None,
            held_since: None,
            hold_ms: 0,
            legs: Vec::new(),
            recording,
            closed: Arc::default(),
            browser: None,
            callback_offer: None,
            booked: false,
            calling_back: None,
            party: None,
            promoted_to: None,
            _held_here: self.bus.hold_call(interaction),
            last: None,
        };
        self.calls.insert(call, c);
        self.by_interaction.insert(interaction, call);
    }

    /// Tells every caller still waiting (not ringing anyone) their place in the queue.
    async fn announce(&mut self) -> anyhow::Result<()> {
        if self.calls.is_empty() {
            return Ok(());
        }
        let positions = self.dispatcher.positions(AccountId::DEFAULT).await?;
        for (call, c) in &self.calls {
            if c.ringing.is_some() || c.answered.is_some() {
                continue;
            }
            if let Some(&position) = positions.get(&c.interaction) {
                self.server.command(CallCommand::Announce {
                    call: *call,
                    position,
                });
            }
        }
        Ok(())
    }

    /// A phone account registered through this node: its agent can be offered calls again.
    async fn registered(&mut self, username: &str) -> anyhow::Result<()> {
        let agent = self
            .phones
            .by_username
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(username)
            .map(|(agent, _)| *agent);
        // A phone on a call as a third party stays taken until that ends, refreshed or not.
        let taken = |agent: AgentId| {
            self.calls
                .values()
                .any(|c| c.party.as_ref().is_some_and(|l| l.who == agent && l.via_phone))
        };
        if let Some(agent) = agent.filter(|a| !taken(*a)) {
            self.dispatcher
                .set_reachable(AccountId::DEFAULT, agent, Channel::Voice, true)
                .await
                .context("telling the router a phone registered")?;
        }
        Ok(())
    }

    /// A click from this node's console: the call starts here, or the agent hears why not.
    /// A callback the agent could not call (no phone registered, already on a call) is declined
    /// for them, so the next agent is offered it now rather than after their offer times out.
    async fn click(&mut self, dial: Dial) {
        let (account, agent) = (dial.account, dial.agent);
        let callback = dial.callback.as_ref().map(|(id, _)| *id);
        if let Err(e) = self.dial(dial).await {
            self.bus.to_agent(
                agent,
                crate::bus::AgentFrame::Error {
                    code: "call_failed".into(),
                    message: format!("{e:#}"),
                    r#ref: callback.map(|id| id.to_string()),
                },
            );
            if let Some(id) = callback {
                // Accepted meanwhile, or taken back already: nothing left to decline.
                let _ = self.dispatcher.decline(account, agent, id).await;
            }
        }
    }

    async fn frame(&mut self, frame: &ConnectorFrame) -> anyhow::Result<()> {
        let interaction = match frame {
            ConnectorFrame::Offered { interaction, .. }
            | ConnectorFrame::OfferRevoked { interaction, .. }
            | ConnectorFrame::Ended { interaction }
            | ConnectorFrame::Transferred { interaction }
            | ConnectorFrame::Hold { interaction, .. }
            | ConnectorFrame::MediaOffer { interaction, .. }
            | ConnectorFrame::MediaCandidate { interaction, .. }
            | ConnectorFrame::Monitor { interaction, .. }
            | ConnectorFrame::Consult { interaction, .. }
            | ConnectorFrame::Keys { interaction, .. } => *interaction,
        };
        let Some(&call) = self.by_interaction.get(&interaction) else {
            return Ok(());
        };
        if self.calls.get(&call).is_some_and(|c| c.booked) {
            // The caller is saying goodbye; the interaction is a callback now.
            return Ok(());
        }
        if let ConnectorFrame::Offered { agent, .. } = frame
            && let Some(c) = self.calls.get_mut(&call)
            && c.promoted_to == Some(*agent)
        {
            // The consulted colleague who took the call over is talking already: it is theirs.
            c.promoted_to = None;
            let (account, agent, dispatcher) = (c.account, *agent, self.dispatcher.clone());
            self.in_order(call, async move {
                if let Err(e) = dispatcher.accept(account, agent, interaction).await {
                    tracing::warn!(%interaction, error = %e, "a colleague who took a call over was not given it");
                }
            });
            return Ok(());
        }
        // Found before the call is borrowed: the shared table is a read away.
        let (contacts, device) = match (frame, self.calls.get(&call)) {
            (ConnectorFrame::Offered { agent, .. }, Some(c)) => {
                let device = self.store.agent(c.account, *agent).await?.device;
                match device {
                    Device::Desk => (self.contacts_of(c.account, *agent).await, device),
                    Device::Browser => (Vec::new(), device),
                }
            }
            (ConnectorFrame::MediaOffer { agent, sdp, .. }, Some(_)) => {
                return self.media_offer(call, interaction, *agent, sdp).await;
            }
            (ConnectorFrame::Consult { agent, step, .. }, Some(_)) => {
                return self.consult(call, interaction, *agent, step.clone()).await;
            }
            (
                ConnectorFrame::Monitor {
                    supervisor,
                    name,
                    mode,
                    sdp,
                    ..
                },
                Some(_),
            ) => {
                let asked = Asked {
                    supervisor: *supervisor,
                    name: name.clone(),
                    mode: *mode,
                    sdp: sdp.clone(),
                };
                return self.monitor(call, interaction, asked).await;
            }
            (ConnectorFrame::MediaCandidate { agent, candidate, .. }, Some(c)) => {
                // Only the agent whose leg it is: the socket checked they hold the call.
                let leg = c.browser.as_ref().filter(|_| c.agent() == Some(*agent));
                match (leg, plugboard_sip::webrtc::parse_candidate(candidate)) {
                    (Some((_, leg)), Ok(candidate)) => leg.add_candidate(candidate),
                    (_, Err(e)) => self.bus.to_agent(*agent, media_error(interaction, e.to_string())),
                    (None, Ok(_)) => {}
                }
                return Ok(());
            }
            (ConnectorFrame::Keys { agent, digits, .. }, Some(c)) => {
                // The socket checked they hold the call; a call not connected yet is refused
                // below, with a reason.
                if c.agent().is_none_or(|a| a == *agent) {
                    let events = digits.chars().filter_map(plugboard_sip::dtmf::event_of).collect();
                    if let Err(e) = self.server.send_keys(call, events) {
                        let refused = crate::bus::AgentFrame::Error {
                            code: "call_dtmf".into(),
                            message: e.to_string(),
                            r#ref: Some(interaction.to_string()),
                        };
                        self.bus.to_agent(*agent, refused);
                    }
                }
                return Ok(());
            }
            _ => (Vec::new(), Device::Desk),
        };
        let Some(c) = self.calls.get_mut(&call) else {
            return Ok(());
        };
        match frame {
            ConnectorFrame::Offered { agent, .. } if device == Device::Browser => {
                // The console rings; the call is bridged once the agent holds it and their
                // browser offers its audio.
                c.ringing = Some(*agent);
            }
            ConnectorFrame::Offered { agent, .. } => {
                if contacts.is_empty() {
                    // No registered phone: this agent cannot take calls until it registers.
                    // Not their decline, and not a missed offer: the router takes the offer
                    // back and offers them no calls meanwhile; the console says why.
                    tracing::info!(%interaction, %agent, "the agent has no registered phone");
                    let account = c.account;
                    self.bus.to_agent(*agent, no_phone());
                    self.dispatcher
                        .set_reachable(account, *agent, Channel::Voice, false)
                        .await
                        .context("telling the router an agent has no phone")?;
                } else {
                    // Every device the agent's phones registered rings; the first to answer
                    // takes the call.
                    c.ringing = Some(*agent);
                    let record = c.recording.clone();
                    self.server.command(CallCommand::Ring {
                        call,
                        contacts,
                        record,
                    });
                }
            }
            ConnectorFrame::OfferRevoked { agent, .. } => {
                if c.ringing == Some(*agent) {
                    c.ringing = None;
                    self.server.command(CallCommand::StopRinging { call });
                }
            }
            ConnectorFrame::Ended { .. } => self.server.command(CallCommand::Hangup { call }),
            ConnectorFrame::Transferred { .. } => {
                // From here on it is an ordinary queued call, whoever started it; unless the
                // agent handed it to the colleague they consulted, who takes it over at once.
                let now = now_millis();
                c.ringing = None;
                c.dialled_by = None;
                c.close_leg(now);
                match c.party.take_if(|l| l.completing && l.joined) {
                    Some(mut l) => {
                        tracing::info!(interaction = %c.interaction, "a consulted colleague takes the call over");
                        c.browser = l.browser.take();
                        c.promoted_to = Some(l.who);
                        c.answered = Some((now, l.who));
                        // The agent's consult is over; the colleague's console learns the call is
                        // theirs when it is given them (their browser's leg carries it on).
                        if let Some(consult) = &l.consult {
                            let to = consult.by;
                            self.bus
                                .to_agent(to, consult_frame(c.interaction, None, false, &l, consult, to));
                        }
                        self.server.command(CallCommand::Promote { call });
                    }
                    None => {
                        c.browser = None;
                        self.server.command(CallCommand::Release { call });
                    }
                }
            }
            ConnectorFrame::Hold { on, .. } => {
                // A consult holds the caller itself until it ends: a hold or resume meanwhile
                // would take the caller off its music.
                if c.party.as_ref().is_some_and(|l| l.mode == Mix::Consult) {
                    return Ok(());
                }
                if c.hold(*on, now_millis()) {
                    self.server.command(CallCommand::Hold { call, on: *on });
                }
            }
            ConnectorFrame::MediaOffer { .. }
            | ConnectorFrame::MediaCandidate { .. }
            | ConnectorFrame::Monitor { .. }
            | ConnectorFrame::Consult { .. }
            | ConnectorFrame::Keys { .. } => {}
        }
        Ok(())
    }

    /// A supervisor asks to listen to a call (or to change how, or to leave it): their browser's
    /// leg opens at once (our answer goes back to their console), their desk phone rings; the
    /// call hears of them once it answers (`CallEvent::PartyJoined`). One supervisor at a time,
    /// on a call connected to an agent who is not them.
    async fn monitor(
        &mut self,
        call: CallId,
        interaction: InteractionId,
        asked: Asked,
    ) -> anyhow::Result<()> {
        let Asked {
            supervisor,
            name,
            mode,
            sdp,
        } = asked;
        let refuse = |bus: &Bus, why: &str| bus.to_agent(supervisor, monitor_error(interaction, why.into()));
        let Some(c) = self.calls.get(&call) else {
            return Ok(());
        };
        let account = c.account;
        let Some(mode) = mode else {
            if c.party.as_ref().is_some_and(|l| l.who == supervisor) {
                self.server.command(CallCommand::DropParty { call });
            }
            return Ok(());
        };
        match &c.party {
            Some(l) if l.who != supervisor => {
                refuse(
                    &self.bus,
                    &format!("{} is listening to this call already", l.name),
                );
                return Ok(());
            }
            Some(l) => {
                if l.mode != mode {
                    self.server.command(CallCommand::PartyMode { call, mode });
                    let was_heard = l.heard();
                    if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.party.as_mut()) {
                        l.mode = mode;
                        if l.joined {
                            self.monitoring_changed(call, was_heard);
                        }
                    }
                }
                return Ok(());
            }
            None => {}
        }
        if c.answered.is_none() {
            refuse(&self.bus, "this call is not connected to an agent now");
            return Ok(());
        }
        if c.agent() == Some(supervisor) {
            refuse(&self.bus, "this is your own call");
            return Ok(());
        }
        let (listener, browser) = match sdp {
            Some(sdp) => match self.open_party_browser(call, interaction, supervisor, &sdp) {
                Ok((listener, browser)) => (listener, Some(browser)),
                Err(why) => {
                    refuse(&self.bus, &why);
                    return Ok(());
                }
            },
            None => match self.contacts_of(account, supervisor).await.into_iter().next() {
                Some(contact) => (Listener::Phone(contact), None),
                None => {
                    refuse(
                        &self.bus,
                        "you have no desk phone registered: register one, or choose the browser as your device",
                    );
                    return Ok(());
                }
            },
        };
        if matches!(listener, Listener::Phone(_)) {
            self.party_phone(call, account, supervisor, true);
        }
        if let Some(c) = self.calls.get_mut(&call) {
            c.party = Some(ThirdParty {
                who: supervisor,
                name,
                mode,
                joined: false,
                via_phone: browser.is_none(),
                browser,
                consult: None,
                completing: false,
            });
            self.server
                .command(CallCommand::AddParty { call, listener, mode });
        }
        Ok(())
    }

    /// Opens a third party's browser leg onto the call, answering their console's `sdp` (the
    /// answer goes back to `who`): where the B2BUA joins it, and the leg with its number. A leg
    /// that goes away is `Later::BrowserGone`.
    fn open_party_browser(
        &mut self,
        call: CallId,
        interaction: InteractionId,
        who: AgentId,
        sdp: &str,
    ) -> Result<(Listener, (u64, BrowserLeg)), String> {
        match self.server.open_party_leg(call, sdp) {
            Some(Ok(opened)) => {
                let (leg, gone) = (self.next_leg, opened.gone);
                self.next_leg += 1;
                let later = self.later.clone();
                tokio::spawn(async move {
                    let _ = gone.await;
                    let _ = later.send(Later::BrowserGone { call, leg });
                });
                let answer = crate::bus::AgentFrame::CallMediaAnswer {
                    interaction_id: interaction,
                    sdp: opened.answer,
                };
                self.bus.to_agent(who, answer);
                Ok((Listener::Leg(opened.leg.rtp_addr()), (leg, opened.leg)))
            }
            Some(Err(e)) => Err(e.to_string()),
            None => Err(
                "this call cannot be joined now: it is not connected to an agent, or someone else is on it"
                    .into(),
            ),
        }
    }

    /// The supervisor on the call joined it or changed how they take part (`was_heard`: whether
    /// the agent heard them before): it is logged with who and how, the supervisor's console
    /// told, and the agent's whenever whether they hear the supervisor changed.
    fn monitoring_changed(&mut self, call: CallId, was_heard: bool) {
        let Some(c) = self.calls.get(&call) else { return };
        let Some(l) = &c.party else { return };
        let (account, interaction) = (c.account, c.interaction);
        self.bus
            .to_agent(l.who, monitor_frame(interaction, Some(l.mode), &l.name));
        if (l.heard() || was_heard)
            && let Some(agent) = c.agent()
        {
            let heard = l.heard().then_some(l.mode);
            self.bus
                .to_agent(agent, monitor_frame(interaction, heard, &l.name));
        }
        let line = LogLine {
            kind: "call.monitored".into(),
            data: json!({ "by": l.who, "by_name": l.name, "mode": l.mode }),
        };
        self.log_on_call(call, account, interaction, line);
    }

    /// A step of the agent's consult (see `Consulting`). Anything that cannot be done is said to
    /// the agent and changes nothing.
    async fn consult(
        &mut self,
        call: CallId,
        interaction: InteractionId,
        agent: AgentId,
        step: crate::bus::frames::Consulting,
    ) -> anyhow::Result<()> {
        use crate::bus::frames::Consulting;
        let refuse = |bus: &Bus, why: String| bus.to_agent(agent, consult_error(interaction, why));
        let Some(c) = self.calls.get(&call) else {
            return Ok(());
        };
        let account = c.account;
        let consulted = c.party.as_ref().filter(|l| l.consult.is_some());
        // The agent on the call takes every step; the colleague consulted may join or leave.
        let colleague = consulted.is_some_and(|l| l.who == agent);
        let theirs = c.answered.is_some() && c.agent() == Some(agent);
        let allowed = match step {
            Consulting::Join { .. } => colleague,
            Consulting::End => theirs || colleague,
            _ => theirs,
        };
        if !allowed {
            refuse(&self.bus, "this call is not connected to you now".into());
            return Ok(());
        }
        match step {
            Consulting::Start { colleague, note } => {
                if let Some(l) = &c.party {
                    refuse(&self.bus, format!("{} is on this call already", l.name));
                    return Ok(());
                }
                if colleague == agent {
                    refuse(&self.bus, "consult a colleague, not yourself".into());
                    return Ok(());
                }
                let Ok(them) = self.store.agent(account, colleague).await else {
                    refuse(&self.bus, "there is no such colleague".into());
                    return Ok(());
                };
                // A desk phone rings; a browser joins once its console offers its audio (`Join`).
                let contact = match them.device {
                    Device::Browser => None,
                    Device::Desk => match self.contacts_of(account, colleague).await.into_iter().next() {
                        Some(contact) => Some(contact),
                        None => {
                            refuse(&self.bus, format!("{} has no desk phone registered", them.name));
                            return Ok(());
                        }
                    },
                };
                let me = self.store.agent(account, agent).await?;
                let customer_id = self.store.interaction(account, interaction).await?.customer_id;
                let customer = self.store.customer(account, customer_id).await?.name;
                let Some(c) = self.calls.get_mut(&call) else {
                    return Ok(());
                };
                c.hold(true, now_millis());
                c.party = Some(ThirdParty {
                    who: colleague,
                    name: them.name,
                    mode: Mix::Consult,
                    joined: false,
                    browser: None,
                    via_phone: contact.is_some(),
                    consult: Some(Consult {
                        by: agent,
                        by_name: me.name,
                        note,
                        customer,
                    }),
                    completing: false,
                });
                if let Some(contact) = contact {
                    self.server.command(CallCommand::AddParty {
                        call,
                        listener: Listener::Phone(contact),
                        mode: Mix::Consult,
                    });
                    self.party_phone(call, account, colleague, true);
                }
                self.consult_changed(call, None);
            }
            Consulting::Join { sdp } => {
                if consulted.is_some_and(|l| l.via_phone || l.browser.is_some()) {
                    refuse(&self.bus, "you are on this consult already".into());
                    return Ok(());
                }
                let (listener, browser) = match self.open_party_browser(call, interaction, agent, &sdp) {
                    Ok(opened) => opened,
                    Err(why) => {
                        refuse(&self.bus, why);
                        return Ok(());
                    }
                };
                if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.party.as_mut()) {
                    l.browser = Some(browser);
                    self.server.command(CallCommand::AddParty {
                        call,
                        listener,
                        mode: Mix::Consult,
                    });
                }
            }
            Consulting::Conference => {
                if !consulted.is_some_and(|l| l.joined && l.mode == Mix::Consult) {
                    refuse(
                        &self.bus,
                        "a conference needs the colleague you consult on the line".into(),
                    );
                    return Ok(());
                }
                if let Some(c) = self.calls.get_mut(&call)
                    && let Some(l) = c.party.as_mut()
                {
                    l.mode = Mix::Conference;
                    c.hold(false, now_millis());
                    self.server.command(CallCommand::PartyMode {
                        call,
                        mode: Mix::Conference,
                    });
                    self.consult_changed(call, Some("call.conferenced"));
                }
            }
            Consulting::End => {
                match consulted {
                    // A browser that never joined: nothing to hang up, the consult is over.
                    Some(l) if !l.via_phone && l.browser.is_none() => {
                        if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.party.take()) {
                            self.consult_over(call, l);
                        }
                    }
                    Some(_) => self.server.command(CallCommand::DropParty { call }),
                    None => {}
                }
            }
            Consulting::Transfer => {
                let Some(colleague) = consulted.filter(|l| l.joined).map(|l| l.who) else {
                    refuse(
                        &self.bus,
                        "the colleague you consult is not on the line yet".into(),
                    );
                    return Ok(());
                };
                if let Some(l) = self.calls.get_mut(&call).and_then(|c| c.party.as_mut()) {
                    l.completing = true;
                }
                // The call is theirs once the dispatcher moved it (`Transferred`, then `Offered`):
                // their phone, on the consult, is theirs to be offered it on again.
                self.party_phone(call, account, colleague, false);
                let (dispatcher, bus) = (self.dispatcher.clone(), self.bus.clone());
                self.in_order(call, async move {
                    if let Err(e) = dispatcher
                        .transfer_to(account, agent, interaction, colleague)
                        .await
                    {
                        bus.to_agent(
                            agent,
                            consult_error(interaction, format!("the call could not be handed over: {e}")),
                        );
                    }
                });
            }
        }
        Ok(())
    }

    /// A third party's desk phone is on a call (`taken`) or free again: the router offers them no
    /// call meanwhile (their phone is busy), as for an agent with no phone.
    fn party_phone(&mut self, call: CallId, account: AccountId, agent: AgentId, taken: bool) {
        let dispatcher = self.dispatcher.clone();
        self.in_order(call, async move {
            if let Err(e) = dispatcher
                .set_reachable(account, agent, Channel::Voice, !taken)
                .await
            {
                tracing::debug!(error = %e, "a third party's phone is not in the routing");
            }
        });
    }

    /// The consult `l` is over (already off the call): the caller's wait on hold ends, the
    /// colleague's phone is free, both consoles are told and it is logged.
    fn consult_over(&mut self, call: CallId, l: ThirdParty) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(consult) = &l.consult else { return };
        let (account, interaction) = (c.account, c.interaction);
        if l.mode == Mix::Consult {
            c.hold(false, now_millis());
        }
        if l.via_phone {
            self.party_phone(call, account, l.who, false);
        }
        for to in [consult.by, l.who] {
            self.bus
                .to_agent(to, consult_frame(interaction, None, false, &l, consult, to));
        }
        let line = LogLine {
            kind: "call.consult_ended".into(),
            data: json!({ "by": consult.by, "by_name": consult.by_name, "to": l.who, "to_name": l.name }),
        };
        self.log_on_call(call, account, interaction, line);
    }

    /// The consult's state, to the agent and the colleague; logged as `kind` when given.
    fn consult_changed(&mut self, call: CallId, kind: Option<&'static str>) {
        let Some(c) = self.calls.get(&call) else { return };
        let Some(l) = &c.party else { return };
        let Some(consult) = &l.consult else { return };
        let (account, interaction) = (c.account, c.interaction);
        for to in [consult.by, l.who] {
            self.bus.to_agent(
                to,
                consult_frame(interaction, Some(l.mode), l.joined, l, consult, to),
            );
        }
        let Some(kind) = kind else { return };
        let line = LogLine {
            kind: kind.into(),
            data: json!({ "by": consult.by, "by_name": consult.by_name, "to": l.who, "to_name": l.name, "note": consult.note }),
        };
        self.log_on_call(call, account, interaction, line);
    }

    /// The console of the agent holding a waiting call offers to carry its audio: a browser leg
    /// opens, our answer goes back to the console, and the caller is bridged to it (recorded like
    /// a phone's leg). Anything wrong is said to the agent and changes nothing.
    async fn media_offer(
        &mut self,
        call: CallId,
        interaction: InteractionId,
        agent: AgentId,
        sdp: &str,
    ) -> anyhow::Result<()> {
        if self.dispatcher.holder(interaction).await != Some(agent) {
            self.bus
                .to_agent(agent, media_error(interaction, "this call is not yours".into()));
            return Ok(());
        }
        let Some(c) = self.calls.get_mut(&call) else {
            return Ok(());
        };
        let opened = match self.server.open_browser_leg(call, sdp) {
            Some(Ok(opened)) => opened,
            Some(Err(e)) => {
                self.bus.to_agent(agent, media_error(interaction, e.to_string()));
                return Ok(());
            }
            None => {
                let why = "this call's audio is already connected, or it is no longer waiting".into();
                self.bus.to_agent(agent, media_error(interaction, why));
                return Ok(());
            }
        };
        let (leg, gone) = (self.next_leg, opened.gone);
        self.next_leg += 1;
        self.server.command(CallCommand::Attach {
            call,
            remote: opened.leg.rtp_addr(),
            record: c.recording.clone(),
        });
        c.ringing = None;
        if c.dialled_by.is_none() {
            // A click-to-call is answered when the customer answers.
            c.answered = Some((now_millis(), agent));
        }
        c.browser = Some((leg, opened.leg));
        let later = self.later.clone();
        tokio::spawn(async move {
            let _ = gone.await;
            let _ = later.send(Later::BrowserGone { call, leg });
        });
        self.bus.to_agent(
            agent,
            crate::bus::AgentFrame::CallMediaAnswer {
                interaction_id: interaction,
                sdp: opened.answer,
            },
        );
        Ok(())
    }
}

/// What a supervisor asked of a call (`ConnectorFrame::Monitor`).
struct Asked {
    supervisor: AgentId,
    name: String,
    mode: Option<Mix>,
    sdp: Option<String>,
}

/// `call.monitor`: how `by_name` takes part in the call now (`None`: not at all).
fn monitor_frame(interaction: InteractionId, mode: Option<Mix>, by_name: &str) -> crate::bus::AgentFrame {
    crate::bus::AgentFrame::CallMonitor {
        interaction_id: interaction,
        mode,
        by_name: by_name.to_owned(),
    }
}

/// `call.consult` to `to`: the agent who consults (told about the colleague) or the colleague
/// (told about the agent).
fn consult_frame(
    interaction: InteractionId,
    mode: Option<Mix>,
    on: bool,
    party: &ThirdParty,
    consult: &Consult,
    to: AgentId,
) -> crate::bus::AgentFrame {
    let other = if to == consult.by {
        &party.name
    } else {
        &consult.by_name
    };
    crate::bus::AgentFrame::CallConsult {
        interaction_id: interaction,
        mode,
        on,
        with_name: other.clone(),
        note: consult.note.clone(),
        customer_name: consult.customer.clone(),
    }
}

/// What an agent hears when a step of their consult cannot be done.
pub(crate) fn consult_error(interaction: InteractionId, message: String) -> crate::bus::AgentFrame {
    crate::bus::AgentFrame::Error {
        code: "call_consult".into(),
        message,
        r#ref: Some(interaction.to_string()),
    }
}

/// What a supervisor hears when they cannot listen to a call as they asked.
fn monitor_error(interaction: InteractionId, message: String) -> crate::bus::AgentFrame {
    crate::bus::AgentFrame::Error {
        code: "call_monitor".into(),
        message,
        r#ref: Some(interaction.to_string()),
    }
}

/// What a console hears when its call audio cannot be connected as it asked.
fn media_error(interaction: InteractionId, message: String) -> crate::bus::AgentFrame {
    crate::bus::AgentFrame::Error {
        code: "call_media".into(),
        message,
        r#ref: Some(interaction.to_string()),
    }
}

/// Whether a call to `queue` now goes to voicemail: outside its business hours, or with nobody
/// staffed when its hours close it then.
async fn is_closed(
    dispatcher: &Dispatcher,
    account: AccountId,
    queue: &crate::domain::Queue,
    now: i64,
) -> anyhow::Result<bool> {
    let Some(hours) = &queue.hours else {
        return Ok(false);
    };
    if !hours.open_at(now) {
        return Ok(true);
    }
    Ok(hours.closed_when_unstaffed && !dispatcher.staffing(account, queue.id).await?.staffed)
}

/// Queues a call through the intake: the caller resolved by their number (an anonymous or
/// unreadable caller id is known by what the network called it), the interaction created and
/// routed in one commit, under the id the call is already tracked by: the caller waiting on the
/// line, or (`offline`) the voicemail they left.
async fn queue_call(
    intake: &crate::intake::Intake,
    account: AccountId,
    id: InteractionId,
    caller: &Caller,
    queue: &crate::domain::Queue,
    offline: bool,
) -> anyhow::Result<()> {
    let Caller {
        call,
        number,
        display_name,
        dialled,
    } = caller;
    let (identities, fallback) = match number.as_deref().filter(|c| !c.is_empty()) {
        Some(number) => (
            vec![RawIdentity::Phone(number.to_owned())],
            RawIdentity::Visitor(format!("sip:{number}")),
        ),
        None => {
            let anonymous = RawIdentity::Visitor(format!("sip-anonymous-{call}-{}", now_millis()));
            (vec![anonymous.clone()], anonymous)
        }
    };
    let inbound = Inbound {
        channel: Channel::Voice,
        entry_point: format!("sip:{dialled}"),
        identities,
        display_name: display_name.clone(),
        thread: Default::default(),
        automated: None,
        message: None,
    };
    let entry = crate::intake::Entry {
        id: Some(id),
        offline,
        commit: crate::intake::Commit::WithRouting,
        fallback: Some(&fallback),
        ..crate::intake::Entry::on(queue)
    };
    intake
        .take(account, inbound, entry, crate::intake::no_preparation)
        .await?;
    Ok(())
}

/// What an agent's console hears when their phone cannot be rung.
fn no_phone() -> crate::bus::AgentFrame {
    crate::bus::AgentFrame::Error {
        code: "no_phone".into(),
        message: "your phone is not registered or cannot be reached: calls are not offered to you until it registers"
            .into(),
        r#ref: None,
    }
}

fn party(by: Party) -> &'static str {
    match by {
        Party::Caller => "caller",
        Party::Agent => "agent",
        Party::Hub => "hub",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_sip::registrar::ContactView;

    fn bound(aor: &str, uri: &str, expires: u32) -> BindingChange {
        BindingChange::Bound {
            aor: aor.into(),
            contact: ContactView {
                uri: uri.into(),
                expires,
                ..ContactView::default()
            },
        }
    }

    /// A phone added or taken away through another node (straight in the store, here) is let in
    /// or turned away here once the directory is read again.
    #[tokio::test]
    async fn the_directory_learns_phones_added_through_another_node() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/hub.db", dir.path().display());
        let store = crate::store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let agent = crate::store::NewAgent {
            email: "ann@example.com".into(),
            name: "Ann".into(),
            role: crate::domain::Role::Agent,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Default::default(),
            password_hash: "$argon2id$v=19$stub".into(),
        };
        let ann = store.create_agent(AccountId::DEFAULT, agent).await.unwrap();
        let phones = Phones::load(&store).await.unwrap();
        let secrets = PhoneCredentials::from_password("ann-desk", "plugboard", "desk-phone-1");
        let phone = NewPhone {
            agent_id: ann.id,
            username: "ann-desk".into(),
            realm: "plugboard".into(),
            ha1_md5: secrets.ha1_md5.clone(),
            ha1_sha256: secrets.ha1_sha256.clone(),
        };
        let added = store.create_phone(AccountId::DEFAULT, phone).await.unwrap();
        assert_eq!(phones.credentials("ann-desk"), None);
        assert!(phones.reload(&store).await.unwrap());
        assert_eq!(phones.credentials("ann-desk"), Some(secrets));
        assert_eq!(phones.of_agent(ann.id), ["ann-desk"]);

        store.delete_phone(AccountId::DEFAULT, added.id).await.unwrap();
        assert!(phones.reload(&store).await.unwrap());
        assert_eq!(phones.credentials("ann-desk"), None);
    }

    /// What waits for the store is the latest change of each binding, in order; an AOR-wide
    /// removal replaces every earlier change of that AOR, and later ones stay.
    #[test]
    fn unrecorded_changes_keep_the_latest_of_each_binding() {
        let phones = Phones::default();
        let (bob, ann) = ("sip:bob-desk@pbx", "sip:ann-desk@pbx");
        for change in [
            bound(bob, "<sip:bob-desk@192.0.2.1>", 60),
            bound(ann, "<sip:ann-desk@192.0.2.2>", 60),
            bound(bob, "<sip:bob-desk@192.0.2.3>", 60),
            bound(bob, "<sip:bob-desk@192.0.2.1>", 120),
            BindingChange::RemovedAll { aor: bob.into() },
            bound(bob, "<sip:bob-desk@192.0.2.4>", 60),
            BindingChange::Lapsed {
                aor: ann.into(),
                uri: "<sip:ann-desk@192.0.2.2>".into(),
            },
        ] {
            phones.unrecorded(binding_update(change, 1_000));
        }
        let unrecorded = phones.unrecorded.lock().unwrap().clone();
        assert_eq!(
            unrecorded,
            [
                BindingUpdate::Removed {
                    aor: bob.into(),
                    contact: None
                },
                BindingUpdate::Bound(PhoneBinding {
                    aor: bob.into(),
                    contact: "<sip:bob-desk@192.0.2.4>".into(),
                    username: "bob-desk".into(),
                    q: None,
                    expires_at: 61_000,
                }),
                BindingUpdate::Lapsed {
                    aor: ann.into(),
                    contact: "<sip:ann-desk@192.0.2.2>".into(),
                    at: 1_000 + LAPSE_GRACE_MS,
                },
            ]
        );
    }
}
