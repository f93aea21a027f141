-- The live debugger finds a conversion's job through the commit that inserted it, not through an
-- index on (destination, message_id): with random message ids (what Segment's libraries send)
-- every insert into that index landed on another page, a third of a collector commit's CPU.
-- One row per collector commit: the ids of the jobs it inserted. A recent event's received_at
-- is its commit's `at`.
CREATE TABLE job_commits (
    at       REAL NOT NULL,
    first_id INTEGER NOT NULL,
    last_id  INTEGER NOT NULL,
    PRIMARY KEY (at, first_id)
) WITHOUT ROWID;

-- The recent events kept from before find their jobs through the index one last time, one row
-- per job found. A row whose results cannot be read (not JSON, not objects) links nothing: the
-- debugger shows its conversions as purged, as it would have.
INSERT OR IGNORE INTO job_commits (at, first_id, last_id)
SELECT at, id, id FROM (
    SELECT r.received_at AS at, (
        SELECT max(j.id) FROM delivery_jobs AS j
        WHERE j.destination = CASE WHEN x.type = 'object'
                THEN json_extract(x.value, '$.destination') END
          AND j.message_id = r.message_id AND j.traced = 1
    ) AS id
    FROM recent_events AS r, json_each(
        CASE WHEN json_valid(CAST(r.results AS TEXT)) THEN CAST(r.results AS TEXT) ELSE '[]' END
    ) AS x
    WHERE CASE WHEN x.type = 'object' THEN json_extract(x.value, '$.outcome') END = 'conversion'
)
WHERE id IS NOT NULL;

DROP INDEX delivery_jobs_message;
