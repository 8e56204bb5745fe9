//! Messaging apps on the hub's side, beside email: a platform's webhook delivery (`receive`) is
//! verified and read by `plugboard_im`, each message committed through the intake (a customer's
//! next message joins their open conversation on the inbox) and each delivery report recorded,
//! all before the platform hears 200; an agent's reply (`reply`) is committed as queued and the
//! outbox sender hands it to the platform's API, recording what became of it (sent, retried as
//! the platform asks, failed with its reason). The files a message names are fetched after it is
//! committed (`media`).

mod media;

use crate::bus::Bus;
use crate::dispatcher::Dispatcher;
use crate::domain::{Agent, Channel, InboxId, InteractionId, Message, Millis, Sender, now_millis};
use crate::intake::{Entry, Intake, IntakeError, no_preparation};
use crate::secrets::Sealer;
use crate::store::{DynStore, InboxSecrets, NewChannelMessage, NewMessage, OutboxItem, StoreError};
use plugboard_channel::{Delivery, Outbound, RawIdentity};
use plugboard_im::{
    Answer, Body, Event, HttpRequest, Method, SendOutcome, sms, telegram, webhook, wechat, whatsapp,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The platforms an inbox can be on.
pub const PLATFORMS: [&str; 5] = ["whatsapp", "telegram", "wechat", "sms", "webhook"];
/// How long a sender holds a claimed outbox row before another may try it.
const CLAIM_MS: Millis = 60_000;
/// Replies sent at once.
const SENDING: usize = 8;
/// The longest a platform's answer may take.
const API_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    /// A delivery that failed verification or could not be read: nothing was stored.
    #[error("{0}")]
    Refused(#[from] plugboard_im::Error),
    #[error("no such inbox")]
    NoSuchInbox,
    #[error("this inbox's secrets cannot be opened: {0}")]
    Secrets(String),
    #[error("this inbox takes no {0} requests")]
    Method(&'static str),
    #[error(transparent)]
    Intake(#[from] IntakeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the customer has not written on this inbox yet: there is nobody to answer")]
    NoRecipient,
    #[error("this conversation is not on a messaging app")]
    NotMessaging,
    #[error("this conversation is not yours")]
    NotYours,
    #[error("only WhatsApp sends message templates")]
    NoTemplates,
}

/// Why a webhook could not be registered with the platform.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// Not something the hub can do (WhatsApp's dashboard, an http URL): the admin does it.
    #[error("{0}")]
    ByHand(String),
    /// The platform said no, or could not be reached.
    #[error("{0}")]
    Refused(String),
}

/// Messaging's running parts: the webhook intake and the outbox sender.
pub struct Messaging {
    store: DynStore,
    intake: Intake,
    sealer: Sealer,
    bus: Bus,
    dispatcher: Dispatcher,
    http: reqwest::Client,
    /// Wakes the sender: a reply was queued.
    queued: Notify,
    /// One sender's messages are taken in one after another, so their first two messages sent at
    /// once make one conversation, not two.
    senders: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Inboxes as the webhook last read them.
    opened: Mutex<HashMap<InboxId, (std::time::Instant, Arc<Opened>)>>,
    /// WeChat accounts' access tokens.
    wechat_tokens: tokio::sync::Mutex<HashMap<InboxId, wechat::AccessToken>>,
    /// The size limit and retry schedule of media fetches.
    settings: crate::config::Messaging,
    /// Wakes the media fetcher: a message naming files was committed.
    media_queued: Notify,
}

/// An inbox as the webhook needs it (settings, opened secrets, queue), kept for a few seconds so
/// a burst of deliveries does not read and unseal it for each.
struct Opened {
    inbox: InboxSecrets,
    secrets: Value,
    queue: crate::domain::Queue,
}

const KEEP_OPENED: Duration = Duration::from_secs(5);

impl Messaging {
    pub fn new(
        store: DynStore,
        intake: Intake,
        sealer: Sealer,
        bus: Bus,
        dispatcher: Dispatcher,
        settings: crate::config::Messaging,
    ) -> Arc<Messaging> {
        Arc::new(Messaging {
            store,
            intake,
            sealer,
            bus,
            dispatcher,
            http: http_client(),
            queued: Notify::new(),
            senders: Mutex::default(),
            opened: Mutex::default(),
            wechat_tokens: tokio::sync::Mutex::default(),
            settings,
            media_queued: Notify::new(),
        })
    }

    /// Starts the outbox sender and the media fetcher (which first takes up the fetches a
    /// restart left).
    pub fn start(self: &Arc<Self>, health: &crate::health::Health) {
        let messaging = self.clone();
        let running = health.running("messaging outbox");
        tokio::spawn(async move {
            let _running = running;
            messaging.send_forever().await;
        });
        let messaging = self.clone();
        let running = health.running("messaging media");
        tokio::spawn(async move {
            let _running = running;
            messaging.fetch_forever().await;
        });
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    // --- in ---

    /// A request to an inbox's webhook (`/webhooks/{id}`): a platform's verification handshake
    /// (GET) or a delivery (POST). A delivery is answered only once everything in it is
    /// committed; one that fails verification stores nothing.
    pub async fn receive(
        &self,
        id: InboxId,
        post: bool,
        query: &str,
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
    ) -> Result<Answer, MessagingError> {
        let opened = self.opened(id).await?;
        let (inbox, secrets) = (&opened.inbox, &opened.secrets);
        let secret = |name: &str| secret_of(secrets, name);
        let entry_point = inbox.inbox.entry_point();
        let (answer, events) = match (inbox.inbox.platform.as_str(), post) {
            ("whatsapp", false) => (
                whatsapp::verify_subscription(&secret("verify_token"), query)?,
                vec![],
            ),
            ("whatsapp", true) => {
                let number = setting(inbox, "phone_number_id");
                whatsapp::receive(
                    &secret("app_secret"),
                    header("x-hub-signature-256").as_deref(),
                    body,
                    |id| (id == number).then(|| entry_point.clone()),
                )?
            }
            ("telegram", true) => {
                let (answer, update) = telegram::receive(
                    &secret("secret_token"),
                    header("x-telegram-bot-api-secret-token").as_deref(),
                    body,
                    &entry_point,
                )?;
                (answer, vec![update.event])
            }
            // WeChat's server check (GET with signature, timestamp, nonce, echostr), then pushes,
            // plaintext or sealed (safe mode), with the signature in the query.
            ("wechat", false) => (wechat::verify_url(&secret("token"), query)?, vec![]),
            ("wechat", true) => {
                let aes_key = match secret("encoding_aes_key") {
                    key if key.is_empty() => None,
                    key => Some(wechat::AesKey::parse(&key)?),
                };
                let account = wechat::Account {
                    token: secret("token"),
                    app_id: setting(inbox, "app_id"),
                    aes_key,
                };
                let (answer, event) = wechat::receive(&account, query, body, &entry_point)?;
                (answer, vec![event])
            }
            // SMS: the provider signs the URL it was given, so the hub checks against the public
            // address the admin configured, not the one the request arrived at.
            ("sms", true) => {
                let mut url = format!("{}/webhooks/{}", setting(inbox, "public_url"), inbox.inbox.id);
                if !query.is_empty() {
                    url = format!("{url}?{query}");
                }
                let (answer, event) = sms::receive(
                    &secret("auth_token"),
                    &url,
                    header("x-twilio-signature").as_deref(),
                    body,
                    &entry_point,
                )?;
                (answer, vec![event])
            }
            ("webhook", true) => {
                let (answer, event) = webhook::receive(
                    &secret("secret"),
                    header("x-plugboard-signature").as_deref(),
                    body,
                    std::time::SystemTime::now(),
                    &entry_point,
                )?;
                (answer, vec![event])
            }
            (_, false) => return Err(MessagingError::Method("GET")),
            (_, true) => return Err(MessagingError::Method("POST")),
        };
        for event in events {
            self.take(&opened, event).await?;
        }
        Ok(answer)
    }

    /// How the inbox's platform posts to its webhook: what a delivery to `id` is checked against
    /// before it is read.
    pub async fn posts(&self, id: InboxId) -> Result<plugboard_im::Posts, MessagingError> {
        let opened = self.opened(id).await?;
        plugboard_im::posts(&opened.inbox.inbox.platform).ok_or(MessagingError::Method("POST"))
    }

    async fn take(&self, opened: &Opened, event: Event) -> Result<(), MessagingError> {
        let inbox = &opened.inbox;
        let account = inbox.account;
        match event {
            Event::Message(mut inbound) => {
                // Who to answer: the sender's id on the platform (for SMS, their number), kept with
                // their message.
                let from = inbound
                    .identities
                    .iter()
                    .find_map(|i| match i {
                        RawIdentity::Platform { id, .. } => Some(id.clone()),
                        _ => None,
                    })
                    .or_else(|| {
                        inbound.identities.iter().find_map(|i| match i {
                            RawIdentity::Phone(number) => Some(number.clone()),
                            _ => None,
                        })
                    });
                if let (Some(from), Some(m)) = (&from, inbound.message.as_mut())
                    && let Some(details) = m.details.as_object_mut()
                {
                    details.insert("from_id".into(), json!(from));
                }
                // The platform's account id is who they are; a phone number beside it (a
                // WhatsApp wa_id) counts only when it reads as one (see `Entry::readable_only`).
                let entry = Entry {
                    readable_only: true,
                    ..Entry::on(&opened.queue)
                };
                let lock = self.sender_lock(&format!("{}:{}", inbox.inbox.id, from.unwrap_or_default()));
                let _one_at_a_time = lock.lock().await;
                let arrived = self.intake.take(account, inbound, entry, no_preparation).await?;
                let names_media = arrived
                    .message
                    .as_ref()
                    .and_then(|m| m.channel.as_ref())
                    .is_some_and(|c| c.details["media"].as_array().is_some_and(|m| !m.is_empty()));
                if arrived.outcome != crate::intake::Outcome::Duplicate && names_media {
                    self.media_queued.notify_one();
                }
                metrics::counter!("plugboard_messaging_total", "platform" => inbox.inbox.platform.clone(),
                    "outcome" => format!("{:?}", arrived.outcome).to_lowercase())
                .increment(1);
                Ok(())
            }
            Event::Status {
                external_id, state, ..
            } => {
                let (state, error) = match state {
                    plugboard_im::DeliveryState::Sent => (crate::domain::DeliveryState::Sent, None),
                    plugboard_im::DeliveryState::Delivered => (crate::domain::DeliveryState::Delivered, None),
                    plugboard_im::DeliveryState::Read => (crate::domain::DeliveryState::Read, None),
                    plugboard_im::DeliveryState::Failed { reason } => {
                        (crate::domain::DeliveryState::Failed, Some(reason))
                    }
                };
                let entry_point = inbox.inbox.entry_point();
                if let Some(message) = self
                    .store
                    .record_report(account, &entry_point, &external_id, state, error)
                    .await?
                {
                    crate::outbox::tell_watcher(&self.dispatcher, &self.bus, message).await;
                }
                Ok(())
            }
            Event::Ignored(reason) => {
                tracing::debug!(inbox = %inbox.inbox.id, %reason, "a delivery with nothing for us");
                Ok(())
            }
        }
    }

    /// The lock one sender's messages on one inbox are taken under; the table forgets the locks
    /// nobody holds once it has grown.
    fn sender_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut all = self.senders.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= 4096 {
            all.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        all.entry(key.to_owned()).or_default().clone()
    }

    /// The inbox with its secrets opened and its queue, as kept for `KEEP_OPENED`.
    async fn opened(&self, id: InboxId) -> Result<Arc<Opened>, MessagingError> {
        if let Some((at, opened)) = self.opened.lock().unwrap_or_else(|p| p.into_inner()).get(&id)
            && at.elapsed() < KEEP_OPENED
        {
            return Ok(opened.clone());
        }
        let inbox = match self.store.inbox(id).await {
            Ok(inbox) => inbox,
            Err(StoreError::NotFound) => return Err(MessagingError::NoSuchInbox),
            Err(e) => return Err(e.into()),
        };
        let secrets = self.secrets(&inbox)?;
        let queue = self.store.queue(inbox.account, inbox.inbox.queue_id).await?;
        let opened = Arc::new(Opened {
            inbox,
            secrets,
            queue,
        });
        let mut all = self.opened.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, (at, _)| at.elapsed() < KEEP_OPENED);
        all.insert(id, (std::time::Instant::now(), opened.clone()));
        Ok(opened)
    }

    /// An admin removed the inbox: this node stops taking its deliveries at once (others within
    /// `KEEP_OPENED`).
    pub fn forget(&self, id: InboxId) {
        self.opened.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }

    fn secrets(&self, inbox: &InboxSecrets) -> Result<Value, MessagingError> {
        let opened = self
            .sealer
            .open(&inbox.secrets)
            .map_err(|e| MessagingError::Secrets(e.to_string()))?;
        serde_json::from_str(&opened).map_err(|e| MessagingError::Secrets(e.to_string()))
    }

    // --- out ---

    /// An agent's reply in a messaging conversation they hold: committed as queued (its delivery
    /// follows on the agent's socket), then sent by the outbox. Sending the same `client_id`
    /// twice sends once.
    pub async fn reply(
        &self,
        agent: &Agent,
        id: InteractionId,
        client_id: String,
        body: String,
        template: Option<Value>,
    ) -> Result<(Message, bool), MessagingError> {
        let account = agent.account_id;
        if self.dispatcher.holder(id).await != Some(agent.id) {
            return Err(MessagingError::NotYours);
        }
        let interaction = self.store.interaction(account, id).await?;
        if interaction.channel != Channel::Messaging {
            return Err(MessagingError::NotMessaging);
        }
        let to = self
            .store
            .messages(account, id, 0)
            .await?
            .iter()
            .rev()
            .filter(|m| m.sender == Sender::Customer)
            .find_map(|m| {
                m.channel
                    .as_ref()?
                    .details
                    .get("from_id")?
                    .as_str()
                    .map(str::to_owned)
            })
            .ok_or(MessagingError::NoRecipient)?;
        let (body, details, outbound) = match template {
            Some(template) => {
                let inbox = interaction
                    .entry_point
                    .strip_prefix("inbox:")
                    .and_then(|i| i.parse::<InboxId>().ok())
                    .ok_or(MessagingError::NotMessaging)?;
                if self.store.inbox(inbox).await?.inbox.platform != "whatsapp" {
                    return Err(MessagingError::NoTemplates);
                }
                let shown = if body.trim().is_empty() {
                    let params: Vec<&str> = template["params"]
                        .as_array()
                        .map(|ps| ps.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    format!(
                        "[{}] {}",
                        template["name"].as_str().unwrap_or_default(),
                        params.join(" · ")
                    )
                } else {
                    body
                };
                (
                    shown,
                    json!({"template": template}),
                    json!({"to": [to], "template": template}),
                )
            }
            None => (body, json!({}), json!({"to": [to]})),
        };
        let new = NewChannelMessage {
            opening: vec![],
            message: NewMessage {
                interaction_id: id,
                sender: Sender::Agent,
                agent_id: Some(agent.id),
                body,
                client_id,
            },
            entry_point: interaction.entry_point.clone(),
            external_id: None,
            details,
            attachments: vec![],
            outbound: Some(outbound),
            fetch_media: false,
        };
        let (message, created) = self
            .store
            .append_channel_message(account, new, now_millis())
            .await?;
        if created {
            self.queued.notify_one();
            self.bus.to_agent_and_watchers(Some(agent.id), message.clone());
        }
        Ok((message, created))
    }

    async fn send_forever(self: Arc<Self>) {
        let sending = crate::outbox::Sending {
            kind: "inbox:",
            claim: 64,
            claim_ms: CLAIM_MS,
            at_once: SENDING,
            queued: &self.queued,
        };
        // With several nodes, the node leading the routers sends: one holder of each WeChat
        // access token, and one sender honouring each platform's rate limits.
        let leading = || self.dispatcher.router() == "here";
        crate::outbox::send_forever(&self.store, sending, leading, |item| self.send_one(item)).await;
    }

    async fn send_one(&self, item: OutboxItem) {
        let outcome = self.try_send(&item).await;
        // The platform said when (Telegram's retry_after, Retry-After): that is when.
        let after = match &outcome {
            SendOutcome::Retry { after, .. } => *after,
            _ => None,
        };
        let update = crate::outbox::next_step(item.attempts, outcome.delivery(), after, now_millis());
        crate::outbox::record(&self.store, &self.dispatcher, &self.bus, &item, update).await;
    }

    async fn try_send(&self, item: &OutboxItem) -> SendOutcome {
        let failed = |reason: String| SendOutcome::Failed { reason };
        let Some(id) = item
            .entry_point
            .strip_prefix("inbox:")
            .and_then(|id| id.parse::<InboxId>().ok())
        else {
            return failed(format!("not an inbox: {}", item.entry_point));
        };
        // The inbox as the webhook keeps it opened: a burst of replies reads and unseals it once.
        let opened = match self.opened(id).await {
            Ok(opened) => opened,
            Err(MessagingError::NoSuchInbox) => return failed("the inbox was removed".into()),
            Err(e @ MessagingError::Secrets(_)) => return failed(e.to_string()),
            Err(e) => {
                return SendOutcome::Retry {
                    reason: e.to_string(),
                    after: None,
                };
            }
        };
        let (inbox, secrets) = (&opened.inbox, &opened.secrets);
        let secret = |name: &str| secret_of(secrets, name);
        let Some(to) = item.payload["to"][0].as_str() else {
            return failed("no recipient".into());
        };
        let out = Outbound {
            id: item.message.id.to_string(),
            channel: Channel::Messaging,
            entry_point: item.entry_point.clone(),
            to: vec![to.to_owned()],
            body: item.message.body.clone(),
            details: item.payload.clone(),
            attachments: vec![],
        };
        match inbox.inbox.platform.as_str() {
            "whatsapp" => {
                let api = whatsapp::Api {
                    base: setting_or(inbox, "api_base", "https://graph.facebook.com"),
                    version: setting_or(inbox, "api_version", "v21.0"),
                    phone_number_id: setting(inbox, "phone_number_id"),
                    access_token: secret("access_token"),
                    media_host: setting_or(inbox, "media_host", "lookaside.fbsbx.com"),
                };
                let message = match whatsapp::OutMessage::from_outbound(&out) {
                    Ok(message) => message,
                    Err(e) => return failed(e.to_string()),
                };
                match self.call(&api.send(to, &message)).await {
                    Ok((status, body, _)) => whatsapp::read_send_response(status, &body),
                    Err(outcome) => outcome,
                }
            }
            "telegram" => {
                let bot = telegram::Bot::new(
                    &setting_or(inbox, "api_base", "https://api.telegram.org"),
                    &secret("bot_token"),
                );
                match self.call(&bot.send_message(to, &out.body, None)).await {
                    Ok((status, body, _)) => telegram::read_send_response(status, &body),
                    Err(outcome) => outcome,
                }
            }
            "wechat" => {
                let api = wechat::Api::new(
                    &setting_or(inbox, "api_base", "https://api.weixin.qq.com"),
                    &setting(inbox, "app_id"),
                    &secret("app_secret"),
                );
                let message = match wechat::OutMessage::from_outbound(&out) {
                    Ok(message) => message,
                    Err(e) => return failed(e.to_string()),
                };
                // A token WeChat took back is fetched again and the send tried once more, which
                // does not count as an attempt.
                let mut outcome = SendOutcome::Failed {
                    reason: "no access token".into(),
                };
                for _ in 0..2 {
                    let token = match self.wechat_token(inbox.inbox.id, &api).await {
                        Ok(token) => token,
                        Err(outcome) => return outcome,
                    };
                    outcome = match self.call(&api.send(&token, to, &message)).await {
                        Ok((status, body, _)) => wechat::read_send_response(status, &body, &out.id),
                        Err(outcome) => outcome,
                    };
                    if !matches!(outcome, SendOutcome::RefreshToken { .. }) {
                        break;
                    }
                    self.wechat_token_refused(inbox.inbox.id, &outcome).await;
                }
                outcome
            }
            "sms" => {
                let api = sms::Api {
                    base: setting_or(inbox, "api_base", "https://api.twilio.com"),
                    account_sid: setting(inbox, "account_sid"),
                    auth_token: secret("auth_token"),
                    from: setting(inbox, "from"),
                    status_callback: Some(format!(
                        "{}/webhooks/{}",
                        setting(inbox, "public_url"),
                        inbox.inbox.id
                    )),
                };
                let request = match api.request_for(&out) {
                    Ok(request) => request,
                    Err(e) => return failed(e.to_string()),
                };
                match self.call(&request).await {
                    Ok((status, body, retry_after)) => {
                        sms::read_send_response(status, &body, retry_after.as_deref())
                    }
                    Err(outcome) => outcome,
                }
            }
            "webhook" => {
                let endpoint = webhook::Endpoint {
                    url: setting(inbox, "url"),
                    secret: secret("secret"),
                };
                let request = match endpoint.request(&out, std::time::SystemTime::now()) {
                    Ok(request) => request,
                    Err(e) => return failed(e.to_string()),
                };
                match self.call(&request).await {
                    Ok((status, body, retry_after)) => {
                        webhook::read_response(status, &body, retry_after.as_deref(), &out.id)
                    }
                    Err(outcome) => outcome,
                }
            }
            other => failed(format!("unknown platform {other:?}")),
        }
    }

    /// The account's access token, fetched when there is none or it is about to expire. One
    /// fetch at a time: WeChat takes back the older token when a new one is fetched.
    async fn wechat_token(&self, id: InboxId, api: &wechat::Api) -> Result<String, SendOutcome> {
        let mut tokens = self.wechat_tokens.lock().await;
        let token = tokens.entry(id).or_default();
        let now = std::time::SystemTime::now();
        if token.needs_refresh(now) {
            let (status, body, _) = self.call(&api.token_request()).await?;
            token.store(status, &body, now)?;
        }
        token.get(now).map(str::to_owned).ok_or(SendOutcome::Retry {
            reason: "WeChat gave no access token".into(),
            after: None,
        })
    }

    /// WeChat took the account's token back (`outcome` says so): the next use fetches another.
    async fn wechat_token_refused(&self, id: InboxId, outcome: &SendOutcome) {
        self.wechat_tokens
            .lock()
            .await
            .entry(id)
            .or_default()
            .observe(outcome);
    }

    /// One request to a platform; a network failure or timeout is a retry.
    async fn call(&self, request: &HttpRequest) -> Result<(u16, Vec<u8>, Option<String>), SendOutcome> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.http.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder = match &request.body {
            Body::Empty => builder,
            Body::Bytes(data) => builder.body(data.clone()),
            Body::Multipart(_) => {
                return Err(SendOutcome::Failed {
                    reason: "files are not sent on messaging apps yet".into(),
                });
            }
        };
        let unreachable = |e: reqwest::Error| SendOutcome::Retry {
            after: None,
            reason: format!("the platform did not answer: {}", without_url(&e)),
        };
        let response = builder.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.map_err(unreachable)?;
        Ok((status, body.to_vec(), retry_after))
    }

    /// Tells Telegram where to post this inbox's updates (`setWebhook`, with the inbox's secret
    /// token), `url` being the webhook's public HTTPS address. Answers Telegram's refusal as is.
    pub async fn register_webhook(&self, inbox: &InboxSecrets, url: &str) -> Result<(), RegisterError> {
        if inbox.inbox.platform != "telegram" {
            return Err(RegisterError::ByHand(format!(
                "WhatsApp takes its webhook in Meta's app dashboard: give it {url} and this inbox's verify token"
            )));
        }
        let secrets = self
            .secrets(inbox)
            .map_err(|e| RegisterError::Refused(e.to_string()))?;
        let secret = |name: &str| secret_of(&secrets, name);
        let bot = telegram::Bot::new(
            &setting_or(inbox, "api_base", "https://api.telegram.org"),
            &secret("bot_token"),
        );
        let request = bot
            .set_webhook(url, &secret("secret_token"))
            .map_err(|e| RegisterError::ByHand(e.to_string()))?;
        let (status, body, _) = self
            .call(&request)
            .await
            .map_err(|outcome| match outcome.delivery() {
                Delivery::Failed { reason, .. } => RegisterError::Refused(reason),
                Delivery::Sent { .. } => RegisterError::Refused("no answer".into()),
            })?;
        let answer: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status == 200 && answer["ok"] == true {
            return Ok(());
        }
        let said = answer["description"].as_str().unwrap_or("no reason given");
        Err(RegisterError::Refused(format!(
            "Telegram answered {status}: {said}"
        )))
    }
}

/// A platform's error without the request's URL: a Telegram URL carries the bot's token.
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(start) = e.find(" for url (") {
        e.truncate(start);
    }
    e
}

/// One of an inbox's opened secrets; empty when it has none by that name.
fn secret_of(secrets: &Value, name: &str) -> String {
    secrets
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn setting(inbox: &InboxSecrets, name: &str) -> String {
    setting_or(inbox, name, "")
}

fn setting_or(inbox: &InboxSecrets, name: &str, default: &str) -> String {
    inbox
        .inbox
        .settings
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(default)
        .trim_end_matches('/')
        .to_owned()
}

/// HTTPS (rustls with ring, the web PKI roots), no redirects (an API answers where it is asked),
/// and a bound on every call.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(API_TIMEOUT)
        .build()
        .expect("a client with these settings builds")
}
