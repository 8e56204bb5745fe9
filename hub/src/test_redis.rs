//! Redis for the tests that need one (the bus across nodes, the router lease).
//! `PLUGBOARD_TEST_REDIS` names the server (`redis://127.0.0.1:6379`, as `.ci/run` sets it);
//! without it those tests are skipped with a notice, unless `CI=true`, where a missing Redis is
//! a failure. Each test works under a key prefix of its own and removes its keys afterwards.

use crate::bus::RedisSettings;
use redis::aio::MultiplexedConnection;

pub(crate) struct TestRedis {
    pub url: String,
    /// Before every key and channel name of this test.
    pub prefix: String,
    users: std::sync::Mutex<Vec<String>>,
}

impl TestRedis {
    /// The test's Redis, or `None` (after a notice) when none is configured outside CI.
    pub(crate) fn get() -> Option<TestRedis> {
        let Ok(url) = std::env::var("PLUGBOARD_TEST_REDIS") else {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("CI=true but PLUGBOARD_TEST_REDIS is not set: the Redis tests must run in CI");
            }
            eprintln!(
                "skipping a Redis test: set PLUGBOARD_TEST_REDIS (e.g. redis://127.0.0.1:6379) to run it"
            );
            return None;
        };
        let mut conn = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .unwrap_or_else(|e| panic!("PLUGBOARD_TEST_REDIS is set but Redis does not answer: {e}"));
        let _: String = redis::cmd("PING").query(&mut conn).expect("PING the test Redis");
        Some(TestRedis {
            url,
            prefix: format!("pbtest:{:016x}:", rand::random::<u64>()),
            users: Default::default(),
        })
    }

    /// A node of this test's deployment.
    pub(crate) fn settings(&self, node: &str) -> RedisSettings {
        RedisSettings {
            url: self.url.clone(),
            prefix: self.prefix.clone(),
            node: node.into(),
        }
    }

    pub(crate) async fn conn(&self) -> MultiplexedConnection {
        redis::Client::open(self.url.as_str())
            .expect("the test Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to the test Redis")
    }

    /// A Redis user of its own, so a test can cut that user's connections (`CLIENT KILL USER`)
    /// and refuse it (`ACL SETUSER ... off`) without touching anyone else's. Returns its URL.
    pub(crate) async fn user(&self, name: &str) -> String {
        let user = format!("{}{name}", self.prefix).replace(':', "-");
        let password = format!("{:016x}", rand::random::<u64>());
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(&user)
            .arg("reset")
            .arg("on")
            .arg(format!(">{password}"))
            .arg("~*")
            .arg("&*")
            .arg("+@all")
            .query_async(&mut self.conn().await)
            .await
            .expect("ACL SETUSER (the test Redis must allow ACL)");
        self.users.lock().unwrap().push(user.clone());
        let info =
            redis::IntoConnectionInfo::into_connection_info(self.url.as_str()).expect("the test Redis URL");
        let db = info.redis_settings().db();
        match info.addr() {
            redis::ConnectionAddr::Tcp(host, port) => format!("redis://{user}:{password}@{host}:{port}/{db}"),
            other => panic!("the Redis tests need a TCP address, not {other:?}"),
        }
    }

    /// Runs `ACL SETUSER <user> <rules...>` for a user made by `user`.
    pub(crate) async fn acl(&self, name: &str, rules: &[&str]) {
        let user = format!("{}{name}", self.prefix).replace(':', "-");
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(&user)
            .arg(rules)
            .query_async(&mut self.conn().await)
            .await
            .expect("ACL SETUSER");
    }

    /// Cuts every connection of a user made by `user`.
    pub(crate) async fn kill(&self, name: &str) {
        let user = format!("{}{name}", self.prefix).replace(':', "-");
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("USER")
            .arg(&user)
            .query_async(&mut self.conn().await)
            .await
            .expect("CLIENT KILL USER");
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection()) else {
            return;
        };
        for user in self.users.lock().unwrap().drain(..) {
            let _: redis::RedisResult<()> = redis::cmd("ACL").arg("DELUSER").arg(&user).query(&mut conn);
        }
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&keys).query(&mut conn);
        }
    }
}
