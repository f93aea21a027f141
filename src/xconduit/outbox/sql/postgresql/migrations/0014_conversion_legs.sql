-- Both legs: per destination and conversion id, when the website tag (the pixel leg) and the
-- server (a write key or a sync) first brought it, so that the overview shows the share X saw
-- on both legs and deduplicated. `key` is 64 bits of a SHA-256 of the destination and conversion id, never
-- the id (it may be personal). Rows are purged 48 h after they were first seen (queue/legs.py).
CREATE TABLE conversion_legs (
    key         BIGINT PRIMARY KEY,
    destination TEXT NOT NULL,
    pixel_at    DOUBLE PRECISION,
    server_at   DOUBLE PRECISION,
    first_at    DOUBLE PRECISION NOT NULL
);

CREATE INDEX conversion_legs_first ON conversion_legs (first_at);
-- Whether the tag brought any id, in one step (a sync skips its legs if not).
CREATE INDEX conversion_legs_pixel ON conversion_legs (first_at) WHERE pixel_at IS NOT NULL;
