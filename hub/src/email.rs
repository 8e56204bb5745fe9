//! Email on the hub's side, beside telephony: one fetch loop per mailbox (IMAP IDLE where the
//! server offers it, polling otherwise; each mail committed through the intake before it is marked
//! seen on the server) and the outbox sender, which hands queued replies to SMTP and records what
//! became of each (sent, retried with backoff, failed with the server's reason). What agents
//! send (replies, forwards, new mails, the files they upload for them) is queued by `compose`.

use crate::bus::Bus;
use crate::dispatcher::Dispatcher;
use crate::domain::{AccountId, MailboxId, Millis, now_millis};
use crate::intake::{Files, Intake, IntakeError};
use crate::secrets::Sealer;
use crate::store::{DynStore, InboundFailure, MailServer, Mailbox, MailboxSecrets, OutboxItem};
use plugboard_channel::{Attachment, Channel, Delivery, Outbound};
use plugboard_email::imap::{MailError, Session};
use plugboard_email::smtp::Sender;
use plugboard_email::{Address, Security, Server};
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

mod compose;
pub use compose::{ComposeError, Draft};

/// Mails fetched per round trip, and their most bytes in all: the mails of one fetch are taken in
/// side by side, so more of them share each commit (100 a fetch took about 1,100 mails/s in,
/// 400 about 1,400: docs/benchmarks.md).
const FETCH_BATCH: usize = 400;
const FETCH_BYTES: u64 = 32 << 20;
/// Mails sent at once.
const SENDING: usize = 4;
/// How long a sender holds a claimed outbox row before another may try it.
const CLAIM_MS: Millis = 120_000;
/// The longest a failing mailbox waits before trying again (a wrong password waits this long).
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What the admin page and `/readyz` show of a mailbox.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MailboxStatus {
    /// `connecting`, `connected` (fetching, or waiting for new mail), `failing`, or `standby`
    /// (several nodes: another node fetches).
    pub state: String,
    pub last_fetch_at: Option<Millis>,
    pub last_error: Option<String>,
    /// Mails taken in since the hub started.
    pub fetched: u64,
    /// Whether the server offers IMAP IDLE (new mail arrives at once) or is polled.
    pub idle: bool,
}

/// Email's running parts: the fetch loops (restarted when an admin changes a mailbox) and the
/// outbox sender.
pub struct Email {
    store: DynStore,
    intake: Intake,
    sealer: Sealer,
    bus: Bus,
    dispatcher: Dispatcher,
    settings: crate::config::Email,
    status: Mutex<HashMap<MailboxId, MailboxStatus>>,
    loops: Mutex<HashMap<MailboxId, (MailboxSecrets, JoinHandle<()>)>>,
    /// Wakes the sender: something was queued.
    queued: Notify,
    /// Each mailbox's SMTP sender, with the settings it was made for.
    senders: Mutex<HashMap<MailboxId, KeptSender>>,
}

impl Email {
    pub fn new(
        store: DynStore,
        intake: Intake,
        sealer: Sealer,
        bus: Bus,
        dispatcher: Dispatcher,
        settings: crate::config::Email,
    ) -> Arc<Email> {
        Arc::new(Email {
            store,
            intake,
            sealer,
            bus,
            dispatcher,
            settings,
            status: Mutex::default(),
            loops: Mutex::default(),
            queued: Notify::new(),
            senders: Mutex::default(),
        })
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    pub fn files(&self) -> &Files {
        &self.intake.files
    }

    /// Starts the sender and a fetch loop for every mailbox.
    pub async fn start(
        self: &Arc<Self>,
        health: &crate::health::Health,
    ) -> Result<(), crate::store::StoreError> {
        self.reload().await?;
        let email = self.clone();
        let running = health.running("email outbox");
        tokio::spawn(async move {
            let _running = running;
            email.send_forever().await;
        });
        Ok(())
    }

    /// Brings the fetch loops in line with the stored mailboxes: new ones start, changed ones
    /// restart, removed ones stop.
    pub async fn reload(self: &Arc<Self>) -> Result<(), crate::store::StoreError> {
        let stored = self.store.mailbox_secrets().await?;
        let mut loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        let wanted: HashMap<MailboxId, MailboxSecrets> =
            stored.into_iter().map(|m| (m.mailbox.id, m)).collect();
        loops.retain(|id, (running, task)| {
            let same = wanted.get(id).is_some_and(|w| same_settings(w, running));
            if !same {
                task.abort();
            }
            same
        });
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| wanted.contains_key(id));
        for (id, mailbox) in wanted {
            if loops.contains_key(&id) {
                continue;
            }
            let email = self.clone();
            let settings = mailbox.clone();
            let task = tokio::spawn(async move { email.fetch_forever(settings).await });
            loops.insert(id, (mailbox, task));
        }
        Ok(())
    }

    pub fn status(&self, id: MailboxId) -> MailboxStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .unwrap_or_else(|| MailboxStatus {
                state: "connecting".into(),
                ..Default::default()
            })
    }

    /// Mailboxes that cannot fetch now, by address, with the reason: for `/readyz`.
    pub fn failing(&self) -> Vec<(String, String)> {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        loops
            .iter()
            .filter_map(|(id, (m, _))| {
                let s = status.get(id)?;
                (s.state == "failing").then(|| {
                    (
                        m.mailbox.address.clone(),
                        s.last_error.clone().unwrap_or_default(),
                    )
                })
            })
            .collect()
    }

    /// A reply was queued: send it now rather than at the next round.
    pub fn wake_sender(&self) {
        self.queued.notify_one();
    }

    fn set_status(&self, id: MailboxId, change: impl FnOnce(&mut MailboxStatus)) {
        let mut all = self.status.lock().unwrap_or_else(|p| p.into_inner());
        change(all.entry(id).or_default());
    }

    fn server(&self, s: &MailServer, sealed: &[u8]) -> Result<Server, String> {
        let password = self.sealer.open(sealed).map_err(|e| e.to_string())?;
        let security = match s.security.as_str() {
            "tls" => Security::Tls,
            "starttls" => Security::StartTls,
            "plain" => Security::Plain,
            other => return Err(format!("unknown security {other:?}: use tls, starttls or plain")),
        };
        Ok(Server::new(
            s.host.clone(),
            s.port,
            security,
            s.user.clone(),
            password,
        ))
    }

    // --- fetching ---

    async fn fetch_forever(self: Arc<Self>, m: MailboxSecrets) {
        let id = m.mailbox.id;
        let mut failures = 0u32;
        loop {
            // With several nodes, the node leading the routers fetches; the others stand by.
            while self.dispatcher.router() != "here" {
                self.set_status(id, |s| s.state = "standby".into());
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            self.set_status(id, |s| s.state = "connecting".into());
            let Err(error) = self.fetch_session(&m, &mut failures).await;
            if matches!(error, Failure::NotLeading) {
                continue;
            }
            failures = failures.saturating_add(1);
            let wait = match &error {
                Failure::Auth => MAX_BACKOFF,
                _ => Duration::from_secs(1u64 << failures.min(8)).min(MAX_BACKOFF),
            };
            let reason = error.to_string();
            tracing::warn!(mailbox = %m.mailbox.address, error = %reason, retry_in = ?wait, "mailbox failing");
            self.set_status(id, |s| {
                s.state = "failing".into();
                s.last_error = Some(reason);
            });
            tokio::time::sleep(wait).await;
        }
    }

    /// One connection's life: fetch what is new, wait for more, until something fails.
    async fn fetch_session(&self, m: &MailboxSecrets, failures: &mut u32) -> Result<Infallible, Failure> {
        let b = &m.mailbox;
        let server = self
            .server(&b.imap, &m.imap_password)
            .map_err(Failure::Settings)?;
        let mut session = Session::connect(&server, &b.folder).await?;
        let queue = self.store.queue(m.account, b.queue_id).await?;
        let validity = i64::from(session.uid_validity());
        let mut last = match self.store.mailbox_sync(b.id).await? {
            Some((v, last)) if v == validity => last,
            // New, or the server renumbered the folder: fetch it all again. What was stored
            // before is found by its Message-ID and not stored twice.
            _ => 0,
        };
        let idle = session.supports_idle();
        *failures = 0;
        self.set_status(b.id, |s| {
            s.state = "connected".into();
            s.last_error = None;
            s.idle = idle;
        });
        loop {
            let fetched = session.fetch_after(last as u32, FETCH_BATCH, FETCH_BYTES).await?;
            // A fetch cut short by FETCH_BYTES leaves more behind: fetch again until none is new.
            let more = !fetched.is_empty();
            let (done, failed) = self.take_in(m.account, b, &queue, fetched).await;
            if let Some(&newest) = done.iter().max() {
                match &b.done_folder {
                    Some(folder) => session.move_to(&done, folder).await?,
                    None => session.mark_seen(&done).await?,
                }
                last = i64::from(newest);
                self.store.set_mailbox_sync(b.id, validity, last).await?;
            }
            if let Some(failure) = failed {
                return Err(failure);
            }
            let count = done.len() as u64;
            self.set_status(b.id, |s| {
                s.state = "connected".into();
                s.last_fetch_at = Some(now_millis());
                s.fetched += count;
            });
            if self.dispatcher.router() != "here" {
                return Err(Failure::NotLeading);
            }
            if !more {
                session
                    .wait(Duration::from_secs(u64::from(self.settings.poll_secs.max(1))))
                    .await?;
            }
        }
    }

    /// One fetch's mails into the hub, in UID order as far as it matters (see
    /// `intake::independent_runs`: mails that could meet are taken one after another, the rest
    /// side by side, so their commits share fsyncs). A mail that cannot be read is kept as a failed
    /// item (and counts as done); only the hub failing to commit is an error. Answers the UIDs
    /// done, up to the first mail the hub could not commit (it and those after it stay unseen, and
    /// the next session fetches them again; what was stored meanwhile is found by its Message-ID
    /// and not stored twice), and that failure.
    async fn take_in(
        &self,
        account: AccountId,
        mailbox: &Mailbox,
        queue: &crate::domain::Queue,
        fetched: Vec<plugboard_email::imap::Fetched>,
    ) -> (Vec<u32>, Option<Failure>) {
        let entry_point = mailbox.entry_point();
        let mut outcomes: Vec<Result<(), Failure>> = Vec::with_capacity(fetched.len());
        let mut readable = Vec::new();
        for (i, mail) in fetched.iter().enumerate() {
            match plugboard_email::parse(&mail.raw, self.settings.max_bytes) {
                Ok(parsed) => {
                    readable.push((i, parsed.inbound(&entry_point)));
                    outcomes.push(Ok(()));
                }
                Err(e) => {
                    tracing::warn!(mailbox = %mailbox.address, uid = mail.uid, error = %e, "a mail could not be taken in");
                    metrics::counter!("plugboard_emails_total", "outcome" => "failed").increment(1);
                    let failure = InboundFailure {
                        id: uuid::Uuid::now_v7().to_string(),
                        entry_point: entry_point.clone(),
                        reference: format!("uid {} in {}", mail.uid, mailbox.folder),
                        reason: e.to_string(),
                        size: mail.raw.len() as i64,
                        at: now_millis(),
                    };
                    outcomes.push(
                        self.store
                            .record_inbound_failure(account, &failure)
                            .await
                            .map_err(Failure::from),
                    );
                }
            }
        }
        let contacts: Vec<&plugboard_channel::Inbound> =
            readable.iter().map(|(_, inbound)| inbound).collect();
        let runs = crate::intake::independent_runs(&contacts);
        let mut slots: Vec<Option<(usize, plugboard_channel::Inbound)>> =
            readable.into_iter().map(Some).collect();
        let taken = futures_util::future::join_all(runs.into_iter().map(|run| {
            let run: Vec<(usize, plugboard_channel::Inbound)> =
                run.into_iter().filter_map(|n| slots[n].take()).collect();
            async move {
                let mut results = Vec::with_capacity(run.len());
                let mut broken = false;
                for (i, inbound) in run {
                    // After a failure the rest of the run waits for the next session: a reply
                    // must not be taken before the mail it answers.
                    if broken {
                        results.push((i, Err(Failure::Mail("an earlier mail of its thread failed".into()))));
                        continue;
                    }
                    let result = self
                        .intake
                        .take(account, inbound, crate::intake::Entry::on(queue), crate::intake::no_preparation)
                        .await;
                    match &result {
                        Ok(arrived) => {
                            metrics::counter!("plugboard_emails_total", "outcome" => format!("{:?}", arrived.outcome).to_lowercase())
                                .increment(1);
                        }
                        Err(_) => broken = true,
                    }
                    results.push((i, result.map(|_| ()).map_err(Failure::from)));
                }
                results
            }
        }))
        .await;
        for (i, result) in taken.into_iter().flatten() {
            outcomes[i] = result;
        }
        let mut done = Vec::with_capacity(fetched.len());
        for (mail, outcome) in fetched.iter().zip(outcomes) {
            match outcome {
                Ok(()) => done.push(mail.uid),
                Err(failure) => return (done, Some(failure)),
            }
        }
        (done, None)
    }

    // --- sending ---

    async fn send_forever(self: Arc<Self>) {
        let sending = crate::outbox::Sending {
            kind: "mailbox:",
            claim: 32,
            claim_ms: CLAIM_MS,
            // A few at a time: each mailbox's sender keeps as many connections open.
            at_once: SENDING,
            queued: &self.queued,
        };
        crate::outbox::send_forever(&self.store, sending, || true, |item| self.send_one(item)).await;
    }

    async fn send_one(&self, item: OutboxItem) {
        let update = crate::outbox::next_step(item.attempts, self.try_send(&item).await, None, now_millis());
        crate::outbox::record(&self.store, &self.dispatcher, &self.bus, &item, update).await;
    }

    async fn try_send(&self, item: &OutboxItem) -> Delivery {
        let failed = |reason: String| Delivery::Failed {
            reason,
            permanent: true,
        };
        let Some(id) = item
            .entry_point
            .strip_prefix("mailbox:")
            .and_then(|id| id.parse::<MailboxId>().ok())
        else {
            return failed(format!("not a mailbox: {}", item.entry_point));
        };
        let mailboxes = match self.store.mailbox_secrets().await {
            Ok(all) => all,
            Err(e) => {
                return Delivery::Failed {
                    reason: e.to_string(),
                    permanent: false,
                };
            }
        };
        let Some(m) = mailboxes.into_iter().find(|m| m.mailbox.id == id) else {
            return failed("the mailbox was removed".into());
        };
        let server = match self.server(&m.mailbox.smtp, &m.smtp_password) {
            Ok(server) => server,
            Err(reason) => return failed(reason),
        };
        let mut attachments = Vec::new();
        if let Some(parts) = &item.message.channel {
            for a in &parts.attachments {
                let Ok(stored) = self.store.attachment(item.account, a.id).await else {
                    return failed(format!("attachment {} is missing", a.filename));
                };
                match tokio::fs::read(self.intake.files.path(&stored.sha256)).await {
                    Ok(data) => attachments.push(Attachment {
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        content_id: a.content_id.clone(),
                        data,
                    }),
                    Err(e) => return failed(format!("attachment {}: {e}", a.filename)),
                }
            }
        }
        let to = item
            .payload
            .get("to")
            .and_then(|t| t.as_array())
            .map(|t| t.iter().filter_map(|a| a.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let out = Outbound {
            id: item.message.id.to_string(),
            channel: Channel::Email,
            entry_point: item.entry_point.clone(),
            to,
            // A chat's transcript is mailed as itself; its message only records that it went.
            body: (item.payload.get("body").and_then(|b| b.as_str()))
                .unwrap_or(&item.message.body)
                .to_owned(),
            details: item.payload.clone(),
            attachments,
        };
        let from = Address {
            name: Some(m.mailbox.display_name.clone()).filter(|n| !n.is_empty()),
            email: m.mailbox.address.clone(),
        };
        let domain = self.settings.message_id_domain.clone().unwrap_or_else(|| {
            m.mailbox
                .address
                .rsplit('@')
                .next()
                .unwrap_or("localhost")
                .to_owned()
        });
        self.sender(&m, &server)
            .send(&out, &from, m.mailbox.signature.as_deref(), &domain)
            .await
    }

    /// The mailbox's SMTP sender, kept while its settings stay the same (it keeps connections
    /// open between sends).
    fn sender(&self, m: &MailboxSecrets, server: &Server) -> Sender {
        let mut senders = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        let settings = (m.mailbox.smtp.clone(), m.smtp_password.clone());
        match senders.get(&m.mailbox.id) {
            Some((kept, sender)) if *kept == settings => sender.clone(),
            _ => {
                let sender = Sender::new(server);
                senders.insert(m.mailbox.id, (settings, sender.clone()));
                sender
            }
        }
    }
}

/// A mailbox's SMTP sender, with the settings and sealed password it was made for.
type KeptSender = ((MailServer, Vec<u8>), Sender);

/// Whether a running loop still matches the stored mailbox (settings and passwords).
fn same_settings(a: &MailboxSecrets, b: &MailboxSecrets) -> bool {
    a.mailbox == b.mailbox && a.imap_password == b.imap_password && a.smtp_password == b.smtp_password
}

/// Why a mailbox's session ended.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("the server refused the login: check the user and password")]
    Auth,
    #[error("{0}")]
    Mail(String),
    #[error("{0}")]
    Settings(String),
    #[error("the hub could not store mail: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the hub could not take mail in: {0}")]
    Intake(#[from] IntakeError),
    #[error("another node leads the routers now: it fetches")]
    NotLeading,
}

impl From<MailError> for Failure {
    fn from(e: MailError) -> Failure {
        match e {
            MailError::Auth => Failure::Auth,
            other => Failure::Mail(other.to_string()),
        }
    }
}
