//! Who a note mentions: `@name` for a colleague, by the first word of their name, their whole
//! name without spaces, their display name or the part of their login before the `@`, matched
//! without regard to case. Pure: the console socket's `note.add` tells each one (`note.mentioned`).

use crate::domain::{Agent, AgentId};

/// The active agents `body` mentions, each once, in the order first mentioned; never `author`.
pub fn mentioned(body: &str, agents: &[Agent], author: AgentId) -> Vec<AgentId> {
    let mut found = Vec::new();
    // An `@` that starts a word: the one inside an email address mentions nobody.
    let starts = body
        .char_indices()
        .filter(|&(i, c)| c == '@' && body[..i].chars().next_back().is_none_or(|p| !p.is_alphanumeric()))
        .map(|(i, _)| &body[i + 1..]);
    for word in starts {
        let token: String = word
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect::<String>()
            .trim_end_matches(['.', '-', '_'])
            .to_lowercase();
        if token.is_empty() {
            continue;
        }
        for agent in agents.iter().filter(|a| a.active && a.id != author) {
            if answers_to(agent, &token) && !found.contains(&agent.id) {
                found.push(agent.id);
            }
        }
    }
    found
}

fn answers_to(agent: &Agent, token: &str) -> bool {
    let squeeze = |s: &str| s.split_whitespace().collect::<String>().to_lowercase();
    let first = agent
        .name
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let login = agent.email.split('@').next().unwrap_or_default().to_lowercase();
    first == token
        || squeeze(&agent.name) == token
        || agent.display_name.as_deref().is_some_and(|d| squeeze(d) == token)
        || login == token
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AccountId, Capacity, Role};

    fn agent(name: &str, email: &str, display: Option<&str>, active: bool) -> Agent {
        Agent {
            id: AgentId::new(),
            account_id: AccountId::DEFAULT,
            email: email.into(),
            name: name.into(),
            role: Role::Agent,
            locale: "en".into(),
            skills: Default::default(),
            capacity: Capacity::default(),
            active,
            device: Default::default(),
            display_name: display.map(Into::into),
            avatar_at: None,
        }
    }

    #[test]
    fn a_note_tells_the_colleagues_it_names() {
        let bob = agent("Bob Martin", "bob@plugboard.example", Some("Bobby"), true);
        let alice = agent("Alice Wong", "alice@plugboard.example", None, true);
        let wang = agent("王小明", "xiaoming@plugboard.example", None, true);
        let gone = agent("Dana Silva", "dana@plugboard.example", None, false);
        let agents = [bob.clone(), alice.clone(), wang.clone(), gone];
        let who = |body: &str| mentioned(body, &agents, alice.id);
        let cases: [(&str, Vec<AgentId>); 10] = [
            ("@bob can you check?", vec![bob.id]),
            ("Ask @BobMartin, or @bobby.", vec![bob.id]),
            ("@王小明 请跟进", vec![wang.id]),
            ("@xiaoming and @bob", vec![wang.id, bob.id]),
            ("mail bob@plugboard.example", vec![]),
            ("write to alice@bob", vec![]),
            ("@alice (herself) and @dana (deactivated)", vec![]),
            ("@ nobody @", vec![]),
            ("@bo", vec![]),
            ("no mention", vec![]),
        ];
        for (body, expected) in cases {
            assert_eq!(who(body), expected, "{body}");
        }
    }
}
