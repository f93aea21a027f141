-- A sync's jobs leave the (destination, message_id) index: only the live debugger reads it, for
-- the collector's recent events, and a sync keeps none. Its message ids are random digests, so
-- that index cost a random B-tree insert per row (a quarter of a sync's commit).

-- 1: the live debugger may look the job up by (destination, message_id); 0: a sync's job.
ALTER TABLE delivery_jobs ADD COLUMN traced INTEGER NOT NULL DEFAULT 1;

DROP INDEX delivery_jobs_message;

-- The debugger finds a conversion's job by (destination, message_id).
CREATE INDEX delivery_jobs_message ON delivery_jobs (destination, message_id) WHERE traced = 1;
