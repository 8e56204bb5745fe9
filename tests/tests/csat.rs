//! Customer satisfaction and agent KPIs end to end with the real binary: a widget chat on a queue
//! that asks ends, its customer rates it 5 with a comment in Chinese, a second answer changes
//! nothing; the rating is on the conversation, the customer card and timeline, and in the reports
//! per agent and queue; the KPIs count the agent's contact and rating, as JSON and CSV; an agent
//! cannot read them and a team's supervisor sees only their team.

use plugboard_tests::{DEMO_PASSWORD, Hub, accepted_chat, utc_date};
use serde_json::{Value, json};

async fn get(hub: &Hub, token: &str, path: &str) -> Value {
    let (status, body) = hub.call("GET", path, Some(token), None).await.unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn token(hub: &Hub, login: &str) -> String {
    hub.login(&format!("{login}@plugboard.example"), DEMO_PASSWORD)
        .await
        .unwrap()
}

fn row<'a>(rows: &'a Value, name: &str) -> Option<&'a Value> {
    rows.as_array().unwrap().iter().find(|r| r["name"] == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rated_chat_shows_on_the_customer_and_in_the_reports_and_kpis() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let admin = token(&hub, "admin").await;
    let bob_token = token(&hub, "bob").await;
    let sam = token(&hub, "sam").await;

    // Support asks for ratings (an admin's queue setting, off by default).
    let queues = get(&hub, &admin, "/queues").await;
    let mut support = plugboard_tests::named(&queues, "Support").clone();
    assert_eq!(support["csat"], false);
    support["csat"] = json!(true);
    let path = format!("/queues/{}", support["id"].as_str().unwrap());
    let (status, saved) = hub.call("PUT", &path, Some(&admin), Some(support)).await.unwrap();
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["csat"], true);

    // A widget learns it before the chat.
    let mut visitor = hub.widget().await.unwrap();
    visitor
        .send(json!({"type": "hello", "queue": "Support"}))
        .await
        .unwrap();
    assert_eq!(visitor.expect("ready").await.unwrap()["csat"], true);

    let (mut bob, mut widget, id) = accepted_chat(
        &hub,
        "bob@plugboard.example",
        "Li Wei",
        "li.wei@example.com",
        "你好，我想退款",
    )
    .await;
    // Not before the end.
    widget.send(json!({"type": "csat", "score": 5})).await.unwrap();
    assert_eq!(widget.expect_error().await["code"], "invalid_state");
    bob.send(json!({"type": "interaction.end", "interaction_id": id}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    // A score out of range is refused in words.
    widget.send(json!({"type": "csat", "score": 7})).await.unwrap();
    let refused = widget.expect_error().await;
    assert_eq!(refused["code"], "bad_request");
    assert!(
        refused["message"].as_str().unwrap().contains("1 to 5"),
        "{refused}"
    );
    let comment = "客服很专业，谢谢！";
    widget
        .send(json!({"type": "csat", "score": 5, "comment": format!("  {comment} ")}))
        .await
        .unwrap();
    let kept = widget.expect("csat.recorded").await.unwrap();
    assert_eq!(
        (kept["score"].as_u64(), kept["already"].as_bool()),
        (Some(5), Some(false))
    );
    // A second answer changes nothing and says so.
    widget
        .send(json!({"type": "csat", "score": 1, "comment": "changed my mind"}))
        .await
        .unwrap();
    let again = widget.expect("csat.recorded").await.unwrap();
    assert_eq!(
        (again["score"].as_u64(), again["already"].as_bool()),
        (Some(5), Some(true))
    );

    // On the conversation, the card and the timeline.
    let detail = get(&hub, &bob_token, &format!("/interactions/{id}")).await;
    assert_eq!(detail["csat"]["score"], 5);
    assert_eq!(detail["csat"]["comment"], comment);
    let bob_id = detail["interaction"]["agent_id"].as_str().unwrap().to_string();
    assert_eq!(detail["csat"]["agent_id"], bob_id.as_str());
    let customer = detail["interaction"]["customer_id"].as_str().unwrap().to_string();
    let card = get(&hub, &bob_token, &format!("/customers/{customer}")).await;
    assert_eq!(card["csat"]["count"], 1);
    assert_eq!(card["csat"]["average"], 5.0);
    assert_eq!(card["csat"]["last"]["comment"], comment);
    let timeline = get(&hub, &bob_token, &format!("/customers/{customer}/timeline")).await;
    let rated: Vec<&Value> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "csat.rated")
        .collect();
    assert_eq!(rated.len(), 1, "{timeline}");
    assert_eq!(rated[0]["data"]["agent"]["name"], "Bob Martin");
    assert_eq!(rated[0]["data"]["score"], 5);
    assert_eq!(timeline["entries"][0]["csat"]["score"], 5);

    // The reports: per agent and per queue.
    let range = format!("from={}&to={}", utc_date(-1), utc_date(1));
    let report = get(&hub, &admin, &format!("/reports/csat?{range}")).await;
    let bob_row = row(&report["agents"], "Bob Martin").expect("Bob's row");
    assert_eq!(
        (bob_row["count"].as_u64(), bob_row["average"].as_f64()),
        (Some(1), Some(5.0))
    );
    assert_eq!(bob_row["satisfied"], 1.0);
    let support_row = row(&report["queues"], "Support").expect("Support's row");
    assert_eq!(support_row["count"], 1);
    assert_eq!(report["total"]["count"], 1);

    // The KPIs: Bob answered the chat and was rated; as CSV too.
    let kpis = get(&hub, &admin, &format!("/reports/agent-kpis?{range}")).await;
    let bob_kpis = row(&kpis["agents"], "Bob Martin").expect("Bob's KPIs");
    assert!(bob_kpis["contacts_handled"].as_u64().unwrap() >= 1, "{bob_kpis}");
    assert_eq!(bob_kpis["csat"]["count"], 1);
    assert_eq!(bob_kpis["csat"]["satisfied"], 1.0);
    assert!(
        row(&kpis["agents"], "Dana Silva").is_some(),
        "every agent has a row: {kpis}"
    );
    let csv_url = format!("{}/api/v1/reports/agent-kpis?{range}&format=csv", hub.base);
    let csv = reqwest::Client::new()
        .get(&csv_url)
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("agent_id,name,contacts_handled,aht_s,"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("Bob Martin"))
        .expect("Bob's line");
    assert!(line.ends_with(",1,5.00,1.0000,0,"), "{line}");

    // Bad ranges are a clear 400.
    let (status, body) = hub
        .call(
            "GET",
            "/reports/agent-kpis?from=yesterday&to=today",
            Some(&admin),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let backwards = format!("/reports/csat?from={}&to={}", utc_date(1), utc_date(-1));
    let (status, _) = hub.call("GET", &backwards, Some(&admin), None).await.unwrap();
    assert_eq!(status, 400);

    // An agent reads no KPIs and no satisfaction report.
    for path in [
        format!("/reports/agent-kpis?{range}"),
        format!("/reports/csat?{range}"),
    ] {
        let (status, _) = hub.call("GET", &path, Some(&bob_token), None).await.unwrap();
        assert_eq!(status, 403, "{path}");
    }

    // With teams, Sam sees his team only: Dana and Sales, not Bob nor Support.
    let agents = get(&hub, &admin, "/agents").await;
    let id_of = |name: &str| plugboard_tests::named(&agents, name)["id"].clone();
    let sales = plugboard_tests::named(&queues, "Sales")["id"].clone();
    let team = json!({"name": "Sales team", "leads": [id_of("Sam Lee")], "members": [id_of("Dana Silva")], "queues": [sales]});
    let (status, body) = hub
        .call("POST", "/teams", Some(&admin), Some(team))
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    let theirs = get(&hub, &sam, &format!("/reports/agent-kpis?{range}")).await;
    let names: Vec<&str> = theirs["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Dana Silva", "Sam Lee"]);
    let theirs = get(&hub, &sam, &format!("/reports/csat?{range}")).await;
    assert_eq!(theirs["agents"], json!([]));
    assert_eq!(theirs["queues"], json!([]));
    assert_eq!(theirs["total"]["count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_does_not_ask_takes_no_rating() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let (mut bob, mut widget, id) =
        accepted_chat(&hub, "bob@plugboard.example", "Mia", "mia@example.com", "hello").await;
    bob.send(json!({"type": "interaction.end", "interaction_id": id}))
        .await
        .unwrap();
    widget.expect("ended").await.unwrap();
    widget.send(json!({"type": "csat", "score": 4})).await.unwrap();
    assert_eq!(widget.expect_error().await["code"], "invalid_state");
    let admin = token(&hub, "admin").await;
    let detail = get(&hub, &admin, &format!("/interactions/{id}")).await;
    assert_eq!(detail["csat"], Value::Null);
}
