//! The bus with Redis, as two nodes see it: two `Bus`es in one process on one real Redis
//! (`PLUGBOARD_TEST_REDIS`), each with its own connections, as two hub processes would have.

use super::*;
use crate::test_redis::TestRedis;
use std::time::Duration;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(5);

async fn two_nodes(redis: &TestRedis) -> (Bus, Bus) {
    let a = Bus::redis(redis.settings("node-a")).await.expect("node a");
    let b = Bus::redis(redis.settings("node-b")).await.expect("node b");
    (a, b)
}

fn error(code: &str) -> AgentFrame {
    AgentFrame::Error {
        code: code.into(),
        message: String::new(),
        r#ref: None,
    }
}

fn code(frame: &AgentFrame) -> &str {
    match frame {
        AgentFrame::Error { code, .. } => code,
        other => panic!("not the frame sent: {other:?}"),
    }
}

/// Waits for a condition that another node makes true through Redis.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_frame_published_on_one_node_reaches_the_agent_on_the_other() {
    let Some(redis) = TestRedis::get() else { return };
    let (a, b) = two_nodes(&redis).await;
    let (agent, other, nobody_here) = (AgentId::new(), AgentId::new(), AgentId::new());
    let mut tab1 = a.subscribe_agent(agent);
    let mut tab2 = a.subscribe_agent(agent);
    let mut elsewhere = a.subscribe_agent(other);
    tab1.ready().await;
    tab2.ready().await;
    elsewhere.ready().await;

    b.to_agent(nobody_here, error("not for node a"));
    b.to_agent(agent, error("one"));
    b.to_agent(agent, error("two"));
    for tab in [&mut tab1, &mut tab2] {
        for want in ["one", "two"] {
            let frame = timeout(WAIT, tab.rx.recv())
                .await
                .expect("in time")
                .expect("open");
            assert_eq!(code(&frame), want);
        }
    }
    // Published before "one" by the same node, so it would have arrived first.
    assert!(elsewhere.rx.try_recv().is_err());
    // Node a never subscribed to a key none of its sockets wants.
    let channel = format!("{}bus:agent:{nobody_here}", redis.prefix);
    let (_, subscribers): (String, u64) = ::redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(&channel)
        .query_async(&mut redis.conn().await)
        .await
        .unwrap();
    assert_eq!(subscribers, 0);

    // The last tab gone, node a unsubscribes.
    let channel = format!("{}bus:agent:{agent}", redis.prefix);
    drop((tab1, tab2));
    let mut conn = redis.conn().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, n): (String, u64) = ::redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut conn)
            .await
            .unwrap();
        if n == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "node a stayed subscribed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_chat_frame_crosses_nodes_and_its_widgets_are_counted_on_both() {
    let Some(redis) = TestRedis::get() else { return };
    let (a, b) = two_nodes(&redis).await;
    let chat = InteractionId::new();
    let mut widget = b.subscribe_chat(chat);
    widget.ready().await;
    a.to_chat(chat, ChatFrame::Typing { typing: true });
    let frame = timeout(WAIT, widget.rx.recv())
        .await
        .expect("in time")
        .expect("open");
    assert!(matches!(*frame, ChatFrame::Typing { typing: true }));

    assert_eq!(b.chat_sessions(chat), 1);
    eventually("node a counts the widget on node b", || {
        a.chat_sessions(chat) == 1
    })
    .await;
    let agent = AgentId::new();
    let _console = a.subscribe_agent(agent);
    eventually("node b counts the console on node a", || {
        b.agent_sessions(agent) == 1
    })
    .await;
    let second = a.subscribe_chat(chat);
    assert_eq!(a.chat_sessions(chat), 2);
    drop((widget, second));
    eventually("the widgets are gone on node a", || a.chat_sessions(chat) == 0).await;
    eventually("the widgets are gone on node b", || b.chat_sessions(chat) == 0).await;
}

#[tokio::test]
async fn a_skipped_number_drops_the_keys_subscribers_only() {
    let Some(redis) = TestRedis::get() else { return };
    let (a, b) = two_nodes(&redis).await;
    let (agent, other) = (AgentId::new(), AgentId::new());
    let mut console = a.subscribe_agent(agent);
    let mut bystander = a.subscribe_agent(other);
    console.ready().await;
    bystander.ready().await;
    b.to_agent(agent, error("before"));
    assert_eq!(
        code(&timeout(WAIT, console.rx.recv()).await.unwrap().unwrap()),
        "before"
    );

    // A frame numbered and lost on its way: the counter moved, nothing was published.
    let _: u64 = ::redis::cmd("INCR")
        .arg(format!("{}bus:agent:{agent}", redis.prefix))
        .query_async(&mut redis.conn().await)
        .await
        .unwrap();
    b.to_agent(agent, error("after the gap"));
    assert!(
        timeout(WAIT, console.rx.recv())
            .await
            .expect("closed in time")
            .is_none(),
        "the console must be dropped to take a fresh snapshot"
    );
    assert_eq!(a.agent_sessions(agent), 0);

    b.to_agent(other, error("still here"));
    assert_eq!(
        code(&timeout(WAIT, bystander.rx.recv()).await.unwrap().unwrap()),
        "still here"
    );
    // The console reconnects: a new subscription works.
    let mut again = a.subscribe_agent(agent);
    again.ready().await;
    b.to_agent(agent, error("fresh"));
    assert_eq!(
        code(&timeout(WAIT, again.rx.recv()).await.unwrap().unwrap()),
        "fresh"
    );
}

#[tokio::test]
async fn a_dropped_redis_connection_drops_consoles_but_keeps_connectors() {
    let Some(redis) = TestRedis::get() else { return };
    let user_a = redis.user("node-a").await;
    let a = Bus::redis(RedisSettings {
        url: user_a,
        ..redis.settings("node-a")
    })
    .await
    .unwrap();
    let b = Bus::redis(redis.settings("node-b")).await.unwrap();
    let agent = AgentId::new();
    let mut console = a.subscribe_agent(agent);
    let mut voice = a.subscribe_connector(Channel::Voice);
    console.ready().await;
    voice.ready().await;

    redis.kill("node-a").await;
    assert!(
        timeout(WAIT, console.rx.recv())
            .await
            .expect("closed in time")
            .is_none(),
        "a console whose node lost Redis must resynchronise"
    );
    // The connector is subscribed again once node a is back; until then its frames are lost
    // (and counted), so keep sending until one arrives.
    let deadline = tokio::time::Instant::now() + WAIT;
    let heard = loop {
        let interaction = InteractionId::new();
        b.to_connector(Channel::Voice, ConnectorFrame::Ended { interaction });
        if let Ok(Some(frame)) = timeout(Duration::from_millis(100), voice.rx.recv()).await {
            break frame;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the connector never heard again"
        );
    };
    assert!(matches!(*heard, ConnectorFrame::Ended { .. }));
    assert_eq!(a.connectors.count(&Channel::Voice), 1);
}

#[tokio::test]
async fn a_connector_that_is_not_reading_hears_a_whole_burst_in_order() {
    let Some(redis) = TestRedis::get() else { return };
    let (a, b) = two_nodes(&redis).await;
    let mut voice = a.subscribe_connector(Channel::Voice);
    voice.ready().await;
    let sent: Vec<InteractionId> = (0..20 * BUFFER).map(|_| InteractionId::new()).collect();
    for interaction in &sent {
        b.to_connector(
            Channel::Voice,
            ConnectorFrame::Ended {
                interaction: *interaction,
            },
        );
    }
    // The whole burst piles up unread before any of it is read.
    eventually("the burst is queued", || voice.rx.len() == sent.len()).await;
    for want in &sent {
        let frame = timeout(WAIT, voice.rx.recv())
            .await
            .expect("in time")
            .expect("never dropped");
        assert_eq!(*frame, ConnectorFrame::Ended { interaction: *want });
    }
    assert_eq!(a.connectors.count(&Channel::Voice), 1);
}

#[tokio::test]
async fn frames_redis_refused_make_their_subscribers_resynchronise() {
    let Some(redis) = TestRedis::get() else { return };
    let user_b = redis.user("node-b").await;
    let a = Bus::redis(redis.settings("node-a")).await.unwrap();
    let b = Bus::redis(RedisSettings {
        url: user_b,
        ..redis.settings("node-b")
    })
    .await
    .unwrap();
    let agent = AgentId::new();
    let mut console = a.subscribe_agent(agent);
    console.ready().await;
    // Node b may not run scripts for a while: its frame is lost, and it knows it.
    redis.acl("node-b", &["-eval"]).await;
    b.to_agent(agent, error("refused"));
    let user = format!("{}node-b", redis.prefix).replace(':', "-");
    let mut conn = redis.conn().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log: ::redis::Value = ::redis::cmd("ACL")
            .arg("LOG")
            .query_async(&mut conn)
            .await
            .unwrap();
        if format!("{log:?}").contains(&user) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "node b never tried to publish"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.acl("node-b", &["+eval"]).await;
    assert!(
        timeout(WAIT, console.rx.recv())
            .await
            .expect("closed in time")
            .is_none(),
        "a console that missed a frame must resynchronise"
    );
}
