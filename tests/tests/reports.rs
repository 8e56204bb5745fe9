//! Reports and staffing end to end: a chat is answered, handled and wrapped up through the real
//! consoles, and a supervisor reads it back as figures (JSON and CSV); the settings, the what-if
//! calculator and staffing as a manager uses them.

use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, accepted_chat, start_chat, utc_date};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_handled_chat_shows_in_the_reports_and_staffing() {
    let (hub, _dir) = hub_with_metrics().await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();

    let (mut dana, _widget, interaction) = adas_chat(&hub).await;
    dana.send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    dana.send(json!({"type": "wrap_up", "interaction_id": interaction, "disposition": "resolved"}))
        .await
        .unwrap();

    let range = format!("from={}&to={}", utc_date(-1), utc_date(1));
    // Committed before the console hears of it; the wrap-up may still be on its way.
    let deadline = Instant::now() + Duration::from_secs(10);
    let report = loop {
        let (status, report) = hub
            .call("GET", &format!("/reports/queue?{range}"), Some(&sam), None)
            .await
            .unwrap();
        assert_eq!(status, 200, "{report}");
        if report["rows"].as_array().is_some_and(|rows| {
            rows.iter()
                .any(|r| r["name"] == "Support" && r["total"]["handled"] == 1)
        }) {
            break report;
        }
        assert!(
            Instant::now() < deadline,
            "the chat never showed as handled: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(report["time_zone"], "UTC");
    assert_eq!(report["intervals"].as_array().unwrap().len(), 3);
    let support = &named(&report["rows"], "Support")["total"];
    assert_eq!(
        (support["offered"].as_u64(), support["answered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(support["abandoned"], 0);
    assert_eq!(support["service_level"], 1.0, "answered within Support's 20 s");
    assert!(support["aht_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(support["fcr_rate"], 1.0, "Ada has not come back");

    let (status, by_agent) = hub
        .call(
            "GET",
            &format!("/reports/agent?{range}&granularity=hour"),
            Some(&sam),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{by_agent}");
    let dana_row = &named(&by_agent["rows"], "Dana Silva")["total"];
    assert_eq!(dana_row["answered"], 1);
    let logged = ["available_ms", "busy_ms", "wrap_up_state_ms"].map(|k| dana_row[k].as_i64().unwrap());
    assert!(logged.iter().sum::<i64>() > 0, "{dana_row}");
    assert!(dana_row["occupancy"].as_f64().is_some());

    let csv = reqwest::Client::new()
        .get(format!("{}/api/v1/reports/queue?{range}&format=csv", hub.base))
        .bearer_auth(&sam)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("key,name,interval,offered,answered,"));
    let total = lines.iter().find(|l| l.contains(",Support,total,")).expect(&csv);
    assert!(total.contains(",Support,total,1,1,1,0,0,1.0000,"), "{total}");
    let support_lines = lines.iter().filter(|l| l.contains(",Support,")).count();
    assert_eq!(support_lines, 4, "three days and the total");

    // Prometheus has today's service level of the queue.
    let metrics = scrape(&hub).await;
    assert!(
        metrics.contains("plugboard_queue_service_level{queue=\"Support\"} 1\n"),
        "{metrics}"
    );

    // Agents reach none of it; a bad range is the caller's mistake.
    for path in ["/reports/queue", "/reports/settings"] {
        assert_eq!(
            status_of(&hub, "GET", &format!("{path}?{range}"), Some(&bob), None).await,
            403,
            "{path}"
        );
    }
    assert_eq!(
        status_of(
            &hub,
            "GET",
            "/reports/queue?from=2026-02-30&to=2026-03-01",
            Some(&sam),
            None
        )
        .await,
        400
    );
    assert_eq!(
        status_of(
            &hub,
            "GET",
            "/reports/queue?from=2020-01-01&to=2026-01-01&granularity=15m",
            Some(&sam),
            None
        )
        .await,
        400,
        "too many intervals"
    );

    // Staffing for Support, hour by hour: the hour of the chat needed an agent, and Dana was on.
    let support_id = hub.named(&sam, "/queues", "Support").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let today = utc_date(0);
    let (status, staffing) = hub
        .call(
            "GET",
            &format!("/staffing/{support_id}?from={today}&to={today}&granularity=hour"),
            Some(&sam),
            None,
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{staffing}");
    assert_eq!(staffing["model"], "erlang_c");
    let hours = staffing["intervals"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    let busy = hours.iter().find(|h| h["offered"] == 1).expect("the chat's hour");
    assert_eq!(busy["needed"]["agents"], 1);
    assert!(hours.iter().any(|h| h["staffed"].as_f64().unwrap() > 0.0));
    // A week from today, forecast from the week before: today's chat is that hour's forecast,
    // with nothing offered or staffed yet; weeks outside 1-12 are refused.
    let next_week = utc_date(7);
    let forecast = |weeks: u32| {
        format!("/staffing/{support_id}?from={next_week}&to={next_week}&granularity=hour&weeks={weeks}")
    };
    let (status, plan) = hub.call("GET", &forecast(1), Some(&sam), None).await.unwrap();
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["forecast_weeks"], 1);
    let hours = plan["intervals"].as_array().unwrap();
    let busy = hours
        .iter()
        .find(|h| h["forecast"] == 1.0)
        .expect("the chat's hour, a week on");
    assert_eq!(
        (busy["offered"].as_u64(), busy["staffed"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert_eq!(busy["needed"]["agents"], 1);
    for weeks in [0, 13] {
        let (status, body) = hub.call("GET", &forecast(weeks), Some(&sam), None).await.unwrap();
        assert_eq!(status, 400, "{weeks}: {body}");
    }

    // The what-if calculator on the worked example published with Erlang C.
    let ask =
        json!({"contacts": 100, "interval_secs": 1800, "aht_secs": 180, "target": 0.8, "threshold_secs": 20});
    let (status, answer) = hub
        .call("POST", "/staffing/what-if", Some(&sam), Some(ask))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["erlangs"], 10.0);
    assert_eq!(answer["needed"]["agents"], 14);
    assert_eq!(answer["around"].as_array().unwrap().len(), 5);

    // Settings: admins change them, supervisors read them; the time zone must exist.
    let settings = json!({"time_zone": "Asia/Shanghai", "short_abandon_secs": 8, "fcr_window_hours": 48});
    assert_eq!(
        status_of(
            &hub,
            "PUT",
            "/reports/settings",
            Some(&sam),
            Some(settings.clone())
        )
        .await,
        403
    );
    assert_eq!(
        status_of(
            &hub,
            "PUT",
            "/reports/settings",
            Some(&admin),
            Some(json!({"time_zone": "Mars/Olympus", "short_abandon_secs": 5, "fcr_window_hours": 48}))
        )
        .await,
        400
    );
    assert_eq!(
        status_of(
            &hub,
            "PUT",
            "/reports/settings",
            Some(&admin),
            Some(settings.clone())
        )
        .await,
        200
    );
    let (_, read) = hub
        .call("GET", "/reports/settings", Some(&sam), None)
        .await
        .unwrap();
    assert_eq!(read, settings);
    let (_, report) = hub
        .call("GET", &format!("/reports/queue?{range}"), Some(&sam), None)
        .await
        .unwrap();
    assert!(
        report["intervals"][0]["label"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00+08:00")
    );
}

/// The demo hub, with its Prometheus listener.
async fn hub_with_metrics() -> (Hub, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_HTTP__METRICS_LISTEN", "127.0.0.1:0")])
        .await
        .unwrap();
    (hub, dir)
}

/// A visitor's chat to Support that Dana (Available) accepts: (Dana, widget, interaction).
async fn adas_chat(hub: &Hub) -> (Socket, Socket, String) {
    accepted_chat(
        hub,
        "dana@plugboard.example",
        "Ada Byron",
        "ada@example.com",
        "Hello",
    )
    .await
}

/// What the hub answers a REST call with, its status alone.
/// The admin makes the first team: Sam leads the Sales queue and nobody else.
async fn sam_leads_sales_only(hub: &Hub) {
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let sales = id(hub.named(&admin, "/queues", "Sales").await.unwrap());
    let sam_id = id(hub.named(&admin, "/agents", "Sam Lee").await.unwrap());
    let team = json!({"name": "Sales desk", "leads": [sam_id], "queues": [sales]});
    assert_eq!(
        status_of(hub, "POST", "/teams", Some(&admin), Some(team)).await,
        201
    );
}

async fn status_of(hub: &Hub, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> u16 {
    hub.call(method, path, token, body).await.unwrap().0
}

async fn scrape(hub: &Hub) -> String {
    reqwest::get(hub.metrics.as_deref().expect("no metrics listener"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_carry_the_live_figures_from_the_start() {
    let (hub, _dir) = hub_with_metrics().await;
    // Nothing has happened yet: every live figure is there, at zero.
    let fresh = scrape(&hub).await;
    for line in [
        "plugboard_queue_waiting{queue=\"Support\"} 0",
        "plugboard_queue_longest_wait_seconds{queue=\"Sales\"} 0",
        "plugboard_queue_agents_available{queue=\"Support\"} 0",
        "plugboard_queue_agents_busy{queue=\"Support\"} 0",
        "plugboard_queue_agents_on_break{queue=\"Support\"} 0",
        "plugboard_agents{state=\"available\"} 0",
        "plugboard_channel_active{channel=\"voice\"} 0",
        "plugboard_channel_waiting{channel=\"chat\"} 0",
        "plugboard_calls_in_progress 0",
        "plugboard_agent_sockets 0",
        "plugboard_chat_sockets 0",
    ] {
        assert!(
            fresh.contains(&format!("{line}\n")),
            "{line} missing from:\n{fresh}"
        );
    }
    assert!(fresh.contains("plugboard_build_info{version=\""), "{fresh}");
    assert!(fresh.contains("plugboard_agents{state=\"offline\"} "), "{fresh}");

    // Dana goes Available and a chat is answered: the gauges follow at the next scrape.
    let (_dana, _widget, _) = adas_chat(&hub).await;
    let live = scrape(&hub).await;
    for line in [
        "plugboard_agents{state=\"busy\"} 1",
        "plugboard_queue_agents_busy{queue=\"Support\"} 1",
        "plugboard_channel_active{channel=\"chat\"} 1",
        "plugboard_agent_sockets 1",
        "plugboard_chat_sockets 1",
    ] {
        assert!(
            live.contains(&format!("{line}\n")),
            "{line} missing from:\n{live}"
        );
    }
    // The store's commit latencies, as summaries (rendered once they hold a sample).
    for name in [
        "plugboard_dispatch_commit_seconds",
        "plugboard_message_commit_seconds",
    ] {
        assert!(
            live.contains(&format!("{name}{{quantile=\"0.99\"}} ")),
            "{name} missing from:\n{live}"
        );
    }
}

/// The names in a list of queues or agents, sorted.
fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn teams_decide_which_queues_and_agents_each_supervisor_sees() {
    let (hub, _dir) = hub_with_metrics().await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let (status, sue) = hub
        .call(
            "POST",
            "/agents",
            Some(&admin),
            Some(json!({"email": "sue@plugboard.example", "name": "Sue Park",
                "password": "sue-password-1", "role": "supervisor"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200, "{sue}");
    let sue = hub
        .login("sue@plugboard.example", "sue-password-1")
        .await
        .unwrap();
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let queue = |name| hub.named(&admin, "/queues", name);
    let (support, sales) = (
        id(queue("Support").await.unwrap()),
        id(queue("Sales").await.unwrap()),
    );
    let mut people = Vec::new();
    for name in ["Sam Lee", "Sue Park", "Bob Martin", "Dana Silva", "Alice Wong"] {
        people.push(id(hub.named(&admin, "/agents", name).await.unwrap()));
    }
    let [sam_id, sue_id, bob, dana, alice] = <[String; 5]>::try_from(people).unwrap();

    // No teams yet: a small site is one team, and every supervisor sees it all.
    let stats = |token: String| {
        let hub = &hub;
        async move {
            hub.call("GET", "/queues/stats", Some(&token), None)
                .await
                .unwrap()
                .1
        }
    };
    assert_eq!(names(&stats(sue.clone()).await["queues"]).len(), 2);

    // Only admins make teams; a team is led by supervisors and names the account's own.
    let support_team = json!({"name": "Support desk", "leads": [sam_id], "members": [bob, dana],
        "queues": [support]});
    assert_eq!(
        status_of(&hub, "POST", "/teams", Some(&sam), Some(support_team.clone())).await,
        403
    );
    for bad in [
        json!({"name": "x", "leads": [bob]}),
        json!({"name": "x", "queues": [sam_id]}),
        json!({"name": "  "}),
        json!({"name": "x", "members": ["not an id"]}),
    ] {
        let status = status_of(&hub, "POST", "/teams", Some(&admin), Some(bad.clone())).await;
        assert!(status == 400 || status == 422, "{bad}: {status}");
    }
    let (status, team) = hub
        .call("POST", "/teams", Some(&admin), Some(support_team.clone()))
        .await
        .unwrap();
    assert_eq!(status, 201, "{team}");
    assert_eq!(
        status_of(&hub, "POST", "/teams", Some(&admin), Some(support_team)).await,
        409
    );
    let (status, sales_team) = hub
        .call(
            "POST",
            "/teams",
            Some(&admin),
            Some(json!({"name": "Sales floor", "leads": [sue_id], "members": [alice], "queues": [sales]})),
        )
        .await
        .unwrap();
    assert_eq!(status, 201, "{sales_team}");

    // Each supervisor's live figures are their team's; the admin's the whole account's.
    let sams = stats(sam.clone()).await;
    assert_eq!(names(&sams["queues"]), ["Support"]);
    assert_eq!(names(&sams["agents"]), ["Bob Martin", "Dana Silva", "Sam Lee"]);
    let sues = stats(sue.clone()).await;
    assert_eq!(names(&sues["queues"]), ["Sales"]);
    assert_eq!(names(&sues["agents"]), ["Alice Wong", "Sue Park"]);
    assert_eq!(names(&stats(admin.clone()).await["queues"]).len(), 2);
    // The people list, an agent's holdings and hand-overs follow the same lines.
    let people = |token: String| {
        let hub = &hub;
        async move { names(&hub.call("GET", "/agents", Some(&token), None).await.unwrap().1) }
    };
    assert_eq!(people(sue.clone()).await, ["Alice Wong", "Sue Park"]);
    assert!(people(admin.clone()).await.len() > 5);
    assert_eq!(
        status_of(
            &hub,
            "GET",
            &format!("/agents/{alice}/holdings"),
            Some(&sue),
            None
        )
        .await,
        200
    );
    assert_eq!(
        status_of(&hub, "GET", &format!("/agents/{dana}/holdings"), Some(&sue), None).await,
        404
    );
    let hand = |to: &str| json!({"to": [to], "reason": "cover for the week"});
    assert_eq!(
        status_of(
            &hub,
            "POST",
            &format!("/agents/{dana}/handover"),
            Some(&sue),
            Some(hand(&alice))
        )
        .await,
        404,
        "another team's agent's customers"
    );
    assert_eq!(
        status_of(
            &hub,
            "POST",
            &format!("/agents/{alice}/handover"),
            Some(&sue),
            Some(hand(&bob))
        )
        .await,
        404,
        "to another team's agent"
    );
    let mut wallboard = Socket::connect(&hub.ws_url("/ws/supervisor")).await.unwrap();
    wallboard
        .send(json!({"type": "auth", "token": sue}))
        .await
        .unwrap();
    let frame = wallboard.expect("queues").await.unwrap();
    assert_eq!(names(&frame["queues"]), ["Sales"]);

    // A Support chat: Sam's reports have it, Sue's have neither the queue nor the contact.
    let (mut dana_console, _widget, interaction) = adas_chat(&hub).await;
    dana_console
        .send(json!({"type": "interaction.end", "interaction_id": interaction}))
        .await
        .unwrap();
    let range = format!("from={}&to={}", utc_date(-1), utc_date(1));
    let report = |token: String, dimension: &'static str| {
        let (hub, range) = (&hub, &range);
        async move {
            let (status, r) = hub
                .call(
                    "GET",
                    &format!("/reports/{dimension}?{range}"),
                    Some(&token),
                    None,
                )
                .await
                .unwrap();
            assert_eq!(status, 200, "{r}");
            r
        }
    };
    assert_eq!(names(&report(sam.clone(), "queue").await["rows"]), ["Support"]);
    assert_eq!(names(&report(sue.clone(), "queue").await["rows"]), ["Sales"]);
    assert!(!names(&report(sue.clone(), "agent").await["rows"]).contains(&"Dana Silva".to_string()));
    let chat_offered = |r: Value| {
        r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|row| row["key"] == "chat")
            .map_or(0, |row| row["total"]["offered"].as_u64().unwrap())
    };
    // The demo's own chats are Sales'; Ada's is the one Support had.
    let sams = chat_offered(report(sam.clone(), "channel").await);
    let sues = chat_offered(report(sue.clone(), "channel").await);
    assert_eq!(sams, 1);
    assert_eq!(sams + sues, chat_offered(report(admin.clone(), "channel").await));
    let staffing = format!("/staffing/{support}?from={0}&to={0}", utc_date(0));
    assert_eq!(status_of(&hub, "GET", &staffing, Some(&sue), None).await, 404);
    assert_eq!(status_of(&hub, "GET", &staffing, Some(&sam), None).await, 200);

    // A new Support chat, waiting (or ringing Dana): another team's lead cannot move it, and its
    // own lead cannot move it into another team's queue or to another team's agent.
    let mut widget = hub.widget().await.unwrap();
    let started = start_chat(&mut widget, "Ines", "ines@example.com", "Hello").await;
    let waiting = format!(
        "/interactions/{}/move",
        started["interaction_id"].as_str().unwrap()
    );
    let why = |to: Value| {
        let mut body = to;
        body["reason"] = json!("a pricing question");
        Some(body)
    };
    for (token, to) in [
        (&sue, json!({"queue_id": sales})),
        (&sam, json!({"queue_id": sales})),
        (&sam, json!({"agent_id": alice})),
    ] {
        assert_eq!(
            status_of(&hub, "POST", &waiting, Some(token), why(to.clone())).await,
            404,
            "{to}"
        );
    }

    // Moving Sue to lead Support too shows it to her at once; deleting the teams, everything.
    let both = json!({"name": "Support desk", "leads": [sam_id, sue_id], "members": [bob, dana],
        "queues": [support]});
    let path = format!("/teams/{}", team["id"].as_str().unwrap());
    assert_eq!(status_of(&hub, "PUT", &path, Some(&admin), Some(both)).await, 200);
    assert_eq!(names(&stats(sue.clone()).await["queues"]), ["Sales", "Support"]);
    let (_, teams) = hub.call("GET", "/teams", Some(&sue), None).await.unwrap();
    assert_eq!(names(&teams), ["Sales floor", "Support desk"]);
    for t in teams.as_array().unwrap() {
        let path = format!("/teams/{}", t["id"].as_str().unwrap());
        assert_eq!(status_of(&hub, "DELETE", &path, Some(&sue), None).await, 403);
        assert_eq!(status_of(&hub, "DELETE", &path, Some(&admin), None).await, 204);
        assert_eq!(status_of(&hub, "DELETE", &path, Some(&admin), None).await, 404);
    }
    assert_eq!(names(&stats(sam).await["queues"]).len(), 2);
}

/// The wallboard's next `queues` frame within `wait`, if one comes.
async fn board_within(wallboard: &mut Socket, wait: Duration) -> Option<Value> {
    wallboard.gets_within("queues", wait).await
}

/// The entry named `name` of a frame's list.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

/// Sam's wallboard socket, signed in, and its first board.
async fn sams_wallboard(hub: &Hub) -> (Socket, Value) {
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let mut wallboard = Socket::connect(&hub.ws_url("/ws/supervisor")).await.unwrap();
    wallboard
        .send(json!({"type": "auth", "token": sam}))
        .await
        .unwrap();
    let first = board_within(&mut wallboard, Duration::from_secs(5))
        .await
        .expect("a first board");
    (wallboard, first)
}

#[tokio::test]
async fn the_wallboard_is_pushed_when_something_changes_and_only_then() {
    let (hub, _dir) = hub_with_metrics().await;
    let (mut wallboard, first) = sams_wallboard(&hub).await;
    // The demo's three closed Sales chats are today's (the demo dates them in the past days, so
    // Sales may show none today); Support has had nothing yet.
    assert_eq!(named(&first["queues"], "Support")["today"]["offered"], 0);
    // A fresh board may follow the first one; then nothing, while nothing changes.
    while board_within(&mut wallboard, Duration::from_millis(700))
        .await
        .is_some()
    {}
    assert!(
        board_within(&mut wallboard, Duration::from_millis(2500))
            .await
            .is_none(),
        "a board was pushed though nothing changed"
    );

    // Dana goes Available: on the board within a second, with since when.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    let before = plugboard_tests::now_ms();
    plugboard_tests::available(&mut dana).await;
    let board = board_within(&mut wallboard, Duration::from_secs(1))
        .await
        .expect("no push for Dana");
    let dana_row = named(&board["agents"], "Dana Silva");
    assert_eq!(dana_row["state"], "available");
    assert!(dana_row["since"].as_i64().unwrap() >= before - 5);

    // A chat is queued, offered and answered: the board follows each step; Support's day and
    // Dana's count what happened, and she holds a chat.
    let mut widget = hub.widget().await.unwrap();
    let started = plugboard_tests::start_chat(&mut widget, "Ada Byron", "ada@example.com", "Hello").await;
    let interaction = started["interaction_id"].as_str().unwrap().to_string();
    dana.expect("offer").await.unwrap();
    dana.send(json!({"type": "offer.accept", "interaction_id": interaction}))
        .await
        .unwrap();
    dana.expect("interaction.assigned").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    let board = loop {
        let board = board_within(&mut wallboard, Duration::from_secs(1))
            .await
            .expect("no push after the chat was answered");
        if named(&board["queues"], "Support")["today"]["answered"] == 1 {
            break board;
        }
        assert!(Instant::now() < deadline, "the answer never showed: {board}");
    };
    let support = named(&board["queues"], "Support");
    assert_eq!(support["today"]["offered"], 1);
    assert_eq!(support["today"]["service_level"], 1.0);
    assert!(support["today"]["asa_ms"].as_f64().is_some());
    assert_eq!(support["waiting"], 0);
    // The same day per 15 minutes, for the chart: the chat is in the interval it arrived in (by
    // the account's clock, UTC in the demo), nothing before it, the whole day's length beside it.
    let quarter = (plugboard_tests::now_ms() % 86_400_000 / 900_000) as usize;
    let per_15m = support["today"]["offered_per_15m"].as_array().unwrap();
    let arrived = per_15m.len() - 1;
    assert!(
        arrived == quarter || arrived + 1 == quarter,
        "{per_15m:?} at interval {quarter}"
    );
    assert_eq!(per_15m[arrived], 1);
    assert!(per_15m[..arrived].iter().all(|n| n == 0));
    assert_eq!(support["today"]["service_level_per_15m"][arrived], 1.0);
    assert_eq!(board["quarter_hours"], 96);
    let dana_row = named(&board["agents"], "Dana Silva");
    assert_eq!(dana_row["holds"]["chat"], 1);
    assert_eq!(dana_row["today"]["answered"], 1);
}

/// A chat that waits because nobody is available is on the board at once: supervisors see a
/// queue building before customers give up. Before, only a write or an offer pushed a board, and a
/// chat the widget had committed, queued with nobody to offer it to, pushed nothing.
#[tokio::test]
async fn a_queue_building_with_nobody_available_is_on_the_board_at_once() {
    let (hub, _dir) = hub_with_metrics().await;
    let (mut wallboard, _) = sams_wallboard(&hub).await;
    while board_within(&mut wallboard, Duration::from_millis(700))
        .await
        .is_some()
    {}
    for (n, name) in ["Ada Byron", "Grace Hopper"].iter().enumerate() {
        let mut widget = hub.widget().await.unwrap();
        let email = format!("customer{n}@example.com");
        plugboard_tests::start_chat(&mut widget, name, &email, "Hello?").await;
        let board = board_within(&mut wallboard, Duration::from_secs(1))
            .await
            .unwrap_or_else(|| panic!("no board for the {} chat waiting", n + 1));
        assert_eq!(named(&board["queues"], "Support")["waiting"], n + 1);
    }
}

#[tokio::test]
async fn a_supervisor_moves_a_waiting_chat_to_another_queue_then_to_a_named_agent() {
    let (hub, _dir) = hub_with_metrics().await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let sales = id(hub.named(&sam, "/queues", "Sales").await.unwrap());
    let dana_id = id(hub.named(&sam, "/agents", "Dana Silva").await.unwrap());

    // Nobody is on: Ada's chat waits in Support.
    let mut widget = hub.widget().await.unwrap();
    let started = plugboard_tests::start_chat(&mut widget, "Ada Byron", "ada@example.com", "Hello").await;
    let chat = started["interaction_id"].as_str().unwrap().to_string();
    let path = format!("/interactions/{chat}/move");

    // Agents may not; a move must say where; a bad target is refused and changes nothing.
    let to_sales = json!({"queue_id": sales, "reason": "a pricing question"});
    assert_eq!(
        status_of(&hub, "POST", &path, Some(&bob), Some(to_sales.clone())).await,
        403
    );
    assert_eq!(
        status_of(&hub, "POST", &path, Some(&sam), Some(json!({}))).await,
        400
    );
    // Dana is not Available yet.
    assert_eq!(
        status_of(
            &hub,
            "POST",
            &path,
            Some(&sam),
            Some(json!({"agent_id": dana_id}))
        )
        .await,
        409
    );

    // To Sales: the log says who moved it, from where, and why.
    assert_eq!(
        status_of(&hub, "POST", &path, Some(&sam), Some(to_sales)).await,
        204
    );
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{chat}"), Some(&sam), None)
        .await
        .unwrap();
    assert_eq!(detail["interaction"]["queue_id"], sales.as_str());
    let moved = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "interaction.moved")
        .expect("no move on the log");
    assert_eq!(moved["data"]["to"], sales.as_str());
    assert_eq!(moved["data"]["by_name"], "Sam Lee");
    assert_eq!(moved["data"]["reason"], "a pricing question");

    // Dana (Support's skills only) goes Available: Sales' chat is not hers, until Sam names her.
    let mut dana = hub.agent("dana@plugboard.example").await.unwrap();
    plugboard_tests::available(&mut dana).await;
    assert!(
        dana.gets_within("offer", Duration::from_millis(600))
            .await
            .is_none()
    );
    assert_eq!(
        status_of(
            &hub,
            "POST",
            &path,
            Some(&sam),
            Some(json!({"agent_id": dana_id}))
        )
        .await,
        204
    );
    let offer = dana.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], chat.as_str());
    dana.send(json!({"type": "offer.accept", "interaction_id": chat}))
        .await
        .unwrap();
    dana.expect("interaction.assigned").await.unwrap();
    // Answered: no longer a supervisor's to move.
    assert_eq!(
        status_of(&hub, "POST", &path, Some(&sam), Some(json!({"queue_id": sales}))).await,
        409
    );
}

#[tokio::test]
async fn a_supervisor_watches_a_live_chat_read_only_within_their_teams() {
    let (hub, _dir) = hub_with_metrics().await;
    let (mut dana, mut widget, chat) = accepted_chat(
        &hub,
        "dana@plugboard.example",
        "Ada Byron",
        "ada@example.com",
        "Hello",
    )
    .await;
    let watch = |id: Option<&str>| json!({"type": "conversation.watch", "interaction_id": id});

    // An agent may not watch, even a chat they could see.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    bob.send(watch(Some(&chat))).await.unwrap();
    assert_eq!(bob.expect_error().await["code"], "forbidden");

    // Sam watches: the chat as it stands, then both sides' messages as they come; neither side
    // hears of him.
    let mut sam = hub.agent("sam@plugboard.example").await.unwrap();
    sam.send(watch(Some(&chat))).await.unwrap();
    let watched = sam.expect("watched").await.unwrap();
    assert_eq!(watched["interaction"]["id"], chat.as_str());
    let bodies: Vec<&str> = watched["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Hello"]);
    widget
        .send(json!({"type": "message", "client_id": "c-2", "body": "Is my order late?"}))
        .await
        .unwrap();
    let heard = sam.expect("watched.message").await.unwrap();
    assert_eq!(
        (
            heard["message"]["sender"].as_str(),
            heard["message"]["body"].as_str()
        ),
        (Some("customer"), Some("Is my order late?"))
    );
    dana.send(json!({"type": "message", "interaction_id": chat, "client_id": "a-1", "body": "Let me look."}))
        .await
        .unwrap();
    let heard = sam.expect("watched.message").await.unwrap();
    assert_eq!(heard["message"]["sender"], "agent");
    assert!(
        dana.gets_within("watched.message", Duration::from_millis(300))
            .await
            .is_none(),
        "the agent hears only her own frames"
    );

    // Watching is an intervention: on the interaction's log with who.
    let sam_token = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let logged = hub.logged(&sam_token, &chat, "interaction.watched").await;
    assert_eq!(logged["data"]["by_name"], "Sam Lee");

    // Stopping: nothing more comes.
    sam.send(watch(None)).await.unwrap();
    widget
        .send(json!({"type": "message", "client_id": "c-3", "body": "Thanks"}))
        .await
        .unwrap();
    assert!(
        sam.gets_within("watched.message", Duration::from_millis(500))
            .await
            .is_none()
    );

    // Watching again: the chat's changes come too, as they land (Dana ends it: wrap-up).
    sam.send(watch(Some(&chat))).await.unwrap();
    sam.expect("watched").await.unwrap();
    dana.send(json!({"type": "interaction.end", "interaction_id": chat}))
        .await
        .unwrap();
    let changed = sam.expect("watched.updated").await.unwrap();
    assert_eq!(
        (
            changed["interaction"]["id"].as_str(),
            changed["interaction"]["state"].as_str()
        ),
        (Some(chat.as_str()), Some("wrap_up"))
    );

    // Once teams exist, Sam leads Sales only: Support's chat is not his to watch.
    sam_leads_sales_only(&hub).await;
    sam.send(watch(Some(&chat))).await.unwrap();
    let refused = sam.expect_error().await;
    assert_eq!(refused["code"], "not_found");
    assert_eq!(refused["ref"], chat.as_str());
}

#[tokio::test]
async fn a_supervisor_signs_out_an_agent_who_left_and_their_chat_goes_back_to_the_queue() {
    let (hub, _dir) = hub_with_metrics().await;
    let (mut dana, _widget, chat) = accepted_chat(
        &hub,
        "dana@plugboard.example",
        "Ada Byron",
        "ada@example.com",
        "Hello",
    )
    .await;
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let bob_token = hub.login("bob@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let id = |v: Value| v["id"].as_str().unwrap().to_string();
    let dana_id = id(hub.named(&admin, "/agents", "Dana Silva").await.unwrap());
    let path = format!("/agents/{dana_id}/state");
    let offline = json!({"state": "offline", "reason": "left for the day"});

    // Agents may not; nonsense is refused and changes nothing.
    assert_eq!(
        status_of(&hub, "PUT", &path, Some(&bob_token), Some(offline.clone())).await,
        403
    );
    assert_eq!(
        status_of(&hub, "PUT", &path, Some(&sam), Some(json!({"state": "asleep"}))).await,
        400
    );
    let nobody = format!("/agents/{}/state", uuid::Uuid::now_v7());
    assert_eq!(
        status_of(&hub, "PUT", &nobody, Some(&sam), Some(offline.clone())).await,
        404
    );

    // Bob is free: the chat Dana left behind goes to him.
    let mut bob = hub.agent("bob@plugboard.example").await.unwrap();
    plugboard_tests::available(&mut bob).await;
    assert_eq!(
        status_of(&hub, "PUT", &path, Some(&sam), Some(offline)).await,
        204
    );
    let state = dana.expect("agent.state").await.unwrap();
    assert_eq!(state["state"], "offline");
    let offer = bob.expect("offer").await.unwrap();
    assert_eq!(offer["interaction"]["id"], chat.as_str());

    // On the chat's log with who and why, and on the audit log.
    let (_, detail) = hub
        .call("GET", &format!("/interactions/{chat}"), Some(&sam), None)
        .await
        .unwrap();
    let handed_back = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "interaction.transferred")
        .expect("no transfer on the log");
    assert_eq!(handed_back["data"]["by_name"], "Sam Lee");
    assert_eq!(handed_back["data"]["reason"], "left for the day");
    let (_, audit) = hub
        .call("GET", "/audit?action=agent.state_set", Some(&admin), None)
        .await
        .unwrap();
    assert_eq!(audit["entries"][0]["target"], dana_id.as_str(), "{audit}");

    // A break that never ended: Sam brings her back.
    let available = json!({"state": "available", "reason": "back from lunch"});
    assert_eq!(
        status_of(&hub, "PUT", &path, Some(&sam), Some(available.clone())).await,
        204
    );
    assert_eq!(dana.expect("agent.state").await.unwrap()["state"], "available");

    // Once teams exist and Sam leads Sales only, Dana is not his to change.
    sam_leads_sales_only(&hub).await;
    assert_eq!(
        status_of(&hub, "PUT", &path, Some(&sam), Some(available)).await,
        404
    );
}

/// Support's total over yesterday to tomorrow (the test may cross midnight), once the hub has
/// counted `offered` contacts and `abandoned` abandons.
async fn support_total(hub: &Hub, sam: &str, offered: u64, abandoned: u64) -> Value {
    let range = format!("from={}&to={}", utc_date(-1), utc_date(1));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, report) = hub
            .call("GET", &format!("/reports/queue?{range}"), Some(sam), None)
            .await
            .unwrap();
        assert_eq!(status, 200, "{report}");
        let total = report["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "Support")
            .map(|r| r["total"].clone());
        if let Some(total) = total
            && total["offered"] == offered
            && total["abandoned"] == abandoned
            && total["handled"] == 1
        {
            return total;
        }
        assert!(
            Instant::now() < deadline,
            "Support never counted {offered} offered and {abandoned} abandoned: {report}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Staffing for Support, hour by hour over yesterday to tomorrow.
async fn support_staffing(hub: &Hub, sam: &str, support: &str) -> Value {
    let path = format!(
        "/staffing/{support}?from={}&to={}&granularity=hour",
        utc_date(-1),
        utc_date(1)
    );
    let (status, staffing) = hub.call("GET", &path, Some(sam), None).await.unwrap();
    assert_eq!(status, 200, "{staffing}");
    staffing
}

/// What the what-if calculator answers for one staffing interval's load, with a patience
/// (Erlang A) or without (Erlang C).
async fn what_if(hub: &Hub, sam: &str, staffing: &Value, interval: &Value, patience: Value) -> Value {
    let ask = json!({
        "contacts": interval["offered"], "interval_secs": 3600, "aht_secs": interval["aht_secs"],
        "target": staffing["target"], "threshold_secs": staffing["threshold_secs"],
        "patience_secs": patience,
    });
    let (status, answer) = hub
        .call("POST", "/staffing/what-if", Some(sam), Some(ask))
        .await
        .unwrap();
    assert_eq!(status, 200, "{answer}");
    answer
}

/// The intervals of a staffing answer that had contacts.
fn busy_hours(staffing: &Value) -> Vec<Value> {
    staffing["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["offered"].as_u64().unwrap() > 0)
        .cloned()
        .collect()
}

/// Issue 13, staffing: Erlang A once abandonment is significant (at least 5 % of the range's
/// contacts, short abandons aside; docs/metrics.md), Erlang C below. Through real contacts in
/// Support: Dana handles one chat (the handle time), goes offline, and 20 visitors wait with
/// nobody there. One who gives up is 1 in 21 (4.8 %): Erlang C. A second is 2 in 21 (9.5 %):
/// Erlang A, with the patience estimated from the waits, and each interval's agents are what the
/// what-if calculator gives for its load with that patience. Counted as short abandons (a
/// threshold above their waits), the same two are not significant: Erlang C again.
#[tokio::test]
async fn staffing_turns_to_erlang_a_when_abandonment_is_significant() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[("PLUGBOARD_CHAT__STARTS_PER_MINUTE", "100")])
        .await
        .unwrap();
    let admin = hub.login("admin@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let sam = hub.login("sam@plugboard.example", DEMO_PASSWORD).await.unwrap();
    let support = hub.named(&sam, "/queues", "Support").await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let short_abandons_under = |secs: u32| {
        let (hub, admin) = (&hub, &admin);
        async move {
            let settings = json!({"time_zone": "UTC", "short_abandon_secs": secs, "fcr_window_hours": 48});
            status_of(hub, "PUT", "/reports/settings", Some(admin), Some(settings)).await
        }
    };
    // Every abandon counts, however short its wait.
    assert_eq!(short_abandons_under(0).await, 200);

    let (mut dana, _ada, chat) = adas_chat(&hub).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    dana.send(json!({"type": "interaction.end", "interaction_id": chat}))
        .await
        .unwrap();
    dana.send(json!({"type": "wrap_up", "interaction_id": chat, "disposition": "resolved"}))
        .await
        .unwrap();
    dana.send(json!({"type": "state.set", "state": "offline"}))
        .await
        .unwrap();
    while dana.expect("agent.state").await.unwrap()["state"] != "offline" {}

    let mut waiting = Vec::new();
    for n in 0..20 {
        let mut widget = hub.widget().await.unwrap();
        let started = start_chat(
            &mut widget,
            &format!("Visitor {n}"),
            &format!("visitor{n}@example.com"),
            "Anyone there?",
        )
        .await;
        assert_eq!(started["offline"], false, "a live chat: {started}");
        waiting.push(widget);
    }
    let give_up = async |widget: &mut Socket| {
        widget.send(json!({"type": "leave"})).await.unwrap();
        widget.expect("ended").await.unwrap();
    };

    // Few abandons: 1 in 21.
    give_up(&mut waiting[0]).await;
    let total = support_total(&hub, &sam, 21, 1).await;
    assert!(
        (total["abandon_rate"].as_f64().unwrap() - 1.0 / 21.0).abs() < 1e-9,
        "{total}"
    );
    let few = support_staffing(&hub, &sam, &support).await;
    assert_eq!(few["model"], "erlang_c", "{few}");
    assert_eq!(few["patience_secs"], Value::Null);
    let hours = busy_hours(&few);
    assert!(!hours.is_empty(), "{few}");
    for hour in &hours {
        assert_eq!(hour["needed"]["abandon_rate"], 0.0, "{hour}");
        let c = what_if(&hub, &sam, &few, hour, Value::Null).await;
        assert_eq!(c["model"], "erlang_c");
        assert_eq!(hour["needed"], c["needed"], "{hour}");
    }

    // Significant: 2 in 21.
    give_up(&mut waiting[1]).await;
    let total = support_total(&hub, &sam, 21, 2).await;
    assert!(total["abandon_rate"].as_f64().unwrap() >= 0.05, "{total}");
    let many = support_staffing(&hub, &sam, &support).await;
    assert_eq!(many["model"], "erlang_a", "{many}");
    let patience = many["patience_secs"].as_f64().expect("a patience with Erlang A");
    assert!(patience > 0.0 && patience < 600.0, "{many}");
    for hour in &busy_hours(&many) {
        let a = what_if(&hub, &sam, &many, hour, json!(patience)).await;
        assert_eq!(a["model"], "erlang_a");
        assert_eq!(hour["needed"], a["needed"], "{hour}");
        let c = what_if(&hub, &sam, &many, hour, Value::Null).await;
        assert_ne!(
            hour["needed"], c["needed"],
            "Erlang A's figures differ from Erlang C's for the same load: {hour}"
        );
    }

    // The same two abandons, short under a 600-second threshold, are not significant.
    assert_eq!(short_abandons_under(600).await, 200);
    let short = support_staffing(&hub, &sam, &support).await;
    assert_eq!(short["model"], "erlang_c", "{short}");
    assert_eq!(short["patience_secs"], Value::Null);
}
