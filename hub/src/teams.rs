//! Teams: which agents and queues each supervisor oversees. Admins set them up over REST; every
//! supervisor's view (the wallboard, live figures, reports, staffing, recordings) asks `scope`
//! what it may show. Pure: the callers read the account's teams and apply the answer.

use crate::dispatcher::Live;
use crate::domain::{Agent, AgentId, QueueId, Role, TeamId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use utoipa::ToSchema;

/// A team: its leads (supervisors), its members (agents) and the queues it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Team {
    #[schema(value_type = String)]
    pub id: TeamId,
    pub name: String,
    /// The supervisors who lead it: they see its members and queues.
    #[schema(value_type = Vec<String>)]
    pub leads: Vec<AgentId>,
    #[schema(value_type = Vec<String>)]
    pub members: Vec<AgentId>,
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
}

/// What one console user may oversee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The whole account: admins, and supervisors of an account that has no teams yet (a small
    /// site is one team).
    All,
    /// The members and queues of the teams they lead (nothing, if they lead none).
    Teams {
        agents: HashSet<AgentId>,
        queues: HashSet<QueueId>,
    },
}

impl Scope {
    pub fn agent(&self, id: AgentId) -> bool {
        match self {
            Scope::All => true,
            Scope::Teams { agents, .. } => agents.contains(&id),
        }
    }

    pub fn queue(&self, id: QueueId) -> bool {
        match self {
            Scope::All => true,
            Scope::Teams { queues, .. } => queues.contains(&id),
        }
    }
}

impl Scope {
    /// The live figures of the queues and agents in scope. Channel totals stay the account's:
    /// counts only, and what the site as a whole is doing.
    pub fn live(&self, mut live: Live) -> Live {
        live.queues.retain(|q| self.queue(q.id));
        live.agents.retain(|a| self.agent(a.id));
        live
    }
}

/// What `me` oversees among the account's `teams`. Agents oversee nobody but themselves; the
/// routes that call this already turned them away.
pub fn scope(me: &Agent, teams: &[Team]) -> Scope {
    if me.role >= Role::Admin || (me.role == Role::Supervisor && teams.is_empty()) {
        return Scope::All;
    }
    let mut agents = HashSet::from([me.id]);
    let mut queues = HashSet::new();
    if me.role == Role::Supervisor {
        for team in teams.iter().filter(|t| t.leads.contains(&me.id)) {
            agents.extend(team.leads.iter().chain(&team.members));
            queues.extend(&team.queues);
        }
    }
    Scope::Teams { agents, queues }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Capacity};

    fn user(role: Role) -> Agent {
        Agent {
            id: AgentId::new(),
            account_id: AccountId::DEFAULT,
            email: "someone@example.com".into(),
            name: "Someone".into(),
            role,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Capacity::default(),
            active: true,
            device: Default::default(),
            display_name: None,
            avatar_at: None,
        }
    }

    fn team(leads: &[AgentId], members: &[AgentId], queues: &[QueueId]) -> Team {
        Team {
            id: TeamId::new(),
            name: "t".into(),
            leads: leads.to_vec(),
            members: members.to_vec(),
            queues: queues.to_vec(),
        }
    }

    #[test]
    fn who_sees_what() {
        let (sup, other_sup, admin, agent) = (
            user(Role::Supervisor),
            user(Role::Supervisor),
            user(Role::Admin),
            user(Role::Agent),
        );
        let (ann, bob) = (AgentId::new(), AgentId::new());
        let (sales, support) = (QueueId::new(), QueueId::new());
        let teams = [
            team(&[sup.id], &[ann], &[sales]),
            team(&[other_sup.id], &[bob], &[support]),
        ];
        // No teams at all: every supervisor sees the whole account.
        assert_eq!(scope(&sup, &[]), Scope::All);
        assert_eq!(scope(&admin, &teams), Scope::All);
        let mine = scope(&sup, &teams);
        assert!(mine.agent(ann) && mine.agent(sup.id) && mine.queue(sales));
        assert!(!mine.agent(bob) && !mine.agent(other_sup.id) && !mine.queue(support));
        // Two teams led: both.
        let both = [
            team(&[sup.id], &[ann], &[sales]),
            team(&[sup.id], &[bob], &[support]),
        ];
        let s = scope(&sup, &both);
        assert!(s.agent(ann) && s.agent(bob) && s.queue(sales) && s.queue(support));
        // Teams exist but they lead none: only themselves, no queue.
        let none = scope(&sup, &[team(&[other_sup.id], &[ann], &[sales])]);
        assert!(none.agent(sup.id) && !none.agent(ann) && !none.queue(sales));
        // A member is not a lead: an agent sees no queue through their team.
        let a = scope(&agent, &[team(&[sup.id], &[agent.id], &[sales])]);
        assert!(!a.queue(sales) && !a.agent(sup.id));
    }
}
