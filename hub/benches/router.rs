//! Router throughput at our published target: 1,000 agents holding 3 chats each across 4 skilled
//! queues, with 10,000 more contacts waiting. One measured cycle is what a busy hub does all day:
//! an agent submits a wrap-up (Released), the router offers that slot the best waiting contact
//! (Offer), the agent accepts it (Assigned), and a new contact arrives to keep the queue full.
//!
//! `cargo bench -p plugboard-hub --bench router -- --warm-up-time 1 --measurement-time 5`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plugboard_hub::domain::{
    AgentId, AgentState, Capacity, Channel, InteractionId, Millis, QueueId, SkillRequirement,
};
use plugboard_hub::routing::{Decision, Input, QueueRules, Router};
use std::collections::VecDeque;
use std::hint::black_box;
use uuid::Uuid;

const AGENTS: u128 = 1_000;
const QUEUES: u128 = 4;
const CHATS_PER_AGENT: u16 = 3;
const WAITING: u128 = 10_000;

fn queue_id(n: u128) -> QueueId {
    QueueId(Uuid::from_u128(0x1_0000_0000 + n))
}

fn skill(n: u128) -> String {
    format!("skill-{n}")
}

struct Hub {
    router: Router,
    now: Millis,
    next_interaction: u128,
    /// Accepted contacts, oldest first: the next one to be wrapped up.
    active: VecDeque<InteractionId>,
}

impl Hub {
    fn handle(&mut self, input: Input) -> Vec<Decision> {
        self.router
            .handle(input, self.now)
            .expect("the bench only sends valid inputs")
    }

    fn arrive(&mut self) -> Vec<Decision> {
        self.next_interaction += 1;
        let n = self.next_interaction;
        self.handle(Input::Arrive {
            interaction: InteractionId(Uuid::from_u128(n)),
            queue: queue_id(n % QUEUES),
            channel: Channel::Chat,
            priority: (n % 3) as i32,
            arrived_at: self.now,
            owner: None,
            due_at: None,
        })
    }

    fn accept_offers(&mut self, decisions: &[Decision]) -> usize {
        let mut assigned = 0;
        for d in decisions {
            if let Decision::Offer {
                interaction, agent, ..
            } = d
            {
                let out = self.handle(Input::Accept {
                    interaction: *interaction,
                    agent: *agent,
                });
                assigned += out.len();
                self.active.push_back(*interaction);
            }
        }
        assigned
    }

    /// Every agent full, `WAITING` contacts waiting.
    fn loaded() -> Hub {
        let mut hub = Hub {
            router: Router::new(),
            now: 0,
            next_interaction: 0,
            active: VecDeque::new(),
        };
        for q in 0..QUEUES {
            hub.handle(Input::UpsertQueue(QueueRules {
                id: queue_id(q),
                required_skills: vec![SkillRequirement {
                    skill: skill(q),
                    min_level: 1,
                }],
                max_wait_ms: None,
                overflow_queue: None,
                offer_timeout_ms: 30_000,
                wrap_up_ms: 60_000,
            }));
        }
        for a in 0..AGENTS {
            let agent = AgentId(Uuid::from_u128(0x2_0000_0000 + a));
            // Each agent covers two neighbouring queues.
            let skills = [(skill(a % QUEUES), 5), (skill((a + 1) % QUEUES), 3)]
                .into_iter()
                .collect();
            let capacity = Capacity {
                voice: 0,
                chat: CHATS_PER_AGENT,
                email: 0,
                messaging: 0,
            };
            hub.handle(Input::UpsertAgent {
                agent,
                skills,
                capacity,
            });
            hub.handle(Input::SetState {
                agent,
                state: AgentState::Available,
            });
        }
        for _ in 0..AGENTS * u128::from(CHATS_PER_AGENT) + WAITING {
            hub.now += 1;
            let offers = hub.arrive();
            hub.accept_offers(&offers);
        }
        let waiting: usize = (0..QUEUES)
            .map(|q| hub.router.queue_stats(queue_id(q)).waiting)
            .sum();
        assert_eq!(waiting as u128, WAITING);
        assert_eq!(hub.active.len() as u128, AGENTS * u128::from(CHATS_PER_AGENT));
        hub
    }

    /// Wrap-up submitted → Released + Offer; Accept → Assigned; one arrival keeps the queue full.
    fn cycle(&mut self) -> usize {
        self.now += 1;
        let done = self.active.pop_front().expect("agents are busy");
        let freed = self.handle(Input::WrapUpDone { interaction: done });
        let assigned = self.accept_offers(&freed);
        let arrived = self.arrive();
        freed.len() + assigned + arrived.len()
    }
}

fn steady_state(c: &mut Criterion) {
    let mut hub = Hub::loaded();
    assert_eq!(hub.cycle(), 3, "a cycle is Released, Offer, Assigned");
    let mut group = c.benchmark_group("router");
    group.throughput(Throughput::Elements(3));
    group.bench_function("wrap_up_offer_accept_1000_agents_10000_waiting", |b| {
        b.iter(|| black_box(hub.cycle()))
    });
    group.finish();
}

criterion_group!(benches, steady_state);
criterion_main!(benches);
