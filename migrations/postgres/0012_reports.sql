-- Contact-center reports and staffing (issue 13): the account's rules for counting, the agents'
-- presence log, and indexes that find a date range's lines without reading the whole log.

-- Reports cut days in this IANA time zone; an abandon after less wait than `short_abandon_secs`
-- is a short abandon; a handled contact is resolved at first contact when the customer does not
-- come back within `fcr_window_hours`.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE accounts ADD COLUMN short_abandon_secs INTEGER NOT NULL DEFAULT 5;
ALTER TABLE accounts ADD COLUMN fcr_window_hours INTEGER NOT NULL DEFAULT 168;

-- Every presence an agent chose (`agent.state_changed`): offline, available, or break with its
-- reason. Busy and wrap-up are not here: they follow from the interaction log.
CREATE TABLE agent_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    at BIGINT NOT NULL,
    FOREIGN KEY (account_id, agent_id) REFERENCES agents (account_id, id)
);
CREATE INDEX agent_events_at ON agent_events (account_id, at);
CREATE INDEX agent_events_agent ON agent_events (account_id, agent_id, at);

CREATE INDEX interaction_events_at ON interaction_events (account_id, at);
CREATE INDEX interactions_arrived ON interactions (account_id, arrived_at);
