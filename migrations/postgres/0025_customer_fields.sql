-- Issue 15: the account's own fields on customers. The definitions, as one list per account (an
-- admin replaces it whole), and each customer's values as a JSON object by field key; the
-- values are also in name_search, so a customer search finds them.
CREATE TABLE customer_fields (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    fields TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
ALTER TABLE customers ADD COLUMN fields TEXT NOT NULL DEFAULT '{}';
