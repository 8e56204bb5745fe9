//! The pipeline end to end with the real binary: an agent opens an opportunity on a customer they
//! own and moves it along the board to won, every step on the customer's timeline; the board's
//! totals and weighted forecast follow; a colleague sees it only when the account shares team
//! pipelines and they are in the team; bad amounts, currencies, stages and dates are refused; a
//! customer's lifecycle stage is set and logged.

use plugboard_tests::{DEMO_PASSWORD, Hub};
use serde_json::{Value, json};

async fn get(hub: &Hub, token: &str, path: &str) -> Value {
    let (status, body) = hub.call("GET", path, Some(token), None).await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

async fn login(hub: &Hub, who: &str) -> String {
    hub.login(&format!("{who}@plugboard.example"), DEMO_PASSWORD)
        .await
        .unwrap()
}

/// The ids of the opportunities on a user's board.
async fn board_ids(hub: &Hub, token: &str) -> Vec<String> {
    let board = get(hub, token, "/opportunities").await;
    board["opportunities"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect()
}

#[tokio::test]
async fn an_opportunity_moves_to_won_on_the_timeline_and_only_its_team_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = login(&hub, "admin").await;
    let alice = login(&hub, "alice").await;
    let bob = login(&hub, "bob").await;
    let chen = login(&hub, "chen").await;
    let agents = get(&hub, &admin, "/agents").await;
    let agent_id = |name: &str| id(plugboard_tests::named(&agents, name));
    let found = get(&hub, &alice, "/customers?q=Maria").await;
    let maria = id(&found.as_array().unwrap()[0]);
    let opportunities = format!("/customers/{maria}/opportunities");

    // The defaults: five stages, each agent sees their own.
    let settings = get(&hub, &bob, "/pipeline/settings").await;
    let keys: Vec<&str> = settings["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["qualification", "proposal", "negotiation", "won", "lost"]);
    assert_eq!(settings["pipeline_visibility"], "own");

    // Bad input: each refused with a 400 that says what.
    let good = json!({"name": "Team plan", "amount": 125_000, "currency": "eur", "stage": "proposal",
        "expected_close": "2027-01-31"});
    let with = |key: &str, value: Value| {
        let mut body = good.clone();
        body[key] = value;
        body
    };
    for (bad, says) in [
        (with("amount", json!(-1)), "amount"),
        (with("amount", json!(1_000_000_000_000_000_001_i64)), "amount"),
        (with("currency", json!("EU")), "currency"),
        (with("currency", json!("€UR")), "currency"),
        (with("stage", json!("signed")), "stage"),
        (with("expected_close", json!("next week")), "expected close"),
        (with("name", json!("  ")), "name"),
    ] {
        let (status, body) = hub
            .call("POST", &opportunities, Some(&alice), Some(bad.clone()))
            .await
            .unwrap();
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains(says), "{bad}: {body}");
    }
    let (status, body) = hub
        .call(
            "POST",
            &opportunities,
            Some(&alice),
            Some(with("amount", json!("12.50"))),
        )
        .await
        .unwrap();
    assert!(status == 400 || status == 422, "a string amount: {status} {body}");

    // Alice opens one on her customer.
    let (status, deal) = hub
        .call("POST", &opportunities, Some(&alice), Some(good))
        .await
        .unwrap();
    assert_eq!(status, 200, "{deal}");
    assert_eq!(
        (
            &deal["currency"],
            &deal["stage"],
            &deal["status"],
            &deal["owner_name"]
        ),
        (
            &json!("EUR"),
            &json!("proposal"),
            &json!("open"),
            &json!("Alice Wong")
        )
    );
    let deal_id = id(&deal);
    let path = format!("/opportunities/{deal_id}");
    let board = get(&hub, &alice, "/opportunities").await;
    assert_eq!(board["forecast"]["weighted"], json!({"EUR": 50_000}));
    assert_eq!(board["forecast"]["stages"][1]["total"], json!({"EUR": 125_000}));

    // Bob and Chen, agents of no team, see nothing of it, and cannot move it.
    for stranger in [&bob, &chen] {
        assert!(board_ids(&hub, stranger).await.is_empty());
        assert_eq!(get(&hub, stranger, &opportunities).await, json!([]));
        let (status, _) = hub.call("GET", &path, Some(stranger), None).await.unwrap();
        assert_eq!(status, 404);
        let (status, _) = hub
            .call(
                "POST",
                &format!("{path}/move"),
                Some(stranger),
                Some(json!({"stage": "lost"})),
            )
            .await
            .unwrap();
        assert_eq!(status, 404);
    }
    // Alice and Bob in one team: still their own under `own`...
    let team = json!({"name": "Sales", "members": [agent_id("Alice Wong"), agent_id("Bob Martin")]});
    let (status, body) = hub
        .call("POST", "/teams", Some(&admin), Some(team))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert!(board_ids(&hub, &bob).await.is_empty());
    // ... and the team's once the admin shares them; Chen, in no team, still sees nothing.
    let mut shared = settings.clone();
    shared["pipeline_visibility"] = json!("team");
    let (status, body) = hub
        .call("PUT", "/pipeline/settings", Some(&bob), Some(shared.clone()))
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    let (status, body) = hub
        .call("PUT", "/pipeline/settings", Some(&admin), Some(shared))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(board_ids(&hub, &bob).await, std::slice::from_ref(&deal_id));
    assert!(board_ids(&hub, &chen).await.is_empty());
    // The admin sees every one.
    assert_eq!(board_ids(&hub, &admin).await, std::slice::from_ref(&deal_id));

    // Bad settings and moves are refused.
    let mut bad = settings.clone();
    bad["stages"][0]["probability"] = json!(140);
    let (status, _) = hub
        .call("PUT", "/pipeline/settings", Some(&admin), Some(bad))
        .await
        .unwrap();
    assert_eq!(status, 400);
    for stage in ["signed", "proposal"] {
        let (status, body) = hub
            .call(
                "POST",
                &format!("{path}/move"),
                Some(&alice),
                Some(json!({"stage": stage})),
            )
            .await
            .unwrap();
        assert_eq!(status, 400, "{stage}: {body}");
    }

    // Bob's console hears of a move; the move, then the win, are on Maria's timeline.
    let mut bobs_console = hub.agent("bob@plugboard.example").await.unwrap();
    let (status, moved) = hub
        .call(
            "POST",
            &format!("{path}/move"),
            Some(&alice),
            Some(json!({"stage": "negotiation", "from": "proposal"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{moved}");
    bobs_console.expect("pipeline.changed").await.unwrap();
    // A move from a stage it has left is a conflict.
    let (status, _) = hub
        .call(
            "POST",
            &format!("{path}/move"),
            Some(&bob),
            Some(json!({"stage": "lost", "from": "proposal"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 409);
    let (status, won) = hub
        .call(
            "POST",
            &format!("{path}/move"),
            Some(&bob),
            Some(json!({"stage": "won"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{won}");
    assert_eq!(won["status"], "won");
    let board = get(&hub, &alice, "/opportunities").await;
    assert_eq!(board["forecast"]["weighted"], json!({"EUR": 125_000}));
    assert_eq!(board["forecast"]["stages"][3]["count"], 1);
    // The win counts for its owner in the agents' KPIs.
    let range = format!(
        "from={}&to={}",
        plugboard_tests::utc_date(-1),
        plugboard_tests::utc_date(1)
    );
    let kpis = get(&hub, &admin, &format!("/reports/agent-kpis?{range}")).await;
    let owner = won["owner_name"].as_str().unwrap();
    let theirs = kpis["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == owner)
        .unwrap();
    assert_eq!(
        (&theirs["opportunities_won"], &theirs["won_amounts"]),
        (&json!(1), &json!({"EUR": 125_000}))
    );

    // Lifecycle: a bad key refused, a good one set and logged.
    let stage = format!("/customers/{maria}/stage");
    let (status, _) = hub
        .call("PUT", &stage, Some(&alice), Some(json!({"stage": "vip"})))
        .await
        .unwrap();
    assert!(status == 400 || status == 422, "{status}");
    let (status, customer) = hub
        .call("PUT", &stage, Some(&alice), Some(json!({"stage": "customer"})))
        .await
        .unwrap();
    assert_eq!((status, &customer["stage"]), (200, &json!("customer")));
    let card = get(&hub, &bob, &format!("/customers/{maria}")).await;
    assert_eq!(card["customer"]["stage"], "customer");

    let timeline = get(&hub, &alice, &format!("/customers/{maria}/timeline")).await;
    let ours: Vec<(String, Value)> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            let t = e["type"].as_str().unwrap();
            t.starts_with("opportunity.") || t == "customer.stage_changed"
        })
        .map(|e| (e["type"].as_str().unwrap().to_string(), e["data"].clone()))
        .collect();
    let kinds: Vec<&str> = ours.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "opportunity.created",
            "opportunity.stage_changed",
            "opportunity.won",
            "customer.stage_changed"
        ]
    );
    assert_eq!(ours[1].1["by"]["name"], "Alice Wong");
    assert_eq!(ours[2].1["by"]["name"], "Bob Martin");
    assert_eq!(ours[2].1["from"], "negotiation");
    assert_eq!(ours[3].1["to"], "customer");
}

#[tokio::test]
async fn the_checklist_of_the_current_stage_is_ticked_and_an_owner_filter_narrows_the_board() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = login(&hub, "admin").await;
    let alice = login(&hub, "alice").await;
    let sam = login(&hub, "sam").await;
    let mut settings = get(&hub, &admin, "/pipeline/settings").await;
    settings["stages"][0]["checklist"] = json!(["Budget known", "决策人已确认"]);
    let (status, body) = hub
        .call("PUT", "/pipeline/settings", Some(&admin), Some(settings))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let found = get(&hub, &alice, "/customers?q=Tom").await;
    let tom = id(&found.as_array().unwrap()[0]);
    let (status, deal) = hub
        .call(
            "POST",
            &format!("/customers/{tom}/opportunities"),
            Some(&alice),
            Some(json!({"name": "Trial", "amount": 900, "currency": "USD"})),
        )
        .await
        .unwrap();
    assert_eq!((status, &deal["stage"]), (200, &json!("qualification")), "{deal}");
    let tick = format!("/opportunities/{}/checklist", id(&deal));
    let (status, ticked) = hub
        .call(
            "POST",
            &tick,
            Some(&alice),
            Some(json!({"item": "决策人已确认", "done": true})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{ticked}");
    assert_eq!(ticked["checked"], json!({"qualification": ["决策人已确认"]}));
    let (status, _) = hub
        .call(
            "POST",
            &tick,
            Some(&alice),
            Some(json!({"item": "Dance", "done": true})),
        )
        .await
        .unwrap();
    assert_eq!(status, 400);
    // An agent may not give it to someone else; the supervisor (no teams: the whole account) may.
    let agents = get(&hub, &admin, "/agents").await;
    let dana = id(plugboard_tests::named(&agents, "Dana Silva"));
    let path = format!("/opportunities/{}", id(&deal));
    let (status, _) = hub
        .call("PATCH", &path, Some(&alice), Some(json!({"owner_id": dana})))
        .await
        .unwrap();
    assert_eq!(status, 403);
    let (status, given) = hub
        .call(
            "PATCH",
            &path,
            Some(&sam),
            Some(json!({"owner_id": dana, "amount": 1_500})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{given}");
    assert_eq!(
        (&given["owner_name"], &given["amount"]),
        (&json!("Dana Silva"), &json!(1_500))
    );
    // Alice still sees it: Tom is her customer.
    assert_eq!(board_ids(&hub, &alice).await, [id(&deal)]);
    let alice_id = id(plugboard_tests::named(&agents, "Alice Wong"));
    let mine = get(&hub, &sam, &format!("/opportunities?owner={alice_id}")).await;
    assert_eq!(mine["opportunities"], json!([]));
    let danas = get(&hub, &sam, &format!("/opportunities?owner={dana}")).await;
    assert_eq!(danas["opportunities"].as_array().unwrap().len(), 1);
    let (status, _) = hub
        .call("GET", "/opportunities?owner=nobody", Some(&sam), None)
        .await
        .unwrap();
    assert_eq!(status, 400);
}
