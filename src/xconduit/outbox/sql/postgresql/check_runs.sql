-- name: note_check_run
-- Count one run of `xconduit check` (or the dashboard's button).
INSERT INTO check_runs (id, runs, ran_at) VALUES (1, 1, %(now)s)
ON CONFLICT (id) DO UPDATE SET runs = check_runs.runs + 1, ran_at = excluded.ran_at
RETURNING runs;

-- name: check_runs
-- How many runs were counted (no row: none).
SELECT runs FROM check_runs WHERE id = 1;
