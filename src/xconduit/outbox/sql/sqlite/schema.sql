-- The outbox schema as the migrations leave it (tests/migration checks they agree).

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- One row per (source, messageId) accepted, kept at least 24 h to drop resent events.
CREATE TABLE received_events (
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (source, message_id)
) WITHOUT ROWID;

CREATE INDEX received_events_received_at ON received_events (received_at);

-- AUTOINCREMENT: an id is never reused after a purge, so a very late ack cannot hit a new job.
CREATE TABLE delivery_jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    pixel_id        TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    conversion_id   TEXT NOT NULL,
    payload         BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (
        status IN ('pending', 'in_flight', 'delivered', 'retry_scheduled', 'dead')
    ),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_until     REAL,
    last_error      TEXT,
    delivered_at    REAL,
    traced          INTEGER NOT NULL DEFAULT 1,
    -- 1: the debugger may look the job up; 0: a sync's (0006).
    owner           TEXT NOT NULL DEFAULT '',
    -- The key of the destination that made the job (0008); '': untagged, until adopted.
    priority        INTEGER NOT NULL DEFAULT 4,
    -- Claim order when the backlog is large, 0 first (0013).
    conversion_time TEXT NOT NULL DEFAULT ''
    -- The conversion's time in X's form: freshest first within a priority (0013).
);

-- The claim: due work of one destination and owner in due order. Only active jobs are indexed.
CREATE INDEX delivery_jobs_due ON delivery_jobs (destination, owner, next_attempt_at, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- Counts (per destination and owner), dead letters and retention.
CREATE INDEX delivery_jobs_status ON delivery_jobs (status, destination, owner);

-- Untagged jobs waiting to be adopted; a tagged job never enters it.
CREATE INDEX delivery_jobs_untagged ON delivery_jobs (destination) WHERE owner = '';

-- The claim in priority order (0013).
CREATE INDEX delivery_jobs_priority ON delivery_jobs
    (destination, owner, priority, conversion_time DESC)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- One row per warehouse sync: its cursor (JSON {"type", "value"}; NULL: from the start),
-- advanced in the transaction that commits the rows' delivery jobs, and its generation
-- (grows with each `--full` run).
CREATE TABLE sync_state (
    name       TEXT PRIMARY KEY,
    cursor     TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- One row per running `serve` / `worker` process, refreshed every few seconds.
CREATE TABLE worker_heartbeats (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    host    TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    seen_at REAL NOT NULL,
    report  TEXT,
    owners  TEXT
    -- The keys of the destinations the process delivers, space-separated (0008); NULL: older.
) WITHOUT ROWID;

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
    last_run_at    REAL,
    problem        TEXT
) WITHOUT ROWID;

-- The last delivered membership: users X accepted as added and not since removed. payload is
-- the user object X received (hashed identifiers), kept to remove the user by the same keys.
-- A rowid table: its primary-key index holds only the keys, which a diff reads in key order.
CREATE TABLE audience_members (
    audience TEXT NOT NULL,
    user_key TEXT NOT NULL,
    payload  BLOB NOT NULL,
    sent_at  REAL,
    PRIMARY KEY (audience, user_key)
);

CREATE INDEX audience_members_sent ON audience_members (audience, sent_at);

-- Each member's (key, value) pairs (0009): X deletes a member by any key it was added with, so a
-- removal sends only the values no other member holds.
CREATE TABLE audience_member_ids (
    audience TEXT NOT NULL,
    id_key   TEXT NOT NULL,
    id_value TEXT NOT NULL,
    user_key TEXT NOT NULL,
    PRIMARY KEY (audience, id_key, id_value, user_key)
) WITHOUT ROWID;

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

-- Operations (0004): counters, the live debugger's recent events, secrets.

-- Running totals of what happened: never purged, what /metrics exports.
CREATE TABLE counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (name, labels)
) WITHOUT ROWID;

-- The same increments per minute (epoch seconds // 60), for the dashboard's hour and day.
CREATE TABLE counter_minutes (
    minute INTEGER NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (minute, name, labels)
) WITHOUT ROWID;

-- The last events per source with their outcome per destination (hashed identifiers only).
CREATE TABLE recent_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    received_at REAL NOT NULL,
    results     BLOB NOT NULL
);

CREATE INDEX recent_events_source ON recent_events (source, id);

-- The ids of the jobs each collector commit inserted (0017): the debugger finds a recent
-- event's job among those of its commit (received_at = at), not through an index on random
-- message ids.
CREATE TABLE job_commits (
    at       REAL NOT NULL,
    first_id INTEGER NOT NULL,
    last_id  INTEGER NOT NULL,
    PRIMARY KEY (at, first_id)
) WITHOUT ROWID;

-- Small encrypted values (the connected X account's tokens); never plain secrets.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;


-- What X's answers told us about an account (a lower limit, a cap until its reset, a 429 block).
CREATE TABLE rate_accounts (
    account_id    TEXT PRIMARY KEY,
    events_limit  INTEGER,
    blocked_until REAL NOT NULL DEFAULT 0,
    cap_events    INTEGER,
    cap_until     REAL,
    cap_since     REAL
) WITHOUT ROWID;

-- Holds (claimed, not yet sent; held = 1) and sends in the current window of each account.
CREATE TABLE rate_spends (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    held       INTEGER NOT NULL,
    events     INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    started_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    settled_at REAL
);

CREATE INDEX rate_spends_account ON rate_spends (account_id);

-- Runs of `xconduit check` and the dashboard's check button; delivery processes poll `runs`.
CREATE TABLE check_runs (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    runs   INTEGER NOT NULL,
    ran_at REAL NOT NULL
);

-- Both legs (0014): when the pixel and the server first brought each hashed conversion id.
CREATE TABLE conversion_legs (
    key         INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    pixel_at    REAL,
    server_at   REAL,
    first_at    REAL NOT NULL
);
CREATE INDEX conversion_legs_first ON conversion_legs (first_at);
-- Whether the tag brought any id, in one step (a sync skips its legs if not).
CREATE INDEX conversion_legs_pixel ON conversion_legs (first_at) WHERE pixel_at IS NOT NULL;

-- Runs of each sync (finished, stopped or failed), newest by id; the syncs page reads them.
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY,
    sync          TEXT NOT NULL,
    started_at    REAL NOT NULL,
    seconds       REAL NOT NULL,
    rows_read     INTEGER NOT NULL,
    enqueued      INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    repeated      INTEGER NOT NULL,
    already_sent  INTEGER NOT NULL,
    cursor_before TEXT,
    cursor_after  TEXT,
    outcome       TEXT NOT NULL,
    why           TEXT NOT NULL,
    report        TEXT
);

CREATE INDEX sync_runs_sync ON sync_runs (sync, id);

-- Hourly amounts of the charted counters (sent to X, failed), kept 8 days (0016).
CREATE TABLE counter_hours (
    hour   INTEGER NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (hour, name, labels)
) WITHOUT ROWID;
