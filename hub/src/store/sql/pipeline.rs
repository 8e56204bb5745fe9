//! `PipelineStore` on both backends: the same statements and bodies for SQLite and PostgreSQL,
//! expanded by `impl_pipeline_store!` as `impl_crm_store!` does for the owners.

use super::super::crm::CustomerEventKind;
use super::super::pipeline::{NewOpportunity, OpportunityPatch, PipelineStore};
use super::super::{Result, StoreError};
use super::rows::{CustomerRow, all, json, parse, to_json};
use super::{SqlStore, db};
use crate::crm::pipeline::{Lifecycle, Opportunity, OpportunityStatus, PipelineSettings, StageMove};
use crate::domain::{AccountId, AgentId, Customer, CustomerId, Millis, OpportunityId};
use sqlx::Sqlite;
use sqlx::postgres::Postgres;

mod q {
    macro_rules! opportunity_columns {
        () => {
            "o.id, o.customer_id, c.name AS customer_name, c.owner_id AS customer_owner_id, o.name, o.amount, \
             o.currency, o.stage, o.status, o.expected_close, o.owner_id, a.name AS owner_name, o.checked, \
             o.created_by, o.created_at, o.updated_at \
             FROM opportunities AS o \
             JOIN customers AS c ON c.account_id = o.account_id AND c.id = o.customer_id \
             JOIN agents AS a ON a.account_id = o.account_id AND a.id = o.owner_id"
        };
    }

    pub const SETTINGS: &str = "SELECT settings FROM pipeline_settings WHERE account_id = $1";
    pub const SET_SETTINGS: &str = "INSERT INTO pipeline_settings (account_id, settings, updated_at) \
         VALUES ($1, $2, $3) ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, \
         updated_at = excluded.updated_at";
    pub const STAGE_OF: &str = "SELECT stage FROM customers WHERE account_id = $1 AND id = $2";
    pub const SET_STAGE: &str =
        "UPDATE customers SET stage = $3, updated_at = $4 WHERE account_id = $1 AND id = $2";
    pub const INSERT: &str = "INSERT INTO opportunities (id, account_id, customer_id, name, amount, currency, stage, \
         status, expected_close, owner_id, checked, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '{}', $11, $12, $12)";
    pub const ONE: &str = concat!(
        "SELECT ",
        opportunity_columns!(),
        " WHERE o.account_id = $1 AND o.id = $2"
    );
    pub const ALL: &str = concat!(
        "SELECT ",
        opportunity_columns!(),
        " WHERE o.account_id = $1 ORDER BY o.created_at DESC, o.id"
    );
    pub const OF_CUSTOMER: &str = concat!(
        "SELECT ",
        opportunity_columns!(),
        " WHERE o.account_id = $1 AND o.customer_id = $2 ORDER BY o.created_at DESC, o.id"
    );
    /// Moves only from the stage the caller decided from.
    pub const MOVE: &str = "UPDATE opportunities SET stage = $4, status = $5, updated_at = $6 \
         WHERE account_id = $1 AND id = $2 AND stage = $3";
    pub const UPDATE: &str = "UPDATE opportunities SET name = $3, amount = $4, currency = $5, expected_close = $6, \
         owner_id = $7, checked = $8, updated_at = $9 WHERE account_id = $1 AND id = $2";
}

#[derive(sqlx::FromRow)]
struct OpportunityRow {
    id: String,
    customer_id: String,
    customer_name: String,
    customer_owner_id: Option<String>,
    name: String,
    amount: i64,
    currency: String,
    stage: String,
    status: String,
    expected_close: Option<String>,
    owner_id: String,
    owner_name: String,
    checked: String,
    created_by: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<OpportunityRow> for Opportunity {
    type Error = StoreError;
    fn try_from(r: OpportunityRow) -> Result<Opportunity> {
        Ok(Opportunity {
            id: parse("opportunities.id", &r.id)?,
            customer_id: parse("opportunities.customer_id", &r.customer_id)?,
            customer_name: r.customer_name,
            customer_owner_id: super::rows::parse_opt("customers.owner_id", r.customer_owner_id.as_deref())?,
            name: r.name,
            amount: r.amount,
            currency: r.currency,
            stage: r.stage,
            status: OpportunityStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("opportunities.status: {:?}", r.status)))?,
            expected_close: r.expected_close,
            owner_id: parse("opportunities.owner_id", &r.owner_id)?,
            owner_name: r.owner_name,
            checked: json("opportunities.checked", &r.checked)?,
            created_by: parse("opportunities.created_by", &r.created_by)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// What a timeline says of an opportunity.
fn described(o: &Opportunity) -> serde_json::Value {
    serde_json::json!({
        "opportunity_id": o.id, "name": o.name, "amount": o.amount, "currency": o.currency,
    })
}

fn by_json((id, name): (AgentId, &str)) -> serde_json::Value {
    serde_json::json!({"id": id, "name": name})
}

macro_rules! impl_pipeline_store {
    ($db:ty) => {
        #[async_trait::async_trait]
        impl PipelineStore for SqlStore<$db> {
            async fn pipeline_settings(&self, account: AccountId) -> Result<PipelineSettings> {
                let stored: Option<String> = sqlx::query_scalar(q::SETTINGS)
                    .bind(account.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db)?;
                stored.map_or(Ok(PipelineSettings::default()), |s| {
                    json("pipeline_settings.settings", &s)
                })
            }

            async fn set_pipeline_settings(
                &self,
                account: AccountId,
                settings: &PipelineSettings,
                at: Millis,
            ) -> Result<()> {
                let mut tx = self.write().await?;
                sqlx::query(q::SET_SETTINGS)
                    .bind(account.to_string())
                    .bind(to_json(settings))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                self.commit_audited(tx).await
            }

            async fn set_customer_stage(
                &self,
                account: AccountId,
                customer: CustomerId,
                stage: Option<Lifecycle>,
                by: (AgentId, &str),
                at: Millis,
            ) -> Result<Customer> {
                let mut tx = self.write().await?;
                let before: Option<String> = sqlx::query_scalar(q::STAGE_OF)
                    .bind(account.to_string())
                    .bind(customer.to_string())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db)?;
                let to = stage.map(Lifecycle::as_str);
                if before.as_deref() != to {
                    sqlx::query(q::SET_STAGE)
                        .bind(account.to_string())
                        .bind(customer.to_string())
                        .bind(to)
                        .bind(at)
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    let data = serde_json::json!({"from": before, "to": to, "by": by_json(by)});
                    Self::insert_event(&mut *tx, account, customer, CustomerEventKind::StageChanged, &data, at)
                        .await?;
                }
                let c: Customer =
                    Self::one::<CustomerRow, _>(&mut *tx, super::queries::CUSTOMER, account, customer.to_string())
                        .await?;
                tx.commit().await.map_err(db)?;
                Ok(c)
            }

            async fn create_opportunity(
                &self,
                account: AccountId,
                new: NewOpportunity,
                by: (AgentId, &str),
                at: Millis,
            ) -> Result<Opportunity> {
                let id = OpportunityId::new();
                let mut tx = self.write().await?;
                sqlx::query(q::INSERT)
                    .bind(id.to_string())
                    .bind(account.to_string())
                    .bind(new.customer.to_string())
                    .bind(&new.name)
                    .bind(new.amount)
                    .bind(&new.currency)
                    .bind(&new.stage)
                    .bind(new.status.as_str())
                    .bind(&new.expected_close)
                    .bind(new.owner.to_string())
                    .bind(by.0.to_string())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                // The joins find nothing when the customer or the owner is another account's.
                let o: Opportunity = Self::one::<OpportunityRow, _>(&mut *tx, q::ONE, account, id.to_string()).await?;
                let mut data = described(&o);
                data["stage"] = o.stage.clone().into();
                data["owner"] = serde_json::json!({"id": o.owner_id, "name": o.owner_name});
                data["by"] = by_json(by);
                Self::insert_event(&mut *tx, account, o.customer_id, CustomerEventKind::OpportunityCreated, &data, at)
                    .await?;
                tx.commit().await.map_err(db)?;
                Ok(o)
            }

            async fn opportunity(&self, account: AccountId, id: OpportunityId) -> Result<Opportunity> {
                Self::one::<OpportunityRow, _>(&self.pool, q::ONE, account, id.to_string()).await
            }

            async fn opportunities(
                &self,
                account: AccountId,
                customer: Option<CustomerId>,
            ) -> Result<Vec<Opportunity>> {
                match customer {
                    Some(c) => self.many::<OpportunityRow, _>(q::OF_CUSTOMER, account, Some(c.to_string())).await,
                    None => {
                        let rows = sqlx::query_as::<_, OpportunityRow>(q::ALL)
                            .bind(account.to_string())
                            .fetch_all(&self.pool)
                            .await
                            .map_err(db)?;
                        all(rows)
                    }
                }
            }

            async fn move_opportunity(
                &self,
                account: AccountId,
                id: OpportunityId,
                mv: &StageMove,
                by: (AgentId, &str),
                at: Millis,
            ) -> Result<Opportunity> {
                let mut tx = self.write().await?;
                let moved = sqlx::query(q::MOVE)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(&mv.from)
                    .bind(&mv.to)
                    .bind(mv.status.as_str())
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                let o: Opportunity = Self::one::<OpportunityRow, _>(&mut *tx, q::ONE, account, id.to_string()).await?;
                if moved.rows_affected() == 0 {
                    return Err(StoreError::Conflict {
                        constraint: "opportunities_stage".into(),
                    });
                }
                let kind = match mv.status {
                    OpportunityStatus::Open => CustomerEventKind::OpportunityMoved,
                    OpportunityStatus::Won => CustomerEventKind::OpportunityWon,
                    OpportunityStatus::Lost => CustomerEventKind::OpportunityLost,
                };
                let mut data = described(&o);
                data["from"] = mv.from.clone().into();
                data["to"] = mv.to.clone().into();
                data["by"] = by_json(by);
                Self::insert_event(&mut *tx, account, o.customer_id, kind, &data, at).await?;
                tx.commit().await.map_err(db)?;
                Ok(o)
            }

            async fn update_opportunity(
                &self,
                account: AccountId,
                id: OpportunityId,
                patch: OpportunityPatch,
                at: Millis,
            ) -> Result<Opportunity> {
                let mut tx = self.write().await?;
                let mut o: Opportunity =
                    Self::one::<OpportunityRow, _>(&mut *tx, q::ONE, account, id.to_string()).await?;
                if let Some(name) = patch.name {
                    o.name = name;
                }
                if let Some(amount) = patch.amount {
                    o.amount = amount;
                }
                if let Some(currency) = patch.currency {
                    o.currency = currency;
                }
                if let Some(close) = patch.expected_close {
                    o.expected_close = close;
                }
                if let Some(owner) = patch.owner {
                    o.owner_id = owner;
                }
                if let Some(checked) = patch.checked {
                    o.checked = checked;
                }
                sqlx::query(q::UPDATE)
                    .bind(account.to_string())
                    .bind(id.to_string())
                    .bind(&o.name)
                    .bind(o.amount)
                    .bind(&o.currency)
                    .bind(&o.expected_close)
                    .bind(o.owner_id.to_string())
                    .bind(to_json(&o.checked))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                // Read again: a new owner's name (and `NotFound` for another account's agent).
                let o: Opportunity = Self::one::<OpportunityRow, _>(&mut *tx, q::ONE, account, id.to_string()).await?;
                tx.commit().await.map_err(db)?;
                Ok(o)
            }
        }
    };
}

impl_pipeline_store!(Sqlite);
impl_pipeline_store!(Postgres);
