-- A chat message writes as few pages as it can (issue 7): each page it touches is written to the
-- WAL with its commit and again by the next checkpoint, and scattered index pages, not rows, were
-- most of the writer's work (about five 4 KiB pages a message at 4,000 messages/s).

-- The index that finds an agent's retried mail by its client id holds agents' messages only; a
-- customer's message no longer writes a page of it.
DROP INDEX messages_agent_client;
CREATE INDEX messages_agent_client ON messages (account_id, agent_id, client_id) WHERE sender = 'agent';

-- A message's seq is the next after the interaction's newest message, read from the
-- (interaction_id, seq) index the message writes anyway, instead of a counter on the interaction
-- whose row was one more page a message.
ALTER TABLE interactions DROP COLUMN last_seq;
