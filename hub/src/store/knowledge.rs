//! The store's side of the knowledge base and canned responses: articles with the terms they are
//! found by (written with the article, in one transaction), and canned responses with their use
//! counts. What may be written is `crate::knowledge`'s to check.

use super::Result;
use crate::domain::{AccountId, AgentId, ArticleId, CannedId};
use crate::knowledge::{Article, Canned};
use crate::tokenize::QueryTerm;
use std::collections::HashMap;

#[async_trait::async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// Writes an article (new, or replacing the one with its id) and its search terms (audited).
    async fn put_article(&self, account: AccountId, article: &Article) -> Result<()>;
    async fn article(&self, account: AccountId, id: ArticleId) -> Result<Article>;
    /// Every article of the account, newest first (an account has hundreds, not millions).
    async fn articles(&self, account: AccountId) -> Result<Vec<Article>>;
    /// The articles that have every term, each with how many of the terms its title has.
    async fn search_articles(
        &self,
        account: AccountId,
        terms: &[QueryTerm],
    ) -> Result<HashMap<ArticleId, u32>>;
    /// Takes an article and its terms away (audited); `NotFound` if there is none.
    async fn delete_article(&self, account: AccountId, id: ArticleId) -> Result<()>;

    /// The account's canned responses and `agent`'s own, the most used first.
    async fn canned_responses(&self, account: AccountId, agent: AgentId) -> Result<Vec<Canned>>;
    async fn canned_response(&self, account: AccountId, id: CannedId) -> Result<Canned>;
    /// Writes a canned response (new, or replacing one, keeping its use count; audited). A
    /// shortcut taken by another of the same owner (or of the account's) is a `Conflict`.
    async fn put_canned(&self, account: AccountId, canned: &Canned) -> Result<()>;
    async fn delete_canned(&self, account: AccountId, id: CannedId) -> Result<()>;
    /// One more use; answers the new count.
    async fn use_canned(&self, account: AccountId, id: CannedId) -> Result<u64>;
}
