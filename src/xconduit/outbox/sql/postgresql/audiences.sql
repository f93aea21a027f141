-- Named queries of the custom audiences tables (migration 0003). Same format as queries.sql;
-- PostgreSQL.

-- name: audience_record
-- The recorded X audience of one configured audience.
SELECT name, account_id, audience_id, x_name, recorded_at, members, last_flush_at, last_run_at,
    problem
FROM audiences WHERE name = %(name)s;

-- name: audience_records
-- Every recorded audience, by name.
SELECT name, account_id, audience_id, x_name, recorded_at, members, last_flush_at, last_run_at,
    problem
FROM audiences ORDER BY name;

-- name: record_audience
-- Remember the X audience of a configured audience; the first record wins.
INSERT INTO audiences (name, account_id, audience_id, x_name, recorded_at)
VALUES (%(name)s, %(account_id)s, %(audience_id)s, %(x_name)s, %(now)s)
ON CONFLICT (name) DO NOTHING;

-- name: note_audience_run
-- A snapshot of the audience was compared at :now.
UPDATE audiences SET last_run_at = %(now)s WHERE name = %(name)s;

-- name: settle_change
-- Drop the pending change of a user whose new state is what X already has (an add for a
-- delivered member, a removal for a user X does not have from us).
DELETE FROM audience_changes
WHERE audience = %(audience)s AND user_key = %(user_key)s
  AND (%(op)s::text = 'add') = EXISTS (
      SELECT 1 FROM audience_members WHERE audience = %(audience)s AND user_key = %(user_key)s
  );

-- name: upsert_change
-- Queue a change unless X already has that state; the later change of a user wins.
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
SELECT %(audience)s::text, %(user_key)s::text, %(op)s::text, %(payload)s::bytea,
    %(now)s::double precision, %(version)s::bigint
WHERE (%(op)s::text = 'add') != EXISTS (
    SELECT 1 FROM audience_members WHERE audience = %(audience)s AND user_key = %(user_key)s
)
ON CONFLICT (audience, user_key) DO UPDATE
SET op = excluded.op, payload = excluded.payload, version = excluded.version;

-- name: clear_changes
-- Forget every pending change of an audience (a new snapshot is the latest word on everyone).
DELETE FROM audience_changes WHERE audience = %(audience)s;

-- name: insert_change
-- Queue a change computed against the delivered members (a snapshot's diff).
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
VALUES (%(audience)s, %(user_key)s, %(op)s, %(payload)s, %(now)s, %(version)s)
ON CONFLICT (audience, user_key) DO UPDATE
SET op = excluded.op, payload = excluded.payload, version = excluded.version;

-- name: pending_summary
-- How many changes wait for an audience, and since when the oldest waits.
SELECT count(*), min(pending_since) FROM audience_changes WHERE audience = %(audience)s;

-- name: pending_changes
-- Up to :limit pending changes, removals first (X applies operations in order), oldest first;
-- a removal carries the identifiers the user was added with when we know them.
SELECT c.user_key, c.op, coalesce(CASE WHEN c.op = 'remove' THEN m.payload END, c.payload),
    c.version
FROM audience_changes c
LEFT JOIN audience_members m ON m.audience = c.audience AND m.user_key = c.user_key
WHERE c.audience = %(audience)s
ORDER BY c.op DESC, c.pending_since, c.user_key
LIMIT %(limit)s;

-- name: take_change
-- Remove a change a flush turned into a job, unless it changed since it was read.
DELETE FROM audience_changes
WHERE audience = %(audience)s AND user_key = %(user_key)s AND version = %(version)s;

-- name: claim_audience_job
-- The oldest active job of an audience, if due: audience jobs go out one at a time, in order
-- (the row lock makes a second claimer wait, then find it in flight).
WITH oldest AS (
    SELECT id FROM job_state
    WHERE destination = %(destination)s
      AND status IN ('pending', 'retry_scheduled', 'in_flight')
    ORDER BY id
    LIMIT 1
    FOR UPDATE
), claimed AS (
    UPDATE job_state AS s
    SET status = 'in_flight',
        attempts = s.attempts + 1,
        lease_until = %(lease_until)s,
        next_attempt_at = %(lease_until)s
    FROM oldest
    WHERE s.id = oldest.id AND s.next_attempt_at <= %(now)s
    RETURNING s.id, s.status, s.attempts, s.created_at, s.next_attempt_at, s.lease_until,
        s.last_error, s.delivered_at
)
SELECT c.id, p.destination, p.account_id, p.pixel_id, p.message_id, p.conversion_id, p.payload,
    c.status, c.attempts, c.created_at, c.next_attempt_at, c.lease_until, c.last_error,
    c.delivered_at
FROM claimed AS c JOIN job_payloads AS p ON p.id = c.id;

-- name: active_jobs
-- Jobs of a destination not yet delivered or dead.
SELECT count(*) FROM job_state
WHERE destination = %(destination)s AND status IN ('pending', 'retry_scheduled', 'in_flight');

-- name: add_member
-- A user X accepted as added (changes no row for a member: see update_member).
INSERT INTO audience_members (audience, user_key, payload, sent_at)
VALUES (%(audience)s, %(user_key)s, %(payload)s, %(now)s)
ON CONFLICT (audience, user_key) DO NOTHING;

-- name: update_member
-- A member X accepted again: keep the identifiers it was last sent with, and when.
UPDATE audience_members SET payload = %(payload)s, sent_at = %(now)s
WHERE audience = %(audience)s AND user_key = %(user_key)s;

-- name: member_payloads
-- The user objects of the members among :keys.
SELECT user_key, payload FROM audience_members
WHERE audience = %(audience)s AND user_key = ANY(%(keys)s::text[]);

-- name: delete_member_id
-- Forget one (key, value) pair of a member (removed, or sent with other identifiers).
DELETE FROM audience_member_ids
WHERE audience = %(audience)s AND id_key = %(id_key)s AND id_value = %(id_value)s
  AND user_key = %(user_key)s;

-- name: insert_member_id
-- Index one (key, value) pair of a member X accepted.
INSERT INTO audience_member_ids (audience, id_key, id_value, user_key)
VALUES (%(audience)s, %(id_key)s, %(id_value)s, %(user_key)s)
ON CONFLICT DO NOTHING;

-- name: shared_ids
-- Which of the (key, value) pairs (:keys[i], :values[i]) a member holds, other than the
-- members :excluded.
SELECT DISTINCT i.id_key, i.id_value
FROM unnest(%(keys)s::text[], %(values)s::text[]) AS p (id_key, id_value)
JOIN audience_member_ids AS i
  ON i.audience = %(audience)s AND i.id_key = p.id_key AND i.id_value = p.id_value
WHERE NOT (i.user_key = ANY(%(excluded)s::text[]));

-- name: mark_resend
-- Members holding a value X just deleted (:keys, :values as in shared_ids) lost it at X: send
-- them again with the next refresh.
UPDATE audience_members SET sent_at = NULL
WHERE audience = %(audience)s AND user_key IN (
    SELECT i.user_key
    FROM unnest(%(keys)s::text[], %(values)s::text[]) AS p (id_key, id_value)
    JOIN audience_member_ids AS i
      ON i.audience = %(audience)s AND i.id_key = p.id_key AND i.id_value = p.id_value
);

-- name: queue_refresh
-- Queue members last sent before :before (or never recorded) to be sent again, unless a change
-- of theirs waits already: X forgets a member 13 months after the request that added it.
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
SELECT audience, user_key, 'add', payload, %(now)s, %(version)s
FROM audience_members
WHERE audience = %(audience)s AND (sent_at IS NULL OR sent_at < %(before)s)
ON CONFLICT (audience, user_key) DO NOTHING;

-- name: note_problem
-- Why the audience's last snapshot was refused (NULL once one goes through).
UPDATE audiences SET problem = %(problem)s WHERE name = %(name)s;

-- name: remove_member
-- A user X accepted as removed.
DELETE FROM audience_members WHERE audience = %(audience)s AND user_key = %(user_key)s;

-- name: count_members
-- Delivered members of an audience.
SELECT count(*) FROM audience_members WHERE audience = %(audience)s;

-- name: note_flush
-- X accepted a request of the audience: the member count moves by :delta; the last flush.
UPDATE audiences SET members = members + %(delta)s, last_flush_at = %(now)s WHERE name = %(name)s;

-- name: member_keys
-- Delivered member keys of an audience after :after, in key order (paged).
SELECT user_key FROM audience_members
WHERE audience = %(audience)s AND user_key > %(after)s
ORDER BY user_key
LIMIT %(limit)s;

-- name: suppressed_members
-- Members whose user key is in :keys or one of whose identifiers is in :hashes (text arrays);
-- the payload is a JSON object of identifier lists (a lone value counts as a list of one).
SELECT m.user_key, m.payload
FROM audience_members AS m
WHERE m.audience = %(audience)s
  AND (m.user_key = ANY(%(keys)s::text[])
       OR EXISTS (
           SELECT 1
           FROM jsonb_path_query(convert_from(m.payload, 'UTF8')::jsonb, 'lax $.*[*]') AS v
           WHERE v #>> '{}' = ANY(%(hashes)s::text[])
       ));

-- name: active_payloads
-- The payloads of a destination's jobs not yet delivered or dead (changes still to send).
SELECT p.payload FROM job_state AS s JOIN job_payloads AS p ON p.id = s.id
WHERE s.destination = %(destination)s AND s.status IN ('pending', 'retry_scheduled', 'in_flight')
ORDER BY s.id;

-- name: move_audience
-- --recreate: the audience is now another X audience; its problem (X no longer knew the old
-- one) is solved.
UPDATE audiences SET audience_id = %(audience_id)s, x_name = %(x_name)s, recorded_at = %(now)s,
    problem = NULL
WHERE name = %(name)s;

-- name: move_audience_jobs
-- The audience's requests not delivered yet (waiting or dead) go to the new X audience (the one
-- update of job_payloads: a rare, deliberate --recreate).
UPDATE job_payloads AS p SET pixel_id = %(audience_id)s
FROM job_state AS s
WHERE s.id = p.id AND s.destination = %(destination)s AND s.status <> 'delivered';
