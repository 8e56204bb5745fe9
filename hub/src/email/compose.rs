//! What goes out by email from the console and the widget: a reply or a forward in a thread an
//! agent holds, a new mail to a customer that opens a thread of its own, already theirs, and a
//! chat's transcript that its customer asked for at the end. Each becomes one message committed as
//! queued together with its outbox row (the sender in `email` sends it and records what became of
//! it), carrying the files the agent uploaded and, for a forward, the forwarded mail's files.
//!
//! Files go out only by reference to something the agent may send: an upload is named by its id
//! and must be the sending agent's own (never by its hash: a file that came in with one customer's
//! mail cannot be mailed to someone else by naming it), and a forward carries only the files of a
//! mail of the thread being forwarded. The API checks the request's shape and calls these.

use super::Email;
use crate::dispatcher::DispatchError;
use crate::domain::{
    AccountId, Agent, AgentId, Channel, CustomerId, EmailAddress, Interaction, InteractionId, MailboxId,
    Message, MessageId, QueueId, Sender, UploadId, now_millis,
};
use crate::routing::RouterError;
use crate::store::{
    Mailbox, NewAttachment, NewChannelMessage, NewInteraction, NewMessage, StoreError, Upload,
};
use plugboard_email::Address;
use plugboard_email::forward;
use serde_json::{Value, json};

/// File names longer than this are cut (mail clients and file systems choke on longer ones).
const MAX_FILENAME_CHARS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("you do not hold this conversation")]
    NotYours,
    #[error("this conversation is not an email thread")]
    NotEmail,
    #[error("{0:?} is not an email address")]
    Address(String),
    #[error("nobody to send it to: give an address")]
    NoRecipient,
    #[error("a new email needs a subject")]
    NoSubject,
    #[error("no such mailbox")]
    NoSuchMailbox,
    #[error("no upload {0}: upload the file first and name the id it was given")]
    NoSuchUpload(String),
    #[error("upload {0} is another agent's")]
    NotYourUpload(String),
    #[error("no mail {0} in this thread to forward")]
    NoSuchMail(String),
    #[error("the files come to {size} bytes; a mail may carry at most {limit}")]
    TooLarge { size: u64, limit: u64 },
    #[error("this client_id was already used for another message")]
    ClientIdTaken,
    #[error("you hold as many email threads as your capacity allows: close one first")]
    NoRoom,
    #[error("the bytes of {0} are missing from the data directory")]
    MissingFile(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Dispatch(DispatchError),
    #[error("could not keep the file: {0}")]
    Files(#[from] std::io::Error),
}

impl From<DispatchError> for ComposeError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Router(RouterError::NoRoom { .. }) => ComposeError::NoRoom,
            other => ComposeError::Dispatch(other),
        }
    }
}

/// What the agent wrote, as the console sends it.
#[derive(Debug, Clone, Default)]
pub struct Draft {
    /// Chosen by the console: sending twice with the same id sends once.
    pub client_id: String,
    pub body: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: Option<String>,
    /// Upload ids, as given.
    pub attachments: Vec<String>,
}

/// A reply's recipients and a forward's: what the agent typed, checked and lower-cased, without
/// the mailbox's own address (reply-all copies it from the thread; it never mails itself) and
/// without anyone twice.
fn recipients(
    to: &[String],
    cc: &[String],
    own: Option<&str>,
) -> Result<(Vec<String>, Vec<String>), ComposeError> {
    let checked = |list: &[String]| -> Result<Vec<String>, ComposeError> {
        list.iter()
            .map(|a| {
                EmailAddress::parse(a)
                    .map(|a| a.as_str().to_owned())
                    .map_err(|_| ComposeError::Address(a.clone()))
            })
            .collect()
    };
    let mut to = checked(to)?;
    let mut cc = checked(cc)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(own) = own {
        seen.insert(own.to_owned());
    }
    to.retain(|a| seen.insert(a.clone()));
    cc.retain(|a| seen.insert(a.clone()));
    Ok((to, cc))
}

/// A file name as a mail may carry it: the last part of a path, no control characters, not
/// empty, at most `MAX_FILENAME_CHARS`.
pub fn clean_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = last.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    let name = if name.is_empty() || name == "." || name == ".." {
        "attachment"
    } else {
        name
    };
    name.chars().take(MAX_FILENAME_CHARS).collect()
}

/// The type/subtype of a Content-Type header (RFC 2045 §5.1 tokens, lower-cased, parameters
/// dropped); anything else is `application/octet-stream`.
pub fn clean_content_type(header: Option<&str>) -> String {
    const FALLBACK: &str = "application/octet-stream";
    let Some(essence) = header.and_then(|h| h.split(';').next()) else {
        return FALLBACK.into();
    };
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
    };
    match essence.trim().split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => essence.trim().to_ascii_lowercase(),
        _ => FALLBACK.into(),
    }
}

/// An address in a mail's details (`{"name": …, "email": …}`).
fn address_of(value: &Value) -> Option<Address> {
    let email = value.get("email")?.as_str()?.to_owned();
    let name = value.get("name").and_then(Value::as_str).map(str::to_owned);
    Some(Address { name, email })
}

fn addresses_of(details: &Value, field: &str) -> Vec<Address> {
    details
        .get(field)
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(address_of).collect())
        .unwrap_or_default()
}

/// A mail of the thread as the forward quotes it. Ours have no From in their details: they came
/// from the mailbox.
fn original(message: &Message, mailbox: Option<&Address>) -> forward::Original {
    let details = message
        .channel
        .as_ref()
        .map(|c| &c.details)
        .unwrap_or(&Value::Null);
    let from = details.get("from").and_then(address_of).or_else(|| {
        (message.sender == Sender::Agent)
            .then(|| mailbox.cloned())
            .flatten()
    });
    forward::Original {
        from,
        date: details
            .get("date")
            .and_then(Value::as_i64)
            .or(Some(message.created_at)),
        subject: details
            .get("subject")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        to: addresses_of(details, "to"),
        cc: addresses_of(details, "cc"),
        text: message.body.clone(),
    }
}

/// The thread's subject: its first mail's.
fn thread_subject(thread: &[Message]) -> String {
    thread
        .iter()
        .filter_map(|m| m.channel.as_ref()?.details.get("subject")?.as_str())
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl Email {
    /// The most a file, and all the files of one mail together, may weigh (`email.max_bytes`).
    pub fn max_bytes(&self) -> usize {
        self.settings.max_bytes
    }

    /// Keeps a file the agent uploads for a mail they are writing; the mail names it by the id
    /// answered.
    pub async fn keep_upload(
        &self,
        agent: &Agent,
        filename: &str,
        content_type: Option<&str>,
        data: Vec<u8>,
    ) -> Result<Upload, ComposeError> {
        let limit = self.settings.max_bytes as u64;
        if data.len() as u64 > limit {
            return Err(ComposeError::TooLarge {
                size: data.len() as u64,
                limit,
            });
        }
        let file = plugboard_channel::Attachment {
            filename: clean_filename(filename),
            content_type: clean_content_type(content_type),
            content_id: None,
            data,
        };
        let kept = self.intake.files.keep(&file).await?;
        let upload = Upload {
            id: UploadId::new(),
            agent_id: agent.id,
            filename: kept.filename,
            content_type: kept.content_type,
            size: kept.size,
            sha256: kept.sha256,
            created_at: now_millis(),
        };
        self.store.create_upload(agent.account_id, &upload).await?;
        Ok(upload)
    }

    /// The files named by upload id: each must be this agent's, its bytes still on disk. The
    /// same id twice is one file.
    async fn uploads(&self, agent: &Agent, ids: &[String]) -> Result<Vec<NewAttachment>, ComposeError> {
        let mut files = Vec::with_capacity(ids.len());
        let mut seen = std::collections::HashSet::new();
        for raw in ids {
            let id: UploadId = raw
                .trim()
                .parse()
                .map_err(|_| ComposeError::NoSuchUpload(raw.clone()))?;
            if !seen.insert(id) {
                continue;
            }
            let upload = match self.store.upload(agent.account_id, id).await {
                Err(StoreError::NotFound) => return Err(ComposeError::NoSuchUpload(raw.clone())),
                other => other?,
            };
            if upload.agent_id != agent.id {
                return Err(ComposeError::NotYourUpload(raw.clone()));
            }
            self.on_disk(&upload.sha256, &upload.filename).await?;
            files.push(NewAttachment {
                filename: upload.filename,
                content_type: upload.content_type,
                size: upload.size,
                sha256: upload.sha256,
                content_id: None,
            });
        }
        Ok(files)
    }

    async fn on_disk(&self, sha256: &str, filename: &str) -> Result<(), ComposeError> {
        if tokio::fs::try_exists(self.intake.files.path(sha256)).await? {
            Ok(())
        } else {
            Err(ComposeError::MissingFile(filename.to_owned()))
        }
    }

    fn within_limit(&self, files: &[NewAttachment]) -> Result<(), ComposeError> {
        let size: u64 = files.iter().map(|f| f.size.max(0) as u64).sum();
        let limit = self.settings.max_bytes as u64;
        if size > limit {
            return Err(ComposeError::TooLarge { size, limit });
        }
        Ok(())
    }

    /// The mailbox's own address and name, from its entry point (`mailbox:<id>`).
    async fn mailbox_of(
        &self,
        account: crate::domain::AccountId,
        entry_point: &str,
    ) -> Result<Option<crate::store::Mailbox>, ComposeError> {
        let id = entry_point.strip_prefix("mailbox:").unwrap_or_default();
        Ok(self
            .store
            .mailboxes(account)
            .await?
            .into_iter()
            .find(|m| m.id.to_string() == id))
    }

    /// A reply in a thread the agent holds or, with `forward_of`, a forward of one of its mails
    /// (to whoever the agent names; "Fwd: " and the mail quoted under the agent's note; its files
    /// along). Answers the stored message and whether it is new (a retried client_id is not).
    pub async fn reply(
        &self,
        agent: &Agent,
        id: InteractionId,
        draft: Draft,
        forward_of: Option<&str>,
    ) -> Result<(Message, bool), ComposeError> {
        let account = agent.account_id;
        if self.dispatcher.holder(id).await != Some(agent.id) {
            return Err(ComposeError::NotYours);
        }
        let interaction = self.store.interaction(account, id).await?;
        let entry_point = interaction.entry_point.clone();
        if !entry_point.starts_with("mailbox:") {
            return Err(ComposeError::NotEmail);
        }
        let thread = self.store.messages(account, id, 0).await?;
        let mailbox = self.mailbox_of(account, &entry_point).await?;
        let own = mailbox.as_ref().map(|m| m.address.clone());
        let forwarded = match forward_of {
            None => None,
            Some(raw) => {
                let found = raw
                    .parse::<MessageId>()
                    .ok()
                    .and_then(|mid| thread.iter().find(|m| m.id == mid && m.channel.is_some()));
                Some(found.ok_or_else(|| ComposeError::NoSuchMail(raw.to_owned()))?)
            }
        };
        let (mut to, mut cc) = recipients(&draft.to, &draft.cc, own.as_deref())?;
        let last_in = thread
            .iter()
            .rev()
            .find(|m| m.sender == Sender::Customer)
            .and_then(|m| m.channel.as_ref());
        if to.is_empty() && forwarded.is_none() {
            // A reply goes back to whoever the customer's last mail came from (its Reply-To if
            // set), else to the customer's address.
            let back = last_in
                .and_then(|c| {
                    c.details
                        .get("reply_to")
                        .and_then(address_of)
                        .or_else(|| c.details.get("from").and_then(address_of))
                })
                .map(|a| a.email.to_lowercase());
            let customer = self.store.customer(account, interaction.customer_id).await?;
            to.extend(back.or(customer.email).filter(|a| Some(a) != own.as_ref()));
            cc.retain(|a| !to.contains(a));
        }
        if to.is_empty() {
            return Err(ComposeError::NoRecipient);
        }
        let mut files = self.uploads(agent, &draft.attachments).await?;
        let from = mailbox.as_ref().map(|m| Address {
            name: Some(m.display_name.clone()).filter(|n| !n.is_empty()),
            email: m.address.clone(),
        });
        let (subject, body, payload_threading, details_extra) = match forwarded {
            Some(mail) => {
                // The forwarded mail's files go along, listed as files (inline images included:
                // the forward is plain text).
                let mut carried = Vec::new();
                for a in mail.channel.as_ref().map(|c| &c.attachments[..]).unwrap_or(&[]) {
                    let stored = self.store.attachment(account, a.id).await?;
                    self.on_disk(&stored.sha256, &a.filename).await?;
                    carried.push(NewAttachment {
                        filename: a.filename.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        sha256: stored.sha256,
                        content_id: None,
                    });
                }
                carried.append(&mut files);
                files = carried;
                let quoted = original(mail, from.as_ref());
                let subject = draft
                    .subject
                    .clone()
                    .unwrap_or_else(|| forward::subject(&quoted.subject));
                // A forward starts a thread of its own for whoever receives it: no In-Reply-To.
                (
                    subject,
                    forward::body(&draft.body, &quoted),
                    json!({}),
                    json!({"forward_of": mail.id}),
                )
            }
            None => {
                let subject = draft.subject.clone().unwrap_or_else(|| thread_subject(&thread));
                // Every id the thread has gone by with the customer, oldest first: the reply's
                // References (forwards went to others, in threads of their own).
                let with_customer = || {
                    thread
                        .iter()
                        .filter_map(|m| m.channel.as_ref())
                        .filter(|c| c.details.get("forward_of").is_none_or(Value::is_null))
                };
                let references: Vec<String> = with_customer().filter_map(|c| c.external_id.clone()).collect();
                // It answers the customer's last mail; in a thread the agent opened that the
                // customer has not answered yet, our own last mail (a follow-up).
                let in_reply_to = match last_in {
                    Some(c) => c.external_id.clone(),
                    None => with_customer().filter_map(|c| c.external_id.clone()).next_back(),
                };
                (
                    subject,
                    draft.body.clone(),
                    json!({"in_reply_to": in_reply_to, "references": references}),
                    json!({"in_reply_to": in_reply_to}),
                )
            }
        };
        self.within_limit(&files)?;
        let new = outgoing(
            agent,
            id,
            entry_point,
            Outgoing {
                client_id: draft.client_id,
                body,
                to,
                cc,
                subject,
            },
            files,
            payload_threading,
            details_extra,
        );
        let (message, created) = self
            .store
            .append_channel_message(account, new, now_millis())
            .await?;
        if created {
            self.queued(Some(agent.id), &message);
        }
        Ok((message, created))
    }

    /// A new mail to a customer from `mailbox`: a thread of its own on the mailbox's queue,
    /// the agent's at once (if they have room for another email), its first mail queued. The
    /// customer's answer threads into it by our Message-ID. A retry with the same client_id
    /// answers the mail already stored (and `false`).
    pub async fn write_new(
        &self,
        agent: &Agent,
        customer: CustomerId,
        mailbox: MailboxId,
        draft: Draft,
    ) -> Result<(Message, bool), ComposeError> {
        let account = agent.account_id;
        let customer = self.store.customer(account, customer).await?;
        let mailbox = self
            .store
            .mailboxes(account)
            .await?
            .into_iter()
            .find(|m| m.id == mailbox)
            .ok_or(ComposeError::NoSuchMailbox)?;
        let entry_point = mailbox.entry_point();
        if let Some(sent) = self
            .store
            .agent_message(account, agent.id, &draft.client_id)
            .await?
        {
            let same = sent
                .channel
                .as_ref()
                .is_some_and(|c| c.entry_point == entry_point)
                && self
                    .store
                    .interaction(account, sent.interaction_id)
                    .await?
                    .customer_id
                    == customer.id;
            return if same {
                Ok((sent, false))
            } else {
                Err(ComposeError::ClientIdTaken)
            };
        }
        let subject = draft.subject.clone().unwrap_or_default();
        let subject = subject.trim();
        if subject.is_empty() {
            return Err(ComposeError::NoSubject);
        }
        let (mut to, mut cc) = recipients(&draft.to, &draft.cc, Some(&mailbox.address))?;
        if to.is_empty() {
            to.extend(customer.email.clone().filter(|a| *a != mailbox.address));
            cc.retain(|a| !to.contains(a));
        }
        if to.is_empty() {
            return Err(ComposeError::NoRecipient);
        }
        let files = self.uploads(agent, &draft.attachments).await?;
        self.within_limit(&files)?;
        let queue = self.store.queue(account, mailbox.queue_id).await?;
        let interaction = NewInteraction {
            customer_id: customer.id,
            channel: Channel::Email,
            queue_id: queue.id,
            priority: queue.priority_for(customer.tier.as_deref()),
            entry_point: entry_point.clone(),
            offline: false,
            arrived_at: now_millis(),
        }
        .queued();
        let id = interaction.id;
        // Created and the agent's in one commit, or not at all (no room for another email).
        self.dispatcher.start_for(account, agent.id, interaction).await?;
        let new = outgoing(
            agent,
            id,
            entry_point,
            Outgoing {
                client_id: draft.client_id,
                body: draft.body,
                to,
                cc,
                subject: subject.to_owned(),
            },
            files,
            json!({}),
            json!({}),
        );
        let (message, created) = self
            .store
            .append_channel_message(account, new, now_millis())
            .await
            .inspect_err(|e| {
                tracing::error!(interaction = %id, error = %e, "a new mail's thread is open without its mail");
            })?;
        if created {
            metrics::counter!("plugboard_interactions_total", "channel" => "email").increment(1);
            self.queued(Some(agent.id), &message);
        }
        Ok((message, created))
    }

    /// The mailbox a chat's transcript goes out from: the account's mailbox on the chat's queue,
    /// else its first. None: the widget does not offer the transcript by email.
    pub fn transcript_mailbox(&self, account: AccountId, queue: QueueId) -> Option<Mailbox> {
        let loops = self.loops.lock().unwrap_or_else(|p| p.into_inner());
        let mut theirs: Vec<&Mailbox> = loops
            .values()
            .filter(|(m, _)| m.account == account)
            .map(|(m, _)| &m.mailbox)
            .collect();
        theirs.sort_by_key(|m| (m.queue_id != queue, m.created_at, m.id));
        theirs.first().map(|m| (*m).clone())
    }

    /// A chat's transcript mailed to the address its customer gave when it ended. On the
    /// conversation it is one line of the hub's (`Sender::System`: who it went to, and its
    /// delivery, for the agents; the widget never shows it); the transcript itself rides in the
    /// outbox row. Once per conversation: asking again answers the first (and `false`).
    pub async fn send_transcript(
        &self,
        account: AccountId,
        interaction: &Interaction,
        to: &str,
        transcript: String,
        language: crate::transcript::Language,
    ) -> Result<(Message, bool), ComposeError> {
        let to = EmailAddress::parse(to.trim())
            .map_err(|_| ComposeError::Address(to.to_owned()))?
            .as_str()
            .to_owned();
        let mailbox = self
            .transcript_mailbox(account, interaction.queue_id)
            .ok_or(ComposeError::NoSuchMailbox)?;
        let company = if mailbox.display_name.is_empty() {
            &mailbox.address
        } else {
            &mailbox.display_name
        };
        let subject = language.mail_subject(company);
        let new = NewChannelMessage {
            opening: vec![],
            message: NewMessage {
                interaction_id: interaction.id,
                sender: Sender::System,
                agent_id: None,
                body: format!("Transcript emailed to {to}"),
                client_id: "transcript".into(),
            },
            entry_point: mailbox.entry_point(),
            external_id: None,
            details: json!({"transcript": true, "subject": subject, "to": [{"email": to}]}),
            attachments: vec![],
            outbound: Some(json!({
                "interaction_id": interaction.id,
                "to": [to],
                "cc": [],
                "subject": subject,
                "body": transcript,
            })),
            fetch_media: false,
        };
        let (message, created) = self
            .store
            .append_channel_message(account, new, now_millis())
            .await?;
        if created {
            self.queued(interaction.agent_id, &message);
        }
        Ok((message, created))
    }

    /// A mail was queued: the sender sends it now, and the agent's consoles show it.
    fn queued(&self, agent: Option<AgentId>, message: &Message) {
        self.wake_sender();
        self.bus.to_agent_and_watchers(agent, message.clone());
    }
}

/// What every outgoing mail has, whichever kind it is.
struct Outgoing {
    client_id: String,
    body: String,
    to: Vec<String>,
    cc: Vec<String>,
    subject: String,
}

/// The message and its outbox payload: `threading` adds to the payload (In-Reply-To,
/// References), `extra` to the details the console shows.
#[allow(clippy::too_many_arguments)]
fn outgoing(
    agent: &Agent,
    interaction: InteractionId,
    entry_point: String,
    out: Outgoing,
    attachments: Vec<NewAttachment>,
    threading: Value,
    extra: Value,
) -> NewChannelMessage {
    let mut payload = json!({
        "interaction_id": interaction,
        "to": out.to,
        "cc": out.cc,
        "subject": out.subject,
    });
    let mut details = json!({
        "subject": out.subject,
        "to": out.to.iter().map(|a| json!({"email": a})).collect::<Vec<_>>(),
        "cc": out.cc.iter().map(|a| json!({"email": a})).collect::<Vec<_>>(),
    });
    for (target, more) in [(&mut payload, threading), (&mut details, extra)] {
        if let (Some(target), Value::Object(more)) = (target.as_object_mut(), more) {
            target.extend(more);
        }
    }
    NewChannelMessage {
        opening: vec![],
        message: NewMessage {
            interaction_id: interaction,
            sender: Sender::Agent,
            agent_id: Some(agent.id),
            body: out.body,
            client_id: out.client_id,
        },
        entry_point,
        external_id: None,
        details,
        attachments,
        outbound: Some(payload),
        fetch_media: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChannelParts, MessageId};

    #[test]
    fn recipients_are_checked_lower_cased_once_and_never_the_mailbox() {
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        let (to, cc) = recipients(
            &s(&["Li.Wei@QQ.example", "support@shop.example"]),
            &s(&["zhang@qq.example", "li.wei@qq.example", "SUPPORT@shop.example"]),
            Some("support@shop.example"),
        )
        .unwrap();
        assert_eq!(to, ["li.wei@qq.example"]);
        assert_eq!(cc, ["zhang@qq.example"]);
        assert!(matches!(
            recipients(&s(&["not an address"]), &[], None),
            Err(ComposeError::Address(a)) if a == "not an address"
        ));
        assert!(matches!(
            recipients(&[], &s(&["Name <a@b.example>"]), None),
            Err(ComposeError::Address(_))
        ));
    }

    #[test]
    fn uploaded_file_names_and_types_are_made_safe() {
        let names = [
            ("发票 2026.pdf", "发票 2026.pdf"),
            ("C:\\Users\\li\\report.xlsx", "report.xlsx"),
            ("../../etc/passwd", "passwd"),
            ("..", "attachment"),
            ("", "attachment"),
            ("a\r\nb.txt", "ab.txt"),
            ("  spaced.txt ", "spaced.txt"),
        ];
        for (raw, want) in names {
            assert_eq!(clean_filename(raw), want, "{raw:?}");
        }
        assert_eq!(
            clean_filename(&"長".repeat(300)).chars().count(),
            MAX_FILENAME_CHARS
        );
        let types = [
            (Some("application/pdf"), "application/pdf"),
            (Some("Text/Plain; charset=utf-8"), "text/plain"),
            (Some("image/svg+xml"), "image/svg+xml"),
            (Some("nonsense"), "application/octet-stream"),
            (Some("text/plain\r\nBcc: x"), "application/octet-stream"),
            (Some("a b/c"), "application/octet-stream"),
            (Some(""), "application/octet-stream"),
            (None, "application/octet-stream"),
        ];
        for (raw, want) in types {
            assert_eq!(clean_content_type(raw), want, "{raw:?}");
        }
    }

    fn message(sender: Sender, details: Value) -> Message {
        Message {
            id: MessageId::new(),
            interaction_id: InteractionId::new(),
            seq: 1,
            sender,
            agent_id: None,
            body: "Hello".into(),
            client_id: "c".into(),
            created_at: 1_000,
            channel: Some(Box::new(ChannelParts {
                entry_point: "mailbox:x".into(),
                external_id: None,
                details,
                delivery: None,
                delivery_error: None,
                attachments: vec![],
            })),
        }
    }

    #[test]
    fn a_forward_quotes_the_customers_mail_or_ours_from_the_mailbox() {
        let theirs = message(
            Sender::Customer,
            json!({
                "subject": "Order", "date": 1_795_827_600_000i64,
                "from": {"name": "Li Wei", "email": "li@qq.example"},
                "to": [{"name": null, "email": "support@shop.example"}], "cc": [],
            }),
        );
        let support = Address {
            name: Some("Shop Support".into()),
            email: "support@shop.example".into(),
        };
        let quoted = original(&theirs, Some(&support));
        assert_eq!(quoted.from.unwrap().email, "li@qq.example");
        assert_eq!(quoted.date, Some(1_795_827_600_000));
        assert_eq!(quoted.to[0].email, "support@shop.example");
        let ours = message(
            Sender::Agent,
            json!({"subject": "Re: Order", "to": [{"email": "li@qq.example"}]}),
        );
        let quoted = original(&ours, Some(&support));
        assert_eq!(quoted.from, Some(support));
        assert_eq!(quoted.date, Some(1_000), "ours: when it was written");
        assert_eq!(quoted.subject, "Re: Order");
    }
}
