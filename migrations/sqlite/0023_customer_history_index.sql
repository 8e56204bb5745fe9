-- A customer's recent contacts (the card every offer pops) are read newest first by arrival time
-- and arrival order. The index on the customer had the time but not the order, so once 0013 added
-- the account's arrival index (arrived_at, arrival_seq) SQLite's planner chose that one to skip
-- the sort and walked the whole account's history backwards for every card: a call cost twice
-- the CPU with a few thousand contacts in the database, and more with every one. The customer's
-- index now carries the whole order.
DROP INDEX interactions_customer;
CREATE INDEX interactions_customer ON interactions (account_id, customer_id, arrived_at DESC, arrival_seq DESC);
