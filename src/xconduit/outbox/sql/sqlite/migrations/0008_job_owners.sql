-- Jobs belong to the destination that made them: owner is its key (xconduit.config.identity:
-- X API base, account, pixel and name), and a process claims only the keys of its own
-- configuration, so configurations sharing one outbox never deliver each other's jobs.
-- Jobs from before 0008 are untagged ('') until a process whose configuration has a
-- destination of the same name, account and pixel adopts them (adopt_jobs): the X API base was
-- not kept before, so the first such process takes them.
ALTER TABLE delivery_jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- The claim: due work of one destination and owner in due order (active jobs only).
DROP INDEX delivery_jobs_due;
CREATE INDEX delivery_jobs_due ON delivery_jobs (destination, owner, next_attempt_at, id)
    WHERE status IN ('pending', 'retry_scheduled', 'in_flight');

-- Counts (per destination and owner), dead letters and retention.
DROP INDEX delivery_jobs_status;
CREATE INDEX delivery_jobs_status ON delivery_jobs (status, destination, owner);

-- Untagged jobs waiting to be adopted; a tagged job never enters it.
CREATE INDEX delivery_jobs_untagged ON delivery_jobs (destination) WHERE owner = '';

-- The keys of the destinations each delivering process delivers (space-separated), so that
-- `xconduit sync --wait` and the fleet's alarm count only the processes of their own
-- configuration. NULL: a process of an older xconduit (it counts for every configuration).
ALTER TABLE worker_heartbeats ADD COLUMN owners TEXT;
