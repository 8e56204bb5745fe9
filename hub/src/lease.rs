//! The router's lease: the routers run on exactly one node at a time, the node that holds the
//! lease in Redis; when that node dies or is cut off, another takes the lease
//! within seconds and rebuilds the router from the store.
//!
//! Taking the lease (`SET NX PX` in a Lua script) also draws a fencing token from a counter that
//! only grows (`INCR`), so the store can refuse a write carrying an older token than the newest it
//! has seen: a deposed leader that has not noticed yet (paused, partitioned) cannot change
//! anything. The holder renews the lease only while it is still its own (compare, then
//! `PEXPIRE`), and stops acting as soon as a renewal is refused, or when its last successful
//! renewal, counted from when it was *sent*, is about to run out: before Redis can hand the lease
//! to anyone else.
//!
//! `Elector` decides, with no IO: the clock and Redis's replies in, the next request (or how long
//! to sleep) out. `Lease` is the task that carries out its decisions.

use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How the lease is timed. The defaults put a new leader in place within
/// `ttl + retry_every` = 3.5 s of the old one's death.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseTiming {
    /// How long the lease lasts in Redis without a renewal.
    pub ttl: Duration,
    /// How often the holder renews it.
    pub renew_every: Duration,
    /// How often a candidate tries to take it, and a failed renewal is retried.
    pub retry_every: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(3),
            renew_every: Duration::from_secs(1),
            retry_every: Duration::from_millis(500),
        }
    }
}

impl LeaseTiming {
    /// How long after sending a successful request the holder may act: the ttl less a tenth, for
    /// clocks that run at slightly different rates on this node and on Redis's.
    fn valid_for(&self) -> Duration {
        self.ttl - self.ttl / 10
    }
}

/// Drawn when a lease is taken; each one larger than every one before it for the same lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FencingToken(pub u64);

/// Where a node stands on a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Candidate,
    /// It may act with `token` until `until` unless renewed.
    Leader {
        token: FencingToken,
        until: Instant,
    },
}

/// A request to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Acquire,
    Renew(FencingToken),
}

/// Redis's answer to a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    Acquired(FencingToken),
    /// Someone else holds it.
    Taken,
    Renewed,
    /// The lease is no longer ours (it lapsed and perhaps went to someone else).
    NotOurs,
    /// No answer in time, or an error: Redis may or may not have done it.
    Failed,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Send(Request),
    Sleep(Instant),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Candidate {
        next_try: Instant,
    },
    Leader {
        token: FencingToken,
        until: Instant,
        next_renew: Instant,
    },
}

/// The lease's decisions.
#[derive(Debug, Clone)]
pub struct Elector {
    timing: LeaseTiming,
    state: State,
}

impl Elector {
    /// A candidate that tries at once.
    pub fn new(timing: LeaseTiming, now: Instant) -> Elector {
        Elector {
            timing,
            state: State::Candidate { next_try: now },
        }
    }

    pub fn standing(&self, now: Instant) -> Standing {
        match self.state {
            State::Leader { token, until, .. } if now < until => Standing::Leader { token, until },
            _ => Standing::Candidate,
        }
    }

    pub fn next(&mut self, now: Instant) -> Next {
        if let State::Leader { until, .. } = self.state
            && now >= until
        {
            // Not renewed in time: another node may hold it already.
            self.state = State::Candidate { next_try: now };
        }
        match self.state {
            State::Candidate { next_try } if now >= next_try => Next::Send(Request::Acquire),
            State::Candidate { next_try } => Next::Sleep(next_try),
            State::Leader {
                token, next_renew, ..
            } if now >= next_renew => Next::Send(Request::Renew(token)),
            State::Leader {
                next_renew, until, ..
            } => Next::Sleep(next_renew.min(until)),
        }
    }

    /// Redis's reply, at `now`, to the request sent at `sent`.
    pub fn reply(&mut self, sent: Instant, now: Instant, reply: Reply) {
        let retry = now + self.timing.retry_every;
        let valid_until = sent + self.timing.valid_for();
        self.state = match (self.state, reply) {
            // Too late to be of use: the lease may have lapsed already. It will lapse for good.
            (State::Candidate { .. }, Reply::Acquired(_)) if now >= valid_until => {
                State::Candidate { next_try: retry }
            }
            (State::Candidate { .. }, Reply::Acquired(token)) => State::Leader {
                token,
                until: valid_until,
                next_renew: sent + self.timing.renew_every,
            },
            (State::Candidate { .. }, _) => State::Candidate { next_try: retry },
            (State::Leader { token, until, .. }, Reply::Renewed) => State::Leader {
                token,
                until: until.max(valid_until),
                next_renew: sent + self.timing.renew_every,
            },
            (State::Leader { .. }, Reply::NotOurs) => State::Candidate { next_try: retry },
            (State::Leader { token, until, .. }, _) => State::Leader {
                token,
                until,
                next_renew: retry,
            },
        };
    }
}

/// `KEYS`: the lease, its token counter. `ARGV`: the holder's name, the ttl (ms), the lowest
/// token acceptable less one. Returns the new token, or 0 if the lease is held.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local token = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3])
if token <= floor then
  token = floor + 1
  redis.call('SET', KEYS[2], token)
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
";

/// `KEYS[1]`: the lease. `ARGV`: its value when we took it, the ttl (ms). 1 if renewed.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// `KEYS[1]`: the lease. `ARGV[1]`: its value when we took it. 1 if released.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The Redis key of the routers' lease (its token counter is this plus `:fence`). One lease for
/// every account's router: routing is cheap next to the work every node shares (sockets,
/// messages, media), so one leader is enough and a takeover has one thing to move.
pub fn router_key(prefix: &str) -> String {
    format!("{prefix}lease:router")
}

/// A node campaigning for one lease, holding it when it can. Dropping it stops the campaign
/// without giving the lease back (it lapses after the ttl, as if the node died); `release` gives
/// it back at once.
pub struct Lease {
    standing: watch::Receiver<Standing>,
    floor: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Lease {
    /// Starts campaigning for `key` under the name `holder` (this node's, unique per process).
    pub fn campaign(conn: ConnectionManager, key: String, holder: String, timing: LeaseTiming) -> Lease {
        let (tx, standing) = watch::channel(Standing::Candidate);
        let (stop, stopped) = oneshot::channel();
        let floor = Arc::new(AtomicU64::new(0));
        let shell = Shell {
            conn,
            fence: format!("{key}:fence"),
            key,
            holder,
            timing,
            floor: floor.clone(),
            value: None,
        };
        let task = tokio::spawn(shell.run(tx, stopped));
        Lease {
            standing,
            floor,
            stop: Some(stop),
            task,
        }
    }

    /// The token to write with, while this node may act as leader; `None` otherwise. Checks the
    /// clock itself, so it turns `None` on time even if the lease's task is held up.
    pub fn token(&self) -> Option<FencingToken> {
        match *self.standing.borrow() {
            Standing::Leader { token, until } if Instant::now() < until => Some(token),
            _ => None,
        }
    }

    /// Follows the standing as it changes.
    pub fn watch(&self) -> watch::Receiver<Standing> {
        self.standing.clone()
    }

    /// Waits until this node holds the lease.
    pub async fn acquired(&mut self) -> FencingToken {
        loop {
            if let Some(token) = self.token() {
                return token;
            }
            if self.standing.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until this node no longer holds the lease (at once if it does not): the holder must
    /// stop acting when this returns.
    pub async fn lost(&mut self) {
        loop {
            let until = match *self.standing.borrow_and_update() {
                Standing::Leader { until, .. } if Instant::now() < until => until,
                _ => return,
            };
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => return,
                changed = self.standing.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Tokens drawn from now on are above `token`: for when Redis lost its counter (a restart
    /// without persistence) and the store knows a higher token than Redis does.
    pub fn raise_floor(&self, token: FencingToken) {
        self.floor.fetch_max(token.0, Ordering::Relaxed);
    }

    /// Stops campaigning and gives the lease back if this node holds it, so another node can
    /// take it at its next try rather than after the ttl.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// The task behind a `Lease`.
struct Shell {
    conn: ConnectionManager,
    key: String,
    fence: String,
    holder: String,
    timing: LeaseTiming,
    floor: Arc<AtomicU64>,
    /// The lease's value in Redis while we hold it: `<holder> <token>`.
    value: Option<String>,
}

impl Shell {
    async fn run(mut self, tx: watch::Sender<Standing>, mut stop: oneshot::Receiver<()>) {
        let mut elector = Elector::new(self.timing, Instant::now());
        loop {
            let now = Instant::now();
            let next = elector.next(now);
            tell(&tx, elector.standing(now));
            match next {
                Next::Sleep(until) => tokio::select! {
                    _ = tokio::time::sleep_until(until.into()) => {}
                    _ = &mut stop => break,
                },
                Next::Send(request) => {
                    let sent = Instant::now();
                    // Waiting longer than this is useless: a leader must have its answer before
                    // it has to stop, a candidate tries again anyway.
                    let give_up = match elector.standing(sent) {
                        Standing::Leader { until, .. } => until.min(sent + self.timing.renew_every),
                        Standing::Candidate => sent + self.timing.renew_every,
                    };
                    let reply = tokio::select! {
                        reply = tokio::time::timeout_at(give_up.into(), self.send(request)) => {
                            reply.unwrap_or(Reply::Failed)
                        }
                        _ = &mut stop => break,
                    };
                    if let Reply::Failed = reply {
                        metrics::counter!("plugboard_lease_failures_total").increment(1);
                    }
                    let now = Instant::now();
                    let was_leader = matches!(elector.standing(now), Standing::Leader { .. });
                    elector.reply(sent, now, reply);
                    if was_leader && elector.standing(now) == Standing::Candidate {
                        tracing::warn!(lease = %self.key, ?reply, "lost the lease");
                    }
                }
            }
        }
        // Stopped: stop acting first, then hand the lease back.
        let held = elector.standing(Instant::now());
        tell(&tx, Standing::Candidate);
        if let (Standing::Leader { .. }, Some(value)) = (held, self.value.take()) {
            let mut cmd = redis::cmd("EVAL");
            cmd.arg(RELEASE).arg(1).arg(&self.key).arg(value);
            let release = cmd.query_async::<i64>(&mut self.conn);
            if let Ok(Err(e)) = tokio::time::timeout(self.timing.renew_every, release).await {
                tracing::warn!(lease = %self.key, error = %e, "could not release the lease; it will lapse");
            }
        }
    }

    async fn send(&mut self, request: Request) -> Reply {
        let ttl = self.timing.ttl.as_millis() as u64;
        let result = match request {
            Request::Acquire => redis::cmd("EVAL")
                .arg(ACQUIRE)
                .arg(2)
                .arg(&self.key)
                .arg(&self.fence)
                .arg(&self.holder)
                .arg(ttl)
                .arg(self.floor.load(Ordering::Relaxed))
                .query_async::<u64>(&mut self.conn)
                .await
                .map(|token| match token {
                    0 => Reply::Taken,
                    token => {
                        self.value = Some(format!("{} {token}", self.holder));
                        Reply::Acquired(FencingToken(token))
                    }
                }),
            Request::Renew(_) => {
                let Some(value) = &self.value else {
                    return Reply::NotOurs;
                };
                redis::cmd("EVAL")
                    .arg(RENEW)
                    .arg(1)
                    .arg(&self.key)
                    .arg(value)
                    .arg(ttl)
                    .query_async::<i64>(&mut self.conn)
                    .await
                    .map(|renewed| {
                        if renewed == 1 {
                            Reply::Renewed
                        } else {
                            Reply::NotOurs
                        }
                    })
            }
        };
        result.unwrap_or_else(|e| {
            tracing::debug!(lease = %self.key, error = %e, "lease request failed");
            Reply::Failed
        })
    }
}

fn tell(tx: &watch::Sender<Standing>, standing: Standing) {
    tx.send_if_modified(|current| {
        let changed = *current != standing;
        *current = standing;
        changed
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    enum Step {
        /// At this time, `next` says this.
        Expect(u64, Next),
        /// The request sent at the first time is answered at the second.
        Answer(u64, u64, Reply),
        /// At this time, the node stands so.
        Stands(u64, Standing),
    }
    use Step::*;

    #[test]
    fn scenarios() {
        let t0 = Instant::now();
        let at = |n: u64| t0 + ms(n);
        let token = FencingToken(7);
        let leader = |until: u64| Standing::Leader {
            token,
            until: at(until),
        };
        let table: Vec<(&str, Vec<Step>)> = vec![
            (
                "takes a free lease and renews it every second",
                vec![
                    Expect(0, Next::Send(Request::Acquire)),
                    Answer(0, 4, Reply::Acquired(token)),
                    // Valid for the ttl less a tenth, from when the request was sent.
                    Stands(4, leader(2700)),
                    Expect(4, Next::Sleep(at(1000))),
                    Expect(1000, Next::Send(Request::Renew(token))),
                    Answer(1000, 1003, Reply::Renewed),
                    Stands(1003, leader(3700)),
                    Expect(1003, Next::Sleep(at(2000))),
                ],
            ),
            (
                "a held lease is tried again every half second",
                vec![
                    Expect(0, Next::Send(Request::Acquire)),
                    Answer(0, 2, Reply::Taken),
                    Stands(2, Standing::Candidate),
                    Expect(2, Next::Sleep(at(502))),
                    Expect(502, Next::Send(Request::Acquire)),
                    Answer(502, 503, Reply::Failed),
                    Expect(503, Next::Sleep(at(1003))),
                ],
            ),
            (
                "a refused renewal deposes at once",
                vec![
                    Answer(0, 1, Reply::Acquired(token)),
                    Expect(1000, Next::Send(Request::Renew(token))),
                    Answer(1000, 1001, Reply::NotOurs),
                    Stands(1001, Standing::Candidate),
                    Expect(1001, Next::Sleep(at(1501))),
                ],
            ),
            (
                "with Redis unreachable it leads until its last renewal runs out, then stops",
                vec![
                    Answer(0, 1, Reply::Acquired(token)),
                    Expect(1000, Next::Send(Request::Renew(token))),
                    Answer(1000, 2000, Reply::Failed),
                    Stands(2000, leader(2700)),
                    Expect(2000, Next::Sleep(at(2500))),
                    Expect(2500, Next::Send(Request::Renew(token))),
                    Answer(2500, 2699, Reply::Failed),
                    Stands(2699, leader(2700)),
                    Stands(2700, Standing::Candidate),
                    Expect(2700, Next::Send(Request::Acquire)),
                ],
            ),
            (
                "a sleeping leader wakes for its deadline even between renewals",
                vec![
                    Answer(0, 1, Reply::Acquired(token)),
                    Expect(1000, Next::Send(Request::Renew(token))),
                    Answer(1000, 2600, Reply::Failed),
                    Expect(2600, Next::Sleep(at(2700))),
                ],
            ),
            (
                "an acquisition answered too late is not leadership",
                vec![
                    Expect(0, Next::Send(Request::Acquire)),
                    Answer(0, 2800, Reply::Acquired(token)),
                    Stands(2800, Standing::Candidate),
                ],
            ),
            (
                "a late renewal counts from when it was sent",
                vec![
                    Answer(0, 1, Reply::Acquired(token)),
                    Answer(1000, 2500, Reply::Renewed),
                    Stands(2500, leader(3700)),
                    Expect(2500, Next::Send(Request::Renew(token))),
                ],
            ),
        ];
        for (name, steps) in table {
            let mut elector = Elector::new(LeaseTiming::default(), t0);
            for (i, step) in steps.into_iter().enumerate() {
                match step {
                    Expect(t, want) => assert_eq!(elector.next(at(t)), want, "{name}: step {i}"),
                    Answer(sent, now, reply) => elector.reply(at(sent), at(now), reply),
                    Stands(t, want) => assert_eq!(elector.standing(at(t)), want, "{name}: step {i}"),
                }
            }
        }
    }
}

#[cfg(test)]
mod against_redis {
    //! Two contenders for one lease on the real Redis (`PLUGBOARD_TEST_REDIS`), as two nodes.

    use super::*;
    use crate::test_redis::TestRedis;
    use tokio::time::timeout;

    async fn contender(url: &str, key: &str, name: &str) -> Lease {
        let conn = redis::Client::open(url)
            .unwrap()
            .get_connection_manager()
            .await
            .expect("connect to the test Redis");
        Lease::campaign(conn, key.into(), name.into(), LeaseTiming::default())
    }

    fn key(redis: &TestRedis) -> String {
        router_key(&redis.prefix)
    }

    #[tokio::test]
    async fn of_two_contenders_one_leads_and_the_other_waits() {
        let Some(redis) = TestRedis::get() else { return };
        let key = key(&redis);
        let mut a = contender(&redis.url, &key, "a").await;
        let mut b = contender(&redis.url, &key, "b").await;
        let winner = tokio::select! {
            _ = a.acquired() => "a",
            _ = b.acquired() => "b",
        };
        // Several renewals' worth: never both, never neither.
        let until = Instant::now() + Duration::from_millis(2500);
        while Instant::now() < until {
            let leaders = [a.token(), b.token()].iter().filter(|t| t.is_some()).count();
            assert_eq!(leaders, 1, "exactly one leader ({winner} won)");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_dead_leader_is_replaced_within_five_seconds_with_a_higher_token() {
        let Some(redis) = TestRedis::get() else { return };
        let key = key(&redis);
        let mut a = contender(&redis.url, &key, "a").await;
        let first = timeout(Duration::from_secs(5), a.acquired())
            .await
            .expect("a leads");
        let mut b = contender(&redis.url, &key, "b").await;
        // Killed: no release, no more renewals.
        drop(a);
        let died = Instant::now();
        let second = timeout(Duration::from_secs(5), b.acquired())
            .await
            .expect("b leads within 5 s");
        eprintln!("new leader after {:?}", died.elapsed());
        assert!(second > first);
    }

    #[tokio::test]
    async fn a_leader_cut_off_from_redis_stops_before_the_next_one_starts() {
        let Some(redis) = TestRedis::get() else { return };
        let key = key(&redis);
        let url_a = redis.user("lease-a").await;
        let mut a = contender(&url_a, &key, "a").await;
        let first = timeout(Duration::from_secs(5), a.acquired())
            .await
            .expect("a leads");
        let mut b = contender(&redis.url, &key, "b").await;
        // a's node loses Redis and cannot get back.
        redis.acl("lease-a", &["off"]).await;
        redis.kill("lease-a").await;
        let cut = Instant::now();
        let (a_stopped, (b_started, second)) = tokio::join!(
            async {
                timeout(Duration::from_secs(5), a.lost())
                    .await
                    .expect("a told it lost the lease");
                Instant::now()
            },
            async {
                let token = timeout(Duration::from_secs(5), b.acquired())
                    .await
                    .expect("b leads within 5 s");
                (Instant::now(), token)
            },
        );
        eprintln!(
            "a stopped after {:?}, b leads after {:?}",
            a_stopped - cut,
            b_started - cut
        );
        assert!(a_stopped <= b_started, "two leaders at once");
        assert!(second > first);
        assert_eq!(a.token(), None);
    }

    #[tokio::test]
    async fn a_released_lease_goes_to_the_next_at_its_next_try() {
        let Some(redis) = TestRedis::get() else { return };
        let key = key(&redis);
        let mut a = contender(&redis.url, &key, "a").await;
        timeout(Duration::from_secs(5), a.acquired())
            .await
            .expect("a leads");
        let mut b = contender(&redis.url, &key, "b").await;
        a.release().await;
        let released = Instant::now();
        timeout(Duration::from_secs(5), b.acquired())
            .await
            .expect("b leads");
        assert!(
            released.elapsed() < LeaseTiming::default().ttl,
            "took {:?}",
            released.elapsed()
        );
    }

    #[tokio::test]
    async fn tokens_stay_above_the_floor_when_redis_forgot_its_counter() {
        let Some(redis) = TestRedis::get() else { return };
        let key = key(&redis);
        let mut a = contender(&redis.url, &key, "a").await;
        a.raise_floor(FencingToken(41));
        let token = timeout(Duration::from_secs(5), a.acquired())
            .await
            .expect("a leads");
        assert_eq!(token, FencingToken(42));
    }
}
