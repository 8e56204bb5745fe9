-- The fencing token of the node leading the routers (several hub nodes on one database): each
-- dispatcher commit carries its leader's token, and is refused once a newer leader raised it.
CREATE TABLE router_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token BIGINT NOT NULL
);
INSERT INTO router_lease (id, token) VALUES (1, 0);
