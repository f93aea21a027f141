-- Hourly amounts of the counters the overview's charts draw (sent to X, failed), kept 8 days:
-- the per-minute amounts are kept 2 days, the 7-day chart needs more. Filled from the minutes
-- still kept, so the charts do not start empty.
CREATE TABLE counter_hours (
    hour   INTEGER NOT NULL,
    name   TEXT NOT NULL,
    labels TEXT NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (hour, name, labels)
) WITHOUT ROWID;

INSERT INTO counter_hours (hour, name, labels, value)
SELECT minute / 60, name, labels, sum(value) FROM counter_minutes
WHERE name IN ('conversions_delivered', 'conversions_dead')
GROUP BY minute / 60, name, labels;
