//! Segments: an account's saved customer searches (the search's words, tags, tiers, regions, owner
//! and lifecycle stages), counted on the customer pages and used to reassign or export their
//! customers at once. The REST API keeps them in the store; `members` reads a segment's customers
//! through the customer search and `Definition::admits` (pure) keeps those the rest of it names.

use super::rules::HandoverFilter;
use crate::domain::{AccountId, AgentId, Customer, Lifecycle, Millis, SegmentId};
use crate::store::{DynStore, Result};
use serde::{Deserialize, Serialize};

/// Whose customers a segment holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OwnerPick {
    /// Anyone's and nobody's.
    #[default]
    Any,
    /// Customers without an owner.
    Nobody,
    /// One agent's customers.
    Agent {
        #[schema(value_type = String)]
        agent_id: AgentId,
    },
}

/// What a segment holds: customers the search finds (`q` as the customer search takes it; empty:
/// every customer) that pass every other part (an empty list passes everyone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Definition {
    #[serde(default)]
    pub q: String,
    #[serde(default, flatten)]
    pub filter: HandoverFilter,
    #[serde(default)]
    pub owner: OwnerPick,
    /// Customers at one of these lifecycle stages.
    #[serde(default)]
    pub stages: Vec<Lifecycle>,
}

impl Definition {
    pub fn admits(&self, customer: &Customer) -> bool {
        let owner = match self.owner {
            OwnerPick::Any => true,
            OwnerPick::Nobody => customer.owner_id.is_none(),
            OwnerPick::Agent { agent_id } => customer.owner_id == Some(agent_id),
        };
        let stage = self.stages.is_empty() || customer.stage.is_some_and(|s| self.stages.contains(&s));
        owner && stage && self.filter.admits(&super::facts(customer, None))
    }

    /// What a supervisor may save: the parts within bounds.
    pub fn check(&self) -> Result<(), String> {
        let parts = [
            ("tags", &self.filter.tags),
            ("tiers", &self.filter.tiers),
            ("regions", &self.filter.regions),
        ];
        for (name, list) in parts {
            if list.len() > MAX_PARTS {
                return Err(format!("{name}: at most {MAX_PARTS}"));
            }
            if list
                .iter()
                .any(|v| v.trim().is_empty() || v.len() > MAX_PART_BYTES)
            {
                return Err(format!(
                    "{name}: each one not blank and at most {MAX_PART_BYTES} bytes"
                ));
            }
        }
        let country = |r: &String| r.len() == 2 && r.chars().all(|c| c.is_ascii_alphabetic());
        if let Some(bad) = self.filter.regions.iter().find(|r| !country(r)) {
            return Err(format!("regions: {bad:?} is not a two-letter country code"));
        }
        if self.stages.len() > Lifecycle::ALL.len() {
            return Err(format!("stages: at most {}", Lifecycle::ALL.len()));
        }
        if self.q.len() > MAX_PART_BYTES {
            return Err(format!("q: at most {MAX_PART_BYTES} bytes"));
        }
        Ok(())
    }
}

/// The most values one part of a segment lists.
const MAX_PARTS: usize = 50;
/// The longest value, and the longest search words.
const MAX_PART_BYTES: usize = 200;

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Segment {
    #[schema(value_type = String)]
    pub id: SegmentId,
    pub name: String,
    #[serde(flatten)]
    pub definition: Definition,
    #[schema(value_type = Option<String>)]
    pub created_by: Option<AgentId>,
    pub updated_at: Millis,
}

/// The most customers a segment is read to: beyond it, its count says "at least".
pub const MAX_MEMBERS: u32 = 100_000;

/// A segment's customers, newest first (at most `MAX_MEMBERS`), with whether there may be more.
pub async fn members(
    store: &DynStore,
    account: AccountId,
    q: &str,
    definition: &Definition,
) -> Result<(Vec<Customer>, bool)> {
    let found = store.search_customers(account, q, MAX_MEMBERS).await?;
    let capped = found.len() as u32 >= MAX_MEMBERS;
    let kept = found.into_iter().filter(|c| definition.admits(c)).collect();
    Ok((kept, capped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(
        tier: Option<&str>,
        tags: &[&str],
        phone: Option<&str>,
        owner: Option<AgentId>,
        stage: Option<Lifecycle>,
    ) -> Customer {
        Customer {
            id: crate::domain::CustomerId::new(),
            name: "Li Wei".into(),
            email: None,
            phone: phone.map(str::to_string),
            claimed: None,
            tier: tier.map(str::to_string),
            owner_id: owner,
            owner_name: None,
            home_owner_id: None,
            former_owner: None,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            fields: Default::default(),
            stage,
            created_at: 0,
        }
    }

    #[test]
    fn a_segment_keeps_the_customers_every_part_admits() {
        let chen = AgentId::new();
        let def = |json: serde_json::Value| serde_json::from_value::<Definition>(json).unwrap();
        let vip_cn = customer(
            Some("VIP"),
            &["wholesale"],
            Some("+8613800138000"),
            Some(chen),
            Some(Lifecycle::Customer),
        );
        let gold_us = customer(Some("gold"), &[], Some("+14155550123"), None, None);
        let cases = [
            (def(serde_json::json!({})), [true, true]),
            (def(serde_json::json!({"tiers": ["vip"]})), [true, false]),
            (def(serde_json::json!({"regions": ["US"]})), [false, true]),
            (
                def(serde_json::json!({"tags": ["Wholesale"], "tiers": ["vip", "gold"]})),
                [true, false],
            ),
            (
                def(serde_json::json!({"owner": {"type": "nobody"}})),
                [false, true],
            ),
            (
                def(serde_json::json!({"owner": {"type": "agent", "agent_id": chen}})),
                [true, false],
            ),
            (
                def(serde_json::json!({"owner": {"type": "agent", "agent_id": AgentId::new()}})),
                [false, false],
            ),
        ];
        for (definition, want) in cases {
            let got = [definition.admits(&vip_cn), definition.admits(&gold_us)];
            assert_eq!(got, want, "{definition:?}");
        }
    }

    #[test]
    fn a_segment_out_of_bounds_is_refused_with_the_part_named() {
        let mut d = Definition::default();
        assert_eq!(d.check(), Ok(()));
        d.filter.regions = vec!["China".into()];
        assert!(d.check().unwrap_err().starts_with("regions"));
        d.filter.regions = vec![];
        d.filter.tags = vec![" ".into()];
        assert!(d.check().unwrap_err().starts_with("tags"));
        d.filter.tags = vec!["x".into(); MAX_PARTS + 1];
        assert!(d.check().unwrap_err().starts_with("tags"));
    }
}
