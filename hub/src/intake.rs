//! The one way in for every channel: what a connector received (`plugboard_channel::Inbound`)
//! becomes a customer (resolved by identity), an interaction (the open conversation the message
//! continues, found by its thread keys, or a new one on the entry point's queue) and a message
//! committed with its attachments, then routed. Chat, calls, email and messaging all come here.

use crate::bus::Bus;
use crate::bus::frames::AgentFrame;
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
}

impl Intake {
    /// Takes in one contact on `queue`. A message already stored under its external id in this
    /// entry point changes nothing (`Outcome::Duplicate`): a platform may deliver twice.
    pub async fn take(
        &self,
        account: AccountId,
        inbound: Inbound,
        queue: &Queue,
    ) -> Result<Arrived, IntakeError> {
        let Inbound {
            channel,
            entry_point,
            identities,
            display_name,
            thread,
            automated,
            message,
        } = inbound;
        let customer = self
            .customer(account, &identities, display_name.as_deref())
            .await?;
        if let Some(m) = &message
            && let Some(found) = self.stored(account, &entry_point, &m.external_id).await?
        {
            let interaction = self.store.interaction(account, found.interaction_id).await?;
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
            .await?;
        if earlier.is_none()
            && let Some(id) = thread
                .token
                .as_deref()
                .and_then(|t| t.parse::<InteractionId>().ok())
        {
            earlier = Some(id);
        }
        let mut follows = None;
        if let Some(id) = earlier {
            match self.store.interaction(account, id).await {
                Ok(i)
                    if i.entry_point == entry_point && self.may_continue(account, &i, &customer).await? =>
                {
                    let closed = i.state.is_terminal();
                    if closed && automated.is_none() && self.closed_reply == ClosedReply::New {
                        follows = Some(i.id);
                    } else {
                        return self
                            .continue_in(account, i, customer, message, automated.is_some())
                            .await;
                    }
                }
                // Another customer's conversation, another entry point's, or none at all: a
                // quoted id never shows a stranger someone else's thread.
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.open(
            account,
            channel,
            &entry_point,
            queue,
            customer,
            message,
            automated,
            follows,
        )
        .await
    }

    async fn customer(
        &self,
        account: AccountId,
        identities: &[RawIdentity],
        name: Option<&str>,
    ) -> Result<Customer, ProfileError> {
        profile::resolve(&self.store, account, identities, name, &self.default_region).await
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
        } else if created && let Some(agent) = self.dispatcher.watcher(interaction.id).await {
            self.bus.to_agent(
                agent,
                AgentFrame::Message {
                    message: stored.clone(),
                },
            );
        }
        Ok(Arrived {
            outcome,
            customer,
            interaction,
            message: Some(stored),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn open(
        &self,
        account: AccountId,
        channel: Channel,
        entry_point: &str,
        queue: &Queue,
        customer: Customer,
        message: Option<plugboard_channel::InboundMessage>,
        automated: Option<String>,
        follows: Option<InteractionId>,
    ) -> Result<Arrived, IntakeError> {
        let now = now_millis();
        let interaction = NewInteraction {
            customer_id: customer.id,
            channel,
            queue_id: queue.id,
            priority: queue.priority,
            entry_point: entry_point.to_owned(),
            offline: false,
            arrived_at: now,
        }
        .queued();
        let mut opening = vec![Write::Open {
            account,
            interaction: interaction.clone(),
        }];
        let mut interaction = interaction;
        if let Some(reason) = &automated {
            let details = TransitionDetails {
                data: serde_json::json!({ "reason": reason }),
                ..Default::default()
            };
            crate::store::apply_transition(&mut interaction, InteractionEvent::Filed, &details, now)?;
            opening.push(Write::Transition {
                account,
                id: interaction.id,
                event: InteractionEvent::Filed,
                details,
                at: now,
            });
        }
        let stored = match message {
            Some(mut inbound) => {
                if let (Some(previous), Some(details)) = (follows, inbound.details.as_object_mut()) {
                    details.insert("follows".into(), serde_json::json!(previous));
                }
                let new = self
                    .channel_message(interaction.id, entry_point, inbound, opening)
                    .await?;
                let (stored, created) = self.store.append_channel_message(account, new, now).await?;
                if !created {
                    // Stored meanwhile by another fetch of the same message: that one counts.
                    let interaction = self.store.interaction(account, stored.interaction_id).await?;
                    return Ok(Arrived {
                        outcome: Outcome::Duplicate,
                        customer,
                        interaction,
                        message: Some(stored),
                    });
                }
                Some(stored)
            }
            None => {
                self.store.commit(None, &opening).await?;
                None
            }
        };
        let outcome = if automated.is_some() {
            Outcome::Filed
        } else {
            self.dispatcher.arrive(account, interaction.clone()).await?;
            metrics::counter!("plugboard_interactions_total", "channel" => channel.as_str()).increment(1);
            Outcome::New
        };
        Ok(Arrived {
            outcome,
            customer,
            interaction,
            message: stored,
        })
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
        })
    }
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::participants;
    use serde_json::json;

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
