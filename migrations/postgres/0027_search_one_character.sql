-- SQLite's search index gained a one-character prefix index in this version; GIN finds a prefix
-- by its keys already. Here the search learns to start from an agent's own conversations: a
-- common word walked every match newest first past those the agent may not see (2.2 s at a
-- million messages); with each message's interaction beside its terms, the index of that finds
-- the messages of the conversations an agent sees, and only those are matched.
ALTER TABLE message_search ADD COLUMN interaction_id TEXT;
UPDATE message_search s SET interaction_id = m.interaction_id FROM messages m WHERE m.id = s.message_id;
ALTER TABLE message_search ALTER COLUMN interaction_id SET NOT NULL;
CREATE INDEX message_search_interaction ON message_search (interaction_id);
-- Statistics refreshed after 1 % of the index changes rather than 10 %, where autovacuum runs:
-- the search asks how common a term is before choosing how to look for it.
ALTER TABLE message_search SET (autovacuum_analyze_scale_factor = 0.01);
