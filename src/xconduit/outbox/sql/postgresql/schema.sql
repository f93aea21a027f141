-- The outbox schema as the migrations leave it (tests/migration checks they agree).

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per (source, messageId) accepted, kept at least 24 h to drop resent events.
CREATE TABLE received_events (
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (source, message_id)
);

CREATE INDEX received_events_received_at ON received_events (received_at);

-- Ids come from one sequence, never reused after a purge (a late ack cannot hit a new job).
CREATE SEQUENCE delivery_job_ids;

-- Written once by COPY, never updated: claims and acks rewrite only the narrow job_state row.
CREATE TABLE job_payloads (
    id            BIGINT PRIMARY KEY,
    destination   TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    pixel_id      TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    conversion_id TEXT NOT NULL,
    payload       BYTEA NOT NULL
);

-- One row per job_payloads row, same id: written in the statement that writes the payload and
-- deleted in the one that deletes it; no foreign key, whose per-row check cost a third of the
-- database's CPU per collector event (0018).
CREATE TABLE job_state (
    id              BIGINT PRIMARY KEY,
    destination     TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (
        status IN ('pending', 'in_flight', 'delivered', 'retry_scheduled', 'dead')
    ),
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      DOUBLE PRECISION NOT NULL,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until     DOUBLE PRECISION,
    last_error      TEXT,
    delivered_at    DOUBLE PRECISION,
    owner           TEXT NOT NULL DEFAULT '',
    -- The key of the destination that made the job (0008); '': untagged, until adopted.
    priority        SMALLINT NOT NULL DEFAULT 4,
    -- Claim order when the backlog is large, 0 first (0013).
    conversion_time TEXT COLLATE "C" NOT NULL DEFAULT ''
    -- The conversion's time in X's form: freshest first within a priority (0013).
) WITH (fillfactor = 70);

-- The claim: due work of one destination and owner in due order. Only active jobs are indexed.
CREATE INDEX job_state_due ON job_state (destination, owner, next_attempt_at, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- Counts (per destination and owner), dead letters and retention.
CREATE INDEX job_state_status ON job_state (status, destination, owner);

-- Untagged jobs waiting to be adopted; a tagged job never enters it.
CREATE INDEX job_state_untagged ON job_state (destination) WHERE owner = '';

-- The claim in priority order (0013).
CREATE INDEX job_state_priority ON job_state
    (destination, owner, priority, conversion_time DESC, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');


-- One row per sync. `cursor` (JSON {"type", "value"}; NULL: from the start) advances in the
-- transaction that commits the delivery jobs of the rows it covers. `generation` grows with each
-- `--full` run, so rows read again then are new events, not duplicates.
CREATE TABLE sync_state (
    name       TEXT PRIMARY KEY,
    cursor     TEXT,
    generation INTEGER NOT NULL DEFAULT 0,
    updated_at DOUBLE PRECISION NOT NULL
);

-- One row per running `serve` / `worker` process, refreshed every few seconds: a sync that must
-- wait for delivery delivers itself when no row is fresh.
CREATE TABLE worker_heartbeats (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    host    TEXT NOT NULL,
    pid     INTEGER NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL,
    report  TEXT,
    owners  TEXT
    -- The keys of the destinations the process delivers, space-separated (0008); NULL: older.
);

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
    last_run_at    DOUBLE PRECISION,
    problem        TEXT
);

-- The last delivered membership: users X accepted as added and not since removed. payload is
-- the user object X received (hashed identifiers), kept to remove the user by the same keys.
-- Keys in byte order (COLLATE "C"), the order a diff reads them in, as in SQLite.
CREATE TABLE audience_members (
    audience TEXT NOT NULL,
    user_key TEXT COLLATE "C" NOT NULL,
    payload  BYTEA NOT NULL,
    sent_at  DOUBLE PRECISION,
    PRIMARY KEY (audience, user_key)
);

CREATE INDEX audience_members_sent ON audience_members (audience, sent_at);

-- Each member's (key, value) pairs (0009): X deletes a member by any key it was added with, so a
-- removal sends only the values no other member holds.
CREATE TABLE audience_member_ids (
    audience TEXT NOT NULL,
    id_key   TEXT NOT NULL,
    id_value TEXT NOT NULL,
    user_key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (audience, id_key, id_value, user_key)
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


-- Running totals of what happened: never purged, what /metrics exports.
CREATE TABLE counters (
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, labels)
);

-- The same increments per minute (epoch seconds // 60), for the dashboard's hour and day.
CREATE TABLE counter_minutes (
    minute BIGINT NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (minute, name, labels)
);

-- The last events per source with their outcome per destination (hashed identifiers only).
CREATE TABLE recent_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    event       TEXT NOT NULL,
    received_at DOUBLE PRECISION NOT NULL,
    results     BYTEA NOT NULL
);

CREATE INDEX recent_events_source ON recent_events (source, id);

-- The ids of the jobs each collector commit inserted (0017): the debugger finds a recent
-- event's job among those of its commit (received_at = at), not through an index on random
-- message ids.
CREATE TABLE job_commits (
    at       DOUBLE PRECISION NOT NULL,
    first_id BIGINT NOT NULL,
    last_id  BIGINT NOT NULL,
    PRIMARY KEY (at, first_id)
);

-- Small encrypted values (the connected X account's tokens); never plain secrets.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);


-- What X's answers told us about an account (a lower limit, a cap until its reset, a 429 block).
-- Its row is also the lock that serialises the budget transactions of the account.
CREATE TABLE rate_accounts (
    account_id    TEXT PRIMARY KEY,
    events_limit  INTEGER,
    blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    cap_events    INTEGER,
    cap_until     DOUBLE PRECISION,
    cap_since     DOUBLE PRECISION
);

-- Holds (claimed, not yet sent) and sends in the current window of each account.
CREATE TABLE rate_spends (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id TEXT NOT NULL,
    held       BOOLEAN NOT NULL,
    events     INTEGER NOT NULL,
    requests   INTEGER NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    settled_at DOUBLE PRECISION
);

CREATE INDEX rate_spends_account ON rate_spends (account_id);

-- Runs of `xconduit check` and the dashboard's check button; delivery processes poll `runs`.
CREATE TABLE check_runs (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    runs   BIGINT NOT NULL,
    ran_at DOUBLE PRECISION NOT NULL
);

-- Both legs (0014): when the pixel and the server first brought each hashed conversion id.
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

-- Runs of each sync (finished, stopped or failed), newest by id; the syncs page reads them.
CREATE TABLE sync_runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sync          TEXT NOT NULL,
    started_at    DOUBLE PRECISION NOT NULL,
    seconds       DOUBLE PRECISION NOT NULL,
    rows_read     BIGINT NOT NULL,
    enqueued      BIGINT NOT NULL,
    rejected      BIGINT NOT NULL,
    repeated      BIGINT NOT NULL,
    already_sent  BIGINT NOT NULL,
    cursor_before TEXT,
    cursor_after  TEXT,
    outcome       TEXT NOT NULL,
    why           TEXT NOT NULL,
    report        TEXT
);

CREATE INDEX sync_runs_sync ON sync_runs (sync, id);

-- Hourly amounts of the charted counters (sent to X, failed), kept 8 days (0016).
CREATE TABLE counter_hours (
    hour   BIGINT NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (hour, name, labels)
);
