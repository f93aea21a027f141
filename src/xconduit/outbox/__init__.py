"""The outbox: a durable queue of delivery jobs behind one narrow port.

`Store` is what the collector (commit events), the delivery workers (claim, ack) and the
dashboard/CLI (counts, dead letters, retention) call. Implementations: `SqliteStore` (the
default, one node), `MemoryStore` (tests, dry runs) and, later, a PostgreSQL store whose claim is
`SELECT ... FOR UPDATE SKIP LOCKED`. `GroupCommitter` lets many concurrent requests share one
commit. Every method takes the time from its caller (`now=`), so tests control the clock.

Acks (`mark_delivered`, `schedule_retry`, `dead_letter`, `release`) move only `in_flight` jobs
and return how many they moved; an ack for a job in any other state is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from xconduit.outbox.budget import BudgetStore
from xconduit.outbox.counts import CountingStore
from xconduit.outbox.jobs import DeliveryJob, IncomingEvent, JobStatus, NewJob

__all__ = [
    "DEDUP_WINDOW_SECONDS",
    "DeliveryJob",
    "IncomingEvent",
    "JobStatus",
    "NewJob",
    "Store",
]

DEDUP_WINDOW_SECONDS = 24 * 3600.0
"""The shortest time a `(source, message_id)` must be remembered: pass `now - this` or less to
`purge_dedup`."""


class Store(BudgetStore, CountingStore, Protocol):
    """The outbox of delivery jobs (and the rate ledger, see `xconduit.outbox.budget`; the
    counters and the debugger's rows, see `xconduit.outbox.counts`)."""

    def commit_events(
        self, events: Sequence[IncomingEvent], *, now: float, recent: bool = True
    ) -> list[bool]:
        """Commit events in one transaction; per event, False if `(source, message_id)` was seen
        (its jobs are not enqueued), else True and its jobs are `pending`. `recent=False`: the
        events' debugger rows (`IncomingEvent.recent`) are not written (the caller keeps them)."""
        ...

    def claim_batch(
        self, destination: str, *, limit: int, now: float, lease_seconds: float, owner: str = ""
    ) -> list[DeliveryJob]:
        """Claim up to `limit` due jobs of `destination` made by `owner` (its key, see
        `NewJob.owner`; a job of another owner is never taken), longest due first: `pending`,
        `retry_scheduled` with `next_attempt_at <= now` and `in_flight` whose lease expired.
        They become `in_flight` until `now + lease_seconds`, one more attempt. Sorted by id."""
        ...

    def mark_delivered(self, ids: Sequence[int], *, now: float) -> int:
        """`in_flight → delivered`."""
        ...

    def schedule_retry(self, ids: Sequence[int], *, at: float, error: str, now: float) -> int:
        """`in_flight → retry_scheduled`, due again at `at`."""
        ...

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int:
        """`in_flight → dead`, each `(id, reason)` with its own reason."""
        ...

    def release(self, ids: Sequence[int], *, now: float) -> int:
        """`in_flight → pending`, due at once, the attempt not counted (for shutdown)."""
        ...

    def next_due_at(self, destination: str, *, owner: str = "") -> float | None:
        """When the next job of `destination` made by `owner` is due (maybe in the past), None
        if no work."""
        ...

    def job_owners(self) -> dict[tuple[str, str], dict[JobStatus, int]]:
        """Jobs per (destination, owner) and state, to tell this configuration's from others'."""
        ...

    def active_job_owners(self) -> dict[tuple[str, str], int]:
        """Jobs not delivered yet (pending, in flight, retrying) per (destination, owner)."""
        ...

    def adopt_jobs(self, destination: str, *, owner: str, account_id: str, pixel_id: str) -> int:
        """Give untagged jobs (owner "", made before the outbox knew owners) of `destination`
        with this account and pixel to `owner`; how many. Tagged jobs are never changed."""
        ...

    def destinations(self) -> list[str]:
        """Destinations with any job not yet delivered or dead, sorted."""
        ...

    def counts(self) -> dict[str, dict[JobStatus, int]]:
        """Jobs per destination and state (states with no job are left out)."""
        ...

    def list_dead(self, *, destination: str | None = None, limit: int = 100) -> list[DeliveryJob]:
        """Dead letters, oldest job first."""
        ...

    def replay_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None, now: float
    ) -> int:
        """`dead → pending` (attempts reset to 0) for the given ids and/or destination; all dead
        letters when both are None."""
        ...

    def purge_dead(
        self, *, ids: Sequence[int] | None = None, destination: str | None = None
    ) -> int:
        """Delete dead letters, chosen like `replay_dead`."""
        ...

    def purge_delivered(self, older_than: float) -> int:
        """Delete delivered jobs with `delivered_at < older_than`."""
        ...

    def purge_dedup(self, older_than: float) -> int:
        """Forget `(source, message_id)` pairs first seen before `older_than`."""
        ...

    def close(self) -> None:
        """Release the store's resources; the store is not used after."""
        ...
