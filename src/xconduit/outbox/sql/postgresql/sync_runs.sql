-- name: note_sync_run
-- Remember one run of a sync.
INSERT INTO sync_runs (sync, started_at, seconds, rows_read, enqueued, rejected, repeated,
    already_sent, cursor_before, cursor_after, outcome, why, report)
VALUES (%(sync)s, %(started_at)s, %(seconds)s, %(rows_read)s, %(enqueued)s, %(rejected)s, %(repeated)s,
    %(already_sent)s, %(cursor_before)s, %(cursor_after)s, %(outcome)s, %(why)s, %(report)s);

-- name: forget_old_sync_runs
-- Keep the newest :keep runs of the sync.
DELETE FROM sync_runs WHERE sync = %(sync)s AND id <= (
    SELECT id FROM sync_runs WHERE sync = %(sync)s ORDER BY id DESC LIMIT 1 OFFSET %(keep)s);

-- name: sync_runs
-- The newest :limit runs of the sync, newest first.
SELECT sync, started_at, seconds, rows_read, enqueued, rejected, repeated, already_sent,
    cursor_before, cursor_after, outcome, why, report
FROM sync_runs WHERE sync = %(sync)s ORDER BY id DESC LIMIT %(limit)s;
