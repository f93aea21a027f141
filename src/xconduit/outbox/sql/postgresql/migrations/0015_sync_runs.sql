-- One row per run of a sync (finished, stopped or failed), for the dashboard's syncs page:
-- the figures `xconduit sync` prints, the cursor before and after, and why a run failed or
-- read nothing. Numbered 0015: 0014 belongs to another branch (a gap is allowed).
CREATE TABLE sync_runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sync          TEXT NOT NULL,
    started_at    DOUBLE PRECISION NOT NULL,
    seconds       DOUBLE PRECISION NOT NULL,
    rows_read     BIGINT NOT NULL,
    enqueued      BIGINT NOT NULL,
    rejected      BIGINT NOT NULL,
    repeated      BIGINT NOT NULL,
    already_sent  BIGINT NOT NULL,
    cursor_before TEXT,
    cursor_after  TEXT,
    outcome       TEXT NOT NULL,
    why           TEXT NOT NULL,
    report        TEXT
);

CREATE INDEX sync_runs_sync ON sync_runs (sync, id);
