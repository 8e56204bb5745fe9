//! The `Store` contract as scenarios, each run against a fresh SQLite file and a fresh PostgreSQL
//! database (`store::conformance::sqlite::x`, `store::conformance::postgres::x`). PostgreSQL runs
//! when `PLUGBOARD_TEST_POSTGRES` names a server (`postgres://root@127.0.0.1:5432/test`); each
//! test creates its own database there and drops it afterwards. Without it the PostgreSQL tests
//! are skipped with a notice, unless `CI=true`, where a missing database is a failure.

use super::{
    AgentPatch, BindingUpdate, ChatSession, CustomerPatch, DynStore, Handover, Holdings, Lending, NewAgent,
    NewFollowUp, NewInteraction, NewMessage, NewOpportunity, NewPhone, NewSession, OpportunityPatch,
    OwnerChangeBy, OwnerMove, PhoneBinding, QueueSpec, StoreError, TransitionDetails, Write,
};
use crate::crm::followups::{FollowUp, FollowUpKind, FollowUpState};
use crate::crm::pipeline::{
    Lifecycle, Opportunity, OpportunityStatus, PipelineSettings, StageMove, Visibility,
};
use crate::crm::rules::{AssignmentRule, Condition, WeightedAgent};
use crate::domain::{
    AccountId, Agent, AgentId, Callback, CallbackPolicy, Capacity, Channel, Customer, CustomerId,
    Disposition, HandoverId, Interaction, InteractionEvent, InteractionId, InteractionState,
    InvalidTransition, Queue, QueueId, Role, Sender, SkillRequirement,
};
use serde_json::json;
use sqlx::Connection;
use std::fmt::Debug;
use uuid::Uuid;

const DEFAULT: AccountId = AccountId::DEFAULT;
/// A second tenant. The trait cannot create accounts yet, so the fixture inserts its row.
const OTHER: AccountId = AccountId(Uuid::from_u128(2));
const INSERT_OTHER: &str = "INSERT INTO accounts (id, name, created_at) VALUES ($1, 'Other', 0)";

/// A migrated store on a database of its own, removed when the test ends (even by a panic).
struct TestDb {
    store: DynStore,
    /// For scenarios that look at the database behind the store's back.
    url: String,
    _dir: Option<tempfile::TempDir>,
    _database: Option<DropDatabase>,
}

impl TestDb {
    async fn sqlite() -> Option<TestDb> {
        let dir = tempfile::tempdir().expect("temp dir");
        // A directory that does not exist yet: `connect` creates it.
        let url = format!("sqlite://{}/data/hub.db", dir.path().display());
        let store = super::connect(&url).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        let mut conn = sqlx::SqliteConnection::connect(&url)
            .await
            .expect("second SQLite connection");
        sqlx::query(INSERT_OTHER)
            .bind(OTHER.to_string())
            .execute(&mut conn)
            .await
            .expect("add account");
        Some(TestDb {
            store,
            url,
            _dir: Some(dir),
            _database: None,
        })
    }

    async fn postgres() -> Option<TestDb> {
        let Ok(server) = std::env::var("PLUGBOARD_TEST_POSTGRES") else {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!(
                    "CI=true but PLUGBOARD_TEST_POSTGRES is not set: PostgreSQL store tests must run in CI"
                );
            }
            eprintln!(
                "skipping the PostgreSQL store test: set PLUGBOARD_TEST_POSTGRES \
                 (e.g. postgres://root@127.0.0.1:5432/test) to run it"
            );
            return None;
        };
        let name = format!("pb_test_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(&server)
            .await
            .expect("connect to PLUGBOARD_TEST_POSTGRES");
        // The name is made of our own hex digits, so it is safe to splice into the statement.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let url = with_database(&server, &name);
        let database = DropDatabase { server, name };
        let store = super::connect(&url).await.expect("open PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .expect("second PostgreSQL connection");
        sqlx::query(INSERT_OTHER)
            .bind(OTHER.to_string())
            .execute(&mut conn)
            .await
            .expect("add account");
        Some(TestDb {
            store,
            url,
            _dir: None,
            _database: Some(database),
        })
    }
}

/// Drops a test database, best effort, on a thread of its own (`Drop` cannot await).
struct DropDatabase {
    server: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&server).await.ok()?;
                // FORCE ends the store's pooled connections, still open at this point.
                let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// The server URL with its database replaced by `name`, keeping any `?options`.
fn with_database(url: &str, name: &str) -> String {
    let (base, options) = url.split_once('?').map_or((url, None), |(b, o)| (b, Some(o)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(options) = options {
        out.push('?');
        out.push_str(options);
    }
    out
}

/// Turns each scenario `async fn x(store: DynStore)` into `sqlite::x` and `postgres::x`.
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        scenarios!(@backend sqlite, sqlite, [$($name),*]);
        scenarios!(@backend postgres, postgres, [$($name),*]);
    };
    (@with_url $($name:ident),* $(,)?) => {
        scenarios!(@url_backend sqlite_raw, sqlite, [$($name),*]);
        scenarios!(@url_backend postgres_raw, postgres, [$($name),*]);
    };
    (@url_backend $module:ident, $open:ident, [$($name:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::TestDb::$open().await else { return };
                    super::$name(db.store.clone(), db.url.clone()).await;
                }
            )*
        }
    };
    (@backend $module:ident, $open:ident, [$($name:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::TestDb::$open().await else { return };
                    super::$name(db.store.clone()).await;
                }
            )*
        }
    };
}

scenarios!(
    migrations_are_idempotent,
    agents,
    sessions,
    an_admin_lists_and_ends_sessions_and_deactivates,
    queues,
    dispositions,
    phones,
    phone_bindings,
    resolve_customer,
    concurrent_resolves_make_one_customer,
    search_customers,
    update_customer,
    knowledge_articles,
    canned_responses,
    waiting_interactions_in_arrival_order,
    transitions,
    callbacks,
    event_log,
    a_group_commits_in_order_and_all_or_none,
    a_deposed_leaders_commits_are_refused,
    a_forwarded_request_is_recorded_with_what_it_did,
    held_and_agent_interactions,
    messages,
    concurrent_messages,
    a_failing_message_fails_alone,
    notes,
    chat_sessions,
    account_isolation,
    channel_messages_are_stored_once_and_thread,
    a_mail_delivered_twice_at_once_is_stored_once,
    a_new_conversation_and_its_first_mail_commit_together,
    the_outbox_claims_retries_and_records_delivery,
    inboxes_and_open_conversations,
    a_known_contact_is_read_at_once,
    first_mails_of_many_conversations_commit_together,
    mailboxes_and_their_sync_and_failures,
    uploads_belong_to_their_agent,
    an_agents_message_is_found_by_its_client_id,
    media_to_fetch_is_claimed_retried_and_attached,
    a_customer_merged_into_another_leaves_them_one,
    owners_move_with_their_follow_ups_and_every_move_is_logged,
    a_leave_lends_customers_and_their_return_brings_them_back,
    the_pipeline_keeps_stages_and_opportunities_and_logs_every_move,
    follow_ups_are_claimed_by_one_scheduler_stepped_and_closed,
    assignment_rules_are_kept_per_account,
    segments_are_kept_per_account_by_name,
    teams_are_kept_per_account,
    report_settings_and_lines,
    the_inbox_lists_what_each_viewer_may_see,
    a_snoozed_conversation_keeps_its_time_and_agent_and_lists_apart,
    search_finds_chinese_and_english_as_each_viewer_may_see,
    an_audited_write_commits_its_line_and_a_failed_one_none,
    one_rating_per_interaction_on_the_customers_log_and_moved_by_a_merge,
);

// Scenarios that also read the database behind the store's back (`async fn x(store, url)`).
scenarios!(@with_url
    the_audit_log_is_paged_filtered_and_append_only,
    two_nodes_write_one_conversation,
    an_erased_customer_leaves_a_tombstone_and_nothing_else,
    a_generated_week_reports_as_a_plain_group_by_counts_it,
    report_cells_count_what_the_raw_log_counts,
    staffing_forecasts_a_day_from_the_same_weekday_of_the_weeks_before,
);

// --- helpers ---

fn score(n: i64) -> crate::csat::Score {
    crate::csat::Score::try_from(n).unwrap()
}

fn not_found<T: Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound)),
        "expected NotFound, got {result:?}"
    );
}

fn conflict<T: Debug>(result: Result<T, StoreError>, want: &str) {
    match result {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, want),
        other => panic!("expected a conflict on {want}, got {other:?}"),
    }
}

fn new_agent(email: &str) -> NewAgent {
    NewAgent {
        email: email.into(),
        name: email.split('@').next().unwrap_or_default().into(),
        role: Role::Agent,
        locale: "en".into(),
        skills: [("english".to_string(), 5)].into(),
        capacity: Capacity::default(),
        password_hash: "$argon2id$v=19$stub".into(),
    }
}

fn ids(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn customer(store: &DynStore, account: AccountId, email: &str, name: &str) -> Customer {
    store
        .resolve_customer(account, &ids(&[("email", email)]), Some(name))
        .await
        .unwrap()
}

/// A queue and a customer to hang interactions on.
async fn setup(store: &DynStore, account: AccountId) -> (Queue, Customer) {
    let queue = store
        .create_queue(account, QueueSpec::named("support"))
        .await
        .unwrap();
    let customer = customer(store, account, "li.wei@example.com", "Li Wei").await;
    (queue, customer)
}

async fn arrive(store: &DynStore, account: AccountId, (q, c): &(Queue, Customer), at: i64) -> Interaction {
    let new = NewInteraction {
        customer_id: c.id,
        channel: Channel::Chat,
        queue_id: q.id,
        priority: 0,
        entry_point: "widget:home".into(),
        offline: false,
        arrived_at: at,
    };
    store.create_interaction(account, new).await.unwrap()
}

async fn step(
    store: &DynStore,
    account: AccountId,
    id: InteractionId,
    event: InteractionEvent,
    agent: Option<AgentId>,
    at: i64,
) -> Interaction {
    let details = TransitionDetails {
        agent_id: agent,
        ..Default::default()
    };
    store.transition(account, id, event, details, at).await.unwrap()
}

/// Offers and accepts: the interaction becomes active with `agent`.
async fn take(store: &DynStore, account: AccountId, id: InteractionId, agent: AgentId) -> Interaction {
    step(store, account, id, InteractionEvent::Offered, Some(agent), 1).await;
    step(store, account, id, InteractionEvent::Accepted, Some(agent), 2).await
}

fn chat(interaction: InteractionId, sender: Sender, client_id: &str, body: &str) -> NewMessage {
    NewMessage {
        interaction_id: interaction,
        sender,
        agent_id: None,
        body: body.into(),
        client_id: client_id.into(),
    }
}

// --- scenarios ---

async fn migrations_are_idempotent(store: DynStore) {
    // The fixture migrated once; the default account exists (queues reference it).
    let queue = store
        .create_queue(DEFAULT, QueueSpec::named("support"))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.queue(DEFAULT, queue.id).await.unwrap(), queue);
    assert_eq!(store.queues(DEFAULT).await.unwrap().len(), 1);
}

async fn agents(store: DynStore) {
    let alice = store
        .create_agent(DEFAULT, new_agent(" Alice@Example.COM "))
        .await
        .unwrap();
    assert_eq!(alice.email, "alice@example.com");
    assert_eq!(alice.account_id, DEFAULT);
    assert_eq!(store.agent(DEFAULT, alice.id).await.unwrap(), alice);
    let (found, hash) = store.agent_by_email("ALICE@example.com").await.unwrap();
    assert_eq!((found, hash.as_str()), (alice.clone(), "$argon2id$v=19$stub"));

    // Login is by email alone, so an address is taken in every account, in any case.
    conflict(
        store.create_agent(DEFAULT, new_agent("alice@EXAMPLE.com")).await,
        "agents_email_key",
    );
    conflict(
        store.create_agent(OTHER, new_agent("alice@example.com")).await,
        "agents_email_key",
    );

    let patch = AgentPatch {
        name: Some("Alice Liddell".into()),
        role: Some(Role::Supervisor),
        skills: Some([("mandarin".to_string(), 7)].into()),
        capacity: Some(Capacity {
            voice: 1,
            chat: 5,
            email: 2,
            messaging: 0,
        }),
        password_hash: Some("$argon2id$new".into()),
        ..Default::default()
    };
    let updated = store.update_agent(DEFAULT, alice.id, patch).await.unwrap();
    assert_eq!(updated.name, "Alice Liddell");
    assert_eq!(updated.role, Role::Supervisor);
    assert_eq!(updated.skills.get("mandarin"), Some(&7));
    assert_eq!(updated.capacity.chat, 5);
    assert_eq!(
        (updated.locale.as_str(), updated.email.as_str()),
        ("en", "alice@example.com"),
        "untouched"
    );
    assert_eq!(store.agent(DEFAULT, alice.id).await.unwrap(), updated);
    assert_eq!(
        store.agent_by_email("alice@example.com").await.unwrap().1,
        "$argon2id$new"
    );
    let locale = AgentPatch {
        locale: Some("zh-CN".into()),
        ..Default::default()
    };
    let updated = store.update_agent(DEFAULT, alice.id, locale).await.unwrap();
    assert_eq!(
        (updated.locale.as_str(), updated.name.as_str()),
        ("zh-CN", "Alice Liddell")
    );
    // Where calls ring: the desk phone until the agent picks the browser, kept from then on.
    assert_eq!(updated.device, crate::domain::Device::Desk);
    let browser = AgentPatch {
        device: Some(crate::domain::Device::Browser),
        ..Default::default()
    };
    let updated = store.update_agent(DEFAULT, alice.id, browser).await.unwrap();
    assert_eq!(
        (updated.device, updated.locale.as_str()),
        (crate::domain::Device::Browser, "zh-CN")
    );
    assert_eq!(
        store.agent(DEFAULT, alice.id).await.unwrap().device,
        crate::domain::Device::Browser
    );

    // The name customers see: set, kept through other changes, taken away by an empty one.
    let shown = |name: &str| AgentPatch {
        display_name: Some(name.into()),
        ..Default::default()
    };
    let updated = store
        .update_agent(DEFAULT, alice.id, shown(" Ali "))
        .await
        .unwrap();
    assert_eq!(
        (updated.display_name.as_deref(), updated.author().name.as_str()),
        (Some("Ali"), "Ali")
    );
    let updated = store
        .update_agent(DEFAULT, alice.id, AgentPatch::default())
        .await
        .unwrap();
    assert_eq!(updated.display_name.as_deref(), Some("Ali"));
    let updated = store.update_agent(DEFAULT, alice.id, shown("")).await.unwrap();
    assert_eq!(
        (updated.display_name.as_deref(), updated.author().name.as_str()),
        (None, "Alice")
    );
    // Her picture: kept with its type, found by her id alone, its time in her address; taken away.
    not_found(store.avatar(alice.id).await);
    let picture = crate::store::Avatar {
        content_type: "image/png".into(),
        bytes: vec![0x89, b'P', b'N', b'G', 0, 255],
    };
    let updated = store
        .set_avatar(DEFAULT, alice.id, Some(picture.clone()), 42)
        .await
        .unwrap();
    assert_eq!(updated.avatar_at, Some(42));
    assert_eq!(
        updated.author().avatar,
        Some(format!("/avatars/{}?v=42", alice.id))
    );
    assert_eq!(store.avatar(alice.id).await.unwrap(), picture);
    not_found(store.set_avatar(OTHER, alice.id, None, 43).await);
    let updated = store.set_avatar(DEFAULT, alice.id, None, 44).await.unwrap();
    assert_eq!((updated.avatar_at, updated.author().avatar), (None, None));
    not_found(store.avatar(alice.id).await);

    let bob = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap();
    let carol = store
        .create_agent(OTHER, new_agent("carol@example.com"))
        .await
        .unwrap();
    assert_eq!(store.count_agents(DEFAULT).await.unwrap(), 2);
    assert_eq!(store.count_agents(OTHER).await.unwrap(), 1);
    assert_eq!(store.agents(DEFAULT).await.unwrap(), vec![updated, bob]);
    assert_eq!(store.agents(OTHER).await.unwrap(), vec![carol]);

    not_found(store.agent(DEFAULT, AgentId::new()).await);
    not_found(store.agent_by_email("nobody@example.com").await);
    not_found(
        store
            .update_agent(DEFAULT, AgentId::new(), AgentPatch::default())
            .await,
    );
}

/// A session of `agent` begun at 0, as a login from a test address makes one.
async fn log_in(
    store: &DynStore,
    token_hash: &[u8],
    agent: &Agent,
    expires_at: i64,
) -> Result<(), StoreError> {
    store
        .create_session(NewSession {
            token_hash,
            agent,
            created_at: 0,
            expires_at,
            client_addr: Some("192.0.2.1".into()),
            user_agent: None,
        })
        .await
}

async fn sessions(store: DynStore) {
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let live: &[u8] = &[0xff, 0x00, 0x10, 0x80];
    log_in(&store, live, &alice, 1_000).await.unwrap();
    assert_eq!(store.session_agent(live, 999).await.unwrap().agent, alice);
    not_found(store.session_agent(live, 1_000).await);
    conflict(log_in(&store, live, &alice, 5_000).await, "sessions_pkey");

    store.delete_session(live).await.unwrap();
    not_found(store.session_agent(live, 0).await);
    store.delete_session(live).await.unwrap();
    not_found(store.session_agent(b"never issued", 0).await);

    // A session follows later changes to its agent.
    log_in(&store, b"second", &alice, 1_000).await.unwrap();
    let patch = AgentPatch {
        role: Some(Role::Admin),
        ..Default::default()
    };
    store.update_agent(DEFAULT, alice.id, patch).await.unwrap();
    assert_eq!(
        store.session_agent(b"second", 0).await.unwrap().agent.role,
        Role::Admin
    );

    // A password change ends every other session of the agent, and only theirs.
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap();
    log_in(&store, b"third", &alice, 9_000).await.unwrap();
    log_in(&store, b"bob's", &bob, 9_000).await.unwrap();
    let ended = store
        .end_sessions(DEFAULT, alice.id, Some(b"third"))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    not_found(store.session_agent(b"second", 0).await);
    assert_eq!(store.session_agent(b"third", 0).await.unwrap().agent.id, alice.id);
    assert_eq!(store.end_sessions(DEFAULT, alice.id, None).await.unwrap(), 1);
    not_found(store.session_agent(b"third", 0).await);

    // Expired sessions are pruned; live ones stay.
    log_in(&store, b"expired", &bob, 2_000).await.unwrap();
    assert_eq!(store.prune_sessions(5_000).await.unwrap(), 1);
    assert_eq!(
        store.session_agent(b"bob's", 5_000).await.unwrap().agent.id,
        bob.id
    );
    assert_eq!(store.prune_sessions(5_000).await.unwrap(), 0);
}

async fn an_admin_lists_and_ends_sessions_and_deactivates(store: DynStore) {
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap();
    let laptop = NewSession {
        token_hash: b"laptop",
        agent: &alice,
        created_at: 100,
        expires_at: 10_000,
        client_addr: Some("2001:db8::7".into()),
        user_agent: Some("Firefox".into()),
    };
    store.create_session(laptop).await.unwrap();
    log_in(&store, b"old", &alice, 10_000).await.unwrap();
    log_in(&store, b"gone", &alice, 50).await.unwrap();
    log_in(&store, b"bob's", &bob, 10_000).await.unwrap();

    // Newest first, live ones only, with where they came from; the last use starts at login.
    let list = store.sessions(DEFAULT, alice.id, 60).await.unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0].created_at, 100);
    assert_eq!(list[0].last_seen_at, 100);
    assert_eq!(list[0].expires_at, 10_000);
    assert_eq!(list[0].client_addr.as_deref(), Some("2001:db8::7"));
    assert_eq!(list[0].user_agent.as_deref(), Some("Firefox"));
    assert_eq!(list[1].created_at, 0);
    assert_eq!(list[1].user_agent, None);
    assert_ne!(list[0].id, list[1].id);
    assert!(store.sessions(OTHER, alice.id, 60).await.unwrap().is_empty());

    store.touch_session(b"laptop", 700).await.unwrap();
    assert_eq!(
        store.session_agent(b"laptop", 800).await.unwrap().last_seen_at,
        700
    );
    assert_eq!(
        store.sessions(DEFAULT, alice.id, 60).await.unwrap()[0].last_seen_at,
        700
    );

    // One ended by its id, and only by its own agent's.
    let old = list[1].id.clone();
    not_found(store.end_session(DEFAULT, bob.id, &old).await);
    not_found(store.end_session(OTHER, alice.id, &old).await);
    store.end_session(DEFAULT, alice.id, &old).await.unwrap();
    not_found(store.session_agent(b"old", 60).await);
    not_found(store.end_session(DEFAULT, alice.id, &old).await);
    assert!(store.session_agent(b"laptop", 60).await.is_ok());

    // Deactivated: every session stops answering, though left in place; nothing else is lost.
    let off = store
        .set_agent_deactivated(DEFAULT, alice.id, Some(900))
        .await
        .unwrap();
    assert!(!off.active);
    assert_eq!(off.name, alice.name);
    not_found(store.session_agent(b"laptop", 60).await);
    assert!(!store.agent_by_email("alice@example.com").await.unwrap().0.active);
    assert!(!store.agent(DEFAULT, alice.id).await.unwrap().active);
    assert_eq!(store.agents(DEFAULT).await.unwrap().len(), 2);
    assert!(store.session_agent(b"bob's", 60).await.unwrap().agent.active);
    not_found(store.set_agent_deactivated(OTHER, alice.id, Some(900)).await);

    // Active again: the sessions still there answer again (the hub ends them on deactivation).
    let on = store
        .set_agent_deactivated(DEFAULT, alice.id, None)
        .await
        .unwrap();
    assert!(on.active);
    assert_eq!(on, alice);
    assert!(store.session_agent(b"laptop", 60).await.is_ok());
}

async fn queues(store: DynStore) {
    let overflow = store
        .create_queue(DEFAULT, QueueSpec::named("overflow"))
        .await
        .unwrap();
    let spec = QueueSpec {
        required_skills: vec![SkillRequirement {
            skill: "mandarin".into(),
            min_level: 3,
        }],
        priority: 5,
        sl_target_secs: 30,
        max_wait_secs: Some(120),
        overflow_queue: Some(overflow.id),
        offer_timeout_secs: 15,
        wrap_up_secs: 90,
        hours: Some(
            serde_json::from_value(serde_json::json!({
                "time_zone": "Asia/Shanghai",
                "open": {"mon": ["09:00-18:00"], "sat": ["22:00-02:00"]},
                "holidays": ["2026-10-01"],
                "closed_when_unstaffed": true,
            }))
            .unwrap(),
        ),
        tier_priority: [("VIP".to_string(), 10)].into(),
        csat: true,
        ..QueueSpec::named("sales")
    };
    let sales = store.create_queue(DEFAULT, spec).await.unwrap();
    assert!(sales.csat);
    assert!(!overflow.csat, "off unless asked");
    assert_eq!(
        (sales.max_wait_secs, sales.overflow_queue),
        (Some(120), Some(overflow.id))
    );
    assert_eq!(store.queue(DEFAULT, sales.id).await.unwrap(), sales);
    assert_eq!(store.queue_by_name(DEFAULT, "sales").await.unwrap(), sales);
    assert_eq!(
        (
            sales.priority_for(Some("vip")),
            sales.priority_for(Some("gold")),
            sales.priority_for(None)
        ),
        (15, 5, 5)
    );

    let renamed = store
        .update_queue(DEFAULT, sales.id, QueueSpec::named("sales-cn"))
        .await
        .unwrap();
    assert_eq!(renamed.id, sales.id);
    assert_eq!(
        (
            renamed.max_wait_secs,
            renamed.overflow_queue,
            renamed.priority,
            &renamed.hours,
            renamed.tier_priority.len(),
            renamed.csat
        ),
        (None, None, 0, &None, 0, false)
    );
    assert_eq!(store.queue(DEFAULT, sales.id).await.unwrap(), renamed);
    not_found(store.queue_by_name(DEFAULT, "sales").await);
    let names: Vec<String> = store
        .queues(DEFAULT)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(names, ["overflow", "sales-cn"]);

    conflict(
        store.create_queue(DEFAULT, QueueSpec::named("overflow")).await,
        "queues_account_id_name_key",
    );
    conflict(
        store
            .update_queue(DEFAULT, sales.id, QueueSpec::named("overflow"))
            .await,
        "queues_account_id_name_key",
    );
    // Names are per account.
    let theirs = store
        .create_queue(OTHER, QueueSpec::named("overflow"))
        .await
        .unwrap();
    // An overflow target must exist in the same account.
    let to = |queue: QueueId| QueueSpec {
        overflow_queue: Some(queue),
        ..QueueSpec::named("x")
    };
    not_found(store.create_queue(DEFAULT, to(QueueId::new())).await);
    not_found(store.create_queue(DEFAULT, to(theirs.id)).await);
    not_found(
        store
            .update_queue(DEFAULT, QueueId::new(), QueueSpec::named("ghost"))
            .await,
    );
    not_found(store.queue(DEFAULT, QueueId::new()).await);
}

async fn phones(store: DynStore) {
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let phone = |agent, username: &str| NewPhone {
        agent_id: agent,
        username: username.into(),
        realm: "plugboard".into(),
        ha1_md5: "md5".into(),
        ha1_sha256: "sha".into(),
    };
    let desk = store
        .create_phone(DEFAULT, phone(alice.id, "alice-desk"))
        .await
        .unwrap();
    let soft = store
        .create_phone(DEFAULT, phone(alice.id, "alice-soft"))
        .await
        .unwrap();
    assert_eq!(
        store.phones(DEFAULT).await.unwrap(),
        vec![desk.clone(), soft.clone()]
    );
    conflict(
        store.create_phone(DEFAULT, phone(alice.id, "alice-desk")).await,
        "phones_username_key",
    );
    // An agent the account does not have, or another account's agent: nothing to hang it on.
    not_found(store.create_phone(DEFAULT, phone(AgentId::new(), "ghost")).await);
    not_found(store.create_phone(OTHER, phone(alice.id, "borrowed")).await);
    assert_eq!(store.phones(OTHER).await.unwrap(), vec![]);
    not_found(store.delete_phone(OTHER, desk.id).await);
    assert_eq!(store.delete_phone(DEFAULT, desk.id).await.unwrap(), desk);
    not_found(store.delete_phone(DEFAULT, desk.id).await);
    assert_eq!(store.phones(DEFAULT).await.unwrap(), vec![soft]);
    let secrets = store.phone_secrets().await.unwrap();
    assert_eq!(secrets.len(), 1);
    assert_eq!(
        (secrets[0].username.as_str(), secrets[0].ha1_md5.as_str()),
        ("alice-soft", "md5")
    );
}

/// Registrations shared between nodes: binds and refreshes replace, removals remove, a lapse
/// removes only what is no longer live, and lookups see only live bindings, best first.
async fn phone_bindings(store: DynStore) {
    let mut phones = Vec::new();
    for (email, username) in [("bob@example.com", "bob-desk"), ("ann@example.com", "ann-desk")] {
        let agent = store.create_agent(DEFAULT, new_agent(email)).await.unwrap();
        let phone = NewPhone {
            agent_id: agent.id,
            username: username.into(),
            realm: "plugboard".into(),
            ha1_md5: "md5".into(),
            ha1_sha256: "sha".into(),
        };
        store.create_phone(DEFAULT, phone).await.unwrap();
        phones.push(agent.id);
    }
    let (bob, ann) = (phones[0], phones[1]);
    let desk = |contact: &str, q: Option<u16>, expires_at| PhoneBinding {
        aor: "sip:bob-desk@pbx".into(),
        contact: contact.into(),
        username: "bob-desk".into(),
        q,
        expires_at,
    };
    let (a, b) = ("<sip:bob-desk@192.0.2.20:5060>", "<sip:bob-desk@192.0.2.21:5060>");
    let other = PhoneBinding {
        aor: "sip:ann-desk@pbx".into(),
        username: "ann-desk".into(),
        ..desk("<sip:ann-desk@192.0.2.30>", None, 60_000)
    };
    store.update_bindings(&[]).await.unwrap();
    store
        .update_bindings(&[
            BindingUpdate::Bound(desk(a, Some(500), 60_000)),
            BindingUpdate::Bound(desk(b, None, 30_000)),
            BindingUpdate::Bound(other.clone()),
            // A refresh replaces: later expiry, and the q the phone sends now.
            BindingUpdate::Bound(desk(a, Some(200), 90_000)),
        ])
        .await
        .unwrap();
    let live = |now| {
        let store = store.clone();
        async move { store.phone_bindings(DEFAULT, bob, now).await.unwrap() }
    };
    assert_eq!(
        live(1_000).await,
        [desk(b, None, 30_000), desk(a, Some(200), 90_000)]
    );
    assert_eq!(live(30_000).await, [desk(a, Some(200), 90_000)], "lapsed: hidden");
    assert_eq!(
        store.phone_bindings(DEFAULT, AgentId::new(), 0).await.unwrap(),
        []
    );
    assert_eq!(
        store.phone_bindings(OTHER, bob, 0).await.unwrap(),
        [],
        "another account's agent"
    );

    // Node A saw `a` lapse at 60 s, but the phone had refreshed it (through node B) until 90 s:
    // it stays. `b` lapsed for real: gone, even for a reader whose clock is behind.
    let lapsed = |contact: &str, at| BindingUpdate::Lapsed {
        aor: "sip:bob-desk@pbx".into(),
        contact: contact.into(),
        at,
    };
    store
        .update_bindings(&[lapsed(a, 60_000), lapsed(b, 30_000)])
        .await
        .unwrap();
    assert_eq!(live(0).await, [desk(a, Some(200), 90_000)]);

    store
        .update_bindings(&[
            BindingUpdate::Bound(desk(b, None, 120_000)),
            BindingUpdate::Removed {
                aor: "sip:bob-desk@pbx".into(),
                contact: Some(a.into()),
            },
        ])
        .await
        .unwrap();
    assert_eq!(live(1_000).await, [desk(b, None, 120_000)]);
    store
        .update_bindings(&[BindingUpdate::Removed {
            aor: "sip:bob-desk@pbx".into(),
            contact: None,
        }])
        .await
        .unwrap();
    assert_eq!(live(1_000).await, []);
    assert_eq!(
        store.phone_bindings(DEFAULT, ann, 1_000).await.unwrap(),
        [other],
        "another phone's bindings are untouched"
    );

    // A phone taken away takes its registrations along; a new phone of that name starts bare.
    let ann_desk = store.phones(DEFAULT).await.unwrap();
    let ann_desk = ann_desk.iter().find(|p| p.username == "ann-desk").unwrap();
    store.delete_phone(DEFAULT, ann_desk.id).await.unwrap();
    let again = NewPhone {
        agent_id: ann,
        username: "ann-desk".into(),
        realm: "plugboard".into(),
        ha1_md5: "md5".into(),
        ha1_sha256: "sha".into(),
    };
    store.create_phone(DEFAULT, again).await.unwrap();
    assert_eq!(store.phone_bindings(DEFAULT, ann, 1_000).await.unwrap(), []);
}

async fn dispositions(store: DynStore) {
    let d = |code: &str, label: &str| Disposition {
        code: code.into(),
        label: label.into(),
    };
    store
        .upsert_disposition(DEFAULT, d("sale", "Sale"))
        .await
        .unwrap();
    store
        .upsert_disposition(DEFAULT, d("callback", "Call back"))
        .await
        .unwrap();
    store
        .upsert_disposition(DEFAULT, d("sale", "Sold"))
        .await
        .unwrap();
    assert_eq!(
        store.dispositions(DEFAULT).await.unwrap(),
        vec![d("callback", "Call back"), d("sale", "Sold")]
    );
    assert_eq!(store.dispositions(OTHER).await.unwrap(), vec![]);

    store.delete_disposition(DEFAULT, "callback").await.unwrap();
    assert_eq!(
        store.dispositions(DEFAULT).await.unwrap(),
        vec![d("sale", "Sold")]
    );
    not_found(store.delete_disposition(DEFAULT, "callback").await);
    not_found(store.delete_disposition(OTHER, "sale").await);
}

async fn resolve_customer(store: DynStore) {
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    assert_eq!(
        (li.name.as_str(), li.email.as_deref(), li.phone.as_deref()),
        ("Li Wei", Some("li.wei@example.com"), None)
    );
    assert_eq!(li.tags, Vec::<String>::new());

    // The same address in another case is the same person.
    let again = store
        .resolve_customer(DEFAULT, &ids(&[("email", "Li.Wei@Example.COM")]), None)
        .await
        .unwrap();
    assert_eq!(again, li);

    // A phone arriving together with a known email joins that customer; the name stays.
    let phone = "+8613800138000";
    let both = ids(&[("phone", phone), ("email", "li.wei@example.com")]);
    let merged = store
        .resolve_customer(DEFAULT, &both, Some("Someone Else"))
        .await
        .unwrap();
    assert_eq!((merged.id, merged.name.as_str()), (li.id, "Li Wei"));
    assert_eq!(
        (merged.email.as_deref(), merged.phone.as_deref()),
        (Some("li.wei@example.com"), Some(phone))
    );
    let by_phone = store
        .resolve_customer(DEFAULT, &ids(&[("phone", phone)]), None)
        .await
        .unwrap();
    assert_eq!(by_phone, merged);
    assert_eq!(store.customer(DEFAULT, li.id).await.unwrap(), merged);

    // A second email is attached but the customer's email stays the first one.
    let work = ids(&[("email", "li.wei@example.com"), ("email", "wei@work.example")]);
    assert_eq!(
        store.resolve_customer(DEFAULT, &work, None).await.unwrap(),
        merged
    );
    let by_work = store
        .resolve_customer(DEFAULT, &ids(&[("email", "wei@work.example")]), None)
        .await
        .unwrap();
    assert_eq!(by_work, merged);

    // Someone new, known only by a visitor id, is named after it.
    let visitor = store
        .resolve_customer(DEFAULT, &ids(&[("visitor", "v-123")]), None)
        .await
        .unwrap();
    assert_ne!(visitor.id, li.id);
    assert_eq!((visitor.name.as_str(), visitor.email.as_deref()), ("v-123", None));
    // Identities owned by two customers resolve to the first one listed; nothing moves.
    let split = ids(&[("visitor", "v-123"), ("phone", phone)]);
    assert_eq!(
        store.resolve_customer(DEFAULT, &split, None).await.unwrap().id,
        visitor.id
    );
    assert_eq!(
        store
            .resolve_customer(DEFAULT, &ids(&[("phone", phone)]), None)
            .await
            .unwrap()
            .id,
        li.id
    );

    // A customer whose name was cleared takes the next name given.
    let blank = CustomerPatch {
        name: Some(String::new()),
        ..Default::default()
    };
    store.update_customer(DEFAULT, visitor.id, blank).await.unwrap();
    let named = store
        .resolve_customer(DEFAULT, &ids(&[("visitor", "v-123")]), Some("Ana"))
        .await
        .unwrap();
    assert_eq!(named.name, "Ana");

    // Identities belong to an account: the same address elsewhere is someone else.
    let theirs = customer(&store, OTHER, "li.wei@example.com", "Li Wei").await;
    assert_ne!(theirs.id, li.id);
}

async fn concurrent_resolves_make_one_customer(store: DynStore) {
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let identities = ids(&[("email", "rush@example.com"), ("visitor", &format!("v-{i}"))]);
                store.resolve_customer(DEFAULT, &identities, None).await.unwrap()
            })
        })
        .collect();
    let customers: Vec<Customer> = futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let first = customers[0].id;
    assert!(customers.iter().all(|c| c.id == first), "{customers:#?}");
    for i in 0..10 {
        let visitor = ids(&[("visitor", &format!("v-{i}"))]);
        assert_eq!(
            store.resolve_customer(DEFAULT, &visitor, None).await.unwrap().id,
            first,
            "v-{i}"
        );
    }
    assert_eq!(
        store
            .search_customers(DEFAULT, "rush@example.com", 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn search_customers(store: DynStore) {
    let phone = "+8613800138000";
    let li = store
        .resolve_customer(
            DEFAULT,
            &ids(&[("email", "li.wei@example.com"), ("phone", phone)]),
            Some("Li Wei"),
        )
        .await
        .unwrap();
    let zhang = store
        .resolve_customer(DEFAULT, &ids(&[("visitor", "w-1")]), Some("Wei Zhang"))
        .await
        .unwrap();
    let elodie = customer(&store, DEFAULT, "elodie@example.fr", "ÉLODIE Dupont").await;
    customer(&store, OTHER, "wei@other.example", "Wei Other").await;

    let search = |query: &'static str, limit: u32| {
        let store = store.clone();
        async move {
            let found = store.search_customers(DEFAULT, query, limit).await.unwrap();
            found.into_iter().map(|c| c.id).collect::<Vec<CustomerId>>()
        }
    };
    // Name substrings in any case, newest first.
    assert_eq!(search("wei", 10).await, [zhang.id, li.id]);
    assert_eq!(search(" WEI ", 10).await, [zhang.id, li.id]);
    assert_eq!(search("wei", 1).await, [zhang.id]);
    assert_eq!(search("élodie", 10).await, [elodie.id]);
    // Identities match exactly.
    assert_eq!(search("li.wei@example.com", 10).await, [li.id]);
    assert_eq!(search("Li.Wei@Example.com", 10).await, [li.id]);
    assert_eq!(search(phone, 10).await, [li.id]);
    assert_eq!(search("w-1", 10).await, [zhang.id]);
    assert_eq!(search("example.com", 10).await, Vec::<CustomerId>::new());
    // LIKE wildcards are plain characters.
    assert_eq!(search("%", 10).await, Vec::<CustomerId>::new());
    assert_eq!(search("_", 10).await, Vec::<CustomerId>::new());
    assert_eq!(search("nobody", 10).await, Vec::<CustomerId>::new());
    assert!(store.search_customers(OTHER, "li", 10).await.unwrap().is_empty());
}

async fn update_customer(store: DynStore) {
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    let patch = CustomerPatch {
        name: Some("Wei Li".into()),
        tier: Some("gold".into()),
        tags: Some(vec!["vip".into(), "beta".into()]),
        ..Default::default()
    };
    let updated = store.update_customer(DEFAULT, li.id, patch).await.unwrap();
    let want = Customer {
        name: "Wei Li".into(),
        tier: Some("gold".into()),
        tags: vec!["vip".into(), "beta".into()],
        ..li.clone()
    };
    assert_eq!(updated, want);
    assert_eq!(store.customer(DEFAULT, li.id).await.unwrap(), want);

    // A visitor's claim is kept beside the profile, and read back with it.
    let claim = crate::domain::Claim {
        email: Some("maria.garcia@example.com".into()),
        phone: None,
    };
    store.set_claim(DEFAULT, li.id, &claim).await.unwrap();
    let claimed = store.customer(DEFAULT, li.id).await.unwrap();
    assert_eq!(claimed.claimed, Some(claim.clone()));
    assert_eq!(claimed.email, want.email, "a claim is no identity");
    not_found(store.set_claim(OTHER, li.id, &claim).await);
    let want = Customer {
        claimed: Some(claim),
        ..want
    };

    // `None` leaves a field; an empty tier clears it.
    let clear_tier = CustomerPatch {
        tier: Some(String::new()),
        ..Default::default()
    };
    let updated = store.update_customer(DEFAULT, li.id, clear_tier).await.unwrap();
    assert_eq!(updated, Customer { tier: None, ..want });
    let found = store.search_customers(DEFAULT, "wei li", 10).await.unwrap();
    assert_eq!(found, vec![updated.clone()]);

    // The account's own fields: set, kept beside the others, found by search, taken away by null.
    let fields = |v: serde_json::Value| CustomerPatch {
        fields: Some(v.as_object().unwrap().clone()),
        ..Default::default()
    };
    let patch = fields(serde_json::json!({"plan": "企业版", "seats": 12, "products": ["Phones", "Mail"]}));
    let with = store.update_customer(DEFAULT, li.id, patch).await.unwrap();
    assert_eq!(with.fields["plan"], "企业版");
    assert_eq!(store.customer(DEFAULT, li.id).await.unwrap(), with);
    for q in ["企业版", "phones", "wei"] {
        assert_eq!(
            store.search_customers(DEFAULT, q, 10).await.unwrap(),
            vec![with.clone()],
            "{q}"
        );
    }
    let patch = fields(serde_json::json!({"plan": null, "seats": 14}));
    let less = store.update_customer(DEFAULT, li.id, patch).await.unwrap();
    assert_eq!(
        serde_json::to_value(&less.fields).unwrap(),
        serde_json::json!({"products": ["Phones", "Mail"], "seats": 14})
    );
    assert!(
        store
            .search_customers(DEFAULT, "企业版", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let updated = store
        .update_customer(
            DEFAULT,
            li.id,
            fields(serde_json::json!({"products": null, "seats": null})),
        )
        .await
        .unwrap();
    assert_eq!(
        updated,
        Customer {
            fields: Default::default(),
            ..less
        }
    );
    assert!(
        store
            .search_customers(DEFAULT, "li wei", 10)
            .await
            .unwrap()
            .is_empty()
    );

    not_found(
        store
            .update_customer(DEFAULT, CustomerId::new(), CustomerPatch::default())
            .await,
    );
    not_found(store.customer(DEFAULT, CustomerId::new()).await);
}

async fn waiting_interactions_in_arrival_order(store: DynStore) {
    let ours = setup(&store, DEFAULT).await;
    let theirs = setup(&store, OTHER).await;
    let late = arrive(&store, DEFAULT, &ours, 300).await;
    let first = arrive(&store, OTHER, &theirs, 100).await;
    let middle = arrive(&store, DEFAULT, &ours, 200).await;
    // Same millisecond as `middle`, created after it: it stays behind after a restart.
    let tie = arrive(&store, OTHER, &theirs, 200).await;
    assert_eq!(
        (late.state, late.agent_id, late.ended_at, late.queue_id),
        (InteractionState::Queued, None, None, ours.0.id)
    );
    assert_eq!(store.interaction(DEFAULT, late.id).await.unwrap(), late);

    let waiting = store.waiting_interactions().await.unwrap();
    let want = vec![
        (OTHER, first.clone()),
        (DEFAULT, middle.clone()),
        (OTHER, tie.clone()),
        (DEFAULT, late.clone()),
    ];
    assert_eq!(waiting, want);

    // Offered still waits (with its agent); accepted and abandoned do not.
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let offered = step(
        &store,
        DEFAULT,
        middle.id,
        InteractionEvent::Offered,
        Some(agent.id),
        400,
    )
    .await;
    take(&store, DEFAULT, late.id, agent.id).await;
    step(&store, OTHER, tie.id, InteractionEvent::Abandoned, None, 500).await;
    let waiting = store.waiting_interactions().await.unwrap();
    assert_eq!(waiting, vec![(OTHER, first), (DEFAULT, offered)]);

    // A customer's history, newest first.
    let history = store.customer_interactions(DEFAULT, ours.1.id, 10).await.unwrap();
    assert_eq!(
        history.iter().map(|i| i.id).collect::<Vec<_>>(),
        [late.id, middle.id]
    );
    assert_eq!(
        store
            .customer_interactions(DEFAULT, ours.1.id, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .customer_interactions(OTHER, ours.1.id, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn transitions(store: DynStore) {
    use InteractionEvent as E;
    use InteractionState as S;
    let fixture = setup(&store, DEFAULT).await;
    let second = store
        .create_queue(DEFAULT, QueueSpec::named("second line"))
        .await
        .unwrap();
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap()
        .id;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await;

    // Illegal: refused, nothing written.
    let refused = store
        .transition(DEFAULT, i.id, E::Accepted, TransitionDetails::default(), 1_001)
        .await;
    match refused {
        Err(StoreError::InvalidTransition(InvalidTransition {
            from: S::Queued,
            event: E::Accepted,
        })) => {}
        other => panic!("expected an invalid transition, got {other:?}"),
    }
    assert_eq!(store.interaction(DEFAULT, i.id).await.unwrap(), i);
    assert_eq!(store.events(DEFAULT, i.id).await.unwrap().len(), 1);

    let offered = step(&store, DEFAULT, i.id, E::Offered, Some(agent), 1_002).await;
    assert_eq!((offered.state, offered.agent_id), (S::Offered, Some(agent)));
    // Back in the queue, nobody holds it.
    let declined = step(&store, DEFAULT, i.id, E::Declined, None, 1_003).await;
    assert_eq!((declined.state, declined.agent_id), (S::Queued, None));
    let details = TransitionDetails {
        queue_id: Some(second.id),
        ..Default::default()
    };
    let moved = store
        .transition(DEFAULT, i.id, E::Overflowed, details, 1_004)
        .await
        .unwrap();
    assert_eq!(
        (moved.state, moved.queue_id, moved.arrived_at),
        (S::Queued, second.id, 1_000)
    );

    take(&store, DEFAULT, i.id, agent).await;
    let ended = step(&store, DEFAULT, i.id, E::Ended, None, 2_000).await;
    assert_eq!(
        (ended.state, ended.agent_id, ended.ended_at),
        (S::WrapUp, Some(agent), Some(2_000))
    );
    let details = TransitionDetails {
        disposition: Some("sale".into()),
        wrap_up_note: Some("wants the blue one".into()),
        ..Default::default()
    };
    let closed = store
        .transition(DEFAULT, i.id, E::WrappedUp, details, 2_500)
        .await
        .unwrap();
    assert_eq!(
        (closed.state, closed.ended_at),
        (S::Closed, Some(2_000)),
        "wrap-up keeps the end time"
    );
    assert_eq!(
        (closed.disposition.as_deref(), closed.wrap_up_note.as_deref()),
        (Some("sale"), Some("wants the blue one"))
    );
    assert_eq!(store.interaction(DEFAULT, i.id).await.unwrap(), closed);
    let events = store.events(DEFAULT, i.id).await.unwrap().len();
    assert!(
        store
            .transition(DEFAULT, i.id, E::Offered, TransitionDetails::default(), 3_000)
            .await
            .is_err()
    );
    assert_eq!(store.interaction(DEFAULT, i.id).await.unwrap(), closed);
    assert_eq!(store.events(DEFAULT, i.id).await.unwrap().len(), events);

    // Abandoning ends it; wrapping up straight from active sets the end time.
    let j = arrive(&store, DEFAULT, &fixture, 3_000).await;
    let abandoned = step(&store, DEFAULT, j.id, E::Abandoned, None, 3_100).await;
    assert_eq!((abandoned.state, abandoned.ended_at), (S::Abandoned, Some(3_100)));
    let k = arrive(&store, DEFAULT, &fixture, 4_000).await;
    take(&store, DEFAULT, k.id, agent).await;
    let wrapped = step(&store, DEFAULT, k.id, E::WrappedUp, None, 4_500).await;
    assert_eq!((wrapped.state, wrapped.ended_at), (S::Closed, Some(4_500)));

    let nowhere = store
        .transition(
            DEFAULT,
            InteractionId::new(),
            E::Offered,
            TransitionDetails::default(),
            1,
        )
        .await;
    not_found(nowhere);
    // An agent that does not exist (here: of another account) cannot be given the interaction.
    let stranger = store
        .create_agent(OTHER, new_agent("carol@example.com"))
        .await
        .unwrap()
        .id;
    let l = arrive(&store, DEFAULT, &fixture, 5_000).await;
    let details = TransitionDetails {
        agent_id: Some(stranger),
        ..Default::default()
    };
    not_found(store.transition(DEFAULT, l.id, E::Offered, details, 5_001).await);
    assert_eq!(store.interaction(DEFAULT, l.id).await.unwrap(), l);
}

async fn event_log(store: DynStore) {
    use InteractionEvent as E;
    let fixture = setup(&store, DEFAULT).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap()
        .id;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let steps = [
        (E::Offered, json!({"agent_id": agent, "expires_at": 1_020})),
        (
            E::OfferTimedOut,
            json!({"agent_id": agent, "reason": "timed_out"}),
        ),
        (E::Offered, json!({"agent_id": agent})),
        (E::Accepted, json!({"agent_id": agent})),
        (E::Ended, json!({"by": "customer"})),
        (E::WrappedUp, serde_json::Value::Null),
    ];
    for (n, (event, data)) in steps.iter().enumerate() {
        let details = TransitionDetails {
            agent_id: Some(agent),
            data: data.clone(),
            ..Default::default()
        };
        store
            .transition(DEFAULT, i.id, *event, details, 1_001 + n as i64)
            .await
            .unwrap();
    }
    log_line(
        &store,
        DEFAULT,
        i.id,
        "interaction.note_added",
        json!({"note": 7}),
        2_000,
    )
    .await
    .unwrap();

    let log = store.events(DEFAULT, i.id).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "interaction.queued",
            "interaction.offered",
            "interaction.offer_timed_out",
            "interaction.offered",
            "interaction.accepted",
            "interaction.ended",
            "interaction.wrapped_up",
            "interaction.note_added"
        ]
    );
    assert_eq!(log[0].data["queue_id"], json!(fixture.0.id));
    assert_eq!(log[0].at, 1_000);
    for (n, (_, data)) in steps.iter().enumerate() {
        let want = if data.is_null() { json!({}) } else { data.clone() };
        assert_eq!((&log[n + 1].data, log[n + 1].at), (&want, 1_001 + n as i64));
    }
    assert_eq!(log[7].data, json!({"note": 7}));
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    assert!(log.iter().all(|e| e.interaction_id == i.id));

    not_found(log_line(&store, DEFAULT, InteractionId::new(), "x.y", json!({}), 1).await);
    not_found(log_line(&store, OTHER, i.id, "x.y", json!({}), 1).await);
    assert!(store.events(OTHER, i.id).await.unwrap().is_empty());
}

async fn log_line(
    store: &DynStore,
    account: AccountId,
    id: InteractionId,
    kind: &'static str,
    data: serde_json::Value,
    at: i64,
) -> Result<(), StoreError> {
    let write = Write::Log {
        account,
        id,
        kind: kind.into(),
        data,
        at,
    };
    store.commit(None, &[write]).await.map(|_| ())
}

/// A queue's callback policy, and an interaction's callback: chosen by the caller (it waits on,
/// offline), called and set aside until its next attempt, listed with it for a restart, and
/// booked for later in the commit that opens it.
async fn callbacks(store: DynStore) {
    use InteractionEvent as E;
    let fixture = setup(&store, DEFAULT).await;
    let policy = CallbackPolicy {
        offer_after_secs: 90,
        attempts: 2,
        retry_after_secs: 300,
    };
    let spec = QueueSpec {
        callbacks: Some(policy),
        ..QueueSpec::named("callbacks")
    };
    let queue = store.create_queue(DEFAULT, spec).await.unwrap();
    assert_eq!(
        store.queue(DEFAULT, queue.id).await.unwrap().callbacks,
        Some(policy)
    );
    let agent = store
        .create_agent(DEFAULT, new_agent("callbacks@example.com"))
        .await
        .unwrap()
        .id;
    let waiting = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let booked = Callback {
        number: "+14155552671".into(),
        due_at: None,
        attempts: 0,
    };
    let with = |callback: &Callback| TransitionDetails {
        callback: Some(callback.clone()),
        ..Default::default()
    };
    let requested = store
        .transition(DEFAULT, waiting.id, E::CallbackRequested, with(&booked), 2_000)
        .await
        .unwrap();
    assert_eq!(
        (requested.state, requested.offline, requested.callback),
        (InteractionState::Queued, true, Some(booked.clone()))
    );
    take(&store, DEFAULT, waiting.id, agent).await;
    let next = Callback {
        due_at: Some(302_000),
        attempts: 1,
        ..booked
    };
    store
        .transition(DEFAULT, waiting.id, E::Rescheduled, with(&next), 3_000)
        .await
        .unwrap();
    let stored = store.interaction(DEFAULT, waiting.id).await.unwrap();
    assert_eq!(
        (stored.state, stored.agent_id, stored.callback.clone()),
        (InteractionState::Queued, None, Some(next))
    );
    let listed = store.waiting_interactions().await.unwrap();
    assert!(listed.iter().any(|(_, i)| *i == stored), "{listed:?}");

    let mut later = NewInteraction {
        customer_id: fixture.1.id,
        channel: Channel::Voice,
        queue_id: queue.id,
        priority: 0,
        entry_point: "callback".into(),
        offline: true,
        arrived_at: 10_000,
    }
    .queued();
    later.callback = Some(Callback {
        number: "+14155552671".into(),
        due_at: Some(10_000),
        attempts: 0,
    });
    let open = Write::Open {
        account: DEFAULT,
        interaction: later.clone(),
    };
    store.commit(None, &[open]).await.unwrap();
    assert_eq!(store.interaction(DEFAULT, later.id).await.unwrap(), later);
}

/// The dispatcher's group commit: many interactions' steps in one transaction, in order, all
/// or none.
async fn a_group_commits_in_order_and_all_or_none(store: DynStore) {
    use InteractionEvent as E;
    let fixture = setup(&store, DEFAULT).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("group@example.com"))
        .await
        .unwrap()
        .id;
    let (a, b) = (
        arrive(&store, DEFAULT, &fixture, 1_000).await,
        arrive(&store, DEFAULT, &fixture, 1_001).await,
    );
    let step = |id, event, at| Write::Transition {
        account: DEFAULT,
        id,
        event,
        details: TransitionDetails {
            agent_id: Some(agent),
            ..Default::default()
        },
        at,
    };
    let done = store
        .commit(
            None,
            &[
                step(a.id, E::Offered, 2_000),
                step(b.id, E::Offered, 2_001),
                step(a.id, E::Accepted, 2_002),
                Write::Log {
                    account: DEFAULT,
                    id: b.id,
                    kind: "call.failed".into(),
                    data: json!({"status": 486}),
                    at: 2_003,
                },
            ],
        )
        .await
        .unwrap();
    let states: Vec<Option<InteractionState>> = done.iter().map(|i| i.as_ref().map(|i| i.state)).collect();
    assert_eq!(
        states,
        [
            Some(InteractionState::Offered),
            Some(InteractionState::Offered),
            Some(InteractionState::Active),
            None
        ]
    );
    // One illegal step (b cannot be wrapped up while offered) undoes the whole group.
    let refused = store
        .commit(
            None,
            &[step(a.id, E::Ended, 3_000), step(b.id, E::WrappedUp, 3_001)],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::InvalidTransition(_))),
        "{refused:?}"
    );
    assert_eq!(
        store.interaction(DEFAULT, a.id).await.unwrap().state,
        InteractionState::Active
    );
    let kinds: Vec<String> = store
        .events(DEFAULT, b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["interaction.queued", "interaction.offered", "call.failed"]
    );

    // A new interaction and its steps in the group that opens it, interleaved with another's,
    // each log in the order of the writes.
    let c = NewInteraction {
        customer_id: fixture.1.id,
        channel: Channel::Voice,
        queue_id: fixture.0.id,
        priority: 3,
        entry_point: "sip:100".into(),
        offline: true,
        arrived_at: 4_000,
    }
    .queued();
    let log = |id, kind: &'static str, at| Write::Log {
        account: DEFAULT,
        id,
        kind: kind.into(),
        data: json!({"at": at}),
        at,
    };
    let done = store
        .commit(
            None,
            &[
                Write::Open {
                    account: DEFAULT,
                    interaction: c.clone(),
                },
                step(c.id, E::Offered, 4_001),
                log(a.id, "call.held", 4_002),
                step(c.id, E::Accepted, 4_003),
                log(c.id, "call.answered", 4_004),
                step(a.id, E::Ended, 4_005),
            ],
        )
        .await
        .unwrap();
    assert_eq!(done[0].as_ref(), Some(&c));
    assert_eq!(done[3].as_ref().map(|i| i.state), Some(InteractionState::Active));
    let stored = store.interaction(DEFAULT, c.id).await.unwrap();
    assert_eq!(
        (
            stored.state,
            stored.agent_id,
            stored.priority,
            stored.offline,
            stored.channel
        ),
        (InteractionState::Active, Some(agent), 3, true, Channel::Voice)
    );
    let ended = store.interaction(DEFAULT, a.id).await.unwrap();
    assert_eq!(
        (ended.state, ended.ended_at),
        (InteractionState::WrapUp, Some(4_005))
    );
    let log_of = |id| {
        let store = store.clone();
        async move {
            store
                .events(DEFAULT, id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.kind, e.at))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        log_of(c.id).await,
        [
            ("interaction.queued".to_string(), 4_000),
            ("interaction.offered".to_string(), 4_001),
            ("interaction.accepted".to_string(), 4_003),
            ("call.answered".to_string(), 4_004),
        ]
    );
    assert_eq!(
        log_of(a.id).await[3..],
        [
            ("call.held".to_string(), 4_002),
            ("interaction.ended".to_string(), 4_005),
        ]
    );

    // Another account's interaction is nobody's here: the group fails and writes nothing.
    let elsewhere = Write::Transition {
        account: OTHER,
        id: b.id,
        event: E::Accepted,
        details: TransitionDetails::default(),
        at: 5_000,
    };
    let refused = store
        .commit(None, &[log(b.id, "call.held", 5_000), elsewhere])
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    assert_eq!(log_of(b.id).await.len(), 3);
}

async fn held_and_agent_interactions(store: DynStore) {
    use InteractionEvent as E;
    let fixture = setup(&store, DEFAULT).await;
    let theirs = setup(&store, OTHER).await;
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap()
        .id;
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap()
        .id;
    let carol = store
        .create_agent(OTHER, new_agent("carol@example.com"))
        .await
        .unwrap()
        .id;

    let active = arrive(&store, DEFAULT, &fixture, 100).await;
    let wrapping = arrive(&store, DEFAULT, &fixture, 200).await;
    let closed = arrive(&store, DEFAULT, &fixture, 300).await;
    let queued = arrive(&store, DEFAULT, &fixture, 400).await;
    let elsewhere = arrive(&store, OTHER, &theirs, 150).await;
    let later = arrive(&store, DEFAULT, &fixture, 500).await;
    let active = take(&store, DEFAULT, active.id, alice).await;
    take(&store, DEFAULT, wrapping.id, bob).await;
    let wrapping = step(&store, DEFAULT, wrapping.id, E::Ended, None, 10).await;
    take(&store, DEFAULT, closed.id, alice).await;
    step(&store, DEFAULT, closed.id, E::WrappedUp, None, 11).await;
    step(&store, DEFAULT, queued.id, E::Offered, Some(alice), 12).await;
    let elsewhere = take(&store, OTHER, elsewhere.id, carol).await;
    let later = take(&store, DEFAULT, later.id, alice).await;

    let held = store.held_interactions().await.unwrap();
    assert_eq!(
        held,
        vec![
            (DEFAULT, active.clone()),
            (OTHER, elsewhere.clone()),
            (DEFAULT, wrapping.clone()),
            (DEFAULT, later.clone())
        ]
    );
    assert_eq!(
        store.agent_interactions(DEFAULT, alice).await.unwrap(),
        vec![active, later]
    );
    assert_eq!(
        store.agent_interactions(DEFAULT, bob).await.unwrap(),
        vec![wrapping]
    );
    assert_eq!(
        store.agent_interactions(OTHER, carol).await.unwrap(),
        vec![elsewhere]
    );
    assert!(store.agent_interactions(OTHER, alice).await.unwrap().is_empty());
}

async fn messages(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap()
        .id;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    for n in 1..=3 {
        let (m, new) = store
            .append_message(
                DEFAULT,
                chat(i, Sender::Customer, &format!("c{n}"), "hi"),
                1_000 + n,
            )
            .await
            .unwrap();
        assert_eq!(
            (m.seq, new, m.created_at, m.interaction_id),
            (n, true, 1_000 + n, i)
        );
    }
    let first = store.messages(DEFAULT, i, 0).await.unwrap();
    // A resend after a dropped connection is stored once, and its seq is not used up.
    let (resent, new) = store
        .append_message(DEFAULT, chat(i, Sender::Customer, "c2", "hi again"), 2_000)
        .await
        .unwrap();
    assert!(!new);
    assert_eq!(resent, first[1]);
    let reply = NewMessage {
        agent_id: Some(agent),
        ..chat(i, Sender::Agent, "c2", "Hello, how can I help?")
    };
    let (reply, new) = store.append_message(DEFAULT, reply, 2_001).await.unwrap();
    assert_eq!(
        (reply.seq, new, reply.agent_id, reply.sender),
        (4, true, Some(agent), Sender::Agent)
    );

    let all = store.messages(DEFAULT, i, 0).await.unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[3], reply);
    assert_eq!(all[1].body, "hi");
    assert_eq!(store.messages(DEFAULT, i, 2).await.unwrap(), all[2..].to_vec());
    assert!(store.messages(DEFAULT, i, 4).await.unwrap().is_empty());

    not_found(
        store
            .append_message(DEFAULT, chat(InteractionId::new(), Sender::Customer, "x", "?"), 1)
            .await,
    );
    not_found(
        store
            .append_message(OTHER, chat(i, Sender::Customer, "x", "?"), 1)
            .await,
    );
    assert!(store.messages(OTHER, i, 0).await.unwrap().is_empty());
    assert_eq!(store.messages(DEFAULT, i, 0).await.unwrap().len(), 4);
}

async fn concurrent_messages(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    let send = |client_id: String| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .append_message(DEFAULT, chat(i, Sender::Customer, &client_id, "hi"), 1_000)
                .await
                .unwrap()
        })
    };
    let distinct = futures_util::future::join_all((0..20).map(|n| send(format!("m{n}")))).await;
    let mut seqs: Vec<i64> = distinct
        .into_iter()
        .map(|r| r.unwrap())
        .map(|(m, new)| {
            assert!(new);
            m.seq
        })
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());

    // The same message sent five times at once is stored once.
    let dupes = futures_util::future::join_all((0..5).map(|_| send("same".into()))).await;
    let dupes: Vec<_> = dupes.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(dupes.iter().filter(|(_, new)| *new).count(), 1);
    assert!(dupes.iter().all(|(m, _)| m.id == dupes[0].0.id && m.seq == 21));
    let stored = store.messages(DEFAULT, i, 0).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=21).collect::<Vec<i64>>()
    );
}

/// Two nodes on one database, each with its own group commit, write to one conversation at once:
/// every message takes its own seq, and a resend that reaches both nodes together (a widget that
/// reconnected to the other node while its message was in flight) is stored once.
async fn two_nodes_write_one_conversation(store: DynStore, url: String) {
    let other = crate::store::connect(&url).await.unwrap();
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    let send = |node: &DynStore, client_id: String| {
        let node = node.clone();
        tokio::spawn(async move {
            node.append_message(DEFAULT, chat(i, Sender::Customer, &client_id, "hi"), 1_000)
                .await
                .unwrap()
        })
    };
    let sends = (0..40).flat_map(|n| {
        let node = if n % 2 == 0 { &store } else { &other };
        [send(node, format!("m{n}")), send(node, format!("same{}", n / 2))]
    });
    let answers: Vec<(crate::domain::Message, bool)> =
        futures_util::future::join_all(sends.collect::<Vec<_>>())
            .await
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
    let stored = store.messages(DEFAULT, i, 0).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=60).collect::<Vec<i64>>(),
        "40 messages and 20 sent twice, each stored once"
    );
    assert_eq!(answers.iter().filter(|(_, new)| *new).count(), 60);
    for (m, _) in &answers {
        assert!(stored.iter().any(|s| s.id == m.id && s.seq == m.seq), "{m:?}");
    }
}

/// Messages committed together (the group commit) still succeed or fail one by one: a
/// message for an unknown interaction among good ones fails alone and takes no seq.
async fn a_failing_message_fails_alone(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    let sends = (0..30).map(|n| {
        let store = store.clone();
        let target = if n % 3 == 0 { InteractionId::new() } else { i };
        tokio::spawn(async move {
            store
                .append_message(
                    DEFAULT,
                    chat(target, Sender::Customer, &format!("m{n}"), "hi"),
                    1_000,
                )
                .await
        })
    });
    let results: Vec<_> = futures_util::future::join_all(sends)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    for (n, result) in results.into_iter().enumerate() {
        if n % 3 == 0 {
            not_found(result);
        } else {
            assert!(result.unwrap().1);
        }
    }
    let stored = store.messages(DEFAULT, i, 0).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<i64>>()
    );
}

async fn notes(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let customer = fixture.1.id;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap()
        .id;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    let general = store
        .add_note(DEFAULT, customer, None, agent, "prefers email")
        .await
        .unwrap();
    let about = store
        .add_note(DEFAULT, customer, Some(i), agent, "asked for a refund")
        .await
        .unwrap();
    assert_eq!(
        (general.customer_id, general.interaction_id, general.agent_id),
        (customer, None, agent)
    );
    assert_eq!(about.interaction_id, Some(i));
    assert!(about.id > general.id);
    assert_eq!(
        store.notes(DEFAULT, customer).await.unwrap(),
        vec![general, about]
    );
    assert!(store.notes(OTHER, customer).await.unwrap().is_empty());

    not_found(store.add_note(DEFAULT, CustomerId::new(), None, agent, "?").await);
    not_found(
        store
            .add_note(DEFAULT, customer, Some(InteractionId::new()), agent, "?")
            .await,
    );
    not_found(store.add_note(OTHER, customer, None, agent, "?").await);
}

async fn chat_sessions(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    let session = ChatSession {
        account_id: DEFAULT,
        customer_id: fixture.1.id,
        interaction_id: i,
    };
    let token: &[u8] = &[0x00, 0xfe, 0x7f, 0x80];
    store.create_chat_session(token, &session, 1_000).await.unwrap();
    assert_eq!(store.chat_session(token).await.unwrap(), session);
    conflict(
        store.create_chat_session(token, &session, 1_001).await,
        "chat_sessions_pkey",
    );
    not_found(store.chat_session(b"unknown").await);
    let elsewhere = ChatSession {
        account_id: OTHER,
        ..session
    };
    not_found(store.create_chat_session(b"other", &elsewhere, 1_000).await);
}

async fn account_isolation(store: DynStore) {
    use InteractionEvent as E;
    let (queue, customer) = setup(&store, DEFAULT).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let i = arrive(&store, DEFAULT, &(queue.clone(), customer.clone()), 1_000).await;

    not_found(store.customer(OTHER, customer.id).await);
    not_found(store.interaction(OTHER, i.id).await);
    not_found(store.queue(OTHER, queue.id).await);
    not_found(store.queue_by_name(OTHER, &queue.name).await);
    not_found(store.agent(OTHER, agent.id).await);
    assert!(store.queues(OTHER).await.unwrap().is_empty());
    assert!(store.agents(OTHER).await.unwrap().is_empty());
    not_found(
        store
            .update_customer(OTHER, customer.id, CustomerPatch::default())
            .await,
    );
    not_found(
        store
            .update_queue(OTHER, queue.id, QueueSpec::named("mine now"))
            .await,
    );
    not_found(store.update_agent(OTHER, agent.id, AgentPatch::default()).await);
    not_found(
        store
            .transition(OTHER, i.id, E::Abandoned, TransitionDetails::default(), 2_000)
            .await,
    );
    let borrowed = NewInteraction {
        customer_id: customer.id,
        channel: Channel::Voice,
        queue_id: queue.id,
        priority: 0,
        entry_point: "sip:support".into(),
        offline: false,
        arrived_at: 1_000,
    };
    not_found(store.create_interaction(OTHER, borrowed).await);

    // Nothing above touched the owner's rows.
    assert_eq!(store.customer(DEFAULT, customer.id).await.unwrap(), customer);
    assert_eq!(store.queue(DEFAULT, queue.id).await.unwrap(), queue);
    assert_eq!(store.interaction(DEFAULT, i.id).await.unwrap(), i);
    assert_eq!(store.agent(DEFAULT, agent.id).await.unwrap(), agent);
}

/// Fencing: a node that took over the routers raised the token; the old leader's late commits
/// fail and write nothing.
async fn a_deposed_leaders_commits_are_refused(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let line = |at| Write::Log {
        account: DEFAULT,
        id: i.id,
        kind: "call.held".into(),
        data: json!({}),
        at,
    };
    store.fence(5).await.unwrap();
    store.commit(Some(5), &[line(2_000)]).await.unwrap();
    // Node B takes over with a newer token.
    store.fence(7).await.unwrap();
    let late = store.commit(Some(5), &[line(2_001)]).await;
    assert!(
        matches!(late, Err(StoreError::Deposed { token: 5, current: 7 })),
        "{late:?}"
    );
    // A leader older than the current one cannot take the fence back.
    assert!(matches!(store.fence(6).await, Err(StoreError::Deposed { .. })));
    store.commit(Some(7), &[line(2_002)]).await.unwrap();
    let at: Vec<i64> = store
        .events(DEFAULT, i.id)
        .await
        .unwrap()
        .iter()
        .map(|e| e.at)
        .collect();
    assert_eq!(at, [1_000, 2_000, 2_002]);
}

/// A request forwarded to the routers' leader is recorded in the commit that carries it out, and
/// not by one that is refused; recorded twice it changes nothing; old records are forgotten.
async fn a_forwarded_request_is_recorded_with_what_it_did(store: DynStore) {
    let fixture = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let line = Write::Log {
        account: DEFAULT,
        id: i.id,
        kind: "call.held".into(),
        data: json!({}),
        at: 2_000,
    };
    let forwarded = |id: u64, at| Write::Forwarded {
        node: "node-b".into(),
        id,
        at,
    };
    store.fence(5).await.unwrap();
    let done = store
        .commit(Some(5), &[line.clone(), forwarded(1 << 61, 3_000)])
        .await
        .unwrap();
    assert_eq!(done.len(), 2);
    assert!(store.forwarded("node-b", 1 << 61).await.unwrap());
    assert!(!store.forwarded("node-a", 1 << 61).await.unwrap());
    store.commit(Some(5), &[forwarded(1 << 61, 3_001)]).await.unwrap();
    store.fence(7).await.unwrap();
    assert!(store.commit(Some(5), &[line, forwarded(2, 4_000)]).await.is_err());
    assert!(!store.forwarded("node-b", 2).await.unwrap());
    assert_eq!(store.prune_forwarded(3_000).await.unwrap(), 0);
    assert_eq!(store.prune_forwarded(3_001).await.unwrap(), 1);
    assert!(!store.forwarded("node-b", 1 << 61).await.unwrap());
}

// --- channels (email) ---

fn mail(interaction: InteractionId, external: &str, body: &str) -> super::NewChannelMessage {
    super::NewChannelMessage {
        opening: vec![],
        message: chat(interaction, Sender::Customer, external, body),
        entry_point: "mailbox:one".into(),
        external_id: Some(external.into()),
        details: json!({"subject": "Order 1001", "from": {"email": "li.wei@example.com"}}),
        attachments: vec![super::NewAttachment {
            filename: "发票.pdf".into(),
            content_type: "application/pdf".into(),
            size: 3,
            sha256: "ab".repeat(32),
            content_id: None,
        }],
        outbound: None,
        fetch_media: false,
    }
}

async fn channel_messages_are_stored_once_and_thread(store: DynStore) {
    let site = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let (first, created) = store
        .append_channel_message(DEFAULT, mail(i.id, "a@mail.example", "hello"), 10)
        .await
        .unwrap();
    assert!(created);
    let parts = first.channel.clone().unwrap();
    assert_eq!(parts.external_id.as_deref(), Some("a@mail.example"));
    assert_eq!(parts.attachments[0].filename, "发票.pdf");
    // The same mail fetched again, even into another interaction: the stored one, unchanged.
    let other = arrive(&store, DEFAULT, &site, 2).await;
    let (again, created) = store
        .append_channel_message(DEFAULT, mail(other.id, "a@mail.example", "hello again"), 20)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again, first);
    assert!(store.messages(DEFAULT, other.id, 0).await.unwrap().is_empty());
    // Threading: by any quoted id, in the order given; only within the entry point and account.
    let quoted = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        store
            .thread_of(DEFAULT, "mailbox:one", &quoted(&["unknown@x", "a@mail.example"]))
            .await
            .unwrap(),
        Some(i.id)
    );
    assert_eq!(
        store
            .thread_of(DEFAULT, "mailbox:two", &quoted(&["a@mail.example"]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .thread_of(OTHER, "mailbox:one", &quoted(&["a@mail.example"]))
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .has_external(DEFAULT, "mailbox:one", "a@mail.example")
            .await
            .unwrap()
    );
    // A chat line and a mail in one interaction: each read back with what it has.
    store
        .append_message(DEFAULT, chat(i.id, Sender::Customer, "c1", "a chat line"), 30)
        .await
        .unwrap();
    let all = store.messages(DEFAULT, i.id, 0).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].channel, first.channel);
    assert_eq!(all[1].channel, None);
    let file = store.attachment(DEFAULT, parts.attachments[0].id).await.unwrap();
    assert_eq!((file.interaction_id, file.sha256.len()), (i.id, 64));
    not_found(store.attachment(OTHER, parts.attachments[0].id).await);
}

/// The same mail taken in by two fetches at once (and other mails beside it, as in one group
/// commit): stored once, and both hear of that one message.
async fn a_mail_delivered_twice_at_once_is_stored_once(store: DynStore) {
    let site = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let appends = (0..8).map(|n| {
        let store = store.clone();
        let external = if n % 2 == 0 {
            "twice@mail.example".to_owned()
        } else {
            format!("m{n}@mail.example")
        };
        async move {
            store
                .append_channel_message(DEFAULT, mail(i.id, &external, "hello"), 10 + n)
                .await
                .unwrap()
        }
    });
    let results = futures_util::future::join_all(appends).await;
    let twice: Vec<&(crate::domain::Message, bool)> = results.iter().step_by(2).collect();
    assert_eq!(twice.iter().filter(|(_, created)| *created).count(), 1);
    assert!(
        twice
            .iter()
            .all(|(m, _)| m.id == twice[0].0.id && m.channel.is_some())
    );
    assert_eq!(store.messages(DEFAULT, i.id, 0).await.unwrap().len(), 5);
}

async fn a_new_conversation_and_its_first_mail_commit_together(store: DynStore) {
    let (q, c) = setup(&store, DEFAULT).await;
    let open = |at| {
        NewInteraction {
            customer_id: c.id,
            channel: Channel::Email,
            queue_id: q.id,
            priority: 0,
            entry_point: "mailbox:one".into(),
            offline: false,
            arrived_at: at,
        }
        .queued()
    };
    let i = open(1);
    let mut m = mail(i.id, "first@mail.example", "hi");
    m.opening = vec![Write::Open {
        account: DEFAULT,
        interaction: i.clone(),
    }];
    store.append_channel_message(DEFAULT, m, 1).await.unwrap();
    assert_eq!(
        store.interaction(DEFAULT, i.id).await.unwrap().state,
        InteractionState::Queued
    );
    // The same mail again with a new interaction to open: nothing is opened.
    let j = open(2);
    let mut m = mail(j.id, "first@mail.example", "hi");
    m.opening = vec![Write::Open {
        account: DEFAULT,
        interaction: j.clone(),
    }];
    let (stored, created) = store.append_channel_message(DEFAULT, m, 2).await.unwrap();
    assert!(!created);
    assert_eq!(stored.interaction_id, i.id);
    not_found(store.interaction(DEFAULT, j.id).await);
    // Filed on arrival: closed in the same commit, its log says why.
    let k = open(3);
    let mut m = mail(k.id, "auto@mail.example", "I am out of office");
    let filed = TransitionDetails {
        data: json!({"reason": "auto-submitted: auto-replied"}),
        ..Default::default()
    };
    m.opening = vec![
        Write::Open {
            account: DEFAULT,
            interaction: k.clone(),
        },
        Write::Transition {
            account: DEFAULT,
            id: k.id,
            event: InteractionEvent::Filed,
            details: filed,
            at: 3,
        },
    ];
    store.append_channel_message(DEFAULT, m, 3).await.unwrap();
    assert_eq!(
        store.interaction(DEFAULT, k.id).await.unwrap().state,
        InteractionState::Closed
    );
    let log: Vec<_> = store
        .events(DEFAULT, k.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(log, ["interaction.queued", "interaction.filed"]);
    assert!(
        !store
            .waiting_interactions()
            .await
            .unwrap()
            .iter()
            .any(|(_, w)| w.id == k.id)
    );
}

async fn the_outbox_claims_retries_and_records_delivery(store: DynStore) {
    use super::DeliveryUpdate;
    use crate::domain::DeliveryState;
    let site = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let mut reply = mail(i.id, "unused", "Thanks, it ships today.");
    reply.message.sender = Sender::Agent;
    reply.external_id = None;
    reply.attachments = vec![];
    reply.outbound = Some(json!({"to": ["li.wei@example.com"], "subject": "Order 1001"}));
    let (queued, _) = store.append_channel_message(DEFAULT, reply, 100).await.unwrap();
    assert_eq!(
        queued.channel.as_ref().unwrap().delivery,
        Some(DeliveryState::Queued)
    );
    assert!(
        store
            .claim_outbox("mailbox:", 99, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due yet"
    );
    assert!(
        store
            .claim_outbox("inbox:", 100, 1_000, 10)
            .await
            .unwrap()
            .is_empty(),
        "another channel's sender leaves it"
    );
    let claimed = store.claim_outbox("mailbox:", 100, 1_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].payload["to"][0], "li.wei@example.com");
    assert_eq!(claimed[0].message.id, queued.id);
    // Claimed: another sender sees nothing until the claim runs out.
    assert!(
        store
            .claim_outbox("mailbox:", 500, 2_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = DeliveryUpdate::Retry {
        attempts: 1,
        next_at: 5_000,
        reason: "451 try later".into(),
    };
    let m = store.record_delivery(DEFAULT, queued.id, retry).await.unwrap();
    assert_eq!(
        m.channel.as_ref().unwrap().delivery_error.as_deref(),
        Some("451 try later")
    );
    assert!(
        store
            .claim_outbox("mailbox:", 4_999, 9_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_outbox("mailbox:", 5_000, 9_000, 10).await.unwrap();
    assert_eq!(again[0].attempts, 1);
    let sent = DeliveryUpdate::Sent {
        external_id: "pb.reply@shop.example".into(),
    };
    let m = store.record_delivery(DEFAULT, queued.id, sent).await.unwrap();
    let parts = m.channel.unwrap();
    assert_eq!(parts.delivery, Some(DeliveryState::Sent));
    assert_eq!(parts.external_id.as_deref(), Some("pb.reply@shop.example"));
    assert!(
        store
            .claim_outbox("mailbox:", i64::MAX, i64::MAX, 10)
            .await
            .unwrap()
            .is_empty(),
        "sent: gone"
    );
    // A customer's answer quoting our reply threads into the same interaction.
    assert_eq!(
        store
            .thread_of(DEFAULT, "mailbox:one", &["pb.reply@shop.example".to_string()])
            .await
            .unwrap(),
        Some(i.id)
    );
    // A platform's reports move the state forward only, and name the message by its id there.
    let report = |state, error: Option<&str>| {
        let store = store.clone();
        let error = error.map(str::to_owned);
        async move {
            store
                .record_report(DEFAULT, "mailbox:one", "pb.reply@shop.example", state, error)
                .await
                .unwrap()
                .map(|m| m.channel.unwrap().delivery)
        }
    };
    assert_eq!(
        report(DeliveryState::Read, None).await,
        Some(Some(DeliveryState::Read))
    );
    assert_eq!(
        report(DeliveryState::Delivered, None).await,
        None,
        "late: ignored"
    );
    assert_eq!(
        store
            .record_report(DEFAULT, "mailbox:one", "unknown", DeliveryState::Read, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .record_report(
                OTHER,
                "mailbox:one",
                "pb.reply@shop.example",
                DeliveryState::Failed,
                None
            )
            .await
            .unwrap(),
        None,
        "another account's"
    );
}

async fn inboxes_and_open_conversations(store: DynStore) {
    use super::{Inbox, InboxSecrets};
    use crate::domain::InboxId;
    let site = setup(&store, DEFAULT).await;
    let inbox = Inbox {
        id: InboxId::new(),
        platform: "telegram".into(),
        name: "Shop bot".into(),
        queue_id: site.0.id,
        settings: json!({"api_base": "https://api.telegram.org"}),
        created_at: 5,
    };
    let sealed = InboxSecrets {
        account: DEFAULT,
        inbox: inbox.clone(),
        secrets: vec![1, 2, 3],
    };
    assert_eq!(store.create_inbox(DEFAULT, sealed).await.unwrap(), inbox);
    assert_eq!(store.inboxes(DEFAULT).await.unwrap(), vec![inbox.clone()]);
    assert!(store.inboxes(OTHER).await.unwrap().is_empty());
    let found = store.inbox(inbox.id).await.unwrap();
    assert_eq!(
        (found.account, found.inbox, found.secrets),
        (DEFAULT, inbox.clone(), vec![1, 2, 3])
    );
    not_found(store.delete_inbox(OTHER, inbox.id).await);
    // A customer's open conversation on an entry point; none once it is over.
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let entry = i.entry_point.clone();
    assert_eq!(
        store
            .open_conversation(DEFAULT, &entry, i.customer_id)
            .await
            .unwrap(),
        Some(i.id)
    );
    assert_eq!(
        store
            .open_conversation(DEFAULT, "inbox:other", i.customer_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .open_conversation(OTHER, &entry, i.customer_id)
            .await
            .unwrap(),
        None
    );
    store.delete_inbox(DEFAULT, inbox.id).await.unwrap();
    not_found(store.inbox(inbox.id).await.map(|_| ()));
}

/// `known_contact`: a customer known by every identity given, with whether the message is
/// stored and their open conversation on the entry point; nothing known when resolving would
/// change something.
async fn a_known_contact_is_read_at_once(store: DynStore) {
    let site = setup(&store, DEFAULT).await;
    let li = &site.1;
    let phone = "+8613800138000";
    let both = ids(&[("email", "Li.Wei@example.com"), ("phone", phone)]);
    store.resolve_customer(DEFAULT, &both, None).await.unwrap();
    let li = store.customer(DEFAULT, li.id).await.unwrap();
    let entry = "inbox:one";
    let known = |identities: Vec<(String, String)>, external: &'static str, open: bool| {
        let store = store.clone();
        async move {
            store
                .known_contact(DEFAULT, entry, &identities, Some("Someone Else"), external, open)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let nothing = super::Known {
        customer: None,
        stored: false,
        open: None,
    };
    // Known, with no conversation open yet.
    let found = known(both.clone(), "m1", true).await;
    assert_eq!(
        (found.customer.as_ref(), found.stored, found.open.as_ref()),
        (Some(&li), false, None)
    );
    // Their open conversation on this entry point, the newest; none once it is over.
    let open = |at| NewInteraction {
        customer_id: li.id,
        channel: Channel::Messaging,
        queue_id: site.0.id,
        priority: 0,
        entry_point: entry.into(),
        offline: false,
        arrived_at: at,
    };
    let older = store.create_interaction(DEFAULT, open(1)).await.unwrap();
    let newer = store.create_interaction(DEFAULT, open(2)).await.unwrap();
    arrive(&store, DEFAULT, &site, 3).await;
    assert_eq!(known(both.clone(), "m1", true).await.open, Some(newer.clone()));
    assert_eq!(known(both.clone(), "m1", false).await.open, None);
    step(&store, DEFAULT, newer.id, InteractionEvent::Abandoned, None, 4).await;
    assert_eq!(
        known(both.clone(), "m1", true).await.open.map(|i| i.id),
        Some(older.id)
    );
    // The message once stored, by its external id in this entry point only.
    let mut m = mail(older.id, "m1", "hello");
    m.entry_point = entry.into();
    store.append_channel_message(DEFAULT, m, 5).await.unwrap();
    assert!(known(both.clone(), "m1", true).await.stored);
    let elsewhere = store
        .known_contact(DEFAULT, "inbox:two", &both, None, "m1", true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (elsewhere.customer, elsewhere.stored, elsewhere.open),
        (Some(li.clone()), false, None)
    );
    // Resolving would attach an identity, or two customers share them: not known here.
    let visitor = ids(&[("visitor", "v-9")]);
    store.resolve_customer(DEFAULT, &visitor, None).await.unwrap();
    for identities in [
        ids(&[("email", "li.wei@example.com"), ("visitor", "v-new")]),
        ids(&[("email", "li.wei@example.com"), ("visitor", "v-9")]),
        ids(&[("visitor", "v-new")]),
    ] {
        assert_eq!(known(identities, "m2", true).await, nothing);
    }
    // Known in one account only.
    let theirs = store
        .known_contact(OTHER, entry, &both, None, "m1", true)
        .await
        .unwrap();
    assert_eq!(theirs, Some(nothing));
    // A customer whose name was cleared takes the next name given: that needs the writer.
    let blank = CustomerPatch {
        name: Some(String::new()),
        ..Default::default()
    };
    store.update_customer(DEFAULT, li.id, blank).await.unwrap();
    assert_eq!(known(both.clone(), "m1", true).await.customer, None);
    // More identities than one read takes: the caller resolves them the usual way.
    let many = ids(&[
        ("email", "a@x"),
        ("email", "b@x"),
        ("email", "c@x"),
        ("email", "d@x"),
        ("email", "e@x"),
    ]);
    assert_eq!(
        store
            .known_contact(DEFAULT, entry, &many, None, "m1", true)
            .await
            .unwrap(),
        None
    );
}

/// Many conversations' first mails committed at once (the group commit takes them in a few
/// statements): each opens its interaction with its log line, in arrival order; a mail for an
/// unknown interaction fails alone, and a mail filed on arrival commits beside them.
async fn first_mails_of_many_conversations_commit_together(store: DynStore) {
    let (q, c) = setup(&store, DEFAULT).await;
    let opening = |n: i64| {
        let i = NewInteraction {
            customer_id: c.id,
            channel: Channel::Email,
            queue_id: q.id,
            priority: 0,
            entry_point: "mailbox:one".into(),
            offline: false,
            arrived_at: 100 + n,
        }
        .queued();
        let mut m = mail(i.id, &format!("first{n}@mail.example"), "hi");
        m.opening = vec![Write::Open {
            account: DEFAULT,
            interaction: i.clone(),
        }];
        if n % 10 == 9 {
            m.opening.push(Write::Transition {
                account: DEFAULT,
                id: i.id,
                event: InteractionEvent::Filed,
                details: TransitionDetails::default(),
                at: 100 + n,
            });
        }
        if n % 10 == 4 {
            m.opening.clear();
        }
        (i, m)
    };
    let sends = (0..40).map(|n| {
        let store = store.clone();
        let (i, m) = opening(n);
        tokio::spawn(async move { (n, i, store.append_channel_message(DEFAULT, m, 100 + n).await) })
    });
    let mut opened = vec![];
    for sent in futures_util::future::join_all(sends).await {
        let (n, i, result) = sent.unwrap();
        if n % 10 == 4 {
            not_found(result);
            not_found(store.interaction(DEFAULT, i.id).await);
            continue;
        }
        let (m, created) = result.unwrap();
        assert!(created);
        assert_eq!((m.interaction_id, m.seq), (i.id, 1));
        assert_eq!(m.channel.as_ref().unwrap().attachments.len(), 1);
        let log: Vec<_> = store
            .events(DEFAULT, i.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.data))
            .collect();
        let queued = json!({
            "queue_id": q.id, "channel": "email", "priority": 0, "entry_point": "mailbox:one", "offline": false,
        });
        assert_eq!(log[0], ("interaction.queued".to_string(), queued));
        assert_eq!(log.len(), if n % 10 == 9 { 2 } else { 1 });
        assert_eq!(store.messages(DEFAULT, i.id, 0).await.unwrap(), vec![m]);
        if n % 10 != 9 {
            opened.push(i);
        }
    }
    let waiting: Vec<Interaction> = store
        .waiting_interactions()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    opened.sort_by_key(|i| i.arrived_at);
    assert_eq!(waiting, opened);
}

async fn mailboxes_and_their_sync_and_failures(store: DynStore) {
    use super::{InboundFailure, MailServer, Mailbox, MailboxSecrets};
    use crate::domain::MailboxId;
    let (q, _) = setup(&store, DEFAULT).await;
    let server = |host: &str| MailServer {
        host: host.into(),
        port: 993,
        security: "tls".into(),
        user: "support".into(),
    };
    let mailbox = Mailbox {
        id: MailboxId::new(),
        address: "support@shop.example".into(),
        display_name: "Shop support".into(),
        queue_id: q.id,
        imap: server("imap.shop.example"),
        folder: "INBOX".into(),
        done_folder: None,
        smtp: server("smtp.shop.example"),
        signature: Some("The shop".into()),
        created_at: 1,
    };
    let secrets = MailboxSecrets {
        account: DEFAULT,
        mailbox: mailbox.clone(),
        imap_password: vec![1, 2, 3],
        smtp_password: vec![4, 5, 6],
    };
    store.create_mailbox(DEFAULT, secrets.clone()).await.unwrap();
    conflict(
        store
            .create_mailbox(
                DEFAULT,
                MailboxSecrets {
                    mailbox: Mailbox {
                        id: MailboxId::new(),
                        ..mailbox.clone()
                    },
                    ..secrets.clone()
                },
            )
            .await,
        "mailboxes_account_id_address_key",
    );
    assert_eq!(
        store.mailboxes(DEFAULT).await.unwrap(),
        std::slice::from_ref(&mailbox)
    );
    assert!(store.mailboxes(OTHER).await.unwrap().is_empty());
    let mut changed = mailbox.clone();
    changed.folder = "Support".into();
    store
        .update_mailbox(DEFAULT, changed.clone(), None, Some(vec![9]))
        .await
        .unwrap();
    let all = store.mailbox_secrets().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].mailbox, changed);
    assert_eq!(
        (all[0].imap_password.clone(), all[0].smtp_password.clone()),
        (vec![1, 2, 3], vec![9])
    );
    not_found(store.update_mailbox(OTHER, changed.clone(), None, None).await);

    assert_eq!(store.mailbox_sync(mailbox.id).await.unwrap(), None);
    store.set_mailbox_sync(mailbox.id, 7, 40).await.unwrap();
    store.set_mailbox_sync(mailbox.id, 7, 42).await.unwrap();
    assert_eq!(store.mailbox_sync(mailbox.id).await.unwrap(), Some((7, 42)));

    let failure = InboundFailure {
        id: "f1".into(),
        entry_point: mailbox.entry_point(),
        reference: "uid 42 in INBOX".into(),
        reason: "the mail has no From address".into(),
        size: 512,
        at: 5,
    };
    store.record_inbound_failure(DEFAULT, &failure).await.unwrap();
    assert_eq!(
        store
            .inbound_failures(DEFAULT, &mailbox.entry_point(), 10)
            .await
            .unwrap(),
        [failure]
    );
    assert!(
        store
            .inbound_failures(OTHER, &mailbox.entry_point(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    not_found(store.delete_mailbox(OTHER, mailbox.id).await);
    store.delete_mailbox(DEFAULT, mailbox.id).await.unwrap();
    assert!(store.mailboxes(DEFAULT).await.unwrap().is_empty());
    assert_eq!(store.mailbox_sync(mailbox.id).await.unwrap(), None);
}

async fn uploads_belong_to_their_agent(store: DynStore) {
    use super::Upload;
    use crate::domain::UploadId;
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@x.example"))
        .await
        .unwrap();
    let upload = Upload {
        id: UploadId::new(),
        agent_id: bob.id,
        filename: "报价单 2026.pdf".into(),
        content_type: "application/pdf".into(),
        size: 12,
        sha256: "cd".repeat(32),
        created_at: 7,
    };
    store.create_upload(DEFAULT, &upload).await.unwrap();
    assert_eq!(store.upload(DEFAULT, upload.id).await.unwrap(), upload);
    // Another account cannot see it, and an id that was never handed out finds nothing.
    not_found(store.upload(OTHER, upload.id).await);
    not_found(store.upload(DEFAULT, UploadId::new()).await);
    // An upload names an agent of its account.
    let stranger = Upload {
        id: UploadId::new(),
        agent_id: AgentId::new(),
        ..upload.clone()
    };
    assert!(store.create_upload(DEFAULT, &stranger).await.is_err());
}

async fn an_agents_message_is_found_by_its_client_id(store: DynStore) {
    let site = setup(&store, DEFAULT).await;
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@x.example"))
        .await
        .unwrap();
    let dana = store
        .create_agent(DEFAULT, new_agent("dana@x.example"))
        .await
        .unwrap();
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let mut new = mail(i.id, "unused", "A new mail to Li Wei");
    new.message.sender = Sender::Agent;
    new.message.agent_id = Some(bob.id);
    new.message.client_id = "new-1".into();
    new.external_id = None;
    new.outbound = Some(json!({"to": ["li.wei@example.com"]}));
    let (sent, _) = store.append_channel_message(DEFAULT, new, 10).await.unwrap();
    let found = store
        .agent_message(DEFAULT, bob.id, "new-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, sent);
    assert_eq!(found.channel.unwrap().attachments.len(), 1);
    // Only that agent's, only in that account; a customer's message with the same id is not it.
    assert_eq!(
        store.agent_message(DEFAULT, dana.id, "new-1").await.unwrap(),
        None
    );
    assert_eq!(store.agent_message(OTHER, bob.id, "new-1").await.unwrap(), None);
    store
        .append_message(DEFAULT, chat(i.id, Sender::Customer, "c-9", "hi"), 20)
        .await
        .unwrap();
    assert_eq!(store.agent_message(DEFAULT, bob.id, "c-9").await.unwrap(), None);
}

// --- messaging apps' media, and customers merged ---

/// A message naming files queues their fetch in its own commit: claimed once, retried with its
/// reason on the message, then each file attached or failed with its reason, and never claimed
/// again. A message without files is never claimed.
async fn media_to_fetch_is_claimed_retried_and_attached(store: DynStore) {
    use super::{MediaOutcome, MediaUpdate, NewAttachment};
    let site = setup(&store, DEFAULT).await;
    let i = arrive(&store, DEFAULT, &site, 1).await;
    let photo = |external: &str, fetch_media| super::NewChannelMessage {
        entry_point: "inbox:shop".into(),
        details: json!({"kind": "image", "media": [
            {"kind": "image", "id": "m1", "content_type": "image/jpeg"},
            {"kind": "document", "id": "m2"},
        ]}),
        attachments: vec![],
        fetch_media,
        ..mail(i.id, external, "")
    };
    let (m, _) = store
        .append_channel_message(DEFAULT, photo("wamid.1", true), 1_000)
        .await
        .unwrap();
    store
        .append_channel_message(DEFAULT, photo("wamid.2", false), 1_000)
        .await
        .unwrap();
    // Redelivered: stored once, fetched once.
    store
        .append_channel_message(DEFAULT, photo("wamid.1", true), 1_001)
        .await
        .unwrap();
    assert!(
        store.claim_media(999, 10_000, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    let due = store.claim_media(1_000, 10_000, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].account, due[0].message.id, due[0].attempts),
        (DEFAULT, m.id, 0)
    );
    assert_eq!(due[0].entry_point, "inbox:shop");
    assert_eq!(
        due[0].message.channel.as_ref().unwrap().details["media"][0]["id"],
        "m1"
    );
    assert!(
        store.claim_media(5_000, 20_000, 10).await.unwrap().is_empty(),
        "claimed"
    );

    let retry = MediaUpdate::Retry {
        attempts: 1,
        next_at: 12_000,
        reason: "HTTP 503".into(),
    };
    let m = store.record_media(DEFAULT, m.id, retry).await.unwrap();
    assert_eq!(
        m.channel.as_ref().unwrap().details["media_retry"],
        json!({"attempts": 1, "reason": "HTTP 503"})
    );
    assert!(store.claim_media(11_999, 30_000, 10).await.unwrap().is_empty());
    let due = store.claim_media(12_000, 30_000, 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);

    let kept = NewAttachment {
        filename: "image.jpg".into(),
        content_type: "image/jpeg".into(),
        size: 4,
        sha256: "cd".repeat(32),
        content_id: None,
    };
    let done = MediaUpdate::Done(vec![
        MediaOutcome::Kept(kept),
        MediaOutcome::Failed {
            reason: "over the limit".into(),
        },
    ]);
    not_found(store.record_media(OTHER, m.id, done.clone()).await.map(|_| ()));
    let m = store.record_media(DEFAULT, m.id, done).await.unwrap();
    let parts = m.channel.as_ref().unwrap();
    assert_eq!(parts.attachments.len(), 1);
    let file = &parts.attachments[0];
    assert_eq!(
        (file.filename.as_str(), file.content_type.as_str(), file.size),
        ("image.jpg", "image/jpeg", 4)
    );
    assert_eq!(parts.details["media"][0]["attachment_id"], file.id.to_string());
    assert_eq!(parts.details["media"][1]["error"], "over the limit");
    assert!(parts.details.get("media_retry").is_none());
    let stored = store.attachment(DEFAULT, file.id).await.unwrap();
    assert_eq!((stored.interaction_id, stored.sha256), (i.id, "cd".repeat(32)));
    assert!(
        store
            .claim_media(i64::MAX / 2, i64::MAX / 2, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // Read back as the timeline reads it.
    let read = store.messages(DEFAULT, i.id, 0).await.unwrap();
    assert_eq!(read.iter().find(|r| r.id == m.id).unwrap(), &m);
}

/// Merging one customer into another: identities (so the next contact resolves to the one
/// kept), interactions and notes move, the kept one takes the phone it lacked, the merged one is
/// gone, and the log line commits with it. Never across accounts, never into itself.
async fn a_customer_merged_into_another_leaves_them_one(store: DynStore) {
    let site = setup(&store, DEFAULT).await;
    let li = site.1.clone();
    let wa = store
        .resolve_customer(
            DEFAULT,
            &ids(&[("whatsapp", "8613800138000"), ("phone", "+8613800138000")]),
            Some("Wei"),
        )
        .await
        .unwrap();
    let i = arrive(&store, DEFAULT, &(site.0.clone(), wa.clone()), 1).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap();
    store
        .add_note(DEFAULT, wa.id, Some(i.id), agent.id, "asked about 1001")
        .await
        .unwrap();
    // Each has values of the account's own fields; the kept one's win where both have one.
    let fields = |v: serde_json::Value| CustomerPatch {
        fields: v.as_object().cloned(),
        ..Default::default()
    };
    store
        .update_customer(DEFAULT, wa.id, fields(json!({"plan": "Free", "seats": 3})))
        .await
        .unwrap();
    store
        .update_customer(DEFAULT, li.id, fields(json!({"plan": "Pro"})))
        .await
        .unwrap();
    let other = setup(&store, OTHER).await.1;
    not_found(store.merge_customer(DEFAULT, wa.id, other.id, &[]).await);
    conflict(
        store.merge_customer(DEFAULT, wa.id, wa.id, &[]).await,
        "a customer merged into itself",
    );
    let log = Write::Log {
        account: DEFAULT,
        id: i.id,
        kind: "customer.linked".into(),
        data: json!({"agent_id": agent.id}),
        at: 5,
    };
    let kept = store.merge_customer(DEFAULT, wa.id, li.id, &[log]).await.unwrap();
    assert_eq!(kept.id, li.id);
    assert_eq!(kept.email.as_deref(), Some("li.wei@example.com"));
    assert_eq!(kept.phone.as_deref(), Some("+8613800138000"));
    assert_eq!(
        serde_json::to_value(&kept.fields).unwrap(),
        json!({"plan": "Pro", "seats": 3})
    );
    assert_eq!(store.customer(DEFAULT, li.id).await.unwrap(), kept);
    not_found(store.customer(DEFAULT, wa.id).await);
    let again = store
        .resolve_customer(DEFAULT, &ids(&[("whatsapp", "8613800138000")]), None)
        .await
        .unwrap();
    assert_eq!(again.id, li.id);
    assert_eq!(store.interaction(DEFAULT, i.id).await.unwrap().customer_id, li.id);
    assert_eq!(
        store.customer_interactions(DEFAULT, li.id, 10).await.unwrap()[0].id,
        i.id
    );
    assert_eq!(
        store.notes(DEFAULT, li.id).await.unwrap()[0].body,
        "asked about 1001"
    );
    let events = store.events(DEFAULT, i.id).await.unwrap();
    let linked = events.iter().find(|e| e.kind == "customer.linked").unwrap();
    assert_eq!(linked.data["agent_id"], json!(agent.id));
    // The other account's customer is untouched.
    assert_eq!(store.customer(OTHER, other.id).await.unwrap(), other);
}

// --- customer relationships (issue 15) ---

async fn agents_named(store: &DynStore, account: AccountId, names: &[&str]) -> Vec<Agent> {
    let mut agents = vec![];
    for name in names {
        let email = format!("{name}@a{}.example.com", account.0.as_u128());
        agents.push(store.create_agent(account, new_agent(&email)).await.unwrap());
    }
    agents
}

fn by_hub(reason: &str) -> OwnerChangeBy {
    OwnerChangeBy {
        agent: None,
        reason: reason.into(),
        rule: Some(2),
    }
}

fn owner_move(customer: CustomerId, from: Option<AgentId>, to: Option<AgentId>) -> OwnerMove {
    OwnerMove { customer, from, to }
}

async fn follow_up_for(store: &DynStore, customer: CustomerId, owner: AgentId, due_at: i64) -> FollowUp {
    let new = NewFollowUp {
        customer,
        owner,
        kind: FollowUpKind::Callback,
        title: "call back about the refund".into(),
        due_at,
        created_by: owner,
    };
    store.create_follow_up(DEFAULT, new, 1).await.unwrap()
}

async fn owners_move_with_their_follow_ups_and_every_move_is_logged(store: DynStore) {
    let [ann, bob] = <[Agent; 2]>::try_from(agents_named(&store, DEFAULT, &["ann", "bob"]).await).unwrap();
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    assert_eq!((li.owner_id, li.owner_name.as_deref()), (None, None));
    let moved = store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, None, Some(ann.id))],
            Lending::None,
            &by_hub("rules"),
            10,
        )
        .await
        .unwrap();
    assert_eq!(moved, [li.id]);
    let owned = store.customer(DEFAULT, li.id).await.unwrap();
    assert_eq!(
        (owned.owner_id, owned.owner_name.as_deref()),
        (Some(ann.id), Some("ann"))
    );
    assert_eq!(
        store.owned_customers(DEFAULT, ann.id).await.unwrap(),
        std::slice::from_ref(&owned)
    );
    // Someone changed it meanwhile: a move from an owner it no longer has is skipped.
    let stale = store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, None, Some(bob.id))],
            Lending::None,
            &by_hub("late"),
            11,
        )
        .await
        .unwrap();
    assert!(stale.is_empty());
    // An owner of another account is not found, and nothing moves.
    let stranger = agents_named(&store, OTHER, &["eve"]).await.remove(0);
    not_found(
        store
            .move_owners(
                DEFAULT,
                &[owner_move(li.id, Some(ann.id), Some(stranger.id))],
                Lending::None,
                &by_hub("x"),
                12,
            )
            .await,
    );
    // Ann's open follow-up on Li moves with Li; a closed one and Bob's own stay.
    let open = follow_up_for(&store, li.id, ann.id, 1_000).await;
    let closed = follow_up_for(&store, li.id, ann.id, 2_000).await;
    store
        .close_follow_up(DEFAULT, closed.id, true, (ann.id, "ann"), 20)
        .await
        .unwrap();
    let bobs = follow_up_for(&store, li.id, bob.id, 3_000).await;
    let by = OwnerChangeBy {
        agent: Some((bob.id, "bob".into())),
        reason: "ann moved to another team".into(),
        rule: None,
    };
    store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, Some(ann.id), Some(bob.id))],
            Lending::None,
            &by,
            30,
        )
        .await
        .unwrap();
    let owner = |f: &FollowUp| f.owner_id;
    assert_eq!(owner(&store.follow_up(DEFAULT, open.id).await.unwrap()), bob.id);
    assert_eq!(owner(&store.follow_up(DEFAULT, closed.id).await.unwrap()), ann.id);
    assert_eq!(owner(&store.follow_up(DEFAULT, bobs.id).await.unwrap()), bob.id);
    assert_eq!(
        store.owner_loads(DEFAULT, &[ann.id, bob.id]).await.unwrap(),
        [(ann.id, 0), (bob.id, 1)].into()
    );
    assert_eq!(
        store.holdings(DEFAULT, ann.id).await.unwrap(),
        Holdings::default(),
        "ann holds nothing any more"
    );
    assert_eq!(
        store.holdings(DEFAULT, bob.id).await.unwrap(),
        Holdings {
            customers: 1,
            lent_out: 0,
            follow_ups: 2,
            opportunities: 0,
        }
    );
    // Every move is on Li's log, with who, why, from and to by name.
    let events = store.customer_events(DEFAULT, li.id).await.unwrap();
    let moves: Vec<_> = events
        .iter()
        .filter(|e| e.kind == "customer.owner_changed")
        .collect();
    assert_eq!(moves.len(), 2);
    assert_eq!(moves[0].data["from"], serde_json::Value::Null);
    assert_eq!(moves[0].data["to"], json!({"id": ann.id, "name": "ann"}));
    assert_eq!(moves[0].data["rule"], json!(2));
    assert_eq!(moves[1].data["from"]["name"], "ann");
    assert_eq!(moves[1].data["by"], json!({"id": bob.id, "name": "bob"}));
    assert_eq!(moves[1].data["reason"], "ann moved to another team");
    assert!(
        events
            .iter()
            .any(|e| e.kind == "follow_up.done" && e.data["by"]["name"] == "ann")
    );
    // A deactivated owner is an orphan, over the whole store, until their customers move.
    assert_eq!(store.orphans().await.unwrap(), (0, 0, 0));
    store
        .set_agent_deactivated(DEFAULT, bob.id, Some(40))
        .await
        .unwrap();
    assert_eq!(store.orphans().await.unwrap(), (1, 2, 0));
    // A customer merged into one without an owner brings theirs.
    let wa = customer(&store, DEFAULT, "wei@example.com", "Wei").await;
    store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, Some(bob.id), Some(ann.id))],
            Lending::None,
            &by_hub("bob left"),
            50,
        )
        .await
        .unwrap();
    let kept = store.merge_customer(DEFAULT, li.id, wa.id, &[]).await.unwrap();
    assert_eq!(kept.owner_id, Some(ann.id));
    assert_eq!(
        store.customer(DEFAULT, wa.id).await.unwrap().owner_id,
        Some(ann.id)
    );
    assert_eq!(
        store.customer_events(DEFAULT, wa.id).await.unwrap().len(),
        events.len() + 1
    );
    assert_eq!(store.customer_follow_ups(DEFAULT, wa.id).await.unwrap().len(), 3);
}

async fn a_leave_lends_customers_and_their_return_brings_them_back(store: DynStore) {
    let [ann, bob, cat] =
        <[Agent; 3]>::try_from(agents_named(&store, DEFAULT, &["ann", "bob", "cat"]).await).unwrap();
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    let mo = customer(&store, DEFAULT, "mo@example.com", "Mo").await;
    for c in [li.id, mo.id] {
        store
            .move_owners(
                DEFAULT,
                &[owner_move(c, None, Some(ann.id))],
                Lending::None,
                &by_hub("rules"),
                1,
            )
            .await
            .unwrap();
    }
    let lent_follow_up = follow_up_for(&store, li.id, ann.id, 1_000).await;
    let leave = Handover {
        id: HandoverId::new(),
        from_agent: ann.id,
        spec: json!({"to": [bob.id]}),
        reason: "holiday".into(),
        created_by: cat.id,
        created_at: 5,
        until: Some(100),
        returned_at: None,
        moved: 2,
    };
    store.create_handover(DEFAULT, &leave).await.unwrap();
    assert_eq!(store.handover(DEFAULT, leave.id).await.unwrap(), leave);
    assert_eq!(
        store.handovers(DEFAULT).await.unwrap(),
        std::slice::from_ref(&leave)
    );
    not_found(store.handover(OTHER, leave.id).await);
    let moves = [
        owner_move(li.id, Some(ann.id), Some(bob.id)),
        owner_move(mo.id, Some(ann.id), Some(bob.id)),
    ];
    store
        .move_owners(DEFAULT, &moves, Lending::Lend(leave.id), &by_hub("holiday"), 6)
        .await
        .unwrap();
    let lent = store.customer(DEFAULT, li.id).await.unwrap();
    assert_eq!((lent.owner_id, lent.home_owner_id), (Some(bob.id), Some(ann.id)));
    let f = store.follow_up(DEFAULT, lent_follow_up.id).await.unwrap();
    assert_eq!((f.owner_id, f.home_owner_id), (bob.id, Some(ann.id)));
    assert_eq!(
        store.holdings(DEFAULT, ann.id).await.unwrap(),
        Holdings {
            customers: 0,
            lent_out: 2,
            follow_ups: 1,
            opportunities: 0,
        }
    );
    // While away, a supervisor gives Mo to Cat for good: Mo stays with Cat after the leave.
    store
        .move_owners(
            DEFAULT,
            &[owner_move(mo.id, Some(bob.id), Some(cat.id))],
            Lending::None,
            &by_hub("x"),
            7,
        )
        .await
        .unwrap();
    // Bob schedules a follow-up on Li while covering: it goes home with Li.
    let covered = follow_up_for(&store, li.id, bob.id, 2_000).await;
    assert!(store.due_returns(99).await.unwrap().is_empty());
    assert_eq!(store.due_returns(100).await.unwrap(), [(DEFAULT, leave.id)]);
    assert_eq!(
        store.lent_customers(DEFAULT, leave.id).await.unwrap(),
        [(li.id, Some(bob.id), ann.id)]
    );
    assert!(store.finish_handover(DEFAULT, leave.id, 100).await.unwrap());
    assert!(
        !store.finish_handover(DEFAULT, leave.id, 101).await.unwrap(),
        "returned once"
    );
    assert!(store.due_returns(200).await.unwrap().is_empty());
    let back = [owner_move(li.id, Some(bob.id), Some(ann.id))];
    store
        .move_owners(
            DEFAULT,
            &back,
            Lending::Return(leave.id),
            &by_hub("back from leave"),
            100,
        )
        .await
        .unwrap();
    let home = store.customer(DEFAULT, li.id).await.unwrap();
    assert_eq!((home.owner_id, home.home_owner_id), (Some(ann.id), None));
    for id in [lent_follow_up.id, covered.id] {
        let f = store.follow_up(DEFAULT, id).await.unwrap();
        assert_eq!((f.owner_id, f.home_owner_id), (ann.id, None));
    }
    assert_eq!(
        store.customer(DEFAULT, mo.id).await.unwrap().owner_id,
        Some(cat.id)
    );
    assert!(store.lent_customers(DEFAULT, leave.id).await.unwrap().is_empty());
    assert_eq!(
        store.holdings(DEFAULT, ann.id).await.unwrap(),
        Holdings {
            customers: 1,
            lent_out: 0,
            follow_ups: 2,
            opportunities: 0,
        }
    );
}

fn deal(customer: CustomerId, owner: AgentId, stage: &str, amount: i64) -> NewOpportunity {
    NewOpportunity {
        customer,
        name: format!("deal {amount}"),
        amount,
        currency: "EUR".into(),
        stage: stage.into(),
        status: OpportunityStatus::Open,
        expected_close: Some("2027-03-31".into()),
        owner,
    }
}

async fn the_pipeline_keeps_stages_and_opportunities_and_logs_every_move(store: DynStore) {
    let [ann, bob] = <[Agent; 2]>::try_from(agents_named(&store, DEFAULT, &["ann", "bob"]).await).unwrap();
    // Settings: the defaults until an admin sets them, then theirs, per account.
    assert_eq!(
        store.pipeline_settings(DEFAULT).await.unwrap(),
        PipelineSettings::default()
    );
    let mut settings = PipelineSettings::default();
    settings.stages[1].checklist = vec!["Send the proposal".into(), "发报价".into()];
    settings.lifecycle_labels.insert("lead".into(), "Suspect".into());
    settings.pipeline_visibility = Visibility::Team;
    store.set_pipeline_settings(DEFAULT, &settings, 1).await.unwrap();
    assert_eq!(store.pipeline_settings(DEFAULT).await.unwrap(), settings);
    assert_eq!(
        store.pipeline_settings(OTHER).await.unwrap(),
        PipelineSettings::default()
    );

    // A lifecycle stage: set, logged once per change, read with the customer.
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    assert_eq!(li.stage, None);
    let set = |stage| store.set_customer_stage(DEFAULT, li.id, stage, (ann.id, "ann"), 5);
    assert_eq!(
        set(Some(Lifecycle::Prospect)).await.unwrap().stage,
        Some(Lifecycle::Prospect)
    );
    set(Some(Lifecycle::Prospect)).await.unwrap();
    assert_eq!(
        set(Some(Lifecycle::Customer)).await.unwrap().stage,
        Some(Lifecycle::Customer)
    );
    assert_eq!(
        store.customer(DEFAULT, li.id).await.unwrap().stage,
        Some(Lifecycle::Customer)
    );
    let changes: Vec<_> = store
        .customer_events(DEFAULT, li.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "customer.stage_changed")
        .map(|e| e.data)
        .collect();
    assert_eq!(
        changes,
        [
            json!({"from": null, "to": "prospect", "by": {"id": ann.id, "name": "ann"}}),
            json!({"from": "prospect", "to": "customer", "by": {"id": ann.id, "name": "ann"}}),
        ]
    );
    not_found(
        store
            .set_customer_stage(OTHER, li.id, None, (ann.id, "ann"), 6)
            .await,
    );

    // Opportunities: created with their customer's and owner's names, listed newest first.
    let first = store
        .create_opportunity(
            DEFAULT,
            deal(li.id, ann.id, "proposal", 125_000),
            (ann.id, "ann"),
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            first.customer_name.as_str(),
            first.owner_name.as_str(),
            first.amount
        ),
        ("Li Wei", "ann", 125_000)
    );
    assert_eq!(first.expected_close.as_deref(), Some("2027-03-31"));
    assert_eq!(first.status, OpportunityStatus::Open);
    let second = store
        .create_opportunity(
            DEFAULT,
            deal(li.id, bob.id, "qualification", 5_000),
            (ann.id, "ann"),
            11,
        )
        .await
        .unwrap();
    assert_eq!(store.opportunity(DEFAULT, first.id).await.unwrap(), first);
    let ids = |v: Vec<Opportunity>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.opportunities(DEFAULT, Some(li.id)).await.unwrap()),
        [second.id, first.id]
    );
    assert_eq!(ids(store.opportunities(DEFAULT, None).await.unwrap()).len(), 2);
    assert!(store.opportunities(OTHER, None).await.unwrap().is_empty());
    not_found(store.opportunity(OTHER, first.id).await);
    // Another account's customer or owner is not found.
    let stranger = agents_named(&store, OTHER, &["eve"]).await.remove(0);
    not_found(
        store
            .create_opportunity(
                DEFAULT,
                deal(li.id, stranger.id, "proposal", 1),
                (ann.id, "ann"),
                12,
            )
            .await,
    );

    // A move from the stage it is at; a stale one is a conflict and changes nothing.
    let mv = |from: &str, to: &str, status| StageMove {
        from: from.into(),
        to: to.into(),
        status,
    };
    let moved = store
        .move_opportunity(
            DEFAULT,
            first.id,
            &mv("proposal", "negotiation", OpportunityStatus::Open),
            (bob.id, "bob"),
            20,
        )
        .await
        .unwrap();
    assert_eq!((moved.stage.as_str(), moved.updated_at), ("negotiation", 20));
    conflict(
        store
            .move_opportunity(
                DEFAULT,
                first.id,
                &mv("proposal", "won", OpportunityStatus::Won),
                (bob.id, "bob"),
                21,
            )
            .await,
        "opportunities_stage",
    );
    let won = store
        .move_opportunity(
            DEFAULT,
            first.id,
            &mv("negotiation", "won", OpportunityStatus::Won),
            (bob.id, "bob"),
            22,
        )
        .await
        .unwrap();
    assert_eq!(won.status, OpportunityStatus::Won);
    let logged: Vec<(String, serde_json::Value)> = store
        .customer_events(DEFAULT, li.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind.starts_with("opportunity."))
        .map(|e| (e.kind, e.data))
        .collect();
    let kinds: Vec<&str> = logged.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opportunity.created",
            "opportunity.created",
            "opportunity.stage_changed",
            "opportunity.won"
        ]
    );
    assert_eq!(logged[0].1["owner"]["name"], "ann");
    assert_eq!(logged[2].1["from"], "proposal");
    assert_eq!(logged[2].1["to"], "negotiation");
    assert_eq!(logged[3].1["by"], json!({"id": bob.id, "name": "bob"}));
    assert_eq!(logged[3].1["amount"], 125_000);

    // A patch: checklist, amount, owner; an owner of another account is not found.
    let mut checked = std::collections::BTreeMap::new();
    checked.insert("proposal".to_string(), vec!["发报价".to_string()]);
    let patch = OpportunityPatch {
        amount: Some(99),
        currency: Some("CNY".into()),
        expected_close: Some(None),
        owner: Some(bob.id),
        checked: Some(checked.clone()),
        ..OpportunityPatch::default()
    };
    let patched = store
        .update_opportunity(DEFAULT, second.id, patch, 30)
        .await
        .unwrap();
    assert_eq!(
        (
            patched.amount,
            patched.currency.as_str(),
            patched.expected_close.as_deref()
        ),
        (99, "CNY", None)
    );
    assert_eq!((patched.owner_name.as_str(), &patched.checked), ("bob", &checked));
    let patch = OpportunityPatch {
        owner: Some(stranger.id),
        ..OpportunityPatch::default()
    };
    not_found(store.update_opportunity(DEFAULT, second.id, patch, 31).await);

    // Owners: a customer's open opportunities its owner had follow it; won ones stay.
    store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, None, Some(bob.id))],
            Lending::None,
            &by_hub("rules"),
            40,
        )
        .await
        .unwrap();
    let third = store
        .create_opportunity(DEFAULT, deal(li.id, bob.id, "proposal", 7), (bob.id, "bob"), 41)
        .await
        .unwrap();
    assert_eq!(store.holdings(DEFAULT, bob.id).await.unwrap().opportunities, 2);
    store
        .move_owners(
            DEFAULT,
            &[owner_move(li.id, Some(bob.id), Some(ann.id))],
            Lending::None,
            &by_hub("x"),
            42,
        )
        .await
        .unwrap();
    let owner_of = |o: Opportunity| o.owner_id;
    assert_eq!(
        owner_of(store.opportunity(DEFAULT, third.id).await.unwrap()),
        ann.id
    );
    assert_eq!(
        owner_of(store.opportunity(DEFAULT, second.id).await.unwrap()),
        ann.id
    );
    assert_eq!(
        owner_of(store.opportunity(DEFAULT, first.id).await.unwrap()),
        ann.id,
        "won, and ann's anyway"
    );
    assert_eq!(
        store.holdings(DEFAULT, bob.id).await.unwrap(),
        Holdings::default()
    );
    assert_eq!(store.holdings(DEFAULT, ann.id).await.unwrap().opportunities, 2);
    // A deactivated owner of an open opportunity is an orphan.
    let (_, _, before) = store.orphans().await.unwrap();
    store
        .set_agent_deactivated(DEFAULT, ann.id, Some(50))
        .await
        .unwrap();
    let (_, _, after) = store.orphans().await.unwrap();
    assert_eq!(after - before, 2);
    store.set_agent_deactivated(DEFAULT, ann.id, None).await.unwrap();

    // A merge brings the opportunities (and the stage, when the kept one has none).
    let wa = customer(&store, DEFAULT, "wa@example.com", "Wa").await;
    let kept = store.merge_customer(DEFAULT, li.id, wa.id, &[]).await.unwrap();
    assert_eq!(kept.stage, Some(Lifecycle::Customer));
    assert_eq!(
        store.customer(DEFAULT, wa.id).await.unwrap().stage,
        Some(Lifecycle::Customer)
    );
    assert_eq!(store.opportunities(DEFAULT, Some(wa.id)).await.unwrap().len(), 3);
    assert_eq!(
        store.opportunity(DEFAULT, first.id).await.unwrap().customer_name,
        "Wa"
    );
    // An erasure deletes them, and the stage.
    store.erase_customer(DEFAULT, wa.id, 60).await.unwrap();
    assert!(store.opportunities(DEFAULT, None).await.unwrap().is_empty());
    not_found(store.opportunity(DEFAULT, first.id).await);
}

async fn follow_ups_are_claimed_by_one_scheduler_stepped_and_closed(store: DynStore) {
    let [ann, bob] = <[Agent; 2]>::try_from(agents_named(&store, DEFAULT, &["ann", "bob"]).await).unwrap();
    let li = customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    let soon = follow_up_for(&store, li.id, ann.id, 1_000).await;
    let later = follow_up_for(&store, li.id, ann.id, 5_000).await;
    follow_up_for(&store, li.id, bob.id, 500).await;
    assert_eq!(soon.customer_name, "Li Wei");
    assert_eq!(soon.state, FollowUpState::Open);
    assert_eq!(store.follow_up(DEFAULT, soon.id).await.unwrap(), soon);
    not_found(store.follow_up(OTHER, soon.id).await);
    let created = store.customer_events(DEFAULT, li.id).await.unwrap();
    assert_eq!(created.len(), 3);
    assert_eq!(created[0].kind, "follow_up.created");
    // Due lists: the agent's, by due time, and the account's overdue ones.
    let mine: Vec<_> = store
        .agent_follow_ups(DEFAULT, ann.id, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.id)
        .collect();
    assert_eq!(mine, [soon.id, later.id]);
    assert_eq!(
        store
            .agent_follow_ups(DEFAULT, ann.id, 2_000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.overdue_follow_ups(DEFAULT, 1_001).await.unwrap().len(), 2);
    assert!(store.overdue_follow_ups(OTHER, 1_001).await.unwrap().is_empty());
    // Two schedulers at once: each due row goes to one of them.
    let (a, b) = tokio::join!(
        store.claim_follow_ups(1_000, 61_000, 10),
        store.claim_follow_ups(1_000, 61_000, 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 2, "{a:?} {b:?}");
    assert!(
        store
            .claim_follow_ups(1_000, 61_000, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // The claim lapses if nobody records a step; a step sets the next look.
    store
        .follow_up_stepped(DEFAULT, soon.id, Some(1_000), None, Some(4_000))
        .await
        .unwrap();
    let claimed: Vec<_> = store
        .claim_follow_ups(4_000, 64_000, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].id, claimed[0].reminded_at), (soon.id, Some(1_000)));
    store
        .follow_up_stepped(DEFAULT, soon.id, None, Some(4_000), None)
        .await
        .unwrap();
    let f = store.follow_up(DEFAULT, soon.id).await.unwrap();
    assert_eq!((f.reminded_at, f.escalated_at), (Some(1_000), Some(4_000)));
    assert_eq!(
        store.claim_follow_ups(99_000, 159_000, 10).await.unwrap().len(),
        2,
        "the lapsed claim and `later`"
    );
    // Closing: once, on the customer's log with who did it.
    let done = store
        .close_follow_up(DEFAULT, soon.id, true, (bob.id, "bob"), 7_000)
        .await
        .unwrap();
    assert_eq!(
        (done.state, done.done_at, done.done_by),
        (FollowUpState::Done, Some(7_000), Some(bob.id))
    );
    conflict(
        store
            .close_follow_up(DEFAULT, soon.id, false, (bob.id, "bob"), 7_001)
            .await,
        "follow_ups_closed",
    );
    let cancelled = store
        .close_follow_up(DEFAULT, later.id, false, (ann.id, "ann"), 7_002)
        .await
        .unwrap();
    assert_eq!(cancelled.state, FollowUpState::Cancelled);
    not_found(
        store
            .close_follow_up(OTHER, later.id, true, (ann.id, "ann"), 7_003)
            .await,
    );
    let kinds: Vec<_> = store
        .customer_events(DEFAULT, li.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(&kinds[3..], ["follow_up.done", "follow_up.cancelled"]);
    assert!(
        store
            .claim_follow_ups(200_000, 260_000, 10)
            .await
            .unwrap()
            .iter()
            .all(|(_, f)| f.owner_id == bob.id)
    );
}

async fn assignment_rules_are_kept_per_account(store: DynStore) {
    let [ann] = <[Agent; 1]>::try_from(agents_named(&store, DEFAULT, &["ann"]).await).unwrap();
    assert!(store.assignment_rules(DEFAULT).await.unwrap().is_empty());
    let rules = vec![AssignmentRule {
        when: Condition::Region {
            regions: vec!["CN".into()],
        },
        agents: vec![WeightedAgent {
            agent_id: ann.id,
            weight: 2,
        }],
    }];
    store.set_assignment_rules(DEFAULT, &rules, 1).await.unwrap();
    assert_eq!(store.assignment_rules(DEFAULT).await.unwrap(), rules);
    assert!(store.assignment_rules(OTHER).await.unwrap().is_empty());
    store.set_assignment_rules(DEFAULT, &[], 2).await.unwrap();
    assert!(store.assignment_rules(DEFAULT).await.unwrap().is_empty());
}

async fn segments_are_kept_per_account_by_name(store: DynStore) {
    use crate::crm::segments::Segment;
    use crate::domain::SegmentId;
    let [ann] = <[Agent; 1]>::try_from(agents_named(&store, DEFAULT, &["ann"]).await).unwrap();
    let segment = |name: &str, definition: serde_json::Value| Segment {
        id: SegmentId::new(),
        name: name.into(),
        definition: serde_json::from_value(definition).unwrap(),
        created_by: Some(ann.id),
        updated_at: 1,
    };
    let vip = segment(
        "VIP in China",
        serde_json::json!({"q": "王", "tiers": ["vip"], "regions": ["CN"]}),
    );
    let mine = segment(
        "Ann's",
        serde_json::json!({"owner": {"type": "agent", "agent_id": ann.id}}),
    );
    store.save_segment(DEFAULT, &vip).await.unwrap();
    store.save_segment(DEFAULT, &mine).await.unwrap();
    assert_eq!(
        store.segments(DEFAULT).await.unwrap(),
        vec![mine.clone(), vip.clone()]
    );
    assert_eq!(store.segment(DEFAULT, vip.id).await.unwrap(), vip);
    assert!(store.segments(OTHER).await.unwrap().is_empty());
    not_found(store.segment(OTHER, vip.id).await);
    // Another one by the same name is refused; the same one renamed is kept.
    conflict(
        store
            .save_segment(DEFAULT, &segment("VIP in China", serde_json::json!({})))
            .await,
        "segments_account_id_name_key",
    );
    let renamed = Segment {
        name: "VIP 中国".into(),
        updated_at: 2,
        ..vip.clone()
    };
    store.save_segment(DEFAULT, &renamed).await.unwrap();
    assert_eq!(store.segment(DEFAULT, vip.id).await.unwrap(), renamed);
    store.delete_segment(DEFAULT, vip.id).await.unwrap();
    not_found(store.delete_segment(DEFAULT, vip.id).await);
    assert_eq!(store.segments(DEFAULT).await.unwrap(), vec![mine]);
}

async fn teams_are_kept_per_account(store: DynStore) {
    use crate::domain::TeamId;
    use crate::teams::Team;
    let [sam, ann] = <[Agent; 2]>::try_from(agents_named(&store, DEFAULT, &["sam", "ann"]).await).unwrap();
    let queue = store
        .create_queue(DEFAULT, QueueSpec::named("sales"))
        .await
        .unwrap();
    let mut sales = Team {
        id: TeamId::new(),
        name: "Sales".into(),
        leads: vec![sam.id],
        members: vec![ann.id],
        queues: vec![queue.id],
    };
    let support = Team {
        id: TeamId::new(),
        name: "Support".into(),
        leads: vec![],
        members: vec![],
        queues: vec![],
    };
    store.put_team(DEFAULT, &support, 1).await.unwrap();
    store.put_team(DEFAULT, &sales, 1).await.unwrap();
    assert_eq!(
        store.teams(DEFAULT).await.unwrap(),
        vec![sales.clone(), support.clone()]
    );
    assert!(store.teams(OTHER).await.unwrap().is_empty());
    // Replaced whole by id; a name another team has is a conflict.
    sales.members.clear();
    store.put_team(DEFAULT, &sales, 2).await.unwrap();
    assert_eq!(store.teams(DEFAULT).await.unwrap()[0], sales);
    let clash = Team {
        name: "Support".into(),
        ..sales.clone()
    };
    conflict(
        store.put_team(DEFAULT, &clash, 3).await,
        "teams_account_id_name_key",
    );
    // Another account cannot overwrite or delete it.
    not_found(store.put_team(OTHER, &sales, 3).await);
    not_found(store.delete_team(OTHER, sales.id).await);
    store.delete_team(DEFAULT, sales.id).await.unwrap();
    assert_eq!(store.teams(DEFAULT).await.unwrap(), vec![support]);
    not_found(store.delete_team(DEFAULT, sales.id).await);
}

async fn report_settings_and_lines(store: DynStore) {
    use crate::domain::AgentState;
    use crate::reports::{Line, Step};
    use crate::store::ReportSettings;

    let defaults = ReportSettings {
        time_zone: "UTC".into(),
        short_abandon_secs: 5,
        fcr_window_hours: 168,
    };
    assert_eq!(store.report_settings(DEFAULT).await.unwrap(), defaults);
    let berlin = ReportSettings {
        time_zone: "Europe/Berlin".into(),
        short_abandon_secs: 10,
        fcr_window_hours: 24,
    };
    store.set_report_settings(DEFAULT, &berlin).await.unwrap();
    assert_eq!(store.report_settings(DEFAULT).await.unwrap(), berlin);
    assert_eq!(store.report_settings(OTHER).await.unwrap(), defaults);
    not_found(store.set_report_settings(AccountId::new(), &berlin).await);

    let agent = store
        .create_agent(DEFAULT, new_agent("ana@example.com"))
        .await
        .unwrap();
    let presence = |state: AgentState, at: i64| Write::Presence {
        account: DEFAULT,
        agent: agent.id,
        state,
        at,
    };
    store
        .commit(
            None,
            &[
                presence(AgentState::Available, 100),
                presence(AgentState::Break("lunch".into()), 200),
                presence(AgentState::Offline, 5_000),
            ],
        )
        .await
        .unwrap();
    let lines = store.presence_lines(DEFAULT, 150, 1_000).await.unwrap();
    let seen: Vec<(i64, AgentState)> = lines.iter().map(|l| (l.at, l.state.clone())).collect();
    assert_eq!(
        seen,
        [
            (100, AgentState::Available),
            (200, AgentState::Break("lunch".into()))
        ],
        "the line in force at the start, then the range's"
    );
    assert!(store.presence_lines(OTHER, 0, 10_000).await.unwrap().is_empty());

    let fixture = setup(&store, DEFAULT).await;
    let (queue, who) = (fixture.0.id, fixture.1.id);
    let answered = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let by = |agent: AgentId| TransitionDetails {
        agent_id: Some(agent),
        data: json!({"agent_id": agent}),
        ..Default::default()
    };
    let a = answered.id;
    store
        .transition(DEFAULT, a, InteractionEvent::Offered, by(agent.id), 1_001)
        .await
        .unwrap();
    store
        .transition(DEFAULT, a, InteractionEvent::Accepted, by(agent.id), 1_002)
        .await
        .unwrap();
    log_line(
        &store,
        DEFAULT,
        a,
        crate::domain::CALL_HELD,
        json!({"agent_id": agent.id}),
        1_100,
    )
    .await
    .unwrap();
    store
        .transition(DEFAULT, a, InteractionEvent::Ended, by(agent.id), 1_500)
        .await
        .unwrap();
    store
        .transition(DEFAULT, a, InteractionEvent::WrappedUp, by(agent.id), 1_600)
        .await
        .unwrap();
    let abandoned = arrive(&store, DEFAULT, &fixture, 3_000).await;
    step(
        &store,
        DEFAULT,
        abandoned.id,
        InteractionEvent::Abandoned,
        None,
        3_100,
    )
    .await;

    let logs = store.contact_logs(DEFAULT, 1_400, 2_000).await.unwrap();
    assert_eq!(logs.len(), 1, "only the interaction with a line in the range");
    assert_eq!(
        (logs[0].interaction, logs[0].customer, logs[0].channel),
        (a, who, Channel::Chat)
    );
    let line = |at, step| Line { at, step };
    assert_eq!(
        logs[0].lines,
        [
            line(1_000, Step::Queued(Some(queue))),
            line(1_002, Step::Answered(agent.id)),
            line(1_100, Step::Held),
            line(1_500, Step::Ended),
            line(1_600, Step::WrappedUp),
        ],
        "the whole log, offers left out"
    );
    let across = store.contact_logs(DEFAULT, 1_200, 1_400).await.unwrap();
    assert_eq!(
        across.iter().map(|l| l.interaction).collect::<Vec<_>>(),
        [a],
        "a call under way across the range, without a line in it"
    );
    let both = store.contact_logs(DEFAULT, 0, 10_000).await.unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!(store.interaction_logs(DEFAULT, &[a]).await.unwrap(), logs);
    assert!(store.contact_logs(OTHER, 0, 10_000).await.unwrap().is_empty());
    assert!(store.interaction_logs(OTHER, &[a]).await.unwrap().is_empty());
    let mut arrivals = store.arrivals(DEFAULT, &[who], 0).await.unwrap();
    arrivals.sort_by_key(|(_, at)| *at);
    assert_eq!(arrivals, [(who, 1_000), (who, 3_000)]);
    assert_eq!(
        store.arrivals(DEFAULT, &[who], 1_001).await.unwrap(),
        [(who, 3_000)]
    );
    assert_eq!(store.arrivals(OTHER, &[who], 0).await.unwrap(), []);
    let mut visits = store.visits(DEFAULT, &[who]).await.unwrap();
    visits.sort_by_key(|v| v.arrived_at);
    assert_eq!(
        visits
            .iter()
            .map(|v| (v.interaction, v.arrived_at, v.ended_at))
            .collect::<Vec<_>>(),
        [(a, 1_000, Some(1_500)), (abandoned.id, 3_000, Some(3_100))]
    );
}

/// The reports benchmark's generator at a small size (2,000 interactions over a week): the
/// report engine's queue figures per day and per quarter-hour are what the plain GROUP BY over
/// the raw log counts, so the benchmark compares like with like.
async fn a_generated_week_reports_as_a_plain_group_by_counts_it(store: DynStore, url: String) {
    use crate::reports::generate::{self, PlainRow};
    use crate::reports::load::{Ask, named};
    use crate::reports::{Dimension, Granularity};
    let (mut traffic, first, start) = generated_week(&store).await;
    for d in 0..7 {
        write_generated_day(&url, &mut traffic, d).await;
    }
    let postgres = !url.starts_with("sqlite:");
    let sql = generate::plain_group_by(postgres);
    for (from, days, granularity, step) in [
        (0, 7, Granularity::Day, generate::DAY),
        (2, 1, Granularity::QuarterHour, 15 * 60_000),
    ] {
        let day = |n: i64| crate::reports::add_days(first, n).unwrap();
        let ask = Ask {
            dimension: Dimension::Queue,
            granularity,
            from: day(from),
            to: day(from + days - 1),
            now: start + 30 * generate::DAY,
        };
        let report = named(&store, DEFAULT, ask, &crate::teams::Scope::All)
            .await
            .unwrap();
        let (a, b) = (
            start + from * generate::DAY,
            start + (from + days) * generate::DAY,
        );
        macro_rules! plain_rows {
            ($conn:ty) => {{
                let mut conn = <$conn>::connect(&url).await.unwrap();
                let q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
                let q = q.bind(DEFAULT.to_string()).bind(a).bind(b).bind(step);
                q.fetch_all(&mut conn).await.unwrap()
            }};
        }
        let rows: Vec<PlainRow> = if postgres {
            plain_rows!(sqlx::PgConnection)
        } else {
            plain_rows!(sqlx::SqliteConnection)
        };
        let offered: u64 = report.rows.iter().map(|r| r.total.tally.offered).sum();
        assert!(
            offered > 200,
            "{granularity:?}: a report with traffic in it ({offered})"
        );
        assert_eq!(generate::disagreement(&report, &rows), None, "{granularity:?}");
    }
}

/// The reports benchmark's generator at a small size: 2,000 interactions over a week from Monday
/// 2 November 2026 (UTC), 5 queues and 20 agents, to write day by day (`write_generated_day`).
/// Gives the generator, the first day and its start.
async fn generated_week(store: &DynStore) -> (crate::reports::generate::Traffic, jiff::civil::Date, i64) {
    generated_weeks(store, 1).await
}

/// As `generated_week`, `weeks` of it.
async fn generated_weeks(
    store: &DynStore,
    weeks: u32,
) -> (crate::reports::generate::Traffic, jiff::civil::Date, i64) {
    use crate::reports::generate::{Month, Traffic};
    let mut queues = Vec::new();
    for n in 0..5 {
        let mut spec = QueueSpec::named(&format!("q{n}"));
        spec.sl_target_secs = [20, 30, 60][n % 3];
        let q = store.create_queue(DEFAULT, spec).await.unwrap();
        queues.push((q.id, q.sl_target_secs));
    }
    let mut agents = Vec::new();
    for n in 0..20 {
        agents.push(
            store
                .create_agent(DEFAULT, new_agent(&format!("gen{n}@example.com")))
                .await
                .unwrap()
                .id,
        );
    }
    let first = jiff::civil::date(2026, 11, 2);
    let start = first
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp()
        .as_millisecond();
    let traffic = Traffic::new(Month {
        account: DEFAULT,
        start,
        days: 7 * weeks,
        interactions: 2_000 * u64::from(weeks),
        seed: 1,
        queues,
        agents,
    });
    (traffic, first, start)
}

async fn write_generated_day(url: &str, traffic: &mut crate::reports::generate::Traffic, d: u32) {
    use crate::reports::generate;
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        generate::write_day_sqlite(&pool, DEFAULT, &traffic.day(d))
            .await
            .unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        generate::write_day_postgres(&pool, DEFAULT, &traffic.day(d))
            .await
            .unwrap();
    }
}

/// Reports read per-15-minute cells, counted as the logs grow: written in two parts with a count
/// between (so the second finds new lines, customers coming back to contacts counted already,
/// and presence lines stamped before the last count), then with the account's time zone
/// changed, every report by queue, agent and channel at every granularity is what counting the
/// raw log gives.
async fn report_cells_count_what_the_raw_log_counts(store: DynStore, url: String) {
    use crate::reports::generate;
    use crate::reports::load::{Ask, recount, run};
    use crate::reports::{Dimension, Granularity, add_days};
    let (mut traffic, first, start) = generated_week(&store).await;
    for d in 0..3 {
        write_generated_day(&url, &mut traffic, d).await;
    }
    crate::reports::load::count(&store, DEFAULT, start + 3 * generate::DAY + 3_600_000)
        .await
        .unwrap();
    for d in 3..7 {
        write_generated_day(&url, &mut traffic, d).await;
    }
    let now = start + 9 * generate::DAY;
    let day = |n: i64| add_days(first, n).unwrap();
    let compare = |when: &'static str| {
        let store = store.clone();
        async move {
            for (from, to, granularity) in [
                (0, 6, Granularity::Day),
                (0, 8, Granularity::Week),
                (2, 2, Granularity::QuarterHour),
                (3, 4, Granularity::Hour),
            ] {
                for dimension in [Dimension::Queue, Dimension::Agent, Dimension::Channel] {
                    let ask = Ask {
                        dimension,
                        granularity,
                        from: day(from),
                        to: day(to),
                        now,
                    };
                    let (_, cells) = run(&store, DEFAULT, ask).await.unwrap();
                    let raw = recount(&store, DEFAULT, ask).await.unwrap();
                    assert!(
                        !raw.rows.is_empty(),
                        "{when} {granularity:?} {dimension:?}: traffic"
                    );
                    assert_eq!(cells, raw, "{when}: {granularity:?} by {dimension:?}");
                }
            }
        }
    };
    compare("after two counts").await;
    let mut settings = store.report_settings(DEFAULT).await.unwrap();
    settings.time_zone = "Asia/Shanghai".into();
    store.set_report_settings(DEFAULT, &settings).await.unwrap();
    compare("in another time zone").await;
}

/// Three generated weeks, then staffing for the Monday after them with `weeks=3`: each hour is
/// forecast as the average of that hour on the three Mondays before (each counted by the report
/// of its own day), with nothing offered or staffed on the day itself yet; without `weeks` the
/// same day is staffed for what it was offered: nothing.
async fn staffing_forecasts_a_day_from_the_same_weekday_of_the_weeks_before(store: DynStore, url: String) {
    use crate::reports::load::{Ask, run, staffing};
    use crate::reports::{Dimension, Granularity, add_days};
    let (mut traffic, first, start) = generated_weeks(&store, 3).await;
    for d in 0..21 {
        write_generated_day(&url, &mut traffic, d).await;
    }
    let now = start + 21 * crate::reports::generate::DAY;
    let day = |n: i64| add_days(first, n).unwrap();
    let queue = store.queues(DEFAULT).await.unwrap()[0].id;
    let hourly = |date| Ask {
        dimension: Dimension::Queue,
        granularity: Granularity::Hour,
        from: date,
        to: date,
        now,
    };
    let mut mondays = Vec::new();
    for week in 0..3 {
        let (_, report) = run(&store, DEFAULT, hourly(day(7 * week))).await.unwrap();
        mondays.push(report.rows[&crate::reports::Key::Queue(queue)].clone());
    }
    let plan = staffing(&store, DEFAULT, queue, hourly(day(21)), 0.8, Some(3))
        .await
        .unwrap();
    assert_eq!(plan.forecast_weeks, Some(3));
    assert_eq!(plan.intervals.len(), 24);
    let mut busy_hours = 0;
    for (hour, iv) in plan.intervals.iter().enumerate() {
        let offered: u64 = mondays.iter().map(|cells| cells[hour].offered).sum();
        let expected = offered as f64 / 3.0;
        assert!(
            (iv.forecast.unwrap() - expected).abs() < 1e-9,
            "hour {hour}: {:?} against {expected}",
            iv.forecast
        );
        assert_eq!(
            (iv.offered, iv.staffed),
            (0, 0.0),
            "hour {hour}: the day is still to come"
        );
        if expected >= 1.0 {
            busy_hours += 1;
            let agents = iv.needed.as_ref().map(|n| n.agents).unwrap_or(0);
            assert!(agents >= 1, "hour {hour}: {expected} contacts need someone");
        }
    }
    assert!(
        busy_hours >= 8,
        "the generated Mondays have a working day ({busy_hours} hours)"
    );
    let actual = staffing(&store, DEFAULT, queue, hourly(day(21)), 0.8, None)
        .await
        .unwrap();
    assert_eq!(actual.forecast_weeks, None);
    assert!(
        actual
            .intervals
            .iter()
            .all(|iv| iv.forecast.is_none() && iv.offered == 0)
    );
}

// --- the inbox and search ---

/// Two queues (one needs a skill), an agent without it (Ann), another (Ben), a supervisor (Sue),
/// and five conversations: Ann's, one waiting in each queue, one Ann closed, and Ben's with
/// another customer. Answers them in that order, with the agents.
struct InboxFixture {
    ann: Agent,
    ben: Agent,
    sue: Agent,
    queues: Vec<Queue>,
    vip: Queue,
    c: [Interaction; 5],
}

async fn inbox_fixture(store: &DynStore) -> InboxFixture {
    let (support, li) = setup(store, DEFAULT).await;
    let mut spec = QueueSpec::named("vip");
    spec.required_skills = vec![SkillRequirement {
        skill: "vip".into(),
        min_level: 1,
    }];
    let vip = store.create_queue(DEFAULT, spec).await.unwrap();
    let wang = customer(store, DEFAULT, "wang.fang@example.com", "王芳").await;
    let ann = store
        .create_agent(DEFAULT, new_agent("ann@example.com"))
        .await
        .unwrap();
    let ben = store
        .create_agent(DEFAULT, new_agent("ben@example.com"))
        .await
        .unwrap();
    let mut sup = new_agent("sue@example.com");
    sup.role = Role::Supervisor;
    let sue = store.create_agent(DEFAULT, sup).await.unwrap();
    let held = arrive(store, DEFAULT, &(support.clone(), li.clone()), 1_000).await;
    take(store, DEFAULT, held.id, ann.id).await;
    let waiting = arrive(store, DEFAULT, &(support.clone(), li.clone()), 2_000).await;
    let waiting_vip = arrive(store, DEFAULT, &(vip.clone(), li.clone()), 3_000).await;
    let closed = arrive(store, DEFAULT, &(support.clone(), li.clone()), 4_000).await;
    take(store, DEFAULT, closed.id, ann.id).await;
    step(store, DEFAULT, closed.id, InteractionEvent::Ended, None, 4_100).await;
    step(
        store,
        DEFAULT,
        closed.id,
        InteractionEvent::WrappedUp,
        None,
        4_200,
    )
    .await;
    let bens = arrive(store, DEFAULT, &(support.clone(), wang), 5_000).await;
    take(store, DEFAULT, bens.id, ben.id).await;
    let said = [
        (held.id, Sender::Customer, "hello"),
        (held.id, Sender::Agent, "Hi, how can I help?"),
        (held.id, Sender::Customer, "我想申请退款"),
        (bens.id, Sender::Customer, "Where is my refund?"),
    ];
    for (n, (id, sender, body)) in said.into_iter().enumerate() {
        store
            .append_message(
                DEFAULT,
                chat(id, sender, &format!("m{n}"), body),
                10_000 + n as i64,
            )
            .await
            .unwrap();
    }
    let queues = vec![support, vip.clone()];
    let c = [held, waiting, waiting_vip, closed, bens]
        .map(|i| i.id)
        .map(|id| async move { store.interaction(DEFAULT, id).await.unwrap() });
    let c = futures_util::future::join_all(c).await.try_into().unwrap();
    InboxFixture {
        ann,
        ben,
        sue,
        queues,
        vip,
        c,
    }
}

fn listing(folder: super::Folder) -> super::ConversationQuery {
    super::ConversationQuery {
        folder,
        limit: 50,
        ..Default::default()
    }
}

async fn list_ids(
    store: &DynStore,
    viewer: &super::Viewer,
    query: &super::ConversationQuery,
) -> Vec<InteractionId> {
    let page = store.conversations(DEFAULT, viewer, query).await.unwrap();
    page.conversations.iter().map(|c| c.interaction.id).collect()
}

/// Ann snoozes her chat: it waits again (queued) but stays hers, with its time, in her snoozed
/// list and nobody's unassigned one; the restart list has it with its time. Woken, it is an
/// ordinary waiting conversation again.
async fn a_snoozed_conversation_keeps_its_time_and_agent_and_lists_apart(store: DynStore) {
    use super::Folder::*;
    let f = inbox_fixture(&store).await;
    let [held, waiting, _, _, _] = f.c.clone().map(|i| i.id);
    let ann = crate::conversations::viewer_of(&f.ann, &f.queues, &crate::teams::Scope::All);
    let sue = crate::conversations::viewer_of(&f.sue, &f.queues, &crate::teams::Scope::All);
    let details = TransitionDetails {
        agent_id: Some(f.ann.id),
        snoozed_until: Some(90_000),
        ..Default::default()
    };
    let snoozed = store
        .transition(DEFAULT, held, InteractionEvent::Snoozed, details, 20_000)
        .await
        .unwrap();
    assert_eq!(
        (snoozed.state, snoozed.agent_id, snoozed.snoozed_until),
        (InteractionState::Queued, Some(f.ann.id), Some(90_000))
    );
    let again = store.interaction(DEFAULT, held).await.unwrap();
    assert_eq!(
        (again.agent_id, again.snoozed_until),
        (Some(f.ann.id), Some(90_000))
    );
    let restart = store.waiting_interactions().await.unwrap();
    let found = restart
        .iter()
        .find(|(_, i)| i.id == held)
        .expect("in the restart list");
    assert_eq!(found.1.snoozed_until, Some(90_000));
    assert_eq!(list_ids(&store, &ann, &listing(Snoozed)).await, vec![held]);
    assert_eq!(
        list_ids(&store, &ann, &listing(Mine)).await,
        Vec::<InteractionId>::new()
    );
    assert_eq!(list_ids(&store, &ann, &listing(Unassigned)).await, vec![waiting]);
    assert!(!list_ids(&store, &sue, &listing(Unassigned)).await.contains(&held));
    assert_eq!(
        list_ids(&store, &sue, &listing(Snoozed)).await,
        Vec::<InteractionId>::new()
    );
    let line = store.conversation(DEFAULT, &ann, held).await.unwrap();
    assert_eq!(line.interaction.snoozed_until, Some(90_000));

    let woken = step(&store, DEFAULT, held, InteractionEvent::Woken, None, 30_000).await;
    assert_eq!(
        (woken.state, woken.snoozed_until),
        (InteractionState::Queued, None)
    );
    assert_eq!(
        list_ids(&store, &ann, &listing(Snoozed)).await,
        Vec::<InteractionId>::new()
    );
    assert!(list_ids(&store, &ann, &listing(Unassigned)).await.contains(&held));
    let offered = step(
        &store,
        DEFAULT,
        held,
        InteractionEvent::Offered,
        Some(f.ann.id),
        31_000,
    )
    .await;
    assert_eq!(offered.snoozed_until, None);
}

async fn the_inbox_lists_what_each_viewer_may_see(store: DynStore) {
    use super::Folder::*;
    let f = inbox_fixture(&store).await;
    let [held, waiting, waiting_vip, closed, bens] = f.c.clone().map(|i| i.id);
    let ann = crate::conversations::viewer_of(&f.ann, &f.queues, &crate::teams::Scope::All);
    let sue = crate::conversations::viewer_of(&f.sue, &f.queues, &crate::teams::Scope::All);
    let team = crate::teams::Scope::Teams {
        agents: [f.sue.id, f.ben.id].into(),
        queues: [f.vip.id].into(),
    };
    let lead = crate::conversations::viewer_of(&f.sue, &f.queues, &team);

    // Ann's own: unread counts the customer's messages, the preview is the newest, and the
    // customer waits since their unanswered message.
    let page = store.conversations(DEFAULT, &ann, &listing(Mine)).await.unwrap();
    assert_eq!(page.next, None);
    let [line] = page.conversations.as_slice() else {
        panic!("{page:?}")
    };
    assert_eq!(line.interaction.id, held);
    assert_eq!(line.customer_name, "Li Wei");
    assert_eq!(line.unread, 2);
    let last = line.last_message.as_ref().unwrap();
    assert_eq!(
        (last.seq, last.sender, last.body.as_str()),
        (3, Sender::Customer, "我想申请退款")
    );
    assert_eq!(line.waiting_since, Some(last.created_at));
    store
        .set_labels(DEFAULT, held, &["vip".into(), "refund".into()])
        .await
        .unwrap();
    store.mark_read(DEFAULT, f.ann.id, held, 3).await.unwrap();
    store.mark_read(DEFAULT, f.ann.id, held, 1).await.unwrap();
    let line = store.conversation(DEFAULT, &ann, held).await.unwrap();
    assert_eq!(
        (line.unread, line.labels.clone()),
        (0, vec!["refund".to_string(), "vip".to_string()])
    );
    // Sue has read nothing of it.
    assert_eq!(store.conversation(DEFAULT, &sue, held).await.unwrap().unread, 2);

    // Ann sees what waits in the queue she could take, not the one needing a skill she lacks;
    // her closed one; never Ben's.
    let cases: &[(&super::Viewer, super::Folder, Vec<InteractionId>)] = &[
        (&ann, Unassigned, vec![waiting]),
        (&ann, Closed, vec![closed]),
        (&ann, All, vec![closed, waiting, held]),
        (&sue, Mine, vec![]),
        (&sue, Unassigned, vec![waiting_vip, waiting]),
        (&sue, All, vec![bens, closed, waiting_vip, waiting, held]),
    ];
    let cases = cases.iter().cloned().chain([
        // Sue leading a team of Ben and the VIP queue: all of theirs, and what she could take.
        (&lead, All, vec![bens, waiting_vip, waiting]),
        (&lead, Unassigned, vec![waiting_vip, waiting]),
        (&lead, Closed, vec![]),
    ]);
    for (viewer, folder, want) in cases {
        assert_eq!(
            list_ids(&store, viewer, &listing(folder)).await,
            want,
            "{folder:?} {}",
            viewer.sees_all
        );
    }
    not_found(store.conversation(DEFAULT, &ann, bens).await);
    not_found(store.conversation(DEFAULT, &ann, waiting_vip).await);
    not_found(store.conversation(DEFAULT, &lead, held).await);
    assert_eq!(
        store
            .conversation(DEFAULT, &lead, bens)
            .await
            .unwrap()
            .interaction
            .id,
        bens
    );
    not_found(
        store
            .conversations(OTHER, &sue, &listing(All))
            .await
            .map(|p| p.conversations)
            .and_then(|c| {
                if c.is_empty() {
                    Err(StoreError::NotFound)
                } else {
                    Ok(c)
                }
            }),
    );

    // Filters and the other order.
    let mut q = listing(All);
    q.label = Some("vip".into());
    assert_eq!(list_ids(&store, &sue, &q).await, vec![held]);
    q = listing(All);
    q.channel = Some(Channel::Email);
    assert_eq!(list_ids(&store, &sue, &q).await, vec![]);
    q = listing(All);
    q.state = Some(InteractionState::Queued);
    assert_eq!(list_ids(&store, &sue, &q).await, vec![waiting_vip, waiting]);
    q.queue = Some(f.vip.id);
    assert_eq!(list_ids(&store, &sue, &q).await, vec![waiting_vip]);
    assert_eq!(list_ids(&store, &ann, &q).await, vec![]);
    q = listing(All);
    q.order = super::ConversationOrder::Oldest;
    assert_eq!(
        list_ids(&store, &sue, &q).await,
        vec![held, waiting, waiting_vip, closed, bens]
    );

    // Pages of two, newest first, then oldest first.
    for order in [super::ConversationOrder::Newest, super::ConversationOrder::Oldest] {
        let mut q = listing(All);
        q.order = order;
        let everything = list_ids(&store, &sue, &q).await;
        q.limit = 2;
        let mut seen = Vec::new();
        loop {
            let page = store.conversations(DEFAULT, &sue, &q).await.unwrap();
            seen.extend(page.conversations.iter().map(|c| c.interaction.id));
            match page.next {
                Some(next) => q.after = Some(super::ConversationCursor::decode(&next).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, everything, "{order:?}");
    }
    // Labels belong to a conversation of the account.
    not_found(store.set_labels(OTHER, held, &["x".into()]).await);
}

async fn search_finds_chinese_and_english_as_each_viewer_may_see(store: DynStore) {
    let f = inbox_fixture(&store).await;
    let [held, _, _, _, bens] = f.c.clone().map(|i| i.id);
    let ann = crate::conversations::viewer_of(&f.ann, &f.queues, &crate::teams::Scope::All);
    let sue = crate::conversations::viewer_of(&f.sue, &f.queues, &crate::teams::Scope::All);
    for n in 0..5 {
        store
            .append_message(
                DEFAULT,
                chat(held, Sender::Customer, &format!("o{n}"), &format!("订单{n}号")),
                20_000 + n,
            )
            .await
            .unwrap();
    }
    let mut indexed = 0;
    loop {
        match store.index_messages(3).await.unwrap().0 {
            0 => break,
            n => indexed += n,
        }
    }
    assert_eq!(indexed, 9);
    assert_eq!(
        store.index_messages(100).await.unwrap(),
        (0, false),
        "each message is indexed once"
    );
    store.set_labels(DEFAULT, bens, &["refund".into()]).await.unwrap();

    let search = |viewer: &super::Viewer, text: &str, before: Option<i64>, limit: u32| {
        let (store, viewer) = (store.clone(), viewer.clone());
        let query = super::SearchQuery {
            terms: crate::tokenize::query(text),
            text: text.to_lowercase(),
            before,
            limit,
        };
        async move { store.search(DEFAULT, &viewer, &query).await.unwrap() }
    };
    let bodies = |page: &super::SearchPage| -> Vec<(InteractionId, String)> {
        page.messages
            .iter()
            .map(|h| (h.interaction.id, h.message.body.clone()))
            .collect()
    };
    /// Who searches, for what, and the messages found (conversation, text), newest first.
    type Case<'a> = (&'a super::Viewer, &'a str, Vec<(InteractionId, &'a str)>);
    let cases: &[Case] = &[
        (&ann, "退款", vec![(held, "我想申请退款")]),
        (&ann, "申请退款", vec![(held, "我想申请退款")]),
        (&ann, "退", vec![(held, "我想申请退款")]),
        (&ann, "款申", vec![]),
        (&ann, "HELP", vec![(held, "Hi, how can I help?")]),
        (&ann, "hel", vec![(held, "Hi, how can I help?"), (held, "hello")]),
        (&ann, "refund", vec![]),
        (&sue, "refund", vec![(bens, "Where is my refund?")]),
        (&sue, "where refund", vec![(bens, "Where is my refund?")]),
    ];
    // PostgreSQL has three ways to the hits and chooses by how common a term is and how much
    // the viewer sees; each, forced, finds the same (SQLite has one).
    use crate::store::sql::{FORCED_SEARCH_WAY, SearchWay};
    for way in [
        None,
        Some(SearchWay::InSeen),
        Some(SearchWay::Few),
        Some(SearchWay::Walk),
    ] {
        *FORCED_SEARCH_WAY.lock().unwrap() = way;
        for (viewer, text, want) in cases {
            let want: Vec<(InteractionId, String)> = want.iter().map(|(i, b)| (*i, b.to_string())).collect();
            assert_eq!(
                bodies(&search(viewer, text, None, 20).await),
                want,
                "{text:?} as {} ({way:?})",
                viewer.sees_all
            );
        }
    }
    *FORCED_SEARCH_WAY.lock().unwrap() = None;
    // By customer name (in Chinese) and by label, on the first page.
    let by_name = search(&sue, "王芳", None, 20).await;
    assert_eq!(
        by_name
            .conversations
            .iter()
            .map(|c| c.interaction.id)
            .collect::<Vec<_>>(),
        vec![bens]
    );
    assert!(search(&ann, "王芳", None, 20).await.conversations.is_empty());
    let by_label = search(&sue, "refund", None, 20).await;
    assert_eq!(
        by_label
            .conversations
            .iter()
            .map(|c| c.interaction.id)
            .collect::<Vec<_>>(),
        vec![bens]
    );
    assert!(search(&ann, "refund", None, 20).await.conversations.is_empty());

    // Pages of two, newest first, the customer matches only on the first.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = search(&ann, "订单", before, 2).await;
        assert!(page.messages.len() <= 2);
        seen.extend(page.messages.iter().map(|h| h.message.body.clone()));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["订单4号", "订单3号", "订单2号", "订单1号", "订单0号"]);
    assert!(search(&sue, "订单", None, 20).await.messages.len() == 5);
    let mut other = sue.clone();
    other.sees_all = true;
    assert!(
        store
            .search(
                OTHER,
                &other,
                &super::SearchQuery {
                    terms: crate::tokenize::query("订单"),
                    text: "订单".into(),
                    before: None,
                    limit: 20
                }
            )
            .await
            .unwrap()
            .messages
            .is_empty()
    );
}

// --- the audit log and erasure ---

fn audit_entry(actor: &Agent, action: &str, at: i64) -> super::AuditEntry {
    super::AuditEntry::new(
        actor,
        Some("203.0.113.9".parse().unwrap()),
        action,
        Some("target".into()),
        json!({"n": at}),
        at,
    )
}

async fn audit_actions(store: &DynStore, account: AccountId) -> Vec<String> {
    let query = super::AuditQuery {
        limit: 200,
        ..Default::default()
    };
    let page = store.audit_log(account, &query).await.unwrap();
    page.entries.into_iter().map(|e| e.action).collect()
}

async fn an_audited_write_commits_its_line_and_a_failed_one_none(store: DynStore) {
    let admin = store
        .create_agent(DEFAULT, new_agent("root@example.com"))
        .await
        .unwrap();
    let queue = store
        .audited(audit_entry(&admin, "queue.created", 1))
        .create_queue(DEFAULT, QueueSpec::named("sales"))
        .await
        .unwrap();
    // An update of a queue that is not there changes nothing, so it leaves no line.
    not_found(
        store
            .audited(audit_entry(&admin, "queue.updated", 2))
            .update_queue(DEFAULT, QueueId::new(), QueueSpec::named("x"))
            .await,
    );
    // A write refused by the database leaves none either.
    conflict(
        store
            .audited(audit_entry(&admin, "queue.created", 3))
            .create_queue(DEFAULT, QueueSpec::named("sales"))
            .await,
        "queues_account_id_name_key",
    );
    store
        .audited(audit_entry(&admin, "disposition.saved", 4))
        .upsert_disposition(
            DEFAULT,
            Disposition {
                code: "sold".into(),
                label: "Sold".into(),
            },
        )
        .await
        .unwrap();
    // Two writes through one view (an action of several steps) keep one line.
    let view = store.audited(audit_entry(&admin, "agent.deactivated", 5));
    view.set_agent_deactivated(DEFAULT, admin.id, Some(5))
        .await
        .unwrap();
    view.end_sessions(DEFAULT, admin.id, None).await.unwrap();
    // Unaudited writes write no line.
    store
        .update_queue(DEFAULT, queue.id, QueueSpec::named("sales 2"))
        .await
        .unwrap();
    assert_eq!(
        audit_actions(&store, DEFAULT).await,
        ["agent.deactivated", "disposition.saved", "queue.created"]
    );
    assert!(audit_actions(&store, OTHER).await.is_empty());
    let page = store
        .audit_log(
            DEFAULT,
            &super::AuditQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let line = &page.entries[0];
    assert_eq!(
        (
            line.actor_id,
            line.actor_email.as_str(),
            line.client_addr.as_deref(),
            line.at
        ),
        (admin.id, "root@example.com", Some("203.0.113.9"), 5)
    );
    assert_eq!(
        (line.target.as_deref(), &line.detail),
        (Some("target"), &json!({"n": 5}))
    );
}

async fn the_audit_log_is_paged_filtered_and_append_only(store: DynStore, url: String) {
    let ann = store
        .create_agent(DEFAULT, new_agent("ann@example.com"))
        .await
        .unwrap();
    let ben = store
        .create_agent(DEFAULT, new_agent("ben@example.com"))
        .await
        .unwrap();
    for n in 0..5 {
        let who = if n % 2 == 0 { &ann } else { &ben };
        let action = if n < 3 { "queue.updated" } else { "agent.updated" };
        store.audit(&audit_entry(who, action, 1_000 + n)).await.unwrap();
    }
    let read = |query: super::AuditQuery| {
        let store = store.clone();
        async move {
            let page = store.audit_log(DEFAULT, &query).await.unwrap();
            let ats: Vec<i64> = page.entries.iter().map(|e| e.at).collect();
            (ats, page.next)
        }
    };
    // Newest first, two a page.
    let (first, next) = read(super::AuditQuery {
        limit: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(first, [1_004, 1_003]);
    let (second, next) = read(super::AuditQuery {
        limit: 2,
        before: next,
        ..Default::default()
    })
    .await;
    assert_eq!(second, [1_002, 1_001]);
    let (third, next) = read(super::AuditQuery {
        limit: 2,
        before: next,
        ..Default::default()
    })
    .await;
    assert_eq!((third, next), (vec![1_000], None));
    // By who, what and when.
    let (by_ann, _) = read(super::AuditQuery {
        actor: Some(ann.id),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(by_ann, [1_004, 1_002, 1_000]);
    let (updates, _) = read(super::AuditQuery {
        action: Some("queue.updated".into()),
        from: Some(1_001),
        to: Some(1_003),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(updates, [1_002, 1_001]);
    // The same line written twice is one line.
    let again = audit_entry(&ann, "queue.updated", 2_000);
    store.audit(&again).await.unwrap();
    store.audit(&again).await.unwrap();
    let (all, _) = read(super::AuditQuery {
        limit: 200,
        ..Default::default()
    })
    .await;
    assert_eq!(all.len(), 6);
    // The database itself refuses to change or remove a line.
    for sql in ["UPDATE audit_log SET action = 'nothing'", "DELETE FROM audit_log"] {
        assert!(raw_execute(&url, sql).await.is_err(), "{sql} was allowed");
    }
    let (all, _) = read(super::AuditQuery {
        limit: 200,
        ..Default::default()
    })
    .await;
    assert_eq!(all.len(), 6);
}

async fn an_erased_customer_leaves_a_tombstone_and_nothing_else(store: DynStore, url: String) {
    let fixture = setup(&store, DEFAULT).await;
    let customer = fixture.1.id;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    // A second identity: a phone number given alongside the email.
    let same = store
        .resolve_customer(
            DEFAULT,
            &ids(&[("email", "li.wei@example.com"), ("phone", "+4930999999")]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(same.id, customer);
    let patch = CustomerPatch {
        tier: Some("gold".into()),
        tags: Some(vec!["vip".into()]),
        fields: serde_json::json!({"contract": "Li Wei, 12 Main St"})
            .as_object()
            .cloned(),
        ..Default::default()
    };
    store.update_customer(DEFAULT, customer, patch).await.unwrap();
    // A chat, a mail with an attachment (its file shared with another customer's mail), a call.
    let chat_i = arrive(&store, DEFAULT, &fixture, 1_000).await.id;
    store
        .append_message(
            DEFAULT,
            chat(chat_i, Sender::Customer, "c1", "my passport X123, zanzibar"),
            1_001,
        )
        .await
        .unwrap();
    let mail_i = arrive(&store, DEFAULT, &fixture, 1_100).await.id;
    store
        .append_channel_message(
            DEFAULT,
            mail(mail_i, "<m1@li.example>", "invoice zanzibar attached"),
            1_101,
        )
        .await
        .unwrap();
    let other = self::customer(&store, DEFAULT, "someone@example.com", "Someone").await;
    let other_i = arrive(&store, DEFAULT, &(fixture.0.clone(), other.clone()), 1_200)
        .await
        .id;
    let mut theirs = mail(other_i, "<m2@else.example>", "same invoice");
    theirs.details = json!({"subject": "Invoice", "from": {"email": "someone@example.com"}});
    store
        .append_channel_message(DEFAULT, theirs, 1_201)
        .await
        .unwrap();
    let mut own_file = mail(mail_i, "<m3@li.example>", "photo");
    own_file.attachments[0].sha256 = "ef".repeat(32);
    store
        .append_channel_message(DEFAULT, own_file, 1_102)
        .await
        .unwrap();
    store
        .add_note(DEFAULT, customer, Some(chat_i), agent.id, "zanzibar trip in May")
        .await
        .unwrap();
    // A rating whose comment says something about them: the score stays, the words go.
    let chat_interaction = store.interaction(DEFAULT, chat_i).await.unwrap();
    let rating = crate::csat::Rating::of(
        &chat_interaction,
        agent.id,
        score(4),
        Some("zanzibar!".into()),
        1_300,
    );
    store.rate(DEFAULT, &rating, &agent.name).await.unwrap();
    while store.index_messages(100).await.unwrap().1 {}
    let viewer = super::Viewer {
        agent: agent.id,
        sees_all: true,
        queues: vec![],
        team_queues: vec![],
        team_agents: vec![],
    };
    let search = |text: &str| {
        let (store, viewer) = (store.clone(), viewer.clone());
        let query = super::SearchQuery {
            terms: crate::tokenize::query(text),
            text: text.to_lowercase(),
            before: None,
            limit: 20,
        };
        async move {
            store
                .search(DEFAULT, &viewer, &query)
                .await
                .unwrap()
                .messages
                .len()
        }
    };
    assert_eq!(search("zanzibar").await, 2);

    // Not while a contact of theirs is open.
    conflict(
        store.erase_customer(DEFAULT, customer, 2_000).await,
        "customer_has_open_contacts",
    );
    // A callback's number is theirs too.
    let callback_i = arrive(&store, DEFAULT, &fixture, 1_300).await.id;
    let booked = TransitionDetails {
        callback: Some(Callback {
            number: "+4930999999".into(),
            due_at: None,
            attempts: 0,
        }),
        ..Default::default()
    };
    store
        .transition(
            DEFAULT,
            callback_i,
            InteractionEvent::CallbackRequested,
            booked,
            1_301,
        )
        .await
        .unwrap();
    for i in [chat_i, mail_i, callback_i] {
        step(&store, DEFAULT, i, InteractionEvent::Abandoned, None, 1_500).await;
    }
    let erased = store.erase_customer(DEFAULT, customer, 2_000).await.unwrap();
    assert_eq!(
        store.interaction(DEFAULT, callback_i).await.unwrap().callback,
        None
    );
    assert_eq!(erased.messages, 3);
    assert!(erased.calls.is_empty());
    // The shared file stays for the other customer's mail; their own goes.
    assert_eq!(erased.files, vec!["ef".repeat(32)]);
    not_found(store.erase_customer(DEFAULT, customer, 2_001).await);

    // The tombstone: nothing personal, still there for the interactions to count.
    let tomb = store.customer(DEFAULT, customer).await.unwrap();
    assert_eq!(
        (
            tomb.name.as_str(),
            &tomb.email,
            &tomb.phone,
            &tomb.tier,
            tomb.tags.is_empty(),
            &tomb.claimed,
            tomb.fields.is_empty()
        ),
        ("", &None, &None, &None, true, &None, true)
    );
    assert!(
        store
            .customer_identities(DEFAULT, customer)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_customers(DEFAULT, "li.wei", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .search_customers(DEFAULT, "", 10)
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != customer)
    );
    let kept = store.customer_interactions(DEFAULT, customer, 10).await.unwrap();
    assert_eq!(kept.len(), 3);
    for i in [chat_i, mail_i] {
        for m in store.messages(DEFAULT, i, 0).await.unwrap() {
            assert_eq!(m.body, "");
            assert_ne!(m.client_id, "c1");
            if let Some(parts) = &m.channel {
                let parts = serde_json::to_value(parts).unwrap();
                let text = parts.to_string();
                assert!(
                    !text.contains("li.wei") && !text.contains("Order 1001") && !text.contains("li.example"),
                    "{text}"
                );
            }
        }
    }
    assert!(store.notes(DEFAULT, customer).await.unwrap().is_empty());
    let kept_rating = store.rating(DEFAULT, chat_i).await.unwrap().unwrap();
    assert_eq!((kept_rating.score, kept_rating.comment), (score(4), None));
    assert_eq!(search("zanzibar").await, 0);
    assert_eq!(
        search("invoice").await,
        1,
        "the other customer's mail is still found"
    );
    // The other customer's mail keeps its text and its file.
    let theirs = store.messages(DEFAULT, other_i, 0).await.unwrap();
    assert_eq!(theirs[0].body, "same invoice");
    // Nothing of theirs left in any table, the search index included.
    for needle in ["zanzibar", "li.wei", "li.example", "+4930999999", "gold"] {
        let holding = raw_contains(&url, needle).await;
        assert_eq!(holding, None, "{needle:?} is still in the database");
    }
    // Found again by their old email, they are someone new.
    let again = self::customer(&store, DEFAULT, "li.wei@example.com", "Li Wei").await;
    assert_ne!(again.id, customer);
}

/// Runs one statement on a connection of its own.
async fn raw_execute(url: &str, sql: &'static str) -> Result<(), sqlx::Error> {
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query(sql).execute(&mut conn).await.map(drop)
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query(sql).execute(&mut conn).await.map(drop)
    }
}

/// The first table (the search index's included) with a row holding `needle`: every row read as
/// text (PostgreSQL: the row cast to text; SQLite: each column, text or bytes).
async fn raw_contains(url: &str, needle: &str) -> Option<String> {
    use sqlx::Row;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'message_search'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for table in tables {
            let sql = format!("SELECT * FROM \"{table}\"");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut conn)
                .await
                .unwrap();
            for row in rows {
                for (i, _) in row.columns().iter().enumerate() {
                    let text = row.try_get::<String, _>(i).ok().or_else(|| {
                        row.try_get::<Vec<u8>, _>(i)
                            .ok()
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                    });
                    if text.is_some_and(|t| t.contains(needle)) {
                        return Some(table);
                    }
                }
            }
        }
        None
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        for table in tables {
            let sql = format!("SELECT COUNT(*) FROM \"{table}\" t WHERE t::text LIKE '%' || $1 || '%'");
            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(needle)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            if n > 0 {
                return Some(table);
            }
        }
        None
    }
}

async fn one_rating_per_interaction_on_the_customers_log_and_moved_by_a_merge(store: DynStore) {
    use crate::csat::{DoneFollowUp, Rating};
    let fixture = setup(&store, DEFAULT).await;
    let agent = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let first = arrive(&store, DEFAULT, &fixture, 1_000).await;
    let second = arrive(&store, DEFAULT, &fixture, 2_000).await;
    let rating = Rating::of(&first, agent.id, score(5), Some("很好，谢谢".into()), 5_000);
    let (kept, new) = store.rate(DEFAULT, &rating, &agent.name).await.unwrap();
    assert!(new);
    assert_eq!(kept, rating);
    // A second answer changes nothing: the first stays and is answered.
    let again = Rating::of(&first, agent.id, score(1), None, 6_000);
    let (kept, new) = store.rate(DEFAULT, &again, &agent.name).await.unwrap();
    assert!(!new);
    assert_eq!(kept, rating);
    assert_eq!(
        store.rating(DEFAULT, first.id).await.unwrap(),
        Some(rating.clone())
    );
    assert_eq!(store.rating(DEFAULT, second.id).await.unwrap(), None);
    let later = Rating::of(&second, agent.id, score(3), None, 7_000);
    store.rate(DEFAULT, &later, &agent.name).await.unwrap();
    // On the customer's log once per rating, naming the agent.
    let events = store.customer_events(DEFAULT, fixture.1.id).await.unwrap();
    let rated: Vec<_> = events.iter().filter(|e| e.kind == "csat.rated").collect();
    assert_eq!(rated.len(), 2);
    assert_eq!(rated[0].data["score"], 5);
    assert_eq!(rated[0].data["comment"], "很好，谢谢");
    assert_eq!(rated[0].data["agent"]["name"], agent.name.as_str());
    assert_eq!(rated[0].at, 5_000);
    // Newest first for the card; by time for reports, `[from, to)`.
    let theirs = store.customer_ratings(DEFAULT, fixture.1.id).await.unwrap();
    assert_eq!(
        theirs.iter().map(|r| r.at).collect::<Vec<_>>(),
        vec![7_000, 5_000]
    );
    let between = store.ratings_between(DEFAULT, 5_000, 7_000).await.unwrap();
    assert_eq!(between, vec![rating.clone()]);
    // Another account sees none of it.
    assert_eq!(store.rating(OTHER, first.id).await.unwrap(), None);
    assert!(store.ratings_between(OTHER, 0, 10_000).await.unwrap().is_empty());
    // A merge moves the ratings to the customer kept.
    let other = customer(&store, DEFAULT, "wei@example.com", "Wei").await;
    store
        .merge_customer(DEFAULT, fixture.1.id, other.id, &[])
        .await
        .unwrap();
    let moved = store.customer_ratings(DEFAULT, other.id).await.unwrap();
    assert_eq!(moved.len(), 2);
    assert!(moved.iter().all(|r| r.customer_id == other.id));
    // Follow-ups done in a range, with their owner: on time or late.
    let due = crate::domain::now_millis() + 60_000;
    let mut done_at = Vec::new();
    for title in ["Call back", "Send the quote"] {
        let new = NewFollowUp {
            customer: other.id,
            owner: agent.id,
            kind: FollowUpKind::Task,
            title: title.into(),
            due_at: due,
            created_by: agent.id,
        };
        let f = store.create_follow_up(DEFAULT, new, 1).await.unwrap();
        let at = if title == "Call back" { due - 1 } else { due + 1 };
        store
            .close_follow_up(DEFAULT, f.id, true, (agent.id, &agent.name), at)
            .await
            .unwrap();
        done_at.push(at);
    }
    let mut got = store
        .follow_ups_done_between(DEFAULT, due - 1, due + 2)
        .await
        .unwrap();
    got.sort_by_key(|f| f.done_at);
    let want: Vec<DoneFollowUp> = done_at
        .iter()
        .map(|at| DoneFollowUp {
            owner: agent.id,
            due_at: due,
            done_at: *at,
        })
        .collect();
    assert_eq!(got, want);
    assert!(
        store
            .follow_ups_done_between(DEFAULT, 0, due - 1)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Articles: written with their terms, found in Chinese (pairs) and English (the last word a
/// prefix), title hits counted, rewritten terms replacing the old, deleted with their terms, and
/// never another account's.
async fn knowledge_articles(store: DynStore) {
    use crate::domain::ArticleId;
    use crate::knowledge::{Article, Filter, Reader, select};
    use crate::tokenize::query;
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let (sales, support) = (QueueId::new(), QueueId::new());
    let article = |title: &str, body: &str, queues: Vec<QueueId>, stages: &[&str], at: i64| Article {
        id: ArticleId::new(),
        title: title.into(),
        body: body.into(),
        category: "billing".into(),
        tags: vec!["money".into()],
        queues,
        stages: stages.iter().map(|s| s.to_string()).collect(),
        author_id: alice.id,
        author_name: Some("alice".into()),
        created_at: at,
        updated_at: at,
    };
    let refund_cn = article("退款政策", "我们在三十天内办理退款。", vec![], &[], 1_000);
    let refund_en = article(
        "Refund policy",
        "Refunds within **30 days**.",
        vec![sales],
        &["lead"],
        2_000,
    );
    let shipping = article(
        "Shipping",
        "We ship refunds of postage too",
        vec![support],
        &["customer"],
        3_000,
    );
    for a in [&refund_cn, &refund_en, &shipping] {
        store.put_article(DEFAULT, a).await.unwrap();
    }
    assert_eq!(store.article(DEFAULT, refund_en.id).await.unwrap(), refund_en);
    let all = store.articles(DEFAULT).await.unwrap();
    assert_eq!(all, vec![shipping.clone(), refund_en.clone(), refund_cn.clone()]);

    let found = |q: &str| {
        let store = store.clone();
        let terms = query(q);
        async move { store.search_articles(DEFAULT, &terms).await.unwrap() }
    };
    let titles = |hits: &std::collections::HashMap<ArticleId, u32>, reader: &Reader, filter: &Filter| {
        select(all.clone(), Some(hits), reader, filter, 10)
            .into_iter()
            .map(|a| a.title)
            .collect::<Vec<_>>()
    };
    let none = Filter::default();
    let table: Vec<(&str, Vec<&str>)> = vec![
        ("退款", vec!["退款政策"]),
        ("退", vec!["退款政策"]),
        ("办理退款", vec!["退款政策"]),
        ("退款 政策", vec!["退款政策"]),
        ("款退", vec![]),
        // The title's hit first, then the body's.
        ("refund", vec!["Refund policy", "Shipping"]),
        // "refunds" is not the title's word (refund): two body hits, the newest first.
        ("REFUNDS", vec!["Shipping", "Refund policy"]),
        ("refu", vec!["Refund policy", "Shipping"]),
        ("refund policy", vec!["Refund policy"]),
        ("30 days", vec!["Refund policy"]),
        ("money", vec!["Shipping", "Refund policy", "退款政策"]),
        ("postage", vec!["Shipping"]),
        ("nothing", vec![]),
    ];
    for (q, want) in table {
        assert_eq!(titles(&found(q).await, &Reader::All, &none), want, "{q}");
    }
    let hits = found("refund").await;
    assert_eq!(hits[&refund_en.id], 1);
    assert_eq!(hits[&shipping.id], 0);
    // Visibility by queue and stage over the store's articles.
    assert_eq!(titles(&hits, &Reader::Queues(vec![support]), &none), ["Shipping"]);
    assert_eq!(
        titles(&hits, &Reader::Queues(vec![]), &none),
        Vec::<String>::new()
    );
    let lead = Filter {
        stage: Some("lead".into()),
        ..none.clone()
    };
    assert_eq!(titles(&hits, &Reader::All, &lead), ["Refund policy"]);
    let in_sales = Filter {
        queue: Some(sales),
        ..none.clone()
    };
    assert_eq!(
        titles(&found("money").await, &Reader::All, &in_sales),
        ["Refund policy", "退款政策"]
    );

    // Rewritten: the old terms go, the new are found.
    let moved = Article {
        title: "Returns".into(),
        body: "退货流程".into(),
        updated_at: 4_000,
        ..refund_en.clone()
    };
    store.put_article(DEFAULT, &moved).await.unwrap();
    assert_eq!(store.article(DEFAULT, moved.id).await.unwrap(), moved);
    assert!(!found("policy").await.contains_key(&moved.id));
    assert_eq!(found("退货").await.keys().collect::<Vec<_>>(), [&moved.id]);

    // Another account sees none of it, and cannot overwrite it.
    assert!(store.articles(OTHER).await.unwrap().is_empty());
    assert!(
        store
            .search_articles(OTHER, &query("退款"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        store.article(OTHER, moved.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.put_article(OTHER, &moved).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_article(OTHER, moved.id).await,
        Err(StoreError::NotFound)
    ));

    store.delete_article(DEFAULT, refund_cn.id).await.unwrap();
    assert!(found("退款").await.is_empty());
    assert!(matches!(
        store.article(DEFAULT, refund_cn.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_article(DEFAULT, refund_cn.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.articles(DEFAULT).await.unwrap().len(), 2);

    // A long article: more terms than one insert writes.
    let long_body: String = (0..1000).map(|i| format!("word{i} ")).collect();
    let long = article("Long", &long_body, vec![], &[], 5_000);
    store.put_article(DEFAULT, &long).await.unwrap();
    assert_eq!(found("word999").await.keys().collect::<Vec<_>>(), [&long.id]);
}

/// Canned responses: the account's and an agent's own, the most used first, a shortcut once per
/// owner, the use count kept across edits.
async fn canned_responses(store: DynStore) {
    use crate::domain::CannedId;
    use crate::knowledge::Canned;
    let alice = store
        .create_agent(DEFAULT, new_agent("alice@example.com"))
        .await
        .unwrap();
    let bob = store
        .create_agent(DEFAULT, new_agent("bob@example.com"))
        .await
        .unwrap();
    let canned = |owner: Option<AgentId>, shortcut: &str| Canned {
        id: CannedId::new(),
        owner_id: owner,
        shortcut: shortcut.into(),
        title: format!("The {shortcut} reply"),
        body: "Hello {{customer.name}}".into(),
        uses: 0,
        updated_at: 1_000,
    };
    let refund = canned(None, "refund");
    let hello = canned(None, "hello");
    let mine = canned(Some(alice.id), "refund");
    let bobs = canned(Some(bob.id), "bye");
    for c in [&refund, &hello, &mine, &bobs] {
        store.put_canned(DEFAULT, c).await.unwrap();
    }
    assert_eq!(store.canned_response(DEFAULT, mine.id).await.unwrap(), mine);
    let shortcuts = |list: Vec<Canned>| {
        list.into_iter()
            .map(|c| (c.shortcut, c.owner_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        shortcuts(store.canned_responses(DEFAULT, alice.id).await.unwrap()),
        [
            ("hello".to_string(), None),
            ("refund".into(), None),
            ("refund".into(), Some(alice.id))
        ]
        .into_iter()
        .collect::<Vec<_>>()
    );
    // The most used first.
    assert_eq!(store.use_canned(DEFAULT, refund.id).await.unwrap(), 1);
    assert_eq!(store.use_canned(DEFAULT, refund.id).await.unwrap(), 2);
    assert_eq!(store.use_canned(DEFAULT, mine.id).await.unwrap(), 1);
    let list = store.canned_responses(DEFAULT, alice.id).await.unwrap();
    assert_eq!(
        list.iter().map(|c| (c.id, c.uses)).collect::<Vec<_>>(),
        [(refund.id, 2), (mine.id, 1), (hello.id, 0)]
    );
    assert_eq!(
        shortcuts(store.canned_responses(DEFAULT, bob.id).await.unwrap()),
        [
            ("refund".to_string(), None),
            ("bye".into(), Some(bob.id)),
            ("hello".into(), None)
        ]
    );
    // A shortcut once per owner.
    assert!(matches!(
        store.put_canned(DEFAULT, &canned(None, "refund")).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.put_canned(DEFAULT, &canned(Some(alice.id), "refund")).await,
        Err(StoreError::Conflict { .. })
    ));
    store
        .put_canned(DEFAULT, &canned(Some(bob.id), "refund"))
        .await
        .unwrap();
    // An edit keeps the count.
    let edited = Canned {
        shortcut: "refunds".into(),
        body: "Dear {{customer.name}}".into(),
        updated_at: 2_000,
        ..refund.clone()
    };
    store.put_canned(DEFAULT, &edited).await.unwrap();
    assert_eq!(
        store.canned_response(DEFAULT, refund.id).await.unwrap(),
        Canned { uses: 2, ..edited }
    );
    // Another account's: not found.
    assert!(store.canned_responses(OTHER, alice.id).await.unwrap().is_empty());
    assert!(matches!(
        store.use_canned(OTHER, refund.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.canned_response(OTHER, refund.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_canned(OTHER, refund.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.put_canned(OTHER, &refund).await,
        Err(StoreError::NotFound)
    ));
    store.delete_canned(DEFAULT, refund.id).await.unwrap();
    assert!(matches!(
        store.use_canned(DEFAULT, refund.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_canned(DEFAULT, refund.id).await,
        Err(StoreError::NotFound)
    ));
}
