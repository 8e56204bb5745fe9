//! The one way in for every channel: what a connector received (`plugboard_channel::Inbound`)
//! becomes a customer (resolved by identity), an interaction (the open conversation the message
//! continues, found by its thread keys or, on a messaging app, by its customer; or a new one on
//! the entry point's queue) and a message committed with its attachments, then routed. Chat, calls, email and messaging all come here.

use crate::bus::Bus;
use crate::dispatcher::{DispatchError, Dispatcher};
use crate::domain::{
    AccountId, Channel, Customer, Interaction, InteractionEvent, InteractionId, Message, Queue, RawIdentity,
    Sender, now_millis,
};
use crate::profile::{self, ProfileError};
use crate::store::{
    DynStore, NewAttachment, NewChannelMessage, NewInteraction, NewMessage, StoreError, TransitionDetails,
    Write,
};
use plugboard_channel::{Attachment, Inbound};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dispatch(#[from] DispatchError),
    #[error("could not keep an attachment: {0}")]
    Files(#[from] std::io::Error),
}

/// What became of an inbound contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new interaction, routed.
    New,
    /// Added to an interaction that is still open.
    Continued,
    /// Added to a closed interaction, which waits for an agent again.
    Reopened,
    /// Kept on the timeline, never routed (sent by a machine).
    Filed,
    /// Already stored (the platform delivered it again): nothing changed.
    Duplicate,
}

#[derive(Debug, Clone)]
pub struct Arrived {
    pub outcome: Outcome,
    pub customer: Customer,
    pub interaction: Interaction,
    pub message: Option<Message>,
}

/// What a reply to a closed conversation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosedReply {
    /// The conversation opens again and waits for the agent who had it, else the queue.
    Reopen,
    /// A new conversation starts, its first message naming the old one (`follows`).
    New,
}

/// How a new conversation on an entry point starts, beyond what the connector said.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The queue the entry point routes to.
    pub queue: &'a Queue,
    /// The id a new interaction gets when the channel tracks it before it exists (a call's
    /// telephony knows it by this id from its first SIP message); otherwise a fresh one.
    pub id: Option<InteractionId>,
    /// Left while nobody could take it (a chat's offline message): it waits all the same.
    pub offline: bool,
    pub commit: Commit,
    /// Who the contact is when none of its identities can be read (a caller id that is no
    /// number): without it, unreadable identities are an error.
    pub fallback: Option<&'a RawIdentity>,
    /// Identities that cannot be read are left out, as long as one can be: a messaging app's
    /// account id is who they are, and a phone number beside it that our parser does not know
    /// must not turn a delivery away (the platform would retry it for ever).
    pub readable_only: bool,
}

impl<'a> Entry<'a> {
    pub fn on(queue: &'a Queue) -> Entry<'a> {
        Entry {
            queue,
            id: None,
            offline: false,
            commit: Commit::BeforeReady,
            fallback: None,
            readable_only: false,
        }
    }
}

/// When a new interaction is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Before `ready` runs, so what it stores may point at the interaction (a chat's session).
    BeforeReady,
    /// With its routing, in one commit (a call: one commit fewer per call).
    WithRouting,
}

/// For a channel with nothing to do before a new contact is routed.
pub async fn no_preparation(_: &Arrived) -> Result<(), IntakeError> {
    Ok(())
}

/// The intake's collaborators.
#[derive(Clone)]
pub struct Intake {
    pub store: DynStore,
    pub dispatcher: Dispatcher,
    pub bus: Bus,
    /// Where attachments are kept (`<data_dir>/attachments`).
    pub files: Files,
    pub default_region: String,
    pub closed_reply: ClosedReply,
    /// How long a contact from a customer with an owner is offered to the owner alone, while
    /// they are Available (`crm.owner_first_secs`); 0: not at all.
    pub owner_first_ms: crate::domain::Millis,
}

impl Intake {
    /// Takes in one contact: resolves the customer, continues the conversation its thread keys
    /// name (when the sender may), or opens a new one on the entry's queue and routes it. For a
    /// new one, `ready` runs once it is committed (see `Commit`) and before it is routed: what the
    /// channel must have in place before an agent can be offered it (a chat's session and first
    /// line). A message already stored under its external id in this entry point changes
    /// nothing (`Outcome::Duplicate`): a platform may deliver twice.
    pub async fn take<E: From<IntakeError>>(
        &self,
        account: AccountId,
        inbound: Inbound,
        entry: Entry<'_>,
        ready: impl AsyncFnOnce(&Arrived) -> Result<(), E>,
    ) -> Result<Arrived, E> {
        let Inbound {
            channel,
            entry_point,
            identities,
            display_name,
            thread,
            automated,
            message,
        } = inbound;
        // Normalised once (a phone number is parsed against the numbering plan's metadata).
        let normalised = profile::normalise(&identities, &self.default_region, entry.readable_only);
        // A known customer writing again (the common case) is read at once with whether the
        // message is stored and, on a messaging app, their open conversation.
        let known = match (&message, &normalised) {
            (Some(m), Ok(normalised)) => {
                let name = display_name.as_deref().map(str::trim).filter(|n| !n.is_empty());
                let open = channel == Channel::Messaging;
                self.store
                    .known_contact(account, &entry_point, normalised, name, &m.external_id, open)
                    .await
                    .map_err(IntakeError::from)?
            }
            _ => None,
        };
        let customer = match known.as_ref().and_then(|k| k.customer.clone()) {
            Some(customer) => customer,
            None => {
                let since = crate::domain::now_millis();
                let mut customer = self
                    .customer(account, normalised, display_name.as_deref(), entry.fallback)
                    .await
                    .map_err(IntakeError::from)?;
                // Created by this contact: the account's rules give it an owner. A failure
                // leaves it without one (a supervisor can assign it) rather than lose the contact.
                if customer.created_at >= since {
                    match crate::crm::assign_new(&self.store, account, &customer, Some(&entry_point)).await {
                        Ok(owner) => customer.owner_id = owner.or(customer.owner_id),
                        Err(e) => tracing::warn!(error = %e, customer = %customer.id, "assignment rules"),
                    }
                }
                customer
            }
        };
        if let Some(m) = &message
            && known.as_ref().is_none_or(|k| k.stored)
            && let Some(found) = self
                .stored(account, &entry_point, &m.external_id)
                .await
                .map_err(IntakeError::from)?
        {
            let interaction = self
                .store
                .interaction(account, found.interaction_id)
                .await
                .map_err(IntakeError::from)?;
            return Ok(Arrived {
                outcome: Outcome::Duplicate,
                customer,
                interaction,
                message: Some(found),
            });
        }
        let mut earlier = self
            .store
            .thread_of(account, &entry_point, &thread.replies_to)
            .await
            .map_err(IntakeError::from)?;
        if earlier.is_none()
            && let Some(id) = thread
                .token
                .as_deref()
                .and_then(|t| t.parse::<InteractionId>().ok())
        {
            earlier = Some(id);
        }
        // Messaging apps name no thread: the customer's next message continues their open
        // conversation on the inbox (read with the customer, when they were known).
        if earlier.is_none()
            && channel == Channel::Messaging
            && known.as_ref().is_none_or(|k| k.customer.is_none())
        {
            earlier = self
                .store
                .open_conversation(account, &entry_point, customer.id)
                .await
                .map_err(IntakeError::from)?;
        }
        let earlier = match (earlier, known) {
            (Some(id), _) => Some(self.store.interaction(account, id).await),
            (None, Some(known)) if channel == Channel::Messaging && known.customer.is_some() => {
                known.open.map(Ok)
            }
            (None, _) => None,
        };
        let mut follows = None;
        if let Some(found) = earlier {
            match found {
                Ok(i)
                    if i.entry_point == entry_point
                        && self
                            .may_continue(account, &i, &customer)
                            .await
                            .map_err(IntakeError::from)? =>
                {
                    let closed = i.state.is_terminal();
                    if closed && automated.is_none() && self.closed_reply == ClosedReply::New {
                        follows = Some(i.id);
                    } else {
                        return Ok(self
                            .continue_in(account, i, customer, message, automated.is_some())
                            .await?);
                    }
                }
                // Another customer's conversation, another entry point's, or none at all: a
                // quoted id never shows a stranger someone else's thread.
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(IntakeError::from(e).into()),
            }
        }
        let new = New {
            channel,
            entry_point: &entry_point,
            customer,
            message,
            automated,
            follows,
        };
        self.open(account, entry, new, ready).await
    }

    /// The customer the contact's identities (as `normalise` left them) resolve to, or its
    /// fallback's when none could be read.
    async fn customer(
        &self,
        account: AccountId,
        normalised: Result<Vec<(String, String)>, ProfileError>,
        name: Option<&str>,
        fallback: Option<&RawIdentity>,
    ) -> Result<Customer, ProfileError> {
        let identities = match normalised {
            Err(ProfileError::Identity(_)) if let Some(known_as) = fallback => {
                profile::normalise(std::slice::from_ref(known_as), &self.default_region, false)?
            }
            normalised => normalised?,
        };
        profile::resolve_normalised(&self.store, account, &identities, name).await
    }

    async fn stored(
        &self,
        account: AccountId,
        entry_point: &str,
        external_id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let Some(id) = self
            .store
            .thread_of(
                account,
                entry_point,
                std::slice::from_ref(&external_id.to_owned()),
            )
            .await?
        else {
            return Ok(None);
        };
        let messages = self.store.messages(account, id, 0).await?;
        Ok(messages.into_iter().find(|m| {
            m.channel
                .as_ref()
                .is_some_and(|c| c.external_id.as_deref() == Some(external_id))
        }))
    }

    /// Whether this customer may add to that conversation: it is theirs, or they were one of
    /// its participants (an address in the From, To or Cc of one of its messages).
    async fn may_continue(
        &self,
        account: AccountId,
        i: &Interaction,
        customer: &Customer,
    ) -> Result<bool, StoreError> {
        if i.customer_id == customer.id {
            return Ok(true);
        }
        let Some(email) = customer.email.as_deref() else {
            return Ok(false);
        };
        let messages = self.store.messages(account, i.id, 0).await?;
        Ok(messages
            .iter()
            .filter_map(|m| m.channel.as_ref())
            .any(|c| participants(&c.details).any(|a| a.eq_ignore_ascii_case(email))))
    }

    async fn continue_in(
        &self,
        account: AccountId,
        interaction: Interaction,
        customer: Customer,
        message: Option<plugboard_channel::InboundMessage>,
        automated: bool,
    ) -> Result<Arrived, IntakeError> {
        let Some(inbound) = message else {
            return Ok(Arrived {
                outcome: Outcome::Continued,
                customer,
                interaction,
                message: None,
            });
        };
        let new = self
            .channel_message(interaction.id, &interaction.entry_point, inbound, vec![])
            .await?;
        let (stored, created) = self
            .store
            .append_channel_message(account, new, now_millis())
            .await?;
        let mut outcome = if created {
            Outcome::Continued
        } else {
            Outcome::Duplicate
        };
        if created && interaction.state.is_terminal() && !automated {
            self.dispatcher.reopen(account, interaction.clone()).await?;
            outcome = Outcome::Reopened;
        } else if created {
            // The customer wrote to a snoozed conversation: it is back now, for its agent first.
            if interaction.snoozed_until.is_some() && !automated {
                self.dispatcher.wake(account, interaction.id).await?;
            }
            let agent = self.dispatcher.watcher(interaction.id).await;
            self.bus.to_agent_and_watchers(agent, stored.clone());
        }
        Ok(Arrived {
            outcome,
            customer,
            interaction,
            message: Some(stored),
        })
    }

    async fn open<E: From<IntakeError>>(
        &self,
        account: AccountId,
        entry: Entry<'_>,
        new: New<'_>,
        ready: impl AsyncFnOnce(&Arrived) -> Result<(), E>,
    ) -> Result<Arrived, E> {
        let New {
            channel,
            entry_point,
            customer,
            message,
            automated,
            follows,
        } = new;
        let now = now_millis();
        let queue = entry.queue;
        let fresh = NewInteraction {
            customer_id: customer.id,
            channel,
            queue_id: queue.id,
            priority: queue.priority_for(customer.tier.as_deref()),
            entry_point: entry_point.to_owned(),
            offline: entry.offline,
            arrived_at: now,
        };
        let mut interaction = fresh.queued_as(entry.id.unwrap_or_default());
        let mut opening = vec![Write::Open {
            account,
            interaction: interaction.clone(),
        }];
        if let Some(reason) = &automated {
            let details = TransitionDetails {
                data: serde_json::json!({ "reason": reason }),
                ..Default::default()
            };
            crate::store::apply_transition(&mut interaction, InteractionEvent::Filed, &details, now)
                .map_err(IntakeError::from)?;
            opening.push(Write::Transition {
                account,
                id: interaction.id,
                event: InteractionEvent::Filed,
                details,
                at: now,
            });
        }
        let mut committed = false;
        let stored = match message {
            Some(mut inbound) => {
                if let (Some(previous), Some(details)) = (follows, inbound.details.as_object_mut()) {
                    details.insert("follows".into(), serde_json::json!(previous));
                }
                let new = self
                    .channel_message(interaction.id, entry_point, inbound, std::mem::take(&mut opening))
                    .await?;
                let (stored, created) = self
                    .store
                    .append_channel_message(account, new, now)
                    .await
                    .map_err(IntakeError::from)?;
                if !created {
                    // Stored meanwhile by another fetch of the same message: that one counts.
                    let interaction = self
                        .store
                        .interaction(account, stored.interaction_id)
                        .await
                        .map_err(IntakeError::from)?;
                    return Ok(Arrived {
                        outcome: Outcome::Duplicate,
                        customer,
                        interaction,
                        message: Some(stored),
                    });
                }
                committed = true;
                Some(stored)
            }
            None => None,
        };
        if !committed && (entry.commit == Commit::BeforeReady || automated.is_some()) {
            self.store
                .commit(None, &opening)
                .await
                .map_err(IntakeError::from)?;
            committed = true;
        }
        let mut arrived = Arrived {
            outcome: Outcome::Filed,
            customer,
            interaction,
            message: stored,
        };
        if automated.is_some() {
            return Ok(arrived);
        }
        ready(&arrived).await?;
        // A customer's owner is offered their contacts first, for a while.
        let owner = arrived
            .customer
            .owner_id
            .filter(|_| self.owner_first_ms > 0)
            .map(|o| (o, self.owner_first_ms));
        let routed = self
            .dispatcher
            .route_contact(account, arrived.interaction.clone(), !committed, owner)
            .await;
        routed.map_err(IntakeError::from)?;
        metrics::counter!("plugboard_interactions_total", "channel" => channel.as_str()).increment(1);
        arrived.outcome = Outcome::New;
        Ok(arrived)
    }

    async fn channel_message(
        &self,
        interaction: InteractionId,
        entry_point: &str,
        inbound: plugboard_channel::InboundMessage,
        opening: Vec<Write>,
    ) -> Result<NewChannelMessage, IntakeError> {
        let mut attachments = Vec::with_capacity(inbound.attachments.len());
        for a in &inbound.attachments {
            attachments.push(self.files.keep(a).await?);
        }
        // A messaging app's files are named, not sent: they are fetched once the message is in.
        let fetch_media = inbound.details["media"]
            .as_array()
            .is_some_and(|media| !media.is_empty());
        Ok(NewChannelMessage {
            opening,
            message: NewMessage {
                interaction_id: interaction,
                sender: Sender::Customer,
                agent_id: None,
                body: inbound.body,
                client_id: inbound.external_id.clone(),
            },
            entry_point: entry_point.to_owned(),
            external_id: Some(inbound.external_id),
            details: inbound.details,
            attachments,
            outbound: None,
            fetch_media,
        })
    }
}

/// Splits contacts that arrived together (an email fetch) into runs the intake may take side by
/// side: contacts that could touch the same customer or conversation (a sender in common, one
/// quoting another's id, two answering the same thread) share a run, in their arrival order;
/// runs share nothing, so taking them concurrently lets their commits share an fsync without
/// changing what any of them finds.
pub fn independent_runs(contacts: &[&Inbound]) -> Vec<Vec<usize>> {
    use std::collections::HashMap;
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..contacts.len()).collect();
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, c) in contacts.iter().enumerate() {
        let identities = c.identities.iter().map(|id| match id {
            RawIdentity::Email(a) => format!("email:{}", a.to_lowercase()),
            other => format!("{other:?}"),
        });
        let ids = c
            .message
            .iter()
            .map(|m| &m.external_id)
            .chain(&c.thread.replies_to)
            .chain(&c.thread.token)
            .map(|id| format!("id:{id}"));
        for key in identities.chain(ids) {
            match first_with.get(&key) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first_with.insert(key, i);
                }
            }
        }
    }
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut run_of: HashMap<usize, usize> = HashMap::new();
    for i in 0..contacts.len() {
        let r = root(&mut parent, i);
        let n = *run_of.entry(r).or_insert_with(|| {
            runs.push(Vec::new());
            runs.len() - 1
        });
        runs[n].push(i);
    }
    runs
}

/// A new conversation, as `take` found it.
struct New<'a> {
    channel: Channel,
    entry_point: &'a str,
    customer: Customer,
    message: Option<plugboard_channel::InboundMessage>,
    automated: Option<String>,
    follows: Option<InteractionId>,
}

/// Every address an email's details name (from, to, cc).
fn participants(details: &serde_json::Value) -> impl Iterator<Item = &str> {
    fn one(v: &serde_json::Value) -> Option<&str> {
        v.get("email").and_then(|e| e.as_str())
    }
    let from = details.get("from").and_then(one);
    let lists = ["to", "cc"]
        .into_iter()
        .filter_map(|k| details.get(k).and_then(|v| v.as_array()))
        .flatten()
        .filter_map(one);
    from.into_iter().chain(lists)
}

/// Attachments' bytes in the data directory, each under its SHA-256: the same file twice is kept
/// once, and a file is on disk before the message naming it is committed.
#[derive(Debug, Clone)]
pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(data_dir: &Path) -> Files {
        Files {
            dir: data_dir.join("attachments"),
        }
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        let shard = sha256.get(..2).unwrap_or("00");
        self.dir.join(shard).join(sha256)
    }

    pub async fn keep(&self, a: &Attachment) -> std::io::Result<NewAttachment> {
        let sha = hex(&Sha256::digest(&a.data));
        let path = self.path(&sha);
        if tokio::fs::try_exists(&path).await? {
            return Ok(self.record(a, sha));
        }
        let dir = path.parent().expect("a sharded path has a parent").to_owned();
        tokio::fs::create_dir_all(&dir).await?;
        let partial = dir.join(format!(".{sha}.{}", uuid::Uuid::now_v7()));
        let data = a.data.clone();
        let done = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&partial)?;
            f.write_all(&data)?;
            f.sync_all()?;
            std::fs::rename(&partial, &done)?;
            std::fs::File::open(&dir)?.sync_all()
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(self.record(a, sha))
    }

    fn record(&self, a: &Attachment, sha256: String) -> NewAttachment {
        NewAttachment {
            filename: a.filename.clone(),
            content_type: a.content_type.clone(),
            size: a.data.len() as i64,
            sha256,
            content_id: a.content_id.clone(),
        }
    }
}

/// Lower-case hexadecimal, as file names and checksums are written.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{independent_runs, participants};
    use plugboard_channel::{Channel, Inbound, InboundMessage, RawIdentity, Thread};
    use serde_json::json;

    fn mail(from: &str, id: &str, replies_to: &[&str]) -> Inbound {
        Inbound {
            channel: Channel::Email,
            entry_point: "mailbox:1".into(),
            identities: vec![RawIdentity::Email(from.into())],
            display_name: None,
            thread: Thread {
                replies_to: replies_to.iter().map(|r| r.to_string()).collect(),
                token: None,
            },
            automated: None,
            message: Some(InboundMessage {
                external_id: id.into(),
                body: String::new(),
                details: json!({}),
                attachments: vec![],
                sent_at: None,
            }),
        }
    }

    #[test]
    fn contacts_that_could_meet_share_a_run_in_arrival_order() {
        type Case = (&'static str, Vec<Inbound>, Vec<Vec<usize>>);
        let table: &[Case] = &[
            (
                "strangers run side by side",
                vec![mail("a@x", "1", &[]), mail("b@x", "2", &[])],
                vec![vec![0], vec![1]],
            ),
            (
                "one sender, whatever the case of the address",
                vec![
                    mail("a@x", "1", &[]),
                    mail("b@x", "2", &[]),
                    mail("A@X", "3", &[]),
                ],
                vec![vec![0, 2], vec![1]],
            ),
            (
                "a cc'd colleague answering a mail of the same fetch",
                vec![mail("a@x", "1", &[]), mail("boss@x", "2", &["1"])],
                vec![vec![0, 1]],
            ),
            (
                "two answers to one earlier thread",
                vec![
                    mail("a@x", "1", &["old"]),
                    mail("b@x", "2", &["old"]),
                    mail("c@x", "3", &[]),
                ],
                vec![vec![0, 1], vec![2]],
            ),
            (
                "chains join: a-b by sender, b-c by thread",
                vec![
                    mail("a@x", "1", &[]),
                    mail("c@x", "3", &["t"]),
                    mail("a@x", "2", &["t"]),
                    mail("d@x", "4", &[]),
                ],
                vec![vec![0, 1, 2], vec![3]],
            ),
        ];
        for (case, mails, want) in table {
            let refs: Vec<&Inbound> = mails.iter().collect();
            assert_eq!(&independent_runs(&refs), want, "{case}");
        }
        assert!(independent_runs(&[]).is_empty());
    }

    #[test]
    fn an_emails_participants_are_its_from_to_and_cc() {
        let details = json!({
            "from": {"name": "Li Wei", "email": "li@example.cn"},
            "to": [{"email": "support@shop.example"}],
            "cc": [{"name": "Boss", "email": "boss@example.cn"}, {"email": null}],
            "subject": "Hi"
        });
        let all: Vec<_> = participants(&details).collect();
        assert_eq!(all, ["li@example.cn", "support@shop.example", "boss@example.cn"]);
        assert_eq!(participants(&json!({})).count(), 0);
    }
}
