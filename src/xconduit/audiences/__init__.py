"""Custom audiences: keep an X custom audience equal to a segment.

    identity    user keys and X's user objects          (pure)
    events      changes from Audience Entered/Exited    (pure; used by the collector)
    lifecycle   which X audience: configured, recorded, adopted or created
    snapshot    a snapshot's diff against the delivered members, in DuckDB
    flush       pending changes → delivery jobs of ≤ 2,500 operations and ≤ 5,000,000 bytes
    sender      one job at a time to X, counted only when X counted every user
    runner      `audiences sync` and the schedule `serve` runs

Nothing here is imported by this file, so the collector loads only what it uses.
"""
