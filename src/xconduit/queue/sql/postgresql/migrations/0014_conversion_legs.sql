-- Both legs: per destination and conversion id, when the website tag (the pixel leg) and the
-- server (a write key or a sync) first brought it, so that the overview shows the share X saw
-- on both legs and deduplicated. `key` is a SHA-256 of the conversion id, never the id (it may
-- be personal). Rows are purged 48 h after they were first seen (queue/legs.py).
CREATE TABLE conversion_legs (
    destination TEXT NOT NULL,
    key         TEXT NOT NULL,
    pixel_at    DOUBLE PRECISION,
    server_at   DOUBLE PRECISION,
    first_at    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (destination, key)
);

CREATE INDEX conversion_legs_first ON conversion_legs (first_at);
