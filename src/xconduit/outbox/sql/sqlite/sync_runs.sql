-- name: note_sync_run
-- Remember one run of a sync.
INSERT INTO sync_runs (sync, started_at, seconds, rows_read, enqueued, rejected, repeated,
    already_sent, cursor_before, cursor_after, outcome, why, report)
VALUES (:sync, :started_at, :seconds, :rows_read, :enqueued, :rejected, :repeated,
    :already_sent, :cursor_before, :cursor_after, :outcome, :why, :report);

-- name: forget_old_sync_runs
-- Keep the newest :keep runs of the sync.
DELETE FROM sync_runs WHERE sync = :sync AND id <= (
    SELECT id FROM sync_runs WHERE sync = :sync ORDER BY id DESC LIMIT 1 OFFSET :keep);

-- name: sync_runs
-- The newest :limit runs of the sync, newest first.
SELECT sync, started_at, seconds, rows_read, enqueued, rejected, repeated, already_sent,
    cursor_before, cursor_after, outcome, why, report
FROM sync_runs WHERE sync = :sync ORDER BY id DESC LIMIT :limit;
