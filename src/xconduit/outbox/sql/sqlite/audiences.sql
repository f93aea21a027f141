-- Named queries of the custom audiences tables (migration 0003). Same format as queries.sql.

-- name: audience_record
-- The recorded X audience of one configured audience.
SELECT name, account_id, audience_id, x_name, recorded_at, members, last_flush_at, last_run_at,
    problem
FROM audiences WHERE name = :name;

-- name: audience_records
-- Every recorded audience, by name.
SELECT name, account_id, audience_id, x_name, recorded_at, members, last_flush_at, last_run_at,
    problem
FROM audiences ORDER BY name;

-- name: record_audience
-- Remember the X audience of a configured audience; the first record wins.
INSERT INTO audiences (name, account_id, audience_id, x_name, recorded_at)
VALUES (:name, :account_id, :audience_id, :x_name, :now)
ON CONFLICT (name) DO NOTHING;

-- name: note_audience_run
-- A snapshot of the audience was compared at :now.
UPDATE audiences SET last_run_at = :now WHERE name = :name;

-- name: settle_change
-- Drop the pending change of a user whose new state is what X already has (an add for a
-- delivered member, a removal for a user X does not have from us).
DELETE FROM audience_changes
WHERE audience = :audience AND user_key = :user_key
  AND (:op = 'add') = EXISTS (
      SELECT 1 FROM audience_members WHERE audience = :audience AND user_key = :user_key
  );

-- name: upsert_change
-- Queue a change unless X already has that state; the later change of a user wins.
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
SELECT :audience, :user_key, :op, :payload, :now, :version
WHERE (:op = 'add') != EXISTS (
    SELECT 1 FROM audience_members WHERE audience = :audience AND user_key = :user_key
)
ON CONFLICT (audience, user_key) DO UPDATE
SET op = excluded.op, payload = excluded.payload, version = excluded.version;

-- name: clear_changes
-- Forget every pending change of an audience (a new snapshot is the latest word on everyone).
DELETE FROM audience_changes WHERE audience = :audience;

-- name: insert_change
-- Queue a change computed against the delivered members (a snapshot's diff).
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
VALUES (:audience, :user_key, :op, :payload, :now, :version)
ON CONFLICT (audience, user_key) DO UPDATE
SET op = excluded.op, payload = excluded.payload, version = excluded.version;

-- name: pending_summary
-- How many changes wait for an audience, and since when the oldest waits.
SELECT count(*), min(pending_since) FROM audience_changes WHERE audience = :audience;

-- name: pending_changes
-- Up to :limit pending changes, removals first (X applies operations in order), oldest first;
-- a removal carries the identifiers the user was added with when we know them.
SELECT c.user_key, c.op, coalesce(CASE WHEN c.op = 'remove' THEN m.payload END, c.payload),
    c.version
FROM audience_changes c
LEFT JOIN audience_members m ON m.audience = c.audience AND m.user_key = c.user_key
WHERE c.audience = :audience
ORDER BY c.op DESC, c.pending_since, c.user_key
LIMIT :limit;

-- name: take_change
-- Remove a change a flush turned into a job, unless it changed since it was read.
DELETE FROM audience_changes
WHERE audience = :audience AND user_key = :user_key AND version = :version;

-- name: claim_audience_job
-- The oldest active job of an audience, if due: audience jobs go out one at a time, in order.
UPDATE delivery_jobs
SET status = 'in_flight',
    attempts = attempts + 1,
    lease_until = :lease_until,
    next_attempt_at = :lease_until
WHERE id = (
    SELECT id FROM delivery_jobs
    WHERE destination = :destination
      AND status IN ('pending', 'retry_scheduled', 'in_flight')
    ORDER BY id
    LIMIT 1
) AND next_attempt_at <= :now
RETURNING id, destination, account_id, pixel_id, message_id, conversion_id, payload, status,
    attempts, created_at, next_attempt_at, lease_until, last_error, delivered_at;

-- name: active_jobs
-- Jobs of a destination not yet delivered or dead.
SELECT count(*) FROM delivery_jobs
WHERE destination = :destination AND status IN ('pending', 'retry_scheduled', 'in_flight');

-- name: add_member
-- A user X accepted as added (changes no row for a member: see update_member).
INSERT INTO audience_members (audience, user_key, payload, sent_at)
VALUES (:audience, :user_key, :payload, :now)
ON CONFLICT (audience, user_key) DO NOTHING;

-- name: update_member
-- A member X accepted again: keep the identifiers it was last sent with, and when.
UPDATE audience_members SET payload = :payload, sent_at = :now
WHERE audience = :audience AND user_key = :user_key;

-- name: member_payloads
-- The user objects of the members among :keys (a JSON array of user keys).
SELECT user_key, payload FROM audience_members
WHERE audience = :audience AND user_key IN (SELECT value FROM json_each(:keys));

-- name: delete_member_id
-- Forget one (key, value) pair of a member (removed, or sent with other identifiers).
DELETE FROM audience_member_ids
WHERE audience = :audience AND id_key = :id_key AND id_value = :id_value AND user_key = :user_key;

-- name: insert_member_id
-- Index one (key, value) pair of a member X accepted.
INSERT INTO audience_member_ids (audience, id_key, id_value, user_key)
VALUES (:audience, :id_key, :id_value, :user_key)
ON CONFLICT DO NOTHING;

-- name: shared_ids
-- Which of the (key, value) pairs :pairs (a JSON array of [key, value]) a member holds, other
-- than the members :excluded (a JSON array of user keys).
-- CROSS JOIN keeps the pairs outside: each is then one lookup in the primary key.
SELECT DISTINCT i.id_key, i.id_value
FROM json_each(:pairs) AS p
CROSS JOIN audience_member_ids AS i
WHERE i.audience = :audience
  AND i.id_key = json_extract(p.value, '$[0]')
  AND i.id_value = json_extract(p.value, '$[1]')
  AND i.user_key NOT IN (SELECT value FROM json_each(:excluded));

-- name: mark_resend
-- Members holding a value X just deleted (:pairs, as in shared_ids) lost it at X: send them
-- again with the next refresh.
UPDATE audience_members SET sent_at = NULL
WHERE audience = :audience AND user_key IN (
    SELECT i.user_key
    FROM json_each(:pairs) AS p
    CROSS JOIN audience_member_ids AS i
    WHERE i.audience = :audience
      AND i.id_key = json_extract(p.value, '$[0]')
      AND i.id_value = json_extract(p.value, '$[1]')
);

-- name: queue_refresh
-- Queue members last sent before :before (or never recorded) to be sent again, unless a change
-- of theirs waits already: X forgets a member 13 months after the request that added it.
INSERT INTO audience_changes (audience, user_key, op, payload, pending_since, version)
SELECT audience, user_key, 'add', CAST(payload AS BLOB), :now, :version
FROM audience_members
WHERE audience = :audience AND (sent_at IS NULL OR sent_at < :before)
ON CONFLICT (audience, user_key) DO NOTHING;

-- name: note_problem
-- Why the audience's last snapshot was refused (NULL once one goes through).
UPDATE audiences SET problem = :problem WHERE name = :name;

-- name: remove_member
-- A user X accepted as removed.
DELETE FROM audience_members WHERE audience = :audience AND user_key = :user_key;

-- name: count_members
-- Delivered members of an audience.
SELECT count(*) FROM audience_members WHERE audience = :audience;

-- name: note_flush
-- X accepted a request of the audience: the member count moves by :delta; the last flush.
UPDATE audiences SET members = members + :delta, last_flush_at = :now WHERE name = :name;

-- name: member_keys
-- Delivered member keys of an audience after :after, in key order (paged).
SELECT user_key FROM audience_members
WHERE audience = :audience AND user_key > :after
ORDER BY user_key
LIMIT :limit;

-- name: suppressed_members
-- Members whose user key is in :keys or one of whose identifiers is in :hashes (JSON arrays).
SELECT DISTINCT m.user_key, m.payload
FROM audience_members m, json_each(CAST(m.payload AS TEXT)) AS k, json_each(k.value) AS v
WHERE m.audience = :audience
  AND (m.user_key IN (SELECT value FROM json_each(:keys))
       OR v.value IN (SELECT value FROM json_each(:hashes)));

-- name: active_payloads
-- The payloads of a destination's jobs not yet delivered or dead (changes still to send).
SELECT payload FROM delivery_jobs
WHERE destination = :destination AND status IN ('pending', 'retry_scheduled', 'in_flight')
ORDER BY id;

-- name: move_audience
-- --recreate: the audience is now another X audience; its problem (X no longer knew the old
-- one) is solved.
UPDATE audiences SET audience_id = :audience_id, x_name = :x_name, recorded_at = :now,
    problem = NULL
WHERE name = :name;

-- name: move_audience_jobs
-- The audience's requests not delivered yet (waiting or dead) go to the new X audience.
UPDATE delivery_jobs SET pixel_id = :audience_id
WHERE destination = :destination AND status <> 'delivered';
