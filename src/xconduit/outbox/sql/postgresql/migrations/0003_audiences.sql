-- Custom audiences: which X audience each configured audience is, who X has (delivered
-- members), and the changes waiting for the next flush. Identifiers are stored hashed only.

-- One row per configured audience, written once its X id is known (created or adopted).
CREATE TABLE audiences (
    name           TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    audience_id    TEXT NOT NULL,
    x_name         TEXT NOT NULL,
    recorded_at    DOUBLE PRECISION NOT NULL,
    members        INTEGER NOT NULL DEFAULT 0,
    last_flush_at  DOUBLE PRECISION,
    last_run_at    DOUBLE PRECISION
);

-- The last delivered membership: users X accepted as added and not since removed. payload is
-- the user object X received (hashed identifiers), kept to remove the user by the same keys.
-- Keys in byte order (COLLATE "C"), the order a diff reads them in, as in SQLite.
CREATE TABLE audience_members (
    audience TEXT NOT NULL,
    user_key TEXT COLLATE "C" NOT NULL,
    payload  BYTEA NOT NULL,
    PRIMARY KEY (audience, user_key)
);

-- Pending changes, one per user (coalesced: the later change wins). version is new on each
-- change, so a flush removes only the rows it read.
CREATE TABLE audience_changes (
    audience      TEXT NOT NULL,
    user_key      TEXT COLLATE "C" NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    payload       BYTEA NOT NULL,
    pending_since DOUBLE PRECISION NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (audience, user_key)
);

CREATE INDEX audience_changes_since ON audience_changes (audience, pending_since);
