//! `CrmStore` on both backends: the same statements and bodies for SQLite and PostgreSQL,
//! expanded by `impl_crm_store!` as `impl_store!` does for the rest of the store.

use super::super::crm::{
    CrmStore, CustomerEvent, CustomerEventKind, Handover, Holdings, Lending, NewFollowUp, OwnerChangeBy,
    OwnerMove,
};
use super::super::{Result, StoreError};
use super::rows::{CustomerRow, all, json, parse, parse_opt, to_json};
use super::{SqlStore, db};
use crate::crm::followups::{FollowUp, FollowUpKind, FollowUpState};
use crate::crm::rules::AssignmentRule;
use crate::crm::segments::Segment;
use crate::domain::{AccountId, AgentId, Customer, CustomerId, FollowUpId, HandoverId, Millis, SegmentId};
use sqlx::Sqlite;
use sqlx::postgres::Postgres;
use std::collections::HashMap;

pub(super) mod q {
    macro_rules! follow_up_columns {
        () => {
            "f.id, f.customer_id, c.name AS customer_name, f.owner_id, f.kind, f.title, f.due_at, f.state, \
             f.reminded_at, f.escalated_at, f.done_at, f.done_by, f.created_by, f.created_at, f.home_owner_id \
             FROM follow_ups AS f JOIN customers AS c ON c.account_id = f.account_id AND c.id = f.customer_id"
        };
    }
    macro_rules! handover_columns {
        () => {
            "id, from_agent, spec, reason, created_by, created_at, until, returned_at, moved FROM handovers"
        };
    }

    /// Moves a customer whose owner is still `$3` (NULL-safe) to `$4`, with its lending.
    pub const MOVE_OWNER: &str = "UPDATE customers SET owner_id = $4, home_owner_id = $5, handover_id = $6, \
         updated_at = $7 WHERE account_id = $1 AND id = $2 AND owner_id IS NOT DISTINCT FROM $3";
    /// The open follow-ups of a moved customer that its previous owner had.
    pub const MOVE_FOLLOW_UPS: &str = "UPDATE follow_ups SET owner_id = $4, home_owner_id = $5, handover_id = $6 \
         WHERE account_id = $1 AND customer_id = $2 AND owner_id = $3 AND state = 'open'";
    /// A returning customer's open follow-ups: those lent with it, and the cover's.
    pub const RETURN_FOLLOW_UPS: &str = "UPDATE follow_ups SET owner_id = $4, home_owner_id = NULL, \
         handover_id = NULL WHERE account_id = $1 AND customer_id = $2 AND state = 'open' \
         AND (handover_id = $5 OR owner_id = $3)";
    /// A moved customer's open opportunities its previous owner had: the owner follows the
    /// customer (for a leave too, and back at its end).
    pub const MOVE_OPPORTUNITIES: &str = "UPDATE opportunities SET owner_id = $4, updated_at = $5 \
         WHERE account_id = $1 AND customer_id = $2 AND owner_id = $3 AND status = 'open'";
    pub const OPEN_OPPORTUNITIES_OF: &str = "SELECT COUNT(*) FROM opportunities WHERE account_id = $1 \
         AND owner_id = $2 AND status = 'open'";
    pub const ORPHAN_OPPORTUNITIES: &str = "SELECT COUNT(*) FROM opportunities AS o JOIN agents AS a \
         ON a.account_id = o.account_id AND a.id = o.owner_id \
         WHERE a.deactivated_at IS NOT NULL AND o.status = 'open'";
    pub const AGENT_NAME: &str = "SELECT name FROM agents WHERE account_id = $1 AND id = $2";
    pub const INSERT_EVENT: &str = "INSERT INTO customer_events (account_id, customer_id, type, data, at) \
         VALUES ($1, $2, $3, $4, $5)";
    pub const EVENTS: &str = "SELECT id, customer_id, type, data, at FROM customer_events \
         WHERE account_id = $1 AND customer_id = $2 ORDER BY id";
    pub const LOAD: &str = "SELECT COUNT(*) FROM customers WHERE account_id = $1 AND owner_id = $2";
    pub const LENT_OUT: &str = "SELECT COUNT(*) FROM customers WHERE account_id = $1 AND home_owner_id = $2";
    pub const OPEN_FOLLOW_UPS_OF: &str = "SELECT COUNT(*) FROM follow_ups WHERE account_id = $1 \
         AND (owner_id = $2 OR home_owner_id = $2) AND state = 'open'";
    pub const ORPHAN_CUSTOMERS: &str = "SELECT COUNT(*) FROM customers AS c JOIN agents AS a \
         ON a.account_id = c.account_id AND (a.id = c.owner_id OR a.id = c.home_owner_id) \
         WHERE a.deactivated_at IS NOT NULL";
    pub const ORPHAN_FOLLOW_UPS: &str = "SELECT COUNT(*) FROM follow_ups AS f JOIN agents AS a \
         ON a.account_id = f.account_id AND (a.id = f.owner_id OR a.id = f.home_owner_id) \
         WHERE a.deactivated_at IS NOT NULL AND f.state = 'open'";
    pub const RULES: &str = "SELECT rules FROM assignment_rules WHERE account_id = $1";
    pub const SET_RULES: &str = "INSERT INTO assignment_rules (account_id, rules, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at";
    pub const FIELDS: &str = "SELECT fields FROM customer_fields WHERE account_id = $1";
    pub const SET_FIELDS: &str = "INSERT INTO customer_fields (account_id, fields, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (account_id) DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at";
    pub const SEGMENTS: &str = "SELECT id, name, definition, created_by, updated_at FROM segments \
         WHERE account_id = $1 ORDER BY name";
    pub const SEGMENT: &str = "SELECT id, name, definition, created_by, updated_at FROM segments \
         WHERE account_id = $1 AND id = $2";
    pub const SAVE_SEGMENT: &str = "INSERT INTO segments (account_id, id, name, definition, created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id, id) DO UPDATE SET name = excluded.name, \
         definition = excluded.definition, updated_at = excluded.updated_at";
    pub const DELETE_SEGMENT: &str = "DELETE FROM segments WHERE account_id = $1 AND id = $2";
    pub const INSERT_HANDOVER: &str = "INSERT INTO handovers \
         (id, account_id, from_agent, spec, reason, created_by, created_at, until, returned_at, moved) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    pub const HANDOVER: &str = concat!(
        "SELECT ",
        handover_columns!(),
        " WHERE account_id = $1 AND id = $2"
    );
    pub const HANDOVERS: &str = concat!(
        "SELECT ",
        handover_columns!(),
        " WHERE account_id = $1 ORDER BY created_at DESC, id"
    );
    pub const LENT: &str = "SELECT id, owner_id, home_owner_id FROM customers \
         WHERE account_id = $1 AND handover_id = $2 ORDER BY created_at, id";
    pub const FINISH_HANDOVER: &str =
        "UPDATE handovers SET returned_at = $3 WHERE account_id = $1 AND id = $2 AND returned_at IS NULL";
    pub const DUE_RETURNS: &str = "SELECT account_id, id FROM handovers \
         WHERE returned_at IS NULL AND until IS NOT NULL AND until <= $1 ORDER BY until";
    pub const INSERT_FOLLOW_UP: &str = "INSERT INTO follow_ups (id, account_id, customer_id, owner_id, kind, title, \
         due_at, state, next_at, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $7, $8, $9)";
    pub const FOLLOW_UP: &str = concat!(
        "SELECT ",
        follow_up_columns!(),
        " WHERE f.account_id = $1 AND f.id = $2"
    );
    pub const CUSTOMER_FOLLOW_UPS: &str = concat!(
        "SELECT ",
        follow_up_columns!(),
        " WHERE f.account_id = $1 AND f.customer_id = $2 ORDER BY f.due_at, f.id"
    );
    pub const AGENT_FOLLOW_UPS: &str = concat!(
        "SELECT ",
        follow_up_columns!(),
        " WHERE f.account_id = $1 AND f.owner_id = $2 AND f.state = 'open' AND f.due_at < $3 \
         ORDER BY f.due_at, f.id"
    );
    pub const OVERDUE_FOLLOW_UPS: &str = concat!(
        "SELECT ",
        follow_up_columns!(),
        " WHERE f.account_id = $1 AND f.state = 'open' AND f.due_at < $2 ORDER BY f.due_at, f.id"
    );
    pub const CLOSE_FOLLOW_UP: &str = "UPDATE follow_ups SET state = $3, done_at = $4, done_by = $5, next_at = NULL \
         WHERE account_id = $1 AND id = $2 AND state = 'open'";
    pub const DUE_FOLLOW_UPS: &str = "SELECT account_id, id, next_at FROM follow_ups \
         WHERE next_at <= $1 ORDER BY next_at LIMIT $2";
    /// Claims a row only if nobody moved it since it was read.
    pub const CLAIM_FOLLOW_UP: &str =
        "UPDATE follow_ups SET next_at = $3 WHERE account_id = $1 AND id = $2 AND next_at = $4";
    pub const STEP_FOLLOW_UP: &str = "UPDATE follow_ups SET reminded_at = COALESCE($3, reminded_at), \
         escalated_at = COALESCE($4, escalated_at), next_at = $5 WHERE account_id = $1 AND id = $2";
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    customer_id: String,
    #[sqlx(rename = "type")]
    kind: String,
    data: String,
    at: i64,
}

impl TryFrom<EventRow> for CustomerEvent {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<CustomerEvent> {
        Ok(CustomerEvent {
            id: r.id,
            customer_id: parse("customer_events.customer_id", &r.customer_id)?,
            data: json("customer_events.data", &r.data)?,
            kind: r.kind,
            at: r.at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct HandoverRow {
    id: String,
    from_agent: String,
    spec: String,
    reason: String,
    created_by: String,
    created_at: i64,
    until: Option<i64>,
    returned_at: Option<i64>,
    moved: i64,
}

impl TryFrom<HandoverRow> for Handover {
    type Error = StoreError;
    fn try_from(r: HandoverRow) -> Result<Handover> {
        Ok(Handover {
            id: parse("handovers.id", &r.id)?,
            from_agent: parse("handovers.from_agent", &r.from_agent)?,
            spec: json("handovers.spec", &r.spec)?,
            reason: r.reason,
            created_by: parse("handovers.created_by", &r.created_by)?,
            created_at: r.created_at,
            until: r.until,
            returned_at: r.returned_at,
            moved: u64::try_from(r.moved).unwrap_or(0),
        })
    }
}

#[derive(sqlx::FromRow)]
struct SegmentRow {
    id: String,
    name: String,
    definition: String,
    created_by: Option<String>,
    updated_at: i64,
}

impl TryFrom<SegmentRow> for Segment {
    type Error = StoreError;
    fn try_from(r: SegmentRow) -> Result<Segment> {
        Ok(Segment {
            id: parse("segments.id", &r.id)?,
            name: r.name,
            definition: json("segments.definition", &r.definition)?,
            created_by: parse_opt("segments.created_by", r.created_by.as_deref())?,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FollowUpRow {
    id: String,
    customer_id: String,
    customer_name: String,
    owner_id: String,
    kind: String,
    title: String,
    due_at: i64,
    state: String,
    reminded_at: Option<i64>,
    escalated_at: Option<i64>,
    done_at: Option<i64>,
    done_by: Option<String>,
    created_by: String,
    created_at: i64,
    home_owner_id: Option<String>,
}

impl TryFrom<FollowUpRow> for FollowUp {
    type Error = StoreError;
    fn try_from(r: FollowUpRow) -> Result<FollowUp> {
        let bad = |what: &str, v: &str| StoreError::Corrupt(format!("{what}: {v:?}"));
        Ok(FollowUp {
            id: parse("follow_ups.id", &r.id)?,
            customer_id: parse("follow_ups.customer_id", &r.customer_id)?,
            customer_name: r.customer_name,
            owner_id: parse("follow_ups.owner_id", &r.owner_id)?,
            kind: FollowUpKind::parse(&r.kind).ok_or_else(|| bad("follow_ups.kind", &r.kind))?,
            title: r.title,
            due_at: r.due_at,
            state: FollowUpState::parse(&r.state).ok_or_else(|| bad("follow_ups.state", &r.state))?,
            reminded_at: r.reminded_at,
            escalated_at: r.escalated_at,
            done_at: r.done_at,
            done_by: parse_opt("follow_ups.done_by", r.done_by.as_deref())?,
            created_by: parse("follow_ups.created_by", &r.created_by)?,
            created_at: r.created_at,
            home_owner_id: parse_opt("follow_ups.home_owner_id", r.home_owner_id.as_deref())?,
        })
    }
}

/// An agent as a customer's log names them: id and name, so history keeps the name.
fn named(agent: Option<AgentId>, names: &HashMap<AgentId, String>) -> serde_json::Value {
    match agent {
        Some(id) => serde_json::json!({"id": id, "name": names.get(&id)}),
        None => serde_json::Value::Null,
    }
}

macro_rules! impl_crm_store {
    ($db:ty) => {
        impl SqlStore<$db> {
            async fn count(&self, sql: &'static str, account: AccountId, agent: AgentId) -> Result<u64> {
                let n: i64 = sqlx::query_scalar(sql)
                    .bind(account.to_string())
                    .bind(agent.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn follow_ups_where(
                &self,
                sql: &'static str,
                account: AccountId,
                key: String,
                at: Option<Millis>,
            ) -> Result<Vec<FollowUp>> {
                let mut query = sqlx::query_as::<_, FollowUpRow>(sql)
                    .bind(account.to_string())
                    .bind(key);
                if let Some(at) = at {
                    query = query.bind(at);
                }
                all(query.fetch_all(&self.pool).await.map_err(db)?)
            }

            pub(super) async fn insert_event<'e, E>(
                executor: E,
                account: AccountId,
                customer: CustomerId,
                kind: CustomerEventKind,
                data: &serde_json::Value,
                at: Millis,
            ) -> Result<()>
            where
                E: sqlx::Executor<'e, Database = $db>,
            {
                sqlx::query(q::INSERT_EVENT)
                    .bind(account.to_string())
                    .bind(customer.to_string())
                    .bind(kind.as_str())
                    .bind(to_json(data))
                    .bind(at)
                    .execute(executor)
                    .await
                    .map_err(db)?;
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl CrmStore for SqlStore<$db> {
            async fn move_owners(
                &self,
                account: AccountId,
                moves: &[OwnerMove],
                lending: Lending,
                by: &OwnerChangeBy,
                at: Millis,
            ) -> Result<Vec<CustomerId>> {
                let mut tx = self.write().await?;
                let mut names: HashMap<AgentId, String> = HashMap::new();
                if let Some((id, name)) = &by.agent {
                    names.insert(*id, name.clone());
                }
                let agents: Vec<AgentId> = moves.iter().flat_map(|m| [m.from, m.to]).flatten().collect();
                for agent in agents {
                    if names.contains_key(&agent) {
                        continue;
                    }
                    let name: Option<String> = sqlx::query_scalar(q::AGENT_NAME)
                        .bind(account.to_string())
                        .bind(agent.to_string())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db)?;
                    // A new owner of another account (or none at all) is not found.
                    names.insert(agent, name.ok_or(StoreError::NotFound)?);
                }
                let handover = match lending {
                    Lending::Lend(h) | Lending::Return(h) => Some(h),
                    Lending::None => None,
                };
                let mut moved = Vec::with_capacity(moves.len());
                for m in moves {
                    let (home, lent) = match lending {
                        Lending::Lend(h) => (m.from, Some(h)),
                        Lending::None | Lending::Return(_) => (None, None),
                    };
                    let done = sqlx::query(q::MOVE_OWNER)
                        .bind(account.to_string())
                        .bind(m.customer.to_string())
                        .bind(m.from.map(|a| a.to_string()))
                        .bind(m.to.map(|a| a.to_string()))
                        .bind(home.map(|a| a.to_string()))
                        .bind(lent.map(|h| h.to_string()))
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    if done.rows_affected() == 0 {
                        continue;
                    }
                    match (lending, m.from, m.to) {
                        (Lending::Return(h), from, Some(to)) => {
                            sqlx::query(q::RETURN_FOLLOW_UPS)
                                .bind(account.to_string())
                                .bind(m.customer.to_string())
                                .bind(from.map(|a| a.to_string()))
                                .bind(to.to_string())
                                .bind(h.to_string())
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                        }
                        (_, Some(from), Some(to)) => {
                            sqlx::query(q::MOVE_FOLLOW_UPS)
                                .bind(account.to_string())
                                .bind(m.customer.to_string())
                                .bind(from.to_string())
                                .bind(to.to_string())
                                .bind(home.map(|a| a.to_string()))
                                .bind(lent.map(|h| h.to_string()))
                                .execute(&mut *tx)
                                .await
                                .map_err(db)?;
                        }
                        _ => {}
                    }
                    if let (Some(from), Some(to)) = (m.from, m.to) {
                        sqlx::query(q::MOVE_OPPORTUNITIES)
                            .bind(account.to_string())
                            .bind(m.customer.to_string())
                            .bind(from.to_string())
                            .bind(to.to_string())
                            .bind(at)
                            .execute(&mut *tx)
                            .await
                            .map_err(db)?;
                    }
                    let data = serde_json::json!({
                        "from": named(m.from, &names),
                        "to": named(m.to, &names),
                        "by": by.agent.as_ref().map(|(id, name)| serde_json::json!({"id": id, "name": name})),
                        "reason": by.reason,
                        "rule": by.rule,
                        "handover_id": handover,
                    });
                    Self::insert_event(&mut *tx, account, m.customer, CustomerEventKind::OwnerChanged, &data, at)
                        .await?;
                    moved.push(m.customer);
                }
                tx.commit().await.map_err(db)?;
                Ok(moved)
            }

            async fn owned_customers(&self, account: AccountId, agent: AgentId) -> Result<Vec<Customer>> {
                self.many::<CustomerRow, _>(super::queries::OWNED_CUSTOMERS, account, Some(agent.to_string())).await
            }

            async fn owner_loads(&self, account: AccountId, agents: &[AgentId]) -> Result<HashMap<AgentId, u64>> {
                let mut loads = HashMap::with_capacity(agents.len());
                for &agent in agents {
                    loads.insert(agent, self.count(q::LOAD, account, agent).await?);
                }
                Ok(loads)
            }

            async fn holdings(&self, account: AccountId, agent: AgentId) -> Result<Holdings> {
                Ok(Holdings {
                    customers: self.count(q::LOAD, account, agent).await?,
                    lent_out: self.count(q::LENT_OUT, account, agent).await?,
                    follow_ups: self.count(q::OPEN_FOLLOW_UPS_OF, account, agent).await?,
                    opportunities: self.count(q::OPEN_OPPORTUNITIES_OF, account, agent).await?,
                })
            }

            async fn orphans(&self) -> Result<(u64, u64, u64)> {
                let customers: i64 = sqlx::query_scalar(q::ORPHAN_CUSTOMERS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let follow_ups: i64 = sqlx::query_scalar(q::ORPHAN_FOLLOW_UPS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                let opportunities: i64 = sqlx::query_scalar(q::ORPHAN_OPPORTUNITIES)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?;
                Ok((
                    u64::try_from(customers).unwrap_or(0),
                    u64::try_from(follow_ups).unwrap_or(0),
                    u64::try_from(opportunities).unwrap_or(0),
                ))
            }

            async fn customer_events(&self, account: AccountId, customer: CustomerId) -> Result<Vec<CustomerEvent>> {
                self.many::<EventRow, _>(q::EVENTS, account, Some(customer.to_string())).await
            }

            async fn log_customer(
                &self,
                account: AccountId,
                customer: CustomerId,
                kind: CustomerEventKind,
                data: &serde_json::Value,
                at: Millis,
            ) -> Result<()> {
                Self::insert_event(&self.writer, account, customer, kind, data, at).await
            }

            async fn assignment_rules(&self, account: AccountId) -> Result<Vec<AssignmentRule>> {
                let stored: Option<String> = sqlx::query_scalar(q::RULES)
                    .bind(account.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                stored.map_or(Ok(vec![]), |s| json("assignment_rules.rules", &s))
            }

            async fn set_assignment_rules(&self, account: AccountId, rules: &[AssignmentRule], at: Millis) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::SET_RULES)
                    .bind(account.to_string())
                    .bind(to_json(&rules))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await
            }

            async fn customer_fields(&self, account: AccountId) -> Result<Vec<crate::crm::fields::FieldDef>> {
                let stored: Option<String> = sqlx::query_scalar(q::FIELDS)
                    .bind(account.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                stored.map_or(Ok(vec![]), |s| json("customer_fields.fields", &s))
            }

            async fn set_customer_fields(
                &self,
                account: AccountId,
                fields: &[crate::crm::fields::FieldDef],
                at: Millis,
            ) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::SET_FIELDS)
                    .bind(account.to_string())
                    .bind(to_json(&fields))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await
            }

            async fn segments(&self, account: AccountId) -> Result<Vec<Segment>> {
                let rows = sqlx::query_as::<_, SegmentRow>(q::SEGMENTS)
                    .bind(account.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            async fn segment(&self, account: AccountId, id: SegmentId) -> Result<Segment> {
                sqlx::query_as::<_, SegmentRow>(q::SEGMENT)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db)?
                    .try_into()
            }

            async fn save_segment(&self, account: AccountId, s: &Segment) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::SAVE_SEGMENT)
                    .bind(account.to_string())
                    .bind(s.id.to_string())
                    .bind(&s.name)
                    .bind(to_json(&s.definition))
                    .bind(s.created_by.map(|a| a.to_string()))
                    .bind(s.updated_at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await
            }

            async fn delete_segment(&self, account: AccountId, id: SegmentId) -> Result<()> {
                let mut tx = self.write().await?;
                let done = sqlx::query(q::DELETE_SEGMENT)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.commit_audited(tx).await
            }

            async fn create_handover(&self, account: AccountId, h: &Handover) -> Result<()> {
                sqlx::query(q::INSERT_HANDOVER)
                    .bind(h.id.to_string())
                    .bind(account.to_string())
                    .bind(h.from_agent.to_string())
                    .bind(to_json(&h.spec))
                    .bind(&h.reason)
                    .bind(h.created_by.to_string())
                    .bind(h.created_at)
                    .bind(h.until)
                    .bind(h.returned_at)
                    .bind(i64::try_from(h.moved).unwrap_or(i64::MAX))
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }

            async fn handover(&self, account: AccountId, id: HandoverId) -> Result<Handover> {
                Self::one::<HandoverRow, _>(&self.pool, q::HANDOVER, account, id.to_string()).await
            }

            async fn handovers(&self, account: AccountId) -> Result<Vec<Handover>> {
                self.many::<HandoverRow, _>(q::HANDOVERS, account, None).await
            }

            async fn lent_customers(
                &self,
                account: AccountId,
                id: HandoverId,
            ) -> Result<Vec<(CustomerId, Option<AgentId>, AgentId)>> {
                let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(q::LENT)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut lent = Vec::with_capacity(rows.len());
                for (customer, owner, home) in rows {
                    let Some(home) = home else { continue };
                    lent.push((
                        parse("customers.id", &customer)?,
                        parse_opt("customers.owner_id", owner.as_deref())?,
                        parse("customers.home_owner_id", &home)?,
                    ));
                }
                Ok(lent)
            }

            async fn finish_handover(&self, account: AccountId, id: HandoverId, at: Millis) -> Result<bool> {
                let done = sqlx::query(q::FINISH_HANDOVER)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(done.rows_affected() == 1)
            }

            async fn due_returns(&self, now: Millis) -> Result<Vec<(AccountId, HandoverId)>> {
                let rows: Vec<(String, String)> = sqlx::query_as(q::DUE_RETURNS)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                rows.into_iter()
                    .map(|(a, h)| Ok((parse("handovers.account_id", &a)?, parse("handovers.id", &h)?)))
                    .collect()
            }

            async fn create_follow_up(&self, account: AccountId, new: NewFollowUp, at: Millis) -> Result<FollowUp> {
                let id = FollowUpId::new();
                let mut tx = self.write().await?;
                sqlx::query(q::INSERT_FOLLOW_UP)
                    .bind(id.to_string())
                    .bind(account.to_string())
                    .bind(new.customer.to_string())
                    .bind(new.owner.to_string())
                    .bind(new.kind.as_str())
                    .bind(&new.title)
                    .bind(new.due_at)
                    .bind(new.created_by.to_string())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let created: FollowUp =
                    Self::one::<FollowUpRow, _>(&mut *tx, q::FOLLOW_UP, account, id.to_string()).await?;
                let data = serde_json::json!({
                    "follow_up_id": id, "kind": new.kind, "title": new.title, "due_at": new.due_at,
                    "owner_id": new.owner, "by": new.created_by,
                });
                Self::insert_event(&mut *tx, account, new.customer, CustomerEventKind::FollowUpCreated, &data, at)
                    .await?;
                tx.commit().await.map_err(db)?;
                Ok(created)
            }

            async fn follow_up(&self, account: AccountId, id: FollowUpId) -> Result<FollowUp> {
                Self::one::<FollowUpRow, _>(&self.pool, q::FOLLOW_UP, account, id.to_string()).await
            }

            async fn customer_follow_ups(&self, account: AccountId, customer: CustomerId) -> Result<Vec<FollowUp>> {
                self.follow_ups_where(q::CUSTOMER_FOLLOW_UPS, account, customer.to_string(), None)
                    .await
            }

            async fn agent_follow_ups(&self, account: AccountId, agent: AgentId, before: Millis) -> Result<Vec<FollowUp>> {
                self.follow_ups_where(q::AGENT_FOLLOW_UPS, account, agent.to_string(), Some(before))
                    .await
            }

            async fn overdue_follow_ups(&self, account: AccountId, now: Millis) -> Result<Vec<FollowUp>> {
                let rows = sqlx::query_as::<_, FollowUpRow>(q::OVERDUE_FOLLOW_UPS)
                    .bind(account.to_string())
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                all(rows)
            }

            async fn close_follow_up(
                &self,
                account: AccountId,
                id: FollowUpId,
                done: bool,
                (agent, name): (AgentId, &str),
                at: Millis,
            ) -> Result<FollowUp> {
                let mut tx = self.write().await?;
                let state = if done { FollowUpState::Done } else { FollowUpState::Cancelled };
                let closed = sqlx::query(q::CLOSE_FOLLOW_UP)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(state.as_str())
                    .bind(at)
                    .bind(agent.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let f: FollowUp = Self::one::<FollowUpRow, _>(&mut *tx, q::FOLLOW_UP, account, id.to_string()).await?;
                if closed.rows_affected() == 0 {
                    return Err(StoreError::Conflict {
                        constraint: "follow_ups_closed".into(),
                    });
                }
                let kind = if done {
                    CustomerEventKind::FollowUpDone
                } else {
                    CustomerEventKind::FollowUpCancelled
                };
                let data = serde_json::json!({
                    "follow_up_id": id, "kind": f.kind, "title": f.title, "due_at": f.due_at,
                    "by": {"id": agent, "name": name},
                });
                Self::insert_event(&mut *tx, account, f.customer_id, kind, &data, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(f)
            }

            async fn claim_follow_ups(
                &self,
                now: Millis,
                claimed_until: Millis,
                limit: u32,
            ) -> Result<Vec<(AccountId, FollowUp)>> {
                let rows: Vec<(String, String, i64)> = sqlx::query_as(q::DUE_FOLLOW_UPS)
                    .bind(now)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db)?;
                let mut claimed = Vec::with_capacity(rows.len());
                for (account, id, next_at) in rows {
                    let got = sqlx::query(q::CLAIM_FOLLOW_UP)
                        .bind(&account)
                        .bind(&id)
                        .bind(claimed_until)
                        .bind(next_at)
                        .execute(&self.writer)
                        .await
                        .map_err(db)?
                        .rows_affected();
                    if got == 0 {
                        continue;
                    }
                    let account: AccountId = parse("follow_ups.account_id", &account)?;
                    let f = Self::one::<FollowUpRow, _>(&self.pool, q::FOLLOW_UP, account, id).await?;
                    claimed.push((account, f));
                }
                Ok(claimed)
            }

            async fn follow_up_stepped(
                &self,
                account: AccountId,
                id: FollowUpId,
                reminded_at: Option<Millis>,
                escalated_at: Option<Millis>,
                next_at: Option<Millis>,
            ) -> Result<()> {
                sqlx::query(q::STEP_FOLLOW_UP)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(reminded_at)
                    .bind(escalated_at)
                    .bind(next_at)
                    .execute(&self.writer)
                    .await
                    .map_err(db)?;
                Ok(())
            }
        }
    };
}

impl_crm_store!(Sqlite);
impl_crm_store!(Postgres);
