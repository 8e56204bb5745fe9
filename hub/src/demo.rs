//! `plugboard serve --demo`: a small working contact center to look at in a minute — two queues
//! with skills, four agents, a supervisor, an admin, dispositions and customers with history.

use crate::auth;
use crate::domain::{
    AccountId, Capacity, Channel, Disposition, InteractionEvent, RawIdentity, Role, Sender, SkillRequirement,
    now_millis,
};
use crate::profile;
use crate::store::{DynStore, NewAgent, NewInteraction, NewMessage, QueueSpec, TransitionDetails};
use anyhow::Context;

pub const PASSWORD: &str = "plugboard-demo";

/// Seeds the demo account once; a second start finds it there and changes nothing.
pub async fn seed(store: &DynStore) -> anyhow::Result<()> {
    let account = AccountId::DEFAULT;
    if store.queue_by_name(account, "Support").await.is_ok() {
        return Ok(());
    }
    let mut sales = QueueSpec::named("Sales");
    sales.required_skills = vec![SkillRequirement {
        skill: "sales".into(),
        min_level: 1,
    }];
    sales.priority = 1;
    let mut support = QueueSpec::named("Support");
    support.required_skills = vec![SkillRequirement {
        skill: "support".into(),
        min_level: 1,
    }];
    let sales = store
        .create_queue(account, sales)
        .await
        .context("creating the Sales queue")?;
    store
        .create_queue(account, support)
        .await
        .context("creating the Support queue")?;

    let hash = auth::hash_password_async(PASSWORD.to_string()).await?;
    type Person = (
        &'static str,
        &'static str,
        Role,
        &'static str,
        &'static [(&'static str, u8)],
    );
    let people: [Person; 6] = [
        ("alice", "Alice Wong", Role::Agent, "en", &[("sales", 5)]),
        ("bob", "Bob Martin", Role::Agent, "en", &[("support", 5)]),
        (
            "chen",
            "Chen Jing 陈静",
            Role::Agent,
            "zh-CN",
            &[("sales", 3), ("support", 4)],
        ),
        ("dana", "Dana Silva", Role::Agent, "en", &[("support", 2)]),
        ("sam", "Sam Lee", Role::Supervisor, "en", &[]),
        ("admin", "Demo Admin", Role::Admin, "en", &[]),
    ];
    let mut alice = None;
    for (login, name, role, locale, skills) in people {
        let agent = NewAgent {
            email: format!("{login}@plugboard.example"),
            name: name.into(),
            role,
            locale: locale.into(),
            skills: skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
            capacity: Capacity::default(),
            password_hash: hash.clone(),
        };
        let agent = store
            .create_agent(account, agent)
            .await
            .with_context(|| format!("creating {login}"))?;
        if login == "alice" {
            alice = Some(agent);
        }
    }
    for (code, label) in [
        ("resolved", "Resolved"),
        ("follow_up", "Needs follow-up"),
        ("sale", "Sale made"),
        ("no_action", "No action needed"),
    ] {
        store
            .upsert_disposition(
                account,
                Disposition {
                    code: code.into(),
                    label: label.into(),
                },
            )
            .await?;
    }

    // Customers with a past: a closed chat each, so the card shows history.
    let alice = alice.context("alice was not created")?;
    let customers = [
        (
            "Li Wei 李伟",
            "li.wei@example.com",
            Some("+8613800138000"),
            "gold",
            "询问企业版价格 / Asked about enterprise pricing",
        ),
        (
            "Maria Garcia",
            "maria.garcia@example.com",
            Some("+14155552671"),
            "silver",
            "Wanted a demo for her team",
        ),
        (
            "Tom Baker",
            "tom.baker@example.com",
            None,
            "bronze",
            "Asked whether there is a free trial",
        ),
    ];
    let day = 86_400_000;
    for (n, (name, email, phone, tier, said)) in customers.into_iter().enumerate() {
        let mut identities = vec![RawIdentity::Email(email.into())];
        identities.extend(phone.map(|p| RawIdentity::Phone(p.into())));
        let customer = profile::resolve(store, account, &identities, Some(name), "US").await?;
        let patch = crate::store::CustomerPatch {
            tier: Some(tier.into()),
            tags: Some(vec!["demo".into()]),
            ..Default::default()
        };
        store.update_customer(account, customer.id, patch).await?;
        let owner = crate::store::OwnerMove {
            customer: customer.id,
            from: customer.owner_id,
            to: Some(alice.id),
        };
        let by = crate::store::OwnerChangeBy {
            agent: None,
            reason: "demo data".into(),
            rule: None,
        };
        store
            .move_owners(account, &[owner], crate::store::Lending::None, &by, now_millis())
            .await?;
        let at = now_millis() - (n as i64 + 1) * day;
        let new = NewInteraction {
            customer_id: customer.id,
            channel: Channel::Chat,
            queue_id: sales.id,
            priority: sales.priority,
            entry_point: "widget:Sales".into(),
            offline: false,
            arrived_at: at,
        };
        let i = store.create_interaction(account, new).await?;
        let message = |sender, body: &str, n: usize| NewMessage {
            interaction_id: i.id,
            sender,
            agent_id: (sender == Sender::Agent).then_some(alice.id),
            body: body.into(),
            client_id: format!("demo-{n}"),
        };
        store
            .append_message(account, message(Sender::Customer, said, 1), at + 1_000)
            .await?;
        // As the router logs them: reports read who answered from the event's data.
        let agent = TransitionDetails {
            agent_id: Some(alice.id),
            data: serde_json::json!({"agent_id": alice.id}),
            ..Default::default()
        };
        store
            .transition(
                account,
                i.id,
                InteractionEvent::Offered,
                agent.clone(),
                at + 5_000,
            )
            .await?;
        store
            .transition(account, i.id, InteractionEvent::Accepted, agent, at + 9_000)
            .await?;
        store
            .append_message(
                account,
                message(Sender::Agent, "Happy to help — I'll follow up by email.", 2),
                at + 30_000,
            )
            .await?;
        store
            .transition(
                account,
                i.id,
                InteractionEvent::Ended,
                TransitionDetails::default(),
                at + 120_000,
            )
            .await?;
        let wrap = TransitionDetails {
            disposition: Some("follow_up".into()),
            ..Default::default()
        };
        store
            .transition(account, i.id, InteractionEvent::WrappedUp, wrap, at + 150_000)
            .await?;
    }
    Ok(())
}
