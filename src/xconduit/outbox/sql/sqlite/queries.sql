-- Named queries of the SQLite outbox. Each starts with `-- name: <name>` and a one-line
-- description; `xconduit.outbox.sql.load_queries("sqlite")` loads them once.
-- ACTIVE means status IN ('pending', 'retry_scheduled', 'in_flight'), written out each time so
-- that the planner matches the partial index delivery_jobs_due.

-- name: has_schema_version
-- Whether the schema_version table exists (a new database has none).
SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';

-- name: schema_version
-- The last migration applied.
SELECT coalesce(max(version), 0) FROM schema_version;

-- name: record_migration
-- Note a migration as applied, in the same transaction as the migration itself.
INSERT INTO schema_version (version, name) VALUES (:version, :name);

-- name: remember_event
-- Note (source, message_id) as seen; changes no row when it was seen already (a duplicate).
INSERT INTO received_events (source, message_id, received_at)
VALUES (:source, :message_id, :now)
ON CONFLICT (source, message_id) DO NOTHING;

-- name: insert_job
-- Enqueue one delivery job of :owner (its destination's key), due at once (an audience's:
-- the default priority, unused by its claim).
INSERT INTO delivery_jobs (
    destination, account_id, pixel_id, message_id, conversion_id, payload,
    status, attempts, created_at, next_attempt_at, owner
)
VALUES (
    :destination, :account_id, :pixel_id, :message_id, :conversion_id, :payload,
    'pending', 0, :now, :now, :owner
);

-- name: insert_conversion_job
-- Enqueue one conversion's delivery job of :owner, due at once, with its claim order;
-- :traced as in insert_jobs_bulk.
INSERT INTO delivery_jobs (
    destination, account_id, pixel_id, message_id, conversion_id, payload,
    status, attempts, created_at, next_attempt_at, traced, owner, priority, conversion_time
)
VALUES (
    :destination, :account_id, :pixel_id, :message_id, :conversion_id, :payload,
    'pending', 0, :now, :now, :traced, :owner, :priority, :conversion_time
);

-- name: claim_batch
-- Take due jobs of one destination made by :owner (another owner's jobs are never taken) as
-- in_flight until :lease_until: :oldest of them longest due first, the rest by priority, the
-- freshest conversion first within one (xconduit.config.priority).
UPDATE delivery_jobs
SET status = 'in_flight',
    attempts = attempts + 1,
    lease_until = :lease_until,
    next_attempt_at = :lease_until
WHERE id IN (
    WITH oldest AS (
        SELECT id FROM delivery_jobs
        WHERE destination = :destination
          AND owner = :owner
          AND status IN ('pending', 'retry_scheduled', 'in_flight')
          AND next_attempt_at <= :now
        ORDER BY next_attempt_at, id
        LIMIT :oldest
    )
    SELECT id FROM oldest
    UNION ALL
    SELECT id FROM (
        SELECT id FROM delivery_jobs
        WHERE destination = :destination
          AND owner = :owner
          AND status IN ('pending', 'retry_scheduled', 'in_flight')
          AND +next_attempt_at <= :now  -- "+": walk delivery_jobs_priority, no sort
          AND id NOT IN (SELECT id FROM oldest)
        ORDER BY priority, conversion_time DESC, id
        LIMIT :limit - :oldest
    )
)
RETURNING id, destination, account_id, pixel_id, message_id, conversion_id, payload, status,
    attempts, created_at, next_attempt_at, lease_until, last_error, delivered_at, owner,
    conversion_time;

-- name: mark_delivered
-- in_flight -> delivered for every id in the JSON array :ids; no change in any other state.
UPDATE delivery_jobs
SET status = 'delivered', delivered_at = :now, lease_until = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'in_flight';

-- name: schedule_retry
-- in_flight -> retry_scheduled, due at :at, for every id in :ids; no change in any other state.
UPDATE delivery_jobs
SET status = 'retry_scheduled', next_attempt_at = :at, last_error = :error, lease_until = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'in_flight';

-- name: dead_letter
-- in_flight -> dead with its reason; no change for a job in any other state.
UPDATE delivery_jobs
SET status = 'dead', last_error = :reason, lease_until = NULL
WHERE id = :id AND status = 'in_flight';

-- name: release
-- in_flight -> pending, due now, without counting the attempt (shutdown); ids in :ids.
UPDATE delivery_jobs
SET status = 'pending', attempts = attempts - 1, next_attempt_at = :now, lease_until = NULL
WHERE id IN (SELECT value FROM json_each(:ids)) AND status = 'in_flight';

-- name: next_due_at
-- When the next active job of a destination made by :owner is due.
SELECT min(next_attempt_at) FROM delivery_jobs
WHERE destination = :destination AND owner = :owner
  AND status IN ('pending', 'retry_scheduled', 'in_flight');

-- name: destinations
-- Destinations with active jobs.
SELECT DISTINCT destination FROM delivery_jobs
WHERE status IN ('pending', 'retry_scheduled', 'in_flight')
ORDER BY destination;

-- name: counts
-- Jobs per destination and state.
SELECT destination, status, count(*) FROM delivery_jobs GROUP BY destination, status;

-- name: job_owners
-- Jobs per destination, owner and state.
SELECT destination, owner, status, count(*) FROM delivery_jobs
GROUP BY status, destination, owner;

-- name: active_job_owners
-- Jobs not delivered yet per destination and owner (reads only the partial due index).
SELECT destination, owner, count(*) FROM delivery_jobs
WHERE status IN ('pending', 'retry_scheduled', 'in_flight')
GROUP BY destination, owner;

-- name: adopt_jobs
-- Give the untagged jobs of one destination, account and pixel to :owner.
UPDATE delivery_jobs SET owner = :owner
WHERE owner = '' AND destination = :destination AND account_id = :account_id
  AND pixel_id = :pixel_id;

-- name: list_dead
-- Dead letters, oldest first, of one destination or (:destination NULL) all.
SELECT id, destination, account_id, pixel_id, message_id, conversion_id, payload, status,
    attempts, created_at, next_attempt_at, lease_until, last_error, delivered_at, owner
FROM delivery_jobs
WHERE status = 'dead' AND (:destination IS NULL OR destination = :destination)
ORDER BY id
LIMIT :limit;

-- name: replay_dead
-- dead -> pending for one destination or (:destination NULL) all, attempts from zero and a new
-- retry window (created_at = now: the window is measured from created_at).
UPDATE delivery_jobs
SET status = 'pending', attempts = 0, next_attempt_at = :now, lease_until = NULL, created_at = :now
WHERE status = 'dead' AND (:destination IS NULL OR destination = :destination);

-- name: replay_dead_job
-- dead -> pending for one job (within one destination unless :destination is NULL), as above.
UPDATE delivery_jobs
SET status = 'pending', attempts = 0, next_attempt_at = :now, lease_until = NULL, created_at = :now
WHERE id = :id AND status = 'dead' AND (:destination IS NULL OR destination = :destination);

-- name: purge_dead
-- Delete the dead letters of one destination or (:destination NULL) all.
DELETE FROM delivery_jobs
WHERE status = 'dead' AND (:destination IS NULL OR destination = :destination);

-- name: purge_dead_job
-- Delete one dead letter (within one destination unless :destination is NULL).
DELETE FROM delivery_jobs
WHERE id = :id AND status = 'dead' AND (:destination IS NULL OR destination = :destination);

-- name: purge_delivered
-- Delete up to :limit jobs delivered before :older_than (called in a loop, short transactions).
DELETE FROM delivery_jobs
WHERE id IN (
    SELECT id FROM delivery_jobs
    WHERE status = 'delivered' AND delivered_at < :older_than
    LIMIT :limit
);

-- name: purge_dedup
-- Forget up to :limit (source, message_id) pairs seen before :older_than (called in a loop).
DELETE FROM received_events
WHERE (source, message_id) IN (
    SELECT source, message_id FROM received_events WHERE received_at < :older_than LIMIT :limit
);

-- name: sync_state
-- A sync's cursor (JSON), generation and last commit time; no row before its first run.
SELECT cursor, generation, updated_at FROM sync_state WHERE name = :name;

-- name: put_sync_state
-- Set a sync's cursor and generation (in the transaction that commits its rows' jobs).
INSERT INTO sync_state (name, cursor, generation, updated_at)
VALUES (:name, :cursor, :generation, :now)
ON CONFLICT (name) DO UPDATE
SET cursor = excluded.cursor, generation = excluded.generation, updated_at = excluded.updated_at;

-- name: last_job_id
-- The greatest delivery job id ever given (AUTOINCREMENT's counter); 0 on a new outbox.
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'delivery_jobs'), 0);

-- name: job_counts_between
-- Jobs of one destination with ids in [:first, :last] per state (a sync run's jobs).
SELECT status, count(*) FROM delivery_jobs
WHERE id BETWEEN :first AND :last AND destination = :destination
GROUP BY status;

-- name: heartbeat
-- Note a delivery process as alive now.
INSERT INTO worker_heartbeats (id, kind, host, pid, seen_at, report, owners)
VALUES (:id, :kind, :host, :pid, :now, :report, :owners)
ON CONFLICT (id) DO UPDATE
SET seen_at = excluded.seen_at, report = excluded.report, owners = excluded.owners;

-- name: forget_worker
-- A delivery process stopped cleanly.
DELETE FROM worker_heartbeats WHERE id = :id;

-- name: live_workers
-- Delivery processes seen since :since that deliver the destination of key :owner (NULL: any;
-- a process that reports no keys, an older one, delivers any).
SELECT count(*) FROM worker_heartbeats
WHERE seen_at >= :since
  AND (:owner IS NULL OR owners IS NULL OR instr(' ' || owners || ' ', ' ' || :owner || ' ') > 0);

-- name: live_reports
-- Delivery processes seen since :since, with what each reports.
SELECT id, kind, host, pid, seen_at, report, owners FROM worker_heartbeats
WHERE seen_at >= :since ORDER BY host, pid, id;

-- name: seen_events_bulk
-- The message ids of the JSON array :ids (one source) seen already, as one JSON array: one row,
-- asked when some ids of a batch were seen (xconduit.outbox.sqlite._commit_bulk).
SELECT json_group_array(j.value) FROM json_each(:ids) AS j
WHERE EXISTS (
    SELECT 1 FROM received_events AS r WHERE r.source = :source AND r.message_id = j.value
);

-- name: remember_events_bulk
-- Note every message id of the JSON array :ids (one source) as seen.
INSERT INTO received_events (source, message_id, received_at)
SELECT :source, value, :now FROM json_each(:ids) WHERE true
ON CONFLICT (source, message_id) DO NOTHING;

-- name: insert_jobs_bulk
-- Enqueue jobs for one destination, account, pixel and owner, of the JSON array :jobs
-- ([message_id, conversion_id, payload text, priority, conversion_time]), due at once, ids in
-- array order; :traced 1 for the collector's (the debugger looks them up), 0 for a sync's.
INSERT INTO delivery_jobs (
    destination, account_id, pixel_id, message_id, conversion_id, payload,
    status, attempts, created_at, next_attempt_at, traced, owner, priority, conversion_time
)
SELECT :destination, :account_id, :pixel_id, json_extract(value, '$[0]'),
    json_extract(value, '$[1]'), CAST(json_extract(value, '$[2]') AS BLOB),
    'pending', 0, :now, :now, :traced, :owner, json_extract(value, '$[3]'),
    json_extract(value, '$[4]')
FROM json_each(:jobs);

-- name: add_count
-- Add to a counter's running total (created by its first increment).
INSERT INTO counters (name, labels, value) VALUES (:name, :labels, :value)
ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value;

-- name: add_count_minute
-- Add to a counter's amount of one minute.
INSERT INTO counter_minutes (minute, name, labels, value) VALUES (:minute, :name, :labels, :value)
ON CONFLICT (minute, name, labels) DO UPDATE SET value = value + excluded.value;

-- name: counter_totals
-- Every counter's total.
SELECT name, labels, value FROM counters ORDER BY name, labels;

-- name: counter_minutes
-- Per-minute amounts from :minute on.
SELECT minute, name, labels, value FROM counter_minutes WHERE minute >= :minute
ORDER BY minute, name, labels;

-- name: purge_counter_minutes
-- Forget per-minute amounts before :minute.
DELETE FROM counter_minutes WHERE minute < :minute;

-- name: insert_recent_event
-- Keep an accepted event for the live debugger.
INSERT INTO recent_events (source, message_id, event, received_at, results)
VALUES (:source, :message_id, :event, :now, :results);

-- name: trim_recent_events
-- Keep only the newest :keep recent events of a source.
DELETE FROM recent_events
WHERE source = :source AND id <= (
    SELECT id FROM recent_events WHERE source = :source ORDER BY id DESC LIMIT 1 OFFSET :keep
);

-- name: recent_events
-- The newest recent events, of one source or (:source NULL) all.
SELECT id, source, message_id, event, received_at, results FROM recent_events
WHERE (:source IS NULL OR source = :source)
ORDER BY id DESC
LIMIT :limit;

-- name: job_state
-- The status of the job of one (destination, message_id) among those of the commit(s) at
-- :received_at (a recent event's), if it is still kept.
SELECT j.status FROM job_commits AS c
JOIN delivery_jobs AS j ON j.id BETWEEN c.first_id AND c.last_id
WHERE c.at = :received_at AND j.destination = :destination AND j.message_id = :message_id
  AND j.traced = 1
ORDER BY j.id DESC LIMIT 1;

-- name: note_job_commit
-- The ids of the jobs this transaction inserted after :after, under the commit's time.
INSERT INTO job_commits (at, first_id, last_id)
SELECT :now, :after + 1, seq FROM sqlite_sequence WHERE name = 'delivery_jobs' AND seq > :after;

-- name: trim_job_commits
-- Forget the commits no recent event kept points at (their jobs are looked up by no one) once
-- 10 minutes old: another process on this file may still hold rows of its own to write.
DELETE FROM job_commits
WHERE at < :now - 600 AND at NOT IN (SELECT received_at FROM recent_events);

-- name: put_secret
-- Store or replace a secret.
INSERT INTO secrets (name, value, updated_at) VALUES (:name, :value, :now)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: get_secret
-- One secret.
SELECT value FROM secrets WHERE name = :name;

-- name: delete_secret
-- Forget a secret.
DELETE FROM secrets WHERE name = :name;
