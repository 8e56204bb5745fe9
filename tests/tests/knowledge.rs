//! The knowledge base and canned responses end to end with the real binary: a supervisor writes
//! articles (in Chinese and English, one limited to a queue), agents find what their queues show
//! and nothing else, Markdown comes back as HTML that runs nothing, every write is on the audit
//! log; canned responses are the account's or an agent's own, and each use counts.

use plugboard_tests::{DEMO_PASSWORD, Hub};
use serde_json::{Value, json};

async fn call(hub: &Hub, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    hub.call(method, path, Some(token), body).await.unwrap()
}

async fn ok(hub: &Hub, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, answer) = call(hub, token, method, path, body).await;
    assert_eq!(status, 200, "{method} {path}: {answer}");
    answer
}

fn titles(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect()
}

async fn search(hub: &Hub, token: &str, query: &str) -> Vec<String> {
    let list = ok(hub, token, "GET", &format!("/knowledge/articles?{query}"), None).await;
    titles(&list).into_iter().map(String::from).collect()
}

async fn login(hub: &Hub, who: &str) -> String {
    hub.login(&format!("{who}@plugboard.example"), DEMO_PASSWORD)
        .await
        .unwrap()
}

#[tokio::test]
async fn supervisors_write_articles_agents_find_those_of_their_queues_and_markdown_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let sam = login(&hub, "sam").await;
    let alice = login(&hub, "alice").await; // Sales
    let bob = login(&hub, "bob").await; // Support
    let admin = login(&hub, "admin").await;
    let sales = hub.named(&admin, "/queues", "Sales").await.unwrap();
    let sales_id = sales["id"].as_str().unwrap();

    let refund = json!({
        "title": "退款政策", "category": "账单", "tags": ["Refund"],
        "body": "# 退款\n\n客户可以在 **三十天** 内申请退款。",
    });
    let written = ok(&hub, &sam, "POST", "/knowledge/articles", Some(refund)).await;
    assert_eq!(written["author_name"], "Sam Lee");
    assert_eq!(written["tags"], json!(["refund"]));
    assert!(
        written["html"]
            .as_str()
            .unwrap()
            .contains("<strong>三十天</strong>"),
        "{written}"
    );
    let sales_only = json!({
        "title": "Discounts for new leads", "category": "Sales", "queues": [sales_id],
        "stages": ["lead"], "body": "Offer **10%** to refund-sensitive leads.",
    });
    let discount = ok(&hub, &sam, "POST", "/knowledge/articles", Some(sales_only)).await;
    let discount_id = discount["id"].as_str().unwrap();

    // Chinese and English, by both agents where the queue allows.
    assert_eq!(search(&hub, &bob, "q=退款").await, ["退款政策"]);
    assert_eq!(search(&hub, &alice, "q=退款").await, ["退款政策"]);
    // Neither title has it (a tag, a word of the text): the newest first.
    assert_eq!(
        search(&hub, &alice, "q=refund").await,
        ["Discounts for new leads", "退款政策"]
    );
    assert_eq!(
        search(&hub, &alice, "q=discou").await,
        ["Discounts for new leads"]
    );
    // Bob serves Support: the Sales article is not his to read, listed or by id.
    assert_eq!(search(&hub, &bob, "q=refund").await, ["退款政策"]);
    assert_eq!(search(&hub, &bob, "").await, ["退款政策"]);
    let (status, _) = call(
        &hub,
        &bob,
        "GET",
        &format!("/knowledge/articles/{discount_id}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    ok(
        &hub,
        &alice,
        "GET",
        &format!("/knowledge/articles/{discount_id}"),
        None,
    )
    .await;
    // Filters: category, stage, queue.
    assert_eq!(
        search(&hub, &sam, "category=Sales").await,
        ["Discounts for new leads"]
    );
    assert_eq!(search(&hub, &sam, "stage=customer").await, ["退款政策"]);
    assert_eq!(
        search(&hub, &sam, &format!("stage=lead&queue={sales_id}"))
            .await
            .len(),
        2
    );

    // Suggestions for a customer's message: any telling word or pair may match, the queue's only.
    let suggested = |list: Value| -> Vec<String> { titles(&list).into_iter().map(String::from).collect() };
    let path = |text: &str| format!("/knowledge/suggestions?text={}", urlencode(text));
    let for_bob = ok(&hub, &bob, "GET", &path("你好，我想申请退款"), None).await;
    assert_eq!(suggested(for_bob), ["退款政策"]);
    let for_alice = ok(
        &hub,
        &alice,
        "GET",
        &path("Is there a discount if I ask for a refund?"),
        None,
    )
    .await;
    assert_eq!(suggested(for_alice), ["Discounts for new leads", "退款政策"]);
    let for_bob = ok(&hub, &bob, "GET", &path("Is there a discount?"), None).await;
    assert!(suggested(for_bob).is_empty(), "not in Bob's queues");
    let nothing = ok(&hub, &alice, "GET", &path("hello, thanks"), None).await;
    assert!(suggested(nothing).is_empty());

    // Agents read, they do not write.
    let draft = json!({"title": "Mine", "body": "x"});
    for (method, path) in [
        ("POST", "/knowledge/articles".to_string()),
        ("PUT", format!("/knowledge/articles/{discount_id}")),
        ("DELETE", format!("/knowledge/articles/{discount_id}")),
        ("POST", "/knowledge/preview".to_string()),
    ] {
        let (status, body) = call(&hub, &alice, method, &path, Some(draft.clone())).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }

    // Markdown that would run script comes back inert, in the article and in the preview.
    let hostile = "<script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n\
                   [click](javascript:alert(3)) <a href=\"javascript:alert(4)\" onclick=\"alert(5)\">a</a>\n\n\
                   <iframe src=\"https://evil.example\"></iframe>\n\n[docs](https://example.com/docs)";
    let evil = ok(
        &hub,
        &sam,
        "PUT",
        &format!("/knowledge/articles/{discount_id}"),
        Some(json!({"title": "Discounts for new leads", "body": hostile, "queues": [sales_id]})),
    )
    .await;
    let preview = ok(
        &hub,
        &sam,
        "POST",
        "/knowledge/preview",
        Some(json!({"body": hostile})),
    )
    .await;
    let read = ok(
        &hub,
        &alice,
        "GET",
        &format!("/knowledge/articles/{discount_id}"),
        None,
    )
    .await;
    assert_eq!(read["body"], hostile, "the Markdown is kept as written");
    for html in [&evil["html"], &preview["html"], &read["html"]] {
        let html = html.as_str().unwrap().to_lowercase();
        for bad in ["<script", "onerror", "onclick", "javascript:", "<iframe"] {
            assert!(!html.contains(bad), "{bad} in {html}");
        }
        assert!(html.contains("href=\"https://example.com/docs\""), "{html}");
        assert!(html.contains("rel=\"noopener noreferrer\""), "{html}");
        assert!(html.contains("target=\"_blank\""), "{html}");
    }
    // The edit replaced the terms: the old words are gone, the new found.
    assert!(search(&hub, &alice, "q=discount+offer").await.is_empty());
    assert_eq!(search(&hub, &alice, "q=docs").await, ["Discounts for new leads"]);

    // Bad input: a clear 400.
    for (body, why) in [
        (json!({"title": " ", "body": "x"}), "needs a title"),
        (
            json!({"title": "t", "body": "x", "stages": ["not a key"]}),
            "not a stage key",
        ),
        (
            json!({"title": "t", "body": "x", "queues": [uuid_like()]}),
            "no queue",
        ),
        (json!({"title": "t", "body": "x".repeat(70_000)}), "at most"),
    ] {
        let (status, answer) = call(&hub, &sam, "POST", "/knowledge/articles", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(why), "{answer}");
    }

    // Deleted: gone from search; every write on the audit log.
    let (status, _) = call(
        &hub,
        &sam,
        "DELETE",
        &format!("/knowledge/articles/{discount_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(search(&hub, &alice, "q=docs").await.is_empty());
    let log = ok(&hub, &admin, "GET", "/audit", None).await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("article."))
        .collect();
    assert_eq!(
        actions,
        [
            "article.deleted",
            "article.updated",
            "article.created",
            "article.created"
        ]
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn uuid_like() -> String {
    "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee".into()
}

#[tokio::test]
async fn canned_responses_are_the_accounts_or_an_agents_own_and_count_their_uses() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(dir.path(), &[]).await.unwrap();
    let sam = login(&hub, "sam").await;
    let alice = login(&hub, "alice").await;
    let bob = login(&hub, "bob").await;

    let shared = ok(
        &hub,
        &sam,
        "POST",
        "/canned-responses",
        Some(json!({"shortcut": "/Refund", "title": "Refund", "body": "Hello {{customer.name}}, your refund is on its way. {{agent.name}}"})),
    )
    .await;
    assert_eq!(shared["shortcut"], "refund");
    assert_eq!(shared["owner_id"], Value::Null);
    let shared_id = shared["id"].as_str().unwrap();
    // An agent's is always their own, even when they ask for the account's.
    let own = ok(
        &hub,
        &alice,
        "POST",
        "/canned-responses",
        Some(json!({"shortcut": "hi", "title": "Greeting", "body": "Hi {{customer.name}}!", "personal": false})),
    )
    .await;
    assert!(own["owner_id"].is_string(), "{own}");
    let own_id = own["id"].as_str().unwrap();

    let shortcuts = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["shortcut"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        shortcuts(&ok(&hub, &alice, "GET", "/canned-responses", None).await),
        ["hi", "refund"]
    );
    assert_eq!(
        shortcuts(&ok(&hub, &bob, "GET", "/canned-responses", None).await),
        ["refund"]
    );

    // Uses count; the most used first.
    for _ in 0..2 {
        ok(
            &hub,
            &alice,
            "POST",
            &format!("/canned-responses/{shared_id}/use"),
            None,
        )
        .await;
    }
    let used = ok(
        &hub,
        &bob,
        "POST",
        &format!("/canned-responses/{shared_id}/use"),
        None,
    )
    .await;
    assert_eq!(used["uses"], 3);
    assert_eq!(
        shortcuts(&ok(&hub, &alice, "GET", "/canned-responses", None).await),
        ["refund", "hi"]
    );

    // Agents keep their own and nobody else's.
    let edit = json!({"shortcut": "hi", "title": "Greeting", "body": "Hello!"});
    let (status, _) = call(
        &hub,
        &alice,
        "PUT",
        &format!("/canned-responses/{shared_id}"),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &hub,
        &alice,
        "DELETE",
        &format!("/canned-responses/{shared_id}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    for (method, path) in [
        ("PUT", format!("/canned-responses/{own_id}")),
        ("DELETE", format!("/canned-responses/{own_id}")),
        ("POST", format!("/canned-responses/{own_id}/use")),
    ] {
        let (status, _) = call(&hub, &bob, method, &path, Some(edit.clone())).await;
        assert_eq!(status, 404, "{method} {path}");
    }
    ok(
        &hub,
        &alice,
        "PUT",
        &format!("/canned-responses/{own_id}"),
        Some(edit),
    )
    .await;
    // A shortcut once per owner; bad input is a 400.
    let (status, answer) = call(
        &hub,
        &sam,
        "POST",
        "/canned-responses",
        Some(json!({"shortcut": "refund", "title": "Again", "body": "x"})),
    )
    .await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("/refund"),
        "{answer}"
    );
    let (status, _) = call(
        &hub,
        &sam,
        "POST",
        "/canned-responses",
        Some(json!({"shortcut": "two words", "title": "t", "body": "x"})),
    )
    .await;
    assert_eq!(status, 400);
    // A supervisor changes the account's: the edit keeps the count, and is audited.
    let changed = ok(
        &hub,
        &sam,
        "PUT",
        &format!("/canned-responses/{shared_id}"),
        Some(json!({"shortcut": "refund", "title": "Refund on its way", "body": "Dear {{customer.name}}"})),
    )
    .await;
    assert_eq!(changed["uses"], 3);
    let (status, _) = call(
        &hub,
        &alice,
        "DELETE",
        &format!("/canned-responses/{own_id}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let admin = login(&hub, "admin").await;
    let log = ok(&hub, &admin, "GET", "/audit", None).await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.starts_with("canned_response."))
        .collect();
    assert_eq!(actions, ["canned_response.updated", "canned_response.created"]);
}
