-- Named queries of the PostgreSQL outbox. Each starts with `-- name: <name>` and a one-line
-- description; `xconduit.outbox.sql.load_queries("postgresql")` loads them once. Parameters are
-- psycopg's `%(name)s`. ACTIVE means status IN ('pending', 'retry_scheduled', 'in_flight'),
-- written out each time so that the planner matches the partial index job_state_due.

-- name: migration_lock
-- Serialise migrations of this schema across processes (released at commit).
SELECT pg_advisory_xact_lock(hashtext('xconduit-migrate:' || current_schema()));

-- name: has_schema_version
-- Whether the schema_version table exists in the current schema (a new database has none).
SELECT to_regclass(quote_ident(current_schema()) || '.schema_version') IS NOT NULL;

-- name: schema_version
-- The last migration applied.
SELECT coalesce(max(version), 0) FROM schema_version;

-- name: record_migration
-- Note a migration as applied, in the same transaction as the migration itself.
INSERT INTO schema_version (version, name) VALUES (%(version)s, %(name)s);

-- name: commit_batch
-- In one statement: note each (source, message_id) as seen, and insert the jobs of the events
-- that were new (pending, due at once), in the order given; returns the 1-based positions of
-- the new events (a second copy in the same batch is a duplicate). Job j belongs to event
-- job_events[j] and to the destination of key owners[j]. With :traced (the collector's), the
-- range of the new job ids is noted for the live debugger.
WITH incoming AS (
    SELECT * FROM unnest(%(sources)b::text[], %(message_ids)b::text[])
        WITH ORDINALITY AS e (source, message_id, n)
), fresh AS (
    INSERT INTO received_events (source, message_id, received_at)
    SELECT source, message_id, %(now)s FROM incoming
    ON CONFLICT (source, message_id) DO NOTHING
    RETURNING source, message_id
), firsts AS (
    SELECT min(i.n) AS n FROM incoming AS i JOIN fresh AS f USING (source, message_id)
    GROUP BY i.source, i.message_id
), jobs AS (
    SELECT nextval('delivery_job_ids') AS id, j.* FROM (
        SELECT j.destination, j.account_id, j.pixel_id, j.message_id, j.conversion_id, j.payload,
            j.owner, j.priority, j.conversion_time
        FROM unnest(
            %(job_events)b::bigint[], %(destinations)b::text[], %(accounts)b::text[],
            %(pixels)b::text[], %(job_messages)b::text[], %(conversions)b::text[],
            %(payloads)b::bytea[], %(owners)b::text[], %(priorities)b::smallint[],
            %(times)b::text[]
        ) WITH ORDINALITY AS j (
            n, destination, account_id, pixel_id, message_id, conversion_id, payload, owner,
            priority, conversion_time, k
        )
        JOIN firsts USING (n)
        ORDER BY j.k
    ) AS j
), payloads AS (
    INSERT INTO job_payloads (
        id, destination, account_id, pixel_id, message_id, conversion_id, payload
    )
    SELECT id, destination, account_id, pixel_id, message_id, conversion_id, payload FROM jobs
), states AS (
    INSERT INTO job_state (
        id, destination, status, attempts, created_at, next_attempt_at, owner, priority,
        conversion_time
    )
    SELECT id, destination, 'pending', 0, %(now)s, %(now)s, owner, priority, conversion_time
    FROM jobs
), commits AS (
    INSERT INTO job_commits (at, first_id, last_id)
    SELECT %(now)s, min(id), max(id) FROM jobs WHERE %(traced)s HAVING count(*) > 0
)
SELECT n FROM firsts;

-- name: next_job_ids
-- Reserve ids for :count new jobs.
SELECT nextval('delivery_job_ids') FROM generate_series(1, %(count)s);

-- name: copy_payloads
-- Bulk-load immutable job payloads.
COPY job_payloads (id, destination, account_id, pixel_id, message_id, conversion_id, payload)
FROM STDIN;

-- name: copy_states
-- Bulk-load the state of new jobs.
COPY job_state (
    id, destination, status, attempts, created_at, next_attempt_at, owner, priority,
    conversion_time
) FROM STDIN;

-- name: claim_batch
-- Take due jobs of one destination made by :owner (never another owner's) as in_flight until
-- lease_until: :oldest of them longest due first, the rest by priority, the freshest conversion
-- first within one (xconduit.config.priority); rows another worker is claiming right now are
-- skipped, not waited for.
WITH oldest AS (
    SELECT id FROM job_state
    WHERE destination = %(destination)s
      AND owner = %(owner)s
      AND status IN ('pending', 'retry_scheduled', 'in_flight')
      AND next_attempt_at <= %(now)s
    ORDER BY next_attempt_at, id
    LIMIT %(oldest)s
    FOR UPDATE SKIP LOCKED
), urgent AS (
    SELECT id FROM job_state
    WHERE destination = %(destination)s
      AND owner = %(owner)s
      AND status IN ('pending', 'retry_scheduled', 'in_flight')
      AND next_attempt_at <= %(now)s
      AND id NOT IN (SELECT id FROM oldest)
    ORDER BY priority, conversion_time DESC, id
    LIMIT %(limit)s - %(oldest)s
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT id FROM oldest UNION ALL SELECT id FROM urgent
), claimed AS (
    UPDATE job_state AS s
    SET status = 'in_flight',
        attempts = s.attempts + 1,
        lease_until = %(lease_until)s,
        next_attempt_at = %(lease_until)s
    FROM due
    WHERE s.id = due.id
    RETURNING s.id, s.status, s.attempts, s.created_at, s.next_attempt_at, s.lease_until,
        s.last_error, s.delivered_at, s.owner, s.conversion_time
)
SELECT c.id, p.destination, p.account_id, p.pixel_id, p.message_id, p.conversion_id, p.payload,
    c.status, c.attempts, c.created_at, c.next_attempt_at, c.lease_until, c.last_error,
    c.delivered_at, c.owner, c.conversion_time
FROM claimed AS c JOIN job_payloads AS p ON p.id = c.id
ORDER BY c.id;

-- name: mark_delivered
-- in_flight -> delivered for every id in :ids; no change in any other state.
UPDATE job_state
SET status = 'delivered', delivered_at = %(now)s, lease_until = NULL
WHERE id = ANY(%(ids)s) AND status = 'in_flight';

-- name: schedule_retry
-- in_flight -> retry_scheduled, due at :at, for every id in :ids; no change in any other state.
UPDATE job_state
SET status = 'retry_scheduled', next_attempt_at = %(at)s, last_error = %(error)s,
    lease_until = NULL
WHERE id = ANY(%(ids)s) AND status = 'in_flight';

-- name: dead_letter
-- in_flight -> dead, each id with its own reason; no change for a job in any other state.
UPDATE job_state AS s
SET status = 'dead', last_error = d.reason, lease_until = NULL
FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS d (id, reason)
WHERE s.id = d.id AND s.status = 'in_flight';

-- name: release
-- in_flight -> pending, due now, without counting the attempt (shutdown); ids in :ids.
UPDATE job_state
SET status = 'pending', attempts = attempts - 1, next_attempt_at = %(now)s, lease_until = NULL
WHERE id = ANY(%(ids)s) AND status = 'in_flight';

-- name: next_due_at
-- When the next active job of a destination made by :owner is due.
SELECT min(next_attempt_at) FROM job_state
WHERE destination = %(destination)s AND owner = %(owner)s
  AND status IN ('pending', 'retry_scheduled', 'in_flight');

-- name: destinations
-- Destinations with active jobs.
SELECT DISTINCT destination FROM job_state
WHERE status IN ('pending', 'retry_scheduled', 'in_flight')
ORDER BY destination;

-- name: counts
-- Jobs per destination and state.
SELECT destination, status, count(*) FROM job_state GROUP BY destination, status;

-- name: job_owners
-- Jobs per destination, owner and state.
SELECT destination, owner, status, count(*) FROM job_state GROUP BY status, destination, owner;

-- name: active_job_owners
-- Jobs not delivered yet per destination and owner (reads only the partial due index).
SELECT destination, owner, count(*) FROM job_state
WHERE status IN ('pending', 'retry_scheduled', 'in_flight')
GROUP BY destination, owner;

-- name: adopt_jobs
-- Give the untagged jobs of one destination, account and pixel to :owner.
UPDATE job_state AS s SET owner = %(owner)s
FROM job_payloads AS p
WHERE s.owner = '' AND s.destination = %(destination)s AND p.id = s.id
  AND p.account_id = %(account_id)s AND p.pixel_id = %(pixel_id)s;

-- name: list_dead
-- Dead letters, oldest first, of one destination or (NULL) all.
SELECT s.id, p.destination, p.account_id, p.pixel_id, p.message_id, p.conversion_id, p.payload,
    s.status, s.attempts, s.created_at, s.next_attempt_at, s.lease_until, s.last_error,
    s.delivered_at, s.owner
FROM job_state AS s JOIN job_payloads AS p ON p.id = s.id
WHERE s.status = 'dead' AND (%(destination)s::text IS NULL OR s.destination = %(destination)s)
ORDER BY s.id
LIMIT %(limit)s;

-- name: replay_dead
-- dead -> pending for the ids in :ids (all when NULL) within one destination (all when NULL),
-- attempts from zero and a new retry window (created_at = now).
UPDATE job_state
SET status = 'pending', attempts = 0, next_attempt_at = %(now)s, lease_until = NULL,
    created_at = %(now)s
WHERE status = 'dead'
  AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
  AND (%(destination)s::text IS NULL OR destination = %(destination)s);

-- name: purge_dead
-- Delete dead letters chosen like replay_dead: the state, then the payload.
WITH gone AS (
    DELETE FROM job_state
    WHERE status = 'dead'
      AND (%(ids)s::bigint[] IS NULL OR id = ANY(%(ids)s::bigint[]))
      AND (%(destination)s::text IS NULL OR destination = %(destination)s)
    RETURNING id
)
DELETE FROM job_payloads WHERE id IN (SELECT id FROM gone);

-- name: purge_delivered
-- Delete up to :limit jobs delivered before :older_than (called in a loop, short transactions):
-- the state, then the payload.
WITH gone AS (
    DELETE FROM job_state
    WHERE id IN (
        SELECT id FROM job_state
        WHERE status = 'delivered' AND delivered_at < %(older_than)s
        LIMIT %(limit)s
    )
    RETURNING id
)
DELETE FROM job_payloads WHERE id IN (SELECT id FROM gone);

-- name: purge_dedup
-- Forget up to :limit (source, message_id) pairs seen before :older_than (called in a loop).
DELETE FROM received_events
WHERE (source, message_id) IN (
    SELECT source, message_id FROM received_events
    WHERE received_at < %(older_than)s
    LIMIT %(limit)s
);

-- name: sync_state
-- A sync's cursor (JSON) and generation; no row before its first run.
SELECT cursor, generation, updated_at FROM sync_state WHERE name = %(name)s;

-- name: put_sync_state
-- Set a sync's cursor and generation (in the transaction that commits its rows' jobs).
INSERT INTO sync_state (name, cursor, generation, updated_at)
VALUES (%(name)s, %(cursor)s, %(generation)s, %(now)s)
ON CONFLICT (name) DO UPDATE
SET cursor = excluded.cursor, generation = excluded.generation, updated_at = excluded.updated_at;

-- name: last_job_id
-- The greatest delivery job id ever given (the sequence's); 0 on a new outbox.
SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM delivery_job_ids;

-- name: job_counts_between
-- Jobs of one destination with ids in [:first, :last] per state (a sync run's jobs).
SELECT status, count(*) FROM job_state
WHERE id BETWEEN %(first)s AND %(last)s AND destination = %(destination)s
GROUP BY status;

-- name: heartbeat
-- Note a delivery process as alive now.
INSERT INTO worker_heartbeats (id, kind, host, pid, seen_at, report, owners)
VALUES (%(id)s, %(kind)s, %(host)s, %(pid)s, %(now)s, %(report)s, %(owners)s)
ON CONFLICT (id) DO UPDATE
SET seen_at = excluded.seen_at, report = excluded.report, owners = excluded.owners;

-- name: forget_worker
-- A delivery process stopped cleanly.
DELETE FROM worker_heartbeats WHERE id = %(id)s;

-- name: live_workers
-- Delivery processes seen since :since that deliver the destination of key :owner (NULL: any;
-- a process that reports no keys, an older one, delivers any).
SELECT count(*) FROM worker_heartbeats
WHERE seen_at >= %(since)s
  AND (%(owner)s::text IS NULL OR owners IS NULL
       OR strpos(' ' || owners || ' ', ' ' || %(owner)s::text || ' ') > 0);

-- name: live_reports
-- Delivery processes seen since :since, with what each reports.
SELECT id, kind, host, pid, seen_at, report, owners FROM worker_heartbeats
WHERE seen_at >= %(since)s ORDER BY host, pid, id;

-- name: add_counts
-- Add to counters' running totals (each created by its first increment); one row per counter.
INSERT INTO counters (name, labels, value)
SELECT * FROM unnest(%(names)b::text[], %(labels)b::text[], %(values)b::float8[])
ON CONFLICT (name, labels) DO UPDATE SET value = counters.value + excluded.value;

-- name: add_count_minutes
-- Add to counters' amounts of one minute; one row per counter.
INSERT INTO counter_minutes (minute, name, labels, value)
SELECT %(minute)s, * FROM unnest(%(names)b::text[], %(labels)b::text[], %(values)b::float8[])
ON CONFLICT (minute, name, labels) DO UPDATE SET value = counter_minutes.value + excluded.value;

-- name: counter_totals
-- Every counter's total.
SELECT name, labels, value FROM counters ORDER BY name, labels;

-- name: counter_minutes
-- Per-minute amounts from :minute on.
SELECT minute, name, labels, value FROM counter_minutes WHERE minute >= %(minute)s
ORDER BY minute, name, labels;

-- name: purge_counter_minutes
-- Forget per-minute amounts before :minute.
DELETE FROM counter_minutes WHERE minute < %(minute)s;

-- name: insert_recent_events
-- Keep accepted events for the live debugger, in the order given, each with its commit time.
INSERT INTO recent_events (source, message_id, event, received_at, results)
SELECT source, message_id, event, received_at, results
FROM unnest(%(sources)b::text[], %(message_ids)b::text[], %(events)b::text[],
    %(times)b::float8[], %(results)b::bytea[])
    WITH ORDINALITY AS r (source, message_id, event, received_at, results, k)
ORDER BY k;

-- name: trim_recent_events
-- Keep only the newest :keep recent events of a source.
DELETE FROM recent_events
WHERE source = %(source)s AND id <= (
    SELECT id FROM recent_events WHERE source = %(source)s ORDER BY id DESC
    LIMIT 1 OFFSET %(keep)s
);

-- name: recent_events
-- The newest recent events, of one source or (:source NULL) all.
SELECT id, source, message_id, event, received_at, results FROM recent_events
WHERE (%(source)s::text IS NULL OR source = %(source)s)
ORDER BY id DESC
LIMIT %(limit)s;

-- name: job_state
-- The status of the job of one (destination, message_id) among those of the commit(s) at
-- :received_at (a recent event's), if it is still kept.
SELECT s.status FROM job_commits AS c
JOIN job_payloads AS p ON p.id BETWEEN c.first_id AND c.last_id
JOIN job_state AS s ON s.id = p.id
WHERE c.at = %(received_at)s AND p.destination = %(destination)s
  AND p.message_id = %(message_id)s
ORDER BY p.id DESC LIMIT 1;

-- name: trim_job_commits
-- Forget the commits no recent event kept points at (their jobs are looked up by no one) once
-- 10 minutes old: a fleet's other collector may still hold rows of its own to write.
DELETE FROM job_commits
WHERE at < %(now)s - 600 AND at NOT IN (SELECT received_at FROM recent_events);

-- name: put_secret
-- Store or replace a secret.
INSERT INTO secrets (name, value, updated_at) VALUES (%(name)s, %(value)s, %(now)s)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at;

-- name: get_secret
-- One secret.
SELECT value FROM secrets WHERE name = %(name)s;

-- name: delete_secret
-- Forget a secret.
DELETE FROM secrets WHERE name = %(name)s;
