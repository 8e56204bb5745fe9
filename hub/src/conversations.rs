//! The agent's inbox and search, between the API and the store: who may see which conversations
//! (`viewer_of`, pure: the queries apply it), and the indexer that files every message's terms in
//! the search index behind the message writes, so the chat path never waits for it.

use crate::domain::{Agent, Queue, Role, has_skills};
use crate::store::{DynStore, Viewer};
use crate::teams::Scope;
use std::time::Duration;

/// What an agent may see: what they hold or held last, and what waits in the queues whose skills
/// they have (what the router could offer them); a supervisor also what their `scope`
/// (`crate::teams`) holds: every conversation of its queues and of its people, or the whole
/// account.
pub fn viewer_of(agent: &Agent, queues: &[Queue], scope: &Scope) -> Viewer {
    let lead = agent.role >= Role::Supervisor;
    let sees_all = lead && *scope == Scope::All;
    let mut viewer = Viewer {
        agent: agent.id,
        sees_all,
        queues: Vec::new(),
        team_queues: Vec::new(),
        team_agents: Vec::new(),
    };
    if sees_all {
        return viewer;
    }
    viewer.queues = queues
        .iter()
        .filter(|q| has_skills(&agent.skills, &q.required_skills))
        .map(|q| q.id)
        .collect();
    if let (true, Scope::Teams { agents, queues }) = (lead, scope) {
        viewer.team_queues = queues.iter().copied().collect();
        viewer.team_agents = agents.iter().copied().filter(|a| *a != agent.id).collect();
        viewer.team_queues.sort_by_key(|q| q.to_string());
        viewer.team_agents.sort_by_key(|a| a.to_string());
    }
    viewer
}

/// Messages indexed per write transaction.
pub const INDEX_BATCH: u32 = 2000;

/// How long the indexer rests when nothing is left to index: how stale search may be.
pub const INDEX_IDLE: Duration = Duration::from_millis(500);

/// Files new messages in the search index for as long as the hub runs. While more is waiting (a
/// busy second, a backlog after a migration or a copy) it goes on at once; on an error it logs
/// and tries again later, since the messages stay unindexed until it succeeds.
pub async fn index_forever(store: DynStore) {
    loop {
        match store.index_messages(INDEX_BATCH).await {
            Ok((_, true)) => continue,
            Ok((_, false)) => tokio::time::sleep(INDEX_IDLE).await,
            Err(e) => {
                tracing::warn!(error = %e, "indexing messages for search");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, AgentId, Capacity, QueueId, SkillRequirement};

    fn agent(role: Role, skills: &[(&str, u8)]) -> Agent {
        Agent {
            id: AgentId::new(),
            account_id: AccountId::DEFAULT,
            email: "a@example.com".into(),
            name: "A".into(),
            role,
            locale: "en".into(),
            skills: skills.iter().map(|(s, l)| (s.to_string(), *l)).collect(),
            capacity: Capacity::default(),
            active: true,
            device: Default::default(),
            display_name: None,
            avatar_at: None,
        }
    }

    fn queue(skills: &[(&str, u8)]) -> Queue {
        Queue {
            id: QueueId::new(),
            account_id: AccountId::DEFAULT,
            name: "q".into(),
            required_skills: skills
                .iter()
                .map(|(s, l)| SkillRequirement {
                    skill: s.to_string(),
                    min_level: *l,
                })
                .collect(),
            priority: 0,
            sl_target_secs: 20,
            max_wait_secs: None,
            overflow_queue: None,
            offer_timeout_secs: 20,
            wrap_up_secs: 60,
            hours: None,
            callbacks: None,
            tier_priority: Default::default(),
            csat: false,
        }
    }

    #[test]
    fn agents_see_the_queues_they_could_be_offered_and_supervisors_everything() {
        let open = queue(&[]);
        let chinese = queue(&[("zh", 3)]);
        let billing = queue(&[("billing", 1), ("zh", 1)]);
        let queues = [open.clone(), chinese.clone(), billing.clone()];
        /// Role, skills, whether they see everything, the queues they see.
        type Case<'a> = (Role, &'a [(&'a str, u8)], bool, Vec<QueueId>);
        let cases: &[Case] = &[
            (Role::Agent, &[], false, vec![open.id]),
            (Role::Agent, &[("zh", 2)], false, vec![open.id]),
            (Role::Agent, &[("zh", 3)], false, vec![open.id, chinese.id]),
            (
                Role::Agent,
                &[("zh", 5), ("billing", 1)],
                false,
                vec![open.id, chinese.id, billing.id],
            ),
            (Role::Supervisor, &[], true, vec![]),
            (Role::Admin, &[], true, vec![]),
        ];
        for (role, skills, sees_all, want) in cases {
            let a = agent(*role, skills);
            let v = viewer_of(&a, &queues, &Scope::All);
            assert_eq!(
                (v.agent, v.sees_all, &v.queues),
                (a.id, *sees_all, want),
                "{role:?} {skills:?}"
            );
            assert!(v.team_queues.is_empty() && v.team_agents.is_empty());
        }
    }

    #[test]
    fn a_team_lead_sees_their_teams_queues_and_people_besides_what_they_could_take() {
        let open = queue(&[]);
        let billing = queue(&[("billing", 1)]);
        let queues = [open.clone(), billing.clone()];
        let lead = agent(Role::Supervisor, &[]);
        let member = AgentId::new();
        let team = Scope::Teams {
            agents: [lead.id, member].into(),
            queues: [billing.id].into(),
        };
        let v = viewer_of(&lead, &queues, &team);
        assert_eq!(
            (v.sees_all, v.queues, v.team_queues, v.team_agents),
            (false, vec![open.id], vec![billing.id], vec![member])
        );
        // Team scope means nothing for an agent: they see what they could be offered.
        let plain = agent(Role::Agent, &[]);
        let v = viewer_of(&plain, &queues, &team);
        assert!(!v.sees_all && v.team_queues.is_empty() && v.team_agents.is_empty());
        // Leading no team, a supervisor still sees what they could take.
        let none = Scope::Teams {
            agents: [lead.id].into(),
            queues: Default::default(),
        };
        let v = viewer_of(&lead, &queues, &none);
        assert_eq!((v.sees_all, v.queues), (false, vec![open.id]));
    }
}
