-- Issue 15 item 6: the knowledge base and canned responses.
-- Articles: Markdown kept as written (the hub renders it safely on every read), tags, and who may
-- see it as JSON lists: the queues (empty: every queue) and the lifecycle stage keys (empty: every
-- stage).
CREATE TABLE kb_articles (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '[]',
    queues TEXT NOT NULL DEFAULT '[]',
    stages TEXT NOT NULL DEFAULT '[]',
    author_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (account_id, author_id) REFERENCES agents (account_id, id)
);
CREATE INDEX kb_articles_account ON kb_articles (account_id, updated_at);
-- The terms an article is found by (crate::tokenize, CJK as pairs), written with the article:
-- title 1 when its title has the term (those rank first). A prefix search reads a range of the
-- account's terms by their first characters.
CREATE TABLE kb_terms (
    account_id TEXT NOT NULL,
    term TEXT NOT NULL,
    article_id TEXT NOT NULL REFERENCES kb_articles (id),
    title INTEGER NOT NULL,
    PRIMARY KEY (account_id, term, article_id)
);
CREATE INDEX kb_terms_article ON kb_terms (account_id, article_id);
-- Canned responses: the account's (owner_id NULL) or one agent's own. One shortcut per owner.
CREATE TABLE canned_responses (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    owner_id TEXT,
    shortcut TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    FOREIGN KEY (account_id, owner_id) REFERENCES agents (account_id, id)
);
CREATE UNIQUE INDEX canned_responses_shortcut ON canned_responses (account_id, COALESCE(owner_id, ''), shortcut);
