-- Custom audiences: which X audience each configured audience is, who X has (delivered
-- members), and the changes waiting for the next flush. Identifiers are stored hashed only.

-- One row per configured audience, written once its X id is known (created or adopted).
CREATE TABLE audiences (
    name           TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    audience_id    TEXT NOT NULL,
    x_name         TEXT NOT NULL,
    recorded_at    REAL NOT NULL,
    members        INTEGER NOT NULL DEFAULT 0,
    last_flush_at  REAL,
    last_run_at    REAL
) WITHOUT ROWID;

-- The last delivered membership: users X accepted as added and not since removed. payload is
-- the user object X received (hashed identifiers), kept to remove the user by the same keys.
-- A rowid table: its primary-key index holds only the keys, which a diff reads in key order.
CREATE TABLE audience_members (
    audience TEXT NOT NULL,
    user_key TEXT NOT NULL,
    payload  BLOB NOT NULL,
    PRIMARY KEY (audience, user_key)
);

-- Pending changes, one per user (coalesced: the later change wins). version is new on each
-- change, so a flush removes only the rows it read.
CREATE TABLE audience_changes (
    audience      TEXT NOT NULL,
    user_key      TEXT NOT NULL,
    op            TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    payload       BLOB NOT NULL,
    pending_since REAL NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (audience, user_key)
) WITHOUT ROWID;

CREATE INDEX audience_changes_since ON audience_changes (audience, pending_since);
