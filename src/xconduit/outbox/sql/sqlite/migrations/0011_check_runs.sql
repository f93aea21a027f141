-- `xconduit check` and the dashboard's check button count their runs here. Every delivery
-- process polls the count and runs its own checks when it grows, so a passing check resumes
-- paused delivery in every process on the store within seconds, not at its next periodic check.
-- Numbered 0011: the numbers between belong to other branches (a gap is allowed).
CREATE TABLE check_runs (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    runs   INTEGER NOT NULL,
    ran_at REAL NOT NULL
);
