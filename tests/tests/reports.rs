//! Reports and staffing end to end: a chat is answered, handled and wrapped up through the real
//! consoles, and a supervisor reads it back as figures (JSON and CSV); the settings, the what-if
//! calculator and staffing as a manager uses them.

use plugboard_tests::{DEMO_PASSWORD, Hub, Socket, accepted_chat, utc_date};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The report's row named `name`.
fn row<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name} in {report}"))
}

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
    let support = &row(&report, "Support")["total"];
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
    let dana_row = &row(&by_agent, "Dana Silva")["total"];
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
        "plugboard_channel_active{channel=\"chat\"} 1",
        "plugboard_agent_sockets 1",
        "plugboard_chat_sockets 1",
    ] {
        assert!(
            live.contains(&format!("{line}\n")),
            "{line} missing from:\n{live}"
        );
    }
}
