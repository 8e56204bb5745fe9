-- The inbox's history for the console benchmark (bench/console/console.mjs): CLOSED chats Bob held
-- and wrapped up, each with four lines (customer, agent, customer, agent), written straight into
-- a demo hub's SQLite database as plugboard-searchload does (the chat path's cost is the chat
-- benchmark's business). The open chats come through real widgets instead, so the router holds
-- them. console.mjs puts numbers in place of @count (how many) and @now (epoch ms) and pipes it to
-- the sqlite3 shell. One chat every ten minutes back from @now; ids are fixed (the data directory
-- is fresh each run).
.timeout 10000
BEGIN;
CREATE TEMP TABLE seed AS
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @count)
SELECT i,
       printf('c0000000-0000-4000-8000-%012x', i) AS customer,
       printf('d0000000-0000-4000-8000-%012x', i) AS interaction,
       @now - (@count - i + 1) * 600000 AS arrived
FROM n;
INSERT INTO customers (id, account_id, name, name_search, tags, created_at, updated_at)
SELECT customer, (SELECT id FROM accounts LIMIT 1), 'Archive customer ' || i, lower('Archive customer ' || i), '[]', arrived, arrived
FROM seed;
INSERT INTO interactions (id, account_id, customer_id, channel, queue_id, state, priority, arrived_at, agent_id,
                          entry_point, offline, disposition, ended_at)
SELECT interaction, (SELECT id FROM accounts LIMIT 1), customer, 'chat', (SELECT id FROM queues WHERE name = 'Support'),
       'closed', 0, arrived, (SELECT id FROM agents WHERE email = 'bob@plugboard.example'), 'widget:bench', 0, NULL,
       arrived + 300000
FROM seed;
WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < 4)
INSERT INTO messages (id, account_id, interaction_id, seq, sender, agent_id, body, client_id, created_at)
SELECT printf('e0000000-0000-4000-8000-%012x', i * 10 + seq), (SELECT id FROM accounts LIMIT 1), interaction, seq,
       CASE seq % 2 WHEN 1 THEN 'customer' ELSE 'agent' END,
       CASE seq % 2 WHEN 1 THEN NULL ELSE (SELECT id FROM agents WHERE email = 'bob@plugboard.example') END,
       CASE seq
         WHEN 1 THEN 'Hello, my order ' || i || ' has not arrived yet, can you check the tracking?'
         WHEN 2 THEN 'Thanks for waiting. The parcel left the warehouse yesterday and should arrive tomorrow.'
         WHEN 3 THEN 'Great, thank you for checking.'
         ELSE 'You are welcome. Have a nice day!'
       END,
       printf('seed-%d-%d', i, seq), arrived + seq * 30000
FROM seed, s;
COMMIT;
SELECT COUNT(*) FROM interactions WHERE agent_id = (SELECT id FROM agents WHERE email = 'bob@plugboard.example');
