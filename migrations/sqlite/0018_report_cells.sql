-- Issue 13: reports read per-15-minute totals instead of the raw log. `reports::cells` keeps them
-- from the interaction and presence logs (the store of record) and can rebuild them from those
-- at any time; nothing else writes here.

-- One row per quarter-hour, dimension and key with anything in it. `quarter` is its UTC start
-- (every zone's offset is a whole number of quarter-hours, so it is a local quarter-hour too);
-- `day` is its local date in the account's time zone, for daily and weekly reports. Channel rows
-- are kept per channel and queue (`voice <queue id>`), so a supervisor's channel report sums the
-- queues of their teams. The figures are the columns of `reports::Tally`; `breaks` is its break
-- time per reason (JSON).
CREATE TABLE report_cells (
    account_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    quarter INTEGER NOT NULL,
    key TEXT NOT NULL,
    day TEXT NOT NULL,
    offered INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    answered_in_sl INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    short_abandoned INTEGER NOT NULL,
    answer_wait_ms INTEGER NOT NULL,
    abandon_wait_ms INTEGER NOT NULL,
    longest_wait_ms INTEGER NOT NULL,
    handled INTEGER NOT NULL,
    talk_ms INTEGER NOT NULL,
    hold_ms INTEGER NOT NULL,
    wrap_up_ms INTEGER NOT NULL,
    transfers INTEGER NOT NULL,
    fcr_judged INTEGER NOT NULL,
    fcr_resolved INTEGER NOT NULL,
    available_ms INTEGER NOT NULL,
    busy_ms INTEGER NOT NULL,
    wrap_up_state_ms INTEGER NOT NULL,
    break_ms INTEGER NOT NULL,
    breaks TEXT NOT NULL,
    PRIMARY KEY (account_id, dimension, quarter, key)
);

CREATE INDEX report_cells_day ON report_cells (account_id, day);

-- Each local day's sums of its cells, per dimension and key, for daily and weekly reports (a
-- month is 30 rows a key instead of 2,880): rolled up by `reports::cells` whenever a day's cells
-- change. `quarter` is the day's first quarter-hour with anything in it. Break time per reason is
-- read from the cells.
CREATE TABLE report_days (
    account_id TEXT NOT NULL,
    dimension TEXT NOT NULL,
    day TEXT NOT NULL,
    key TEXT NOT NULL,
    quarter INTEGER NOT NULL,
    offered INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    answered_in_sl INTEGER NOT NULL,
    abandoned INTEGER NOT NULL,
    short_abandoned INTEGER NOT NULL,
    answer_wait_ms INTEGER NOT NULL,
    abandon_wait_ms INTEGER NOT NULL,
    longest_wait_ms INTEGER NOT NULL,
    handled INTEGER NOT NULL,
    talk_ms INTEGER NOT NULL,
    hold_ms INTEGER NOT NULL,
    wrap_up_ms INTEGER NOT NULL,
    transfers INTEGER NOT NULL,
    fcr_judged INTEGER NOT NULL,
    fcr_resolved INTEGER NOT NULL,
    available_ms INTEGER NOT NULL,
    busy_ms INTEGER NOT NULL,
    wrap_up_state_ms INTEGER NOT NULL,
    break_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, dimension, day, key)
);

-- How far each account's cells are counted: the last interaction and presence log lines read,
-- the moment they were counted up to, and the rules and time zone they were counted by (JSON;
-- other rules rebuild them all). Updated only if unchanged since read, so two nodes counting at
-- once cannot leave the older count behind.
CREATE TABLE report_marks (
    account_id TEXT PRIMARY KEY,
    rules TEXT NOT NULL,
    event_mark INTEGER NOT NULL,
    presence_mark INTEGER NOT NULL,
    counted_to INTEGER NOT NULL
);

-- A contact handled across a recounted range without a line in it is found by when it ended.
CREATE INDEX interactions_ended ON interactions (account_id, ended_at);
