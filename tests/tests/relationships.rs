//! Customer relationships end to end with the real binary: new customers get owners by the
//! account's rules, a supervisor reassigns them, an agent with 300 customers, 40 follow-ups and
//! 5 open contacts goes on leave and comes back, then leaves for good and is deactivated with
//! nothing left owned by them anywhere in the store; a follow-up reminds its owner when due; a
//! contact from an owned customer is offered to the owner first, then to the queue; a VIP's
//! contact is served before earlier ones where the queue gives their tier a priority; a
//! supervisor's saved segment is counted, exported and given to another owner at once; a
//! spreadsheet of customers is previewed, then imported with its bad rows reported.

use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, named, start_chat};
use serde_json::{Value, json};
use sqlx::Connection;
use std::collections::HashMap;
use std::time::Duration;

/// A widget's new chat in Support: (widget, interaction id).
async fn chat(hub: &Hub, name: &str) -> (Socket, String) {
    let mut widget = hub.widget().await.unwrap();
    let email = format!("{}@example.com", name.replace(' ', "."));
    let started = start_chat(&mut widget, name, &email, "hello").await;
    (widget, started["interaction_id"].as_str().unwrap().to_string())
}

/// A GET under `/api/v1` that must answer 200: its body.
async fn get(hub: &Hub, token: &str, path: &str) -> Value {
    let (status, body) = hub.call("GET", path, Some(token), None).await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn customer_of(hub: &Hub, token: &str, interaction: &str) -> String {
    let detail = get(hub, token, &format!("/interactions/{interaction}")).await;
    detail["interaction"]["customer_id"].as_str().unwrap().to_string()
}

async fn holdings(hub: &Hub, token: &str, agent: &str) -> Value {
    get(hub, token, &format!("/agents/{agent}/holdings")).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A user the admin creates, logged in: (id, token).
async fn user(hub: &Hub, admin: &str, login: &str, name: &str, role: &str) -> (String, String) {
    let body = json!({"email": format!("{login}@plugboard.example"), "name": name, "password": DEMO_PASSWORD, "role": role});
    let (status, created) = hub
        .call("POST", "/agents", Some(admin), Some(body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{created}");
    let token = hub
        .login(&format!("{login}@plugboard.example"), DEMO_PASSWORD)
        .await
        .unwrap();
    (id(&created), token)
}

/// Over the whole store, what is owned by a deactivated user: (customers, open follow-ups,
/// open opportunities).
async fn orphans(hub: &Hub) -> (i64, i64, i64) {
    let url = format!("sqlite://{}", hub.data_dir.join("plugboard.db").display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let customers: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM customers AS c JOIN agents AS a ON a.id = c.owner_id OR a.id = c.home_owner_id \
         WHERE a.deactivated_at IS NOT NULL",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let follow_ups: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM follow_ups AS f JOIN agents AS a ON a.id = f.owner_id OR a.id = f.home_owner_id \
         WHERE a.deactivated_at IS NOT NULL AND f.state = 'open'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    let opportunities: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM opportunities AS o JOIN agents AS a ON a.id = o.owner_id \
         WHERE a.deactivated_at IS NOT NULL AND o.status = 'open'",
    )
    .fetch_one(&mut db)
    .await
    .unwrap();
    (customers, follow_ups, opportunities)
}

#[tokio::test]
async fn a_leave_moves_300_customers_and_40_follow_ups_and_brings_them_back_and_a_leaver_orphans_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "100000")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (lee, lee_token) = user(&hub, &admin, "lee", "Lee Ver", "agent").await;
    let agents = get(&hub, &admin, "/agents").await;
    let takers: Vec<String> = ["Bob Martin", "Chen Jing 陈静", "Dana Silva"]
        .iter()
        .map(|n| id(named(&agents, n)))
        .collect();

    // Every new customer is Lee's by rule.
    let rules = json!([{"when": {"type": "always"}, "agents": [{"agent_id": lee}]}]);
    let (status, body) = hub
        .call("PUT", "/assignment-rules", Some(&admin), Some(rules))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let mut open = vec![];
    let mut interactions = vec![];
    for n in 0..300 {
        let (widget, interaction) = chat(&hub, &format!("Customer {n}")).await;
        // The last five keep their widget open: contacts still waiting through the hand-over.
        if n >= 295 {
            open.push(widget);
        }
        interactions.push(interaction);
    }
    let mut customers = vec![];
    for interaction in &interactions {
        customers.push(customer_of(&hub, &sam, interaction).await);
    }
    let card = get(&hub, &sam, &format!("/customers/{}", customers[0])).await;
    assert_eq!(card["customer"]["owner_name"], "Lee Ver");
    let timeline = get(&hub, &sam, &format!("/customers/{}/timeline", customers[0])).await;
    assert_eq!(timeline["events"][0]["type"], "customer.owner_changed");
    assert_eq!(timeline["events"][0]["data"]["rule"], 1);

    // Lee schedules 40 follow-ups on their customers.
    let due = plugboard_tests::now_ms() + 3_600_000;
    for customer in customers.iter().take(40) {
        let body = json!({"kind": "callback", "title": "call back", "due_at": due});
        let (status, f) = hub
            .call(
                "POST",
                &format!("/customers/{customer}/follow-ups"),
                Some(&lee_token),
                Some(body),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{f}");
    }
    // And opens five opportunities on them; a sixth, won, stays theirs (it is closed).
    for (n, customer) in customers.iter().take(6).enumerate() {
        let body = json!({"name": format!("deal {n}"), "amount": 10_000, "currency": "EUR"});
        let (status, o) = hub
            .call(
                "POST",
                &format!("/customers/{customer}/opportunities"),
                Some(&lee_token),
                Some(body),
            )
            .await
            .unwrap();
        assert_eq!(status, 200, "{o}");
        if n == 5 {
            let won = json!({"stage": "won"});
            let path = format!("/opportunities/{}/move", id(&o));
            let (status, o) = hub
                .call("POST", &path, Some(&lee_token), Some(won))
                .await
                .unwrap();
            assert_eq!((status, o["status"].as_str()), (200, Some("won")), "{o}");
        }
    }
    // And one on a demo customer of Alice's: not Lee's customer, so it stays Lee's on a leave,
    // and goes to Alice when Lee leaves for good.
    let found = get(&hub, &sam, "/customers?q=Maria").await;
    let maria = id(&found[0]);
    let body = json!({"name": "Maria's upgrade", "amount": 500, "currency": "USD"});
    let path = format!("/customers/{maria}/opportunities");
    let (status, marias) = hub
        .call("POST", &path, Some(&lee_token), Some(body))
        .await
        .unwrap();
    assert_eq!(status, 200, "{marias}");
    assert_eq!(
        holdings(&hub, &sam, &lee).await,
        json!({"customers": 300, "lent_out": 0, "follow_ups": 40, "opportunities": 6})
    );
    // An agent may not hand over, nor may Lee be deactivated while holding customers.
    let leave = json!({"to": takers, "spread": "even", "until": plugboard_tests::now_ms() + 4_000, "reason": "holiday"});
    let path = format!("/agents/{lee}/handover");
    assert_eq!(
        hub.call("POST", &path, Some(&lee_token), Some(leave.clone()))
            .await
            .unwrap()
            .0,
        403
    );
    let (status, refused) = hub
        .call("POST", &format!("/agents/{lee}/deactivate"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(status, 409, "{refused}");

    // The leave: every customer and follow-up moves, evenly.
    let (status, handover) = hub.call("POST", &path, Some(&sam), Some(leave)).await.unwrap();
    assert_eq!(status, 200, "{handover}");
    assert_eq!(handover["moved"], 300);
    assert_eq!(
        holdings(&hub, &sam, &lee).await,
        json!({"customers": 0, "lent_out": 300, "follow_ups": 40, "opportunities": 1})
    );
    let mut follow_ups = 0;
    for taker in &takers {
        let held = holdings(&hub, &sam, taker).await;
        assert_eq!(held["customers"], 100, "{taker}: {held}");
        follow_ups += held["follow_ups"].as_u64().unwrap();
    }
    assert_eq!(follow_ups, 40);
    let mine = get(&hub, &lee_token, &format!("/follow-ups?before={}", due + 1)).await;
    assert_eq!(mine, json!([]));
    // The waiting contacts are intact, their customers now a colleague's.
    for interaction in &interactions[295..] {
        let detail = get(&hub, &sam, &format!("/interactions/{interaction}")).await;
        assert_eq!(detail["interaction"]["state"], "queued");
        let card = get(
            &hub,
            &sam,
            &format!(
                "/customers/{}",
                detail["interaction"]["customer_id"].as_str().unwrap()
            ),
        )
        .await;
        assert!(takers.contains(&card["customer"]["owner_id"].as_str().unwrap().to_string()));
        assert_eq!(card["customer"]["home_owner_id"], lee.as_str());
    }
    let timeline = get(&hub, &sam, &format!("/customers/{}/timeline", customers[7])).await;
    let moved = &timeline["events"][timeline["events"].as_array().unwrap().len() - 1];
    assert_eq!(moved["type"], "customer.owner_changed");
    assert_eq!(moved["data"]["by"]["name"], "Sam Lee");
    assert_eq!(moved["data"]["reason"], "holiday");
    assert_eq!(moved["data"]["from"]["name"], "Lee Ver");

    // Back from leave: the scheduler returns everything when the leave ends.
    let mut back = json!(null);
    for _ in 0..100 {
        back = holdings(&hub, &sam, &lee).await;
        if back["customers"] == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        back,
        json!({"customers": 300, "lent_out": 0, "follow_ups": 40, "opportunities": 6})
    );
    let mine = get(&hub, &lee_token, &format!("/follow-ups?before={}", due + 1)).await;
    assert_eq!(mine.as_array().unwrap().len(), 40);
    let list = get(&hub, &sam, "/handovers").await;
    assert!(list[0]["returned_at"].is_i64(), "{list}");

    // Lee leaves for good: the Chinese-speaking desk by rule is not asked, so spread evenly over two.
    let for_good = json!({"to": &takers[..2], "reason": "Lee left the company"});
    let (status, handover) = hub.call("POST", &path, Some(&sam), Some(for_good)).await.unwrap();
    assert_eq!(status, 200, "{handover}");
    assert_eq!(handover["moved"], 300);
    let (status, gone) = hub
        .call("POST", &format!("/agents/{lee}/deactivate"), Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{gone}");
    assert_eq!(orphans(&hub).await, (0, 0, 0));
    let upgrade = get(&hub, &sam, &format!("/opportunities/{}", id(&marias))).await;
    assert_eq!(upgrade["owner_name"], "Alice Wong");
    let mut owners: HashMap<String, usize> = HashMap::new();
    for customer in &customers {
        let card = get(&hub, &sam, &format!("/customers/{customer}")).await;
        *owners
            .entry(card["customer"]["owner_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    // Each taker had 0 after the return: 150 each now.
    assert_eq!(
        owners,
        HashMap::from([(takers[0].clone(), 150), (takers[1].clone(), 150)])
    );
    drop(open);
}

#[tokio::test]
async fn a_supervisor_reassigns_and_a_follow_up_reminds_its_owner_then_escalates() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CRM__ESCALATE_AFTER_SECS", "1")])
        .await
        .unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let agents = get(&hub, &sam, "/agents").await;
    let bob = id(named(&agents, "Bob Martin"));
    let found = get(&hub, &sam, "/customers?q=Maria").await;
    let maria = id(&found[0]);
    assert_eq!(found[0]["owner_name"], "Alice Wong");

    // An agent may not reassign; a supervisor may, and it is on the timeline with why.
    let body = json!({"customer_ids": [maria], "owner_id": bob, "reason": "Bob knows her account"});
    assert_eq!(
        hub.call(
            "POST",
            "/customers/reassign",
            Some(&bob_token),
            Some(body.clone())
        )
        .await
        .unwrap()
        .0,
        403
    );
    let (status, moved) = hub
        .call("POST", "/customers/reassign", Some(&sam), Some(body.clone()))
        .await
        .unwrap();
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["moved"], json!([maria]));
    let (_, again) = hub
        .call("POST", "/customers/reassign", Some(&sam), Some(body))
        .await
        .unwrap();
    assert_eq!(again["moved"], json!([]), "already Bob's");
    let timeline = get(&hub, &sam, &format!("/customers/{maria}/timeline")).await;
    assert_eq!(timeline["customer"]["owner_name"], "Bob Martin");
    let last = timeline["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["data"]["reason"], "Bob knows her account");
    assert_eq!(last["data"]["from"]["name"], "Alice Wong");
    assert_eq!(last["data"]["to"]["name"], "Bob Martin");

    // Bob's callback, due in a second: his console is reminded, then Sam's is told it is overdue.
    let mut bob_console = hub.agent_with(&bob_token).await.unwrap();
    let mut sam_console = hub.agent_with(&sam).await.unwrap();
    let body = json!({"kind": "callback", "title": "call Maria about the renewal", "due_at": plugboard_tests::now_ms() + 1_000});
    let (status, f) = hub
        .call(
            "POST",
            &format!("/customers/{maria}/follow-ups"),
            Some(&bob_token),
            Some(body),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{f}");
    let due = bob_console
        .gets_within("follow_up.due", Duration::from_secs(10))
        .await
        .expect("a reminder");
    assert_eq!(due["follow_up"]["title"], "call Maria about the renewal");
    assert_eq!(due["follow_up"]["customer_name"], "Maria Garcia");
    let escalated = sam_console
        .gets_within("follow_up.escalated", Duration::from_secs(10))
        .await
        .expect("an escalation");
    assert_eq!(escalated["follow_up"]["id"], f["id"]);
    let overdue = get(&hub, &sam, "/follow-ups/overdue").await;
    assert_eq!(overdue[0]["id"], f["id"]);
    // Done, by Bob: on the timeline, and only once.
    let close = format!("/follow-ups/{}/close", id(&f));
    let (status, done) = hub
        .call("POST", &close, Some(&bob_token), Some(json!({"done": true})))
        .await
        .unwrap();
    assert_eq!((status, done["state"].as_str()), (200, Some("done")));
    assert_eq!(
        hub.call("POST", &close, Some(&bob_token), Some(json!({"done": true})))
            .await
            .unwrap()
            .0,
        409
    );
    let timeline = get(&hub, &sam, &format!("/customers/{maria}/timeline")).await;
    let last = timeline["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "follow_up.done");
    assert_eq!(last["data"]["by"]["name"], "Bob Martin");
    // Only supervisors give follow-ups to someone else.
    let body = json!({"kind": "task", "title": "x", "due_at": 1, "owner_id": id(named(&agents, "Sam Lee"))});
    assert_eq!(
        hub.call(
            "POST",
            &format!("/customers/{maria}/follow-ups"),
            Some(&bob_token),
            Some(body)
        )
        .await
        .unwrap()
        .0,
        403
    );
}

#[tokio::test]
async fn a_contact_from_an_owned_customer_is_offered_to_the_owner_first_then_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CRM__OWNER_FIRST_SECS", "60")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let agents = get(&hub, &admin, "/agents").await;
    let chen_id = id(named(&agents, "Chen Jing 陈静"));
    // New customers are Chen's.
    let rules = json!([{"when": {"type": "always"}, "agents": [{"agent_id": chen_id}]}]);
    assert_eq!(
        hub.call("PUT", "/assignment-rules", Some(&admin), Some(rules))
            .await
            .unwrap()
            .0,
        200
    );
    // Dana has been Available longest: without an owner, she would be offered the next chat.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    plugboard_tests::available(&mut dana).await;
    let mut chen = hub.agent("chen@plugboard.example").await.unwrap();
    plugboard_tests::available(&mut chen).await;
    let (_widget, interaction) = chat(&hub, "Olga Petrova").await;
    let offer = chen.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    assert_eq!(offer["card"]["customer"]["owner_name"], "Chen Jing 陈静");
    let arrived_at = offer["interaction"]["arrived_at"].clone();
    assert!(
        dana.gets_within("offer", Duration::from_millis(500))
            .await
            .is_none(),
        "the owner's first"
    );
    // Chen declines: it goes to the queue, with the time it arrived.
    chen.send(json!({"type": "offer.decline", "interaction_id": interaction}))
        .await
        .unwrap();
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], interaction.as_str());
    assert_eq!(offer["interaction"]["arrived_at"], arrived_at);
}

#[tokio::test]
async fn a_vip_customer_is_served_before_those_who_came_earlier_where_the_queue_says_so() {
    const SECRET: &str = "widget-secret-for-support";
    let dir = tempfile::tempdir().unwrap();
    let env = [("PLUGBOARD_CHAT__IDENTITY_SECRETS__SUPPORT", SECRET)];
    let hub = Hub::start(dir.path(), &env).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let queues = get(&hub, &admin, "/queues").await;
    let support = named(&queues, "Support").clone();
    let mut spec = support.clone();
    spec["tier_priority"] = json!({"VIP": 10});
    let (status, body) = hub
        .call(
            "PUT",
            &format!("/queues/{}", id(&support)),
            Some(&admin),
            Some(spec.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        (status, &body["tier_priority"]),
        (200, &json!({"VIP": 10})),
        "{body}"
    );
    spec["tier_priority"] = json!({"": 1});
    let (status, _) = hub
        .call(
            "PUT",
            &format!("/queues/{}", id(&support)),
            Some(&admin),
            Some(spec),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "a blank tier");

    // Maria is a VIP (in lower case: tiers match in any case).
    const MARIA: &str = "maria.garcia@example.com";
    let maria = id(&get(&hub, &admin, &format!("/customers?q={MARIA}")).await[0]);
    let (status, _) = hub
        .call(
            "PATCH",
            &format!("/customers/{maria}"),
            Some(&admin),
            Some(json!({"tier": "vip"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);

    // Nobody is Available: Ann asks first, Maria after her, signed in on the site (a typed
    // address is only a claim and would not make her Maria).
    let (_ann, ann_chat) = chat(&hub, "Ann Lee").await;
    let mut signed_in = hub.widget().await.unwrap();
    signed_in
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    signed_in.expect("ready").await.unwrap();
    let hash = plugboard_im::whatsapp::sign(SECRET, MARIA.as_bytes())
        .trim_start_matches("sha256=")
        .to_string();
    signed_in
        .send(
            json!({"type": "start", "name": "Maria Garcia", "email": MARIA, "message": "Hi",
            "identity": {"email": MARIA, "hash": hash}}),
        )
        .await
        .unwrap();
    let maria_chat = signed_in.expect("started").await.unwrap()["interaction_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(customer_of(&hub, &admin, &maria_chat).await, maria);
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    plugboard_tests::available(&mut dana).await;
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], maria_chat.as_str(), "the VIP first");
    assert_eq!(offer["interaction"]["priority"], 10);
    dana.send(json!({"type": "offer.accept", "interaction_id": maria_chat}))
        .await
        .unwrap();
    // Ann's next, as she came: the queue's own priority.
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], ann_chat.as_str());
    assert_eq!(offer["interaction"]["priority"], 0);
}

#[tokio::test]
async fn an_admin_defines_customer_fields_agents_fill_them_and_search_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let defs = json!([
        {"key": "plan", "label": " Plan ", "kind": "choice", "choices": ["Free", "Pro", "企业版"]},
        {"key": "renewal", "label": "Renewal", "kind": "date"},
        {"key": "seats", "label": "Seats", "kind": "number"},
        {"key": "products", "label": "Products", "kind": "multi_choice", "choices": ["Phones", "Chat", "Mail"]}
    ]);
    // An agent may read them, not change them; a malformed list is refused whole.
    let (status, _) = hub
        .call("PUT", "/customer-fields", Some(&bob), Some(defs.clone()))
        .await
        .unwrap();
    assert_eq!(status, 403);
    let twice =
        json!([{"key": "plan", "label": "A", "kind": "text"}, {"key": "plan", "label": "B", "kind": "text"}]);
    let (status, body) = hub
        .call("PUT", "/customer-fields", Some(&admin), Some(twice))
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, saved) = hub
        .call("PUT", "/customer-fields", Some(&admin), Some(defs))
        .await
        .unwrap();
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved[0]["label"], "Plan", "trimmed");
    assert_eq!(get(&hub, &bob, "/customer-fields").await, saved);

    // Bob fills them in on a customer; a value not of its kind is refused, naming the field.
    let (_widget, interaction) = chat(&hub, "Mia Fischer").await;
    let customer = customer_of(&hub, &bob, &interaction).await;
    let path = format!("/customers/{customer}");
    let patch = |fields: Value| Some(json!({ "fields": fields }));
    for (bad, field) in [
        (json!({"plan": "Gold"}), "Plan"),
        (json!({"renewal": "next week"}), "Renewal"),
        (json!({"nope": 1}), "nope"),
    ] {
        let (status, body) = hub
            .call("PATCH", &path, Some(&bob), patch(bad.clone()))
            .await
            .unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    let set = json!({"plan": "企业版", "renewal": "2027-01-31", "seats": 40, "products": ["Mail", "Phones"]});
    let (status, updated) = hub.call("PATCH", &path, Some(&bob), patch(set)).await.unwrap();
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["fields"],
        json!({"plan": "企业版", "renewal": "2027-01-31", "seats": 40, "products": ["Phones", "Mail"]})
    );
    assert_eq!(
        get(&hub, &bob, &path).await["customer"]["fields"],
        updated["fields"],
        "on the card"
    );

    // Search finds a customer by a value; a value taken away is no longer found.
    let found = get(&hub, &bob, "/customers?q=企业版").await;
    assert_eq!(
        found.as_array().unwrap().iter().map(id).collect::<Vec<_>>(),
        std::slice::from_ref(&customer)
    );
    let (status, _) = hub
        .call("PATCH", &path, Some(&bob), patch(json!({"plan": null})))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        get(&hub, &bob, "/customers?q=企业版")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A supervisor exports what a search finds as CSV, the fields as columns; a name that would
    // run as a formula in a spreadsheet is kept as text.
    let rename = json!({"name": "=HYPERLINK(\"http://x.example\")", "fields": {"plan": "Pro"}});
    let (status, _) = hub.call("PATCH", &path, Some(&bob), Some(rename)).await.unwrap();
    assert_eq!(status, 200);
    let export = reqwest::Client::new()
        .get(format!("{}/api/v1/customers/export", hub.base))
        .query(&[("q", "pro")])
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(export.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = export.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "id,name,email,phone,tier,owner,tags,created,Plan,Renewal,Seats,Products"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    let formula = format!("{customer},\"'=HYPERLINK(\"\"http://x.example\"\")\",");
    assert!(lines[1].starts_with(&formula), "{csv}");
    assert!(lines[1].ends_with(",Pro,2027-01-31,40,Phones; Mail"), "{csv}");
}

#[tokio::test]
async fn a_supervisor_saves_a_segment_counts_it_exports_it_and_gives_it_to_another_owner() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let agents = get(&hub, &sam, "/agents").await;
    let alice = id(named(&agents, "Alice Wong"));
    let chen = id(named(&agents, "Chen Jing 陈静"));
    let post = |body: Value| {
        let (hub, sam) = (&hub, &sam);
        async move {
            hub.call("POST", "/segments", Some(sam), Some(body))
                .await
                .unwrap()
        }
    };

    // The demo's customers are Alice's: Li Wei (gold, a Chinese number), Maria Garcia (silver,
    // an American one) and Tom Baker (bronze, no number).
    let (status, abroad) = post(json!({"name": "Gold and silver in the US",
        "tiers": ["Gold", "silver"], "regions": ["US"]}))
    .await;
    assert_eq!(status, 200, "{abroad}");
    assert_eq!((&abroad["count"], &abroad["more"]), (&json!(1), &json!(false)));
    let (status, alices) =
        post(json!({"name": "Alice's", "owner": {"type": "agent", "agent_id": alice}})).await;
    assert_eq!((status, &alices["count"]), (200, &json!(3)), "{alices}");
    assert_eq!(post(json!({"name": "Gold and silver in the US"})).await.0, 409);
    let (status, bad) = post(json!({"name": "Asia", "regions": ["China"]})).await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("regions"), "{bad}");
    assert_eq!(post(json!({"name": " "})).await.0, 400);
    let (status, _) = hub.call("GET", "/segments", Some(&bob), None).await.unwrap();
    assert_eq!(status, 403, "an agent");

    let listed = get(&hub, &sam, "/segments").await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice's", "Gold and silver in the US"]);
    let members = get(&hub, &sam, &format!("/segments/{}/customers", id(&abroad))).await;
    assert_eq!(members["customers"][0]["name"], "Maria Garcia");
    let export = reqwest::Client::new()
        .get(format!("{}/api/v1/customers/export", hub.base))
        .query(&[("segment", id(&abroad))])
        .bearer_auth(&sam)
        .send()
        .await
        .unwrap();
    let csv = export.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].contains("Maria Garcia"), "{csv}");

    // The segment goes to Chen at once; Alice keeps the others.
    let give = json!({"segment_id": id(&abroad), "owner_id": chen, "reason": "US accounts"});
    let (status, moved) = hub
        .call("POST", "/customers/reassign", Some(&sam), Some(give))
        .await
        .unwrap();
    assert_eq!(
        (status, moved["moved"].as_array().unwrap().len()),
        (200, 1),
        "{moved}"
    );
    let both =
        json!({"segment_id": id(&abroad), "customer_ids": [members["customers"][0]["id"]], "owner_id": chen});
    let (status, _) = hub
        .call("POST", "/customers/reassign", Some(&sam), Some(both))
        .await
        .unwrap();
    assert_eq!(status, 400, "customers and a segment");
    let listed = get(&hub, &sam, "/segments").await;
    assert_eq!(named(&listed, "Alice's")["count"], 2);

    // By lifecycle stage: Maria is a prospect now.
    let maria_id = members["customers"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = hub
        .call(
            "PUT",
            &format!("/customers/{maria_id}/stage"),
            Some(&sam),
            Some(json!({"stage": "prospect"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, prospects) = post(json!({"name": "Prospects", "stages": ["prospect", "lead"]})).await;
    assert_eq!((status, &prospects["count"]), (200, &json!(1)), "{prospects}");
    let (status, _) = post(json!({"name": "VIP stage", "stages": ["vip"]})).await;
    assert!(status == 400 || status == 422, "no such stage: {status}");

    // Renamed, then forgotten; its customers stay as they are.
    let path = format!("/segments/{}", id(&abroad));
    let rename = json!({"name": "美国的金银客户", "tiers": ["gold", "silver"], "regions": ["US"]});
    let (status, renamed) = hub.call("PUT", &path, Some(&sam), Some(rename)).await.unwrap();
    assert_eq!(
        (status, &renamed["name"], &renamed["count"]),
        (200, &json!("美国的金银客户"), &json!(1))
    );
    assert_eq!(hub.call("DELETE", &path, Some(&sam), None).await.unwrap().0, 204);
    assert_eq!(hub.call("DELETE", &path, Some(&sam), None).await.unwrap().0, 404);
    let maria = get(
        &hub,
        &sam,
        &format!("/customers/{}", members["customers"][0]["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(maria["customer"]["owner_name"], "Chen Jing 陈静");
}

/// A CSV posted to `/customers/import` with this query: (status, body).
async fn import(hub: &Hub, token: &str, query: &str, csv: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/customers/import?{query}", hub.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_spreadsheet_of_customers_is_previewed_then_imported_with_its_bad_rows_said() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let fields = json!([{"key": "seats", "label": "席位", "kind": "number"}]);
    let (status, _) = hub
        .call("PUT", "/customer-fields", Some(&admin), Some(fields))
        .await
        .unwrap();
    assert_eq!(status, 200);
    // As Chinese Excel saves it: GB18030, Chinese headers, a quoted cell with a comma, the
    // export's guard before a phone number, and four rows that can't be customers.
    let csv = "姓名,邮箱,手机,等级,标签,席位,备注\r\n\
        王芳,wang.fang@example.cn,'+8613912345678,VIP,批发; 华东,12,\"老客户, 电话联系\"\r\n\
        Maria Garcia,MARIA.GARCIA@example.com,,gold,,,\r\n\
        ,nobody@example.com,,,,,\r\n\
        无联系方式,,,,,,\r\n\
        坏号码,,12,,,,\r\n\
        Wang Again,wang.fang@example.cn,,,,,\r\n\
        席位不对,seats@example.com,,,,很多,\r\n";
    let (gb, _, _) = encoding_rs::GB18030.encode(csv);
    let gb = gb.into_owned();
    assert_eq!(
        import(&hub, &bob, "dry_run=true", gb.clone()).await.0,
        403,
        "an agent"
    );

    let (status, preview) = import(&hub, &sam, "dry_run=true", gb.clone()).await;
    assert_eq!(status, 200, "{preview}");
    let taken: Vec<&Value> = preview["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["taken_as"])
        .collect();
    assert_eq!(
        taken,
        [
            &json!({"type": "name"}),
            &json!({"type": "email"}),
            &json!({"type": "phone"}),
            &json!({"type": "tier"}),
            &json!({"type": "tags"}),
            &json!({"type": "field", "key": "seats"}),
            &json!({"type": "ignore"})
        ]
    );
    assert_eq!(
        (&preview["rows"], &preview["created"], &preview["dry_run"]),
        (&json!(7), &json!(1), &json!(true))
    );
    assert_eq!(preview["skipped"][0]["line"], 3, "Maria is known: {preview}");
    let rejected: Vec<(i64, &str)> = preview["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_i64().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        [4, 5, 6, 7, 8],
        "{preview}"
    );
    assert_eq!(rejected[0].1, "no name");
    assert_eq!(rejected[1].1, "no email or phone");
    assert_eq!(rejected[3].1, "the same email or phone as line 2");
    assert!(rejected[4].1.contains("席位"), "{preview}");
    let (_, found) = hub
        .call("GET", "/customers?q=wang.fang%40example.cn", Some(&sam), None)
        .await
        .unwrap();
    assert_eq!(found, json!([]), "a dry run writes nothing");

    // Imported, Maria updated rather than skipped.
    let (status, done) = import(&hub, &sam, "duplicates=update", gb).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            &done["created"],
            &done["updated"],
            done["rejected"].as_array().unwrap().len()
        ),
        (&json!(1), &json!(1), 5)
    );
    let (_, found) = hub
        .call("GET", "/customers?q=wang.fang%40example.cn", Some(&sam), None)
        .await
        .unwrap();
    let wang = &found[0];
    assert_eq!(
        (&wang["name"], &wang["phone"], &wang["tier"]),
        (&json!("王芳"), &json!("+8613912345678"), &json!("VIP"))
    );
    assert_eq!(
        (&wang["tags"], &wang["fields"]["seats"]),
        (&json!(["批发", "华东"]), &json!(12.0))
    );
    let (_, maria) = hub
        .call("GET", "/customers?q=maria.garcia%40example.com", Some(&sam), None)
        .await
        .unwrap();
    assert_eq!(maria[0]["tier"], "gold");

    // A mapping given by hand; one naming no field is refused.
    let csv = b"who,mail\nTom Li,tom.li@example.com\n".to_vec();
    let (status, done) = import(&hub, &sam, "columns=name,email", csv.clone()).await;
    assert_eq!((status, &done["created"]), (200, &json!(1)), "{done}");
    let (status, bad) = import(&hub, &sam, "columns=name,field:nope", csv).await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = import(&hub, &sam, "", b"name,email\n\"open".to_vec()).await;
    assert_eq!(status, 400, "an unclosed quote");
}
