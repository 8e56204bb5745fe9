-- Issue 7: a request one node forwarded to the routers' leader, recorded in the same commit as
-- what it changed. A new leader finds the requests its predecessor had taken but not answered;
-- those recorded here were carried out already and are not carried out again. Rows are kept
-- only as long as an asking node still waits for its answer.
CREATE TABLE forwarded_requests (
    node TEXT NOT NULL,
    id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (node, id)
);
CREATE INDEX forwarded_requests_at ON forwarded_requests (at);
