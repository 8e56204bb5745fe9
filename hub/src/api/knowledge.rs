//! REST for the knowledge base and canned responses under `/api/v1`: supervisors and admins write
//! articles (audited) and everyone reads those shown in their queues, rendered safely by
//! `crate::knowledge`; canned responses are the account's (supervisors and admins keep them,
//! audited) or an agent's own, and the composer counts each use. Handlers check roles and input
//! and delegate to the store.

use super::audit::audited;
use super::error::ApiJson;
use super::{ApiError, AppState, ClientIp};
use crate::auth::{AuthAgent, RequireRole, Supervisor};
use crate::domain::{Agent, ArticleId, CannedId, Role, has_skills, now_millis};
use crate::knowledge::{self, Article, ArticleDraft, Canned, CannedDraft, Filter, Reader};
use crate::tokenize;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_articles, create_article))
        .routes(routes!(get_article, update_article, delete_article))
        .routes(routes!(preview))
        .routes(routes!(suggestions))
        .routes(routes!(list_canned, create_canned))
        .routes(routes!(update_canned, delete_canned))
        .routes(routes!(use_canned))
}

/// The most articles one list shows.
const MAX_LIST: usize = 200;
/// The most articles suggested beside a conversation.
const MAX_SUGGESTIONS: usize = 3;
/// How long a list's excerpt of each article is, in characters.
const EXCERPT_CHARS: usize = 160;

/// An article as the console shows it: the Markdown, the same as safe HTML, and an excerpt.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    #[serde(flatten)]
    pub article: Article,
    /// The body rendered and sanitised: no script, event handler or `javascript:` link.
    pub html: String,
    /// The body's first words as plain text.
    pub excerpt: String,
}

fn view(article: Article) -> ArticleView {
    ArticleView {
        html: knowledge::render(&article.body),
        excerpt: knowledge::excerpt(&article.body, EXCERPT_CHARS),
        article,
    }
}

/// Who `me` reads as: supervisors and admins every article, an agent the queues they serve.
async fn reader(state: &AppState, me: &Agent) -> Result<Reader, ApiError> {
    if me.role >= Role::Supervisor {
        return Ok(Reader::All);
    }
    let queues = state.store.queues(me.account_id).await?;
    Ok(Reader::Queues(
        queues
            .into_iter()
            .filter(|q| has_skills(&me.skills, &q.required_skills))
            .map(|q| q.id)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListQuery {
    /// Words to find in the title, tags or text (Chinese too); the last word is a prefix.
    q: Option<String>,
    /// At most this many (default and most: 200).
    limit: Option<usize>,
}

/// Articles the caller may read, narrowed by a search and filters: title hits first, then the
/// most recently updated.
#[utoipa::path(get, path = "/knowledge/articles", params(ListQuery, Filter),
    responses((status = 200, body = [ArticleView])))]
async fn list_articles(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(query): Query<ListQuery>,
    Query(filter): Query<Filter>,
) -> Result<ApiJson<Vec<ArticleView>>, ApiError> {
    let reader = reader(&state, &me).await?;
    let terms = tokenize::query(query.q.as_deref().unwrap_or(""));
    let hits = if terms.is_empty() {
        None
    } else {
        Some(state.store.search_articles(me.account_id, &terms).await?)
    };
    if hits.as_ref().is_some_and(|h| h.is_empty()) {
        return Ok(ApiJson(vec![]));
    }
    let all = state.store.articles(me.account_id).await?;
    let limit = query.limit.unwrap_or(MAX_LIST).clamp(1, MAX_LIST);
    let shown = knowledge::select(all, hits.as_ref(), &reader, &filter, limit);
    Ok(ApiJson(shown.into_iter().map(view).collect()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct SuggestQuery {
    /// What the customer wrote (their last message, say).
    text: String,
}

/// The articles most likely to help with what a customer wrote (at most 3, of those the caller
/// may read): any of its telling words or Chinese pairs may match; more matches, and matches in
/// the title, rank first.
#[utoipa::path(get, path = "/knowledge/suggestions", params(SuggestQuery, Filter),
    responses((status = 200, body = [ArticleView])))]
async fn suggestions(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Query(query): Query<SuggestQuery>,
    Query(filter): Query<Filter>,
) -> Result<ApiJson<Vec<ArticleView>>, ApiError> {
    let mut scores = std::collections::HashMap::new();
    for term in knowledge::suggestion_terms(&query.text) {
        let hits = state.store.search_articles(me.account_id, &[term]).await?;
        knowledge::score(&mut scores, &hits);
    }
    if scores.is_empty() {
        return Ok(ApiJson(vec![]));
    }
    let reader = reader(&state, &me).await?;
    let all = state.store.articles(me.account_id).await?;
    let shown = knowledge::select(all, Some(&scores), &reader, &filter, MAX_SUGGESTIONS);
    Ok(ApiJson(shown.into_iter().map(view).collect()))
}

/// One article, if the caller may read it (else 404, as if there were none).
#[utoipa::path(get, path = "/knowledge/articles/{id}",
    responses((status = 200, body = ArticleView), (status = 404)))]
async fn get_article(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<ArticleView>, ApiError> {
    let id: ArticleId = id.parse().map_err(|_| ApiError::NotFound)?;
    let article = state.store.article(me.account_id, id).await?;
    if !reader(&state, &me).await?.sees(&article) {
        return Err(ApiError::NotFound);
    }
    Ok(ApiJson(view(article)))
}

/// The draft checked, its queues the account's.
async fn checked(state: &AppState, me: &Agent, draft: ArticleDraft) -> Result<ArticleDraft, ApiError> {
    let draft = draft.check().map_err(ApiError::BadRequest)?;
    if !draft.queues.is_empty() {
        let queues = state.store.queues(me.account_id).await?;
        if let Some(unknown) = draft.queues.iter().find(|q| !queues.iter().any(|k| k.id == **q)) {
            return Err(ApiError::BadRequest(format!("there is no queue {unknown}")));
        }
    }
    Ok(draft)
}

fn detail(a: &Article) -> serde_json::Value {
    serde_json::json!({
        "title": a.title, "category": a.category, "tags": a.tags, "queues": a.queues, "stages": a.stages,
    })
}

/// Write a new article (supervisors and admins).
#[utoipa::path(post, path = "/knowledge/articles", request_body = ArticleDraft,
    responses((status = 200, body = ArticleView), (status = 400), (status = 403)))]
async fn create_article(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    ApiJson(draft): ApiJson<ArticleDraft>,
) -> Result<ApiJson<ArticleView>, ApiError> {
    let d = checked(&state, &me, draft).await?;
    let now = now_millis();
    let article = Article {
        id: ArticleId::new(),
        title: d.title,
        body: d.body,
        category: d.category,
        tags: d.tags,
        queues: d.queues,
        stages: d.stages,
        author_id: me.id,
        author_name: Some(me.name.clone()),
        created_at: now,
        updated_at: now,
    };
    audited(
        &state,
        &me,
        ip,
        "article.created",
        Some(article.id.to_string()),
        detail(&article),
    )
    .put_article(me.account_id, &article)
    .await?;
    Ok(ApiJson(view(article)))
}

/// Replace an article's title, text, category, tags and visibility (supervisors and admins).
#[utoipa::path(put, path = "/knowledge/articles/{id}", request_body = ArticleDraft,
    responses((status = 200, body = ArticleView), (status = 400), (status = 403), (status = 404)))]
async fn update_article(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<ArticleDraft>,
) -> Result<ApiJson<ArticleView>, ApiError> {
    let id: ArticleId = id.parse().map_err(|_| ApiError::NotFound)?;
    let d = checked(&state, &me, draft).await?;
    let before = state.store.article(me.account_id, id).await?;
    let article = Article {
        title: d.title,
        body: d.body,
        category: d.category,
        tags: d.tags,
        queues: d.queues,
        stages: d.stages,
        updated_at: now_millis().max(before.updated_at),
        ..before
    };
    audited(
        &state,
        &me,
        ip,
        "article.updated",
        Some(id.to_string()),
        detail(&article),
    )
    .put_article(me.account_id, &article)
    .await?;
    Ok(ApiJson(view(article)))
}

/// Delete an article (supervisors and admins).
#[utoipa::path(delete, path = "/knowledge/articles/{id}",
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_article(
    State(state): State<AppState>,
    RequireRole(me, ..): RequireRole<Supervisor>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: ArticleId = id.parse().map_err(|_| ApiError::NotFound)?;
    let before = state.store.article(me.account_id, id).await?;
    audited(
        &state,
        &me,
        ip,
        "article.deleted",
        Some(id.to_string()),
        detail(&before),
    )
    .delete_article(me.account_id, id)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
struct PreviewRequest {
    body: String,
}

#[derive(Debug, Serialize, ToSchema)]
struct Preview {
    html: String,
}

/// Markdown as the article will show it (the editor's preview), rendered and sanitised.
#[utoipa::path(post, path = "/knowledge/preview", request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 400), (status = 403)))]
async fn preview(
    RequireRole(..): RequireRole<Supervisor>,
    ApiJson(req): ApiJson<PreviewRequest>,
) -> Result<ApiJson<Preview>, ApiError> {
    if req.body.len() > knowledge::MAX_BODY_BYTES {
        return Err(ApiError::BadRequest(format!(
            "an article may have at most {} bytes",
            knowledge::MAX_BODY_BYTES
        )));
    }
    Ok(ApiJson(Preview {
        html: knowledge::render(&req.body),
    }))
}

/// The account's canned responses and the caller's own, the most used first.
#[utoipa::path(get, path = "/canned-responses", responses((status = 200, body = [Canned])))]
async fn list_canned(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
) -> Result<ApiJson<Vec<Canned>>, ApiError> {
    Ok(ApiJson(state.store.canned_responses(me.account_id, me.id).await?))
}

/// The canned response `id` if `me` may change it: their own, or (supervisors and admins) the
/// account's. Another agent's own is not found.
async fn mine_to_change(state: &AppState, me: &Agent, id: &str) -> Result<Canned, ApiError> {
    let id: CannedId = id.parse().map_err(|_| ApiError::NotFound)?;
    let canned = state.store.canned_response(me.account_id, id).await?;
    match canned.owner_id {
        Some(owner) if owner == me.id => Ok(canned),
        Some(_) => Err(ApiError::NotFound),
        None if me.role >= Role::Supervisor => Ok(canned),
        None => Err(ApiError::Forbidden),
    }
}

fn shortcut_taken(e: ApiError, shortcut: &str) -> ApiError {
    match e {
        ApiError::Conflict(_) => ApiError::Conflict(format!("the shortcut /{shortcut} is taken")),
        other => other,
    }
}

/// Write a canned response: an agent's own, or (supervisors and admins, unless `personal`) the
/// account's, audited.
#[utoipa::path(post, path = "/canned-responses", request_body = CannedDraft,
    responses((status = 200, body = Canned), (status = 400), (status = 409)))]
async fn create_canned(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    ClientIp(ip): ClientIp,
    ApiJson(draft): ApiJson<CannedDraft>,
) -> Result<ApiJson<Canned>, ApiError> {
    let d = draft.check().map_err(ApiError::BadRequest)?;
    let personal = d.personal || me.role < Role::Supervisor;
    let canned = Canned {
        id: CannedId::new(),
        owner_id: personal.then_some(me.id),
        shortcut: d.shortcut,
        title: d.title,
        body: d.body,
        uses: 0,
        updated_at: now_millis(),
    };
    write_canned(&state, &me, ip, "canned_response.created", &canned).await?;
    Ok(ApiJson(canned))
}

/// The account's canned responses are audited; an agent's own are theirs alone.
async fn write_canned(
    state: &AppState,
    me: &Agent,
    ip: std::net::IpAddr,
    action: &str,
    canned: &Canned,
) -> Result<(), ApiError> {
    let store = if canned.owner_id.is_none() {
        let detail = serde_json::json!({"shortcut": canned.shortcut, "title": canned.title});
        audited(state, me, ip, action, Some(canned.id.to_string()), detail)
    } else {
        state.store.clone()
    };
    store
        .put_canned(me.account_id, canned)
        .await
        .map_err(|e| shortcut_taken(e.into(), &canned.shortcut))
}

/// Change a canned response's shortcut, title and text (its use count stays).
#[utoipa::path(put, path = "/canned-responses/{id}", request_body = CannedDraft,
    responses((status = 200, body = Canned), (status = 400), (status = 403), (status = 404), (status = 409)))]
async fn update_canned(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<CannedDraft>,
) -> Result<ApiJson<Canned>, ApiError> {
    let before = mine_to_change(&state, &me, &id).await?;
    let d = draft.check().map_err(ApiError::BadRequest)?;
    let canned = Canned {
        shortcut: d.shortcut,
        title: d.title,
        body: d.body,
        updated_at: now_millis(),
        ..before
    };
    write_canned(&state, &me, ip, "canned_response.updated", &canned).await?;
    Ok(ApiJson(canned))
}

/// Delete a canned response: one's own, or (supervisors and admins) the account's.
#[utoipa::path(delete, path = "/canned-responses/{id}",
    responses((status = 204), (status = 403), (status = 404)))]
async fn delete_canned(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let canned = mine_to_change(&state, &me, &id).await?;
    let store = if canned.owner_id.is_none() {
        let detail = serde_json::json!({"shortcut": canned.shortcut, "title": canned.title});
        audited(
            &state,
            &me,
            ip,
            "canned_response.deleted",
            Some(canned.id.to_string()),
            detail,
        )
    } else {
        state.store.clone()
    };
    store.delete_canned(me.account_id, canned.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
struct Uses {
    uses: u64,
}

/// The composer inserted this canned response: one more use (the most used are listed first).
#[utoipa::path(post, path = "/canned-responses/{id}/use",
    responses((status = 200, body = Uses), (status = 404)))]
async fn use_canned(
    State(state): State<AppState>,
    AuthAgent(me): AuthAgent,
    Path(id): Path<String>,
) -> Result<ApiJson<Uses>, ApiError> {
    let id: CannedId = id.parse().map_err(|_| ApiError::NotFound)?;
    let canned = state.store.canned_response(me.account_id, id).await?;
    if canned.owner_id.is_some_and(|o| o != me.id) {
        return Err(ApiError::NotFound);
    }
    let uses = state.store.use_canned(me.account_id, id).await?;
    Ok(ApiJson(Uses { uses }))
}
