-- SQLite's search index gained a one-character prefix index in this version (GIN finds a prefix
-- by its keys already). Here: the search index's statistics are refreshed after 1 % of it
-- changes rather than 10 %, so the planner knows how common a term is while the index grows
-- (a fresh bulk load queried before its first ANALYZE read every match of a common word).
ALTER TABLE message_search SET (autovacuum_analyze_scale_factor = 0.01);
