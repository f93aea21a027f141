"""Conversions too old to send (pure: the clock is passed in).

X documents no age past which its Conversion API refuses a conversion (only times before 2006,
which mapping already refuses), but it attributes a conversion only to an engagement inside the
attribution window, and the longest window it offers is 90 days. A conversion that waited in
the outbox until it is more than 90 days old can no longer be attributed to anything: sending
it spends rate budget that fresher conversions need. It is dead-lettered instead, with this
reason (the dead letters count and list it; `replay` sends nothing new: it expires again).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from xconduit.outbox import DeliveryJob

MAX_AGE_DAYS = 90
"""X's longest attribution window (post-engagement 1, 7, 14, 30, 60 or 90 days)."""

EXPIRED_REASON = (
    f"conversion_time: more than {MAX_AGE_DAYS} days old, past X's longest attribution window "
    f"({MAX_AGE_DAYS} days); not sent"
)


def cutoff(now: float) -> str:
    """The oldest conversion time still sent at `now`, in X's form (compares as text)."""
    moment = datetime.fromtimestamp(now, UTC) - timedelta(days=MAX_AGE_DAYS)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def expired(jobs: list[DeliveryJob], *, now: float) -> list[DeliveryJob]:
    """The jobs whose conversion is too old to be attributed at `now`. A job without its time
    (queued before the outbox kept it) is sent as before: reading every payload at each claim
    would cost the claim more than the rare old job costs the budget."""
    oldest = cutoff(now)
    return [job for job in jobs if job.conversion_time and job.conversion_time < oldest]
