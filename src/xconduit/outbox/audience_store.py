"""The outbox port of custom audiences: what `SqliteStore` and `MemoryStore` add for them.

See `xconduit.outbox.audience_jobs` for the model. Every method takes the time from its caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from xconduit.outbox.audience_jobs import AudienceChange, AudienceRecord, ChangeOp, PendingChange
from xconduit.outbox.jobs import DeliveryJob, JobStatus, NewJob


class AudienceStore(Protocol):
    """Audience records, delivered members, pending changes and their delivery jobs."""

    def audience_record(self, name: str) -> AudienceRecord | None:
        """The X audience recorded for a configured audience, if any."""
        ...

    def audience_records(self) -> list[AudienceRecord]: ...

    def record_audience(
        self, *, name: str, account_id: str, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        """Record the X audience of `name`; a record already there wins and is returned."""
        ...

    def move_audience(
        self, name: str, *, audience_id: str, x_name: str, now: float
    ) -> AudienceRecord:
        """`name` is now X audience `audience_id` (`--recreate`): its jobs not delivered go
        there, its problem is cleared."""
        ...

    def note_audience_run(self, name: str, *, now: float) -> None: ...

    def enqueue_audience_changes(self, changes: Sequence[AudienceChange], *, now: float) -> None:
        """Coalesce: the later change of a user wins; a change to the state X already has
        (an add for a delivered member, a removal of a user X does not have) drops the
        pending one, so an add then a remove in one window sends nothing."""
        ...

    def replace_audience_changes(
        self, audience: str, changes: Iterable[tuple[str, ChangeOp, bytes]], *, now: float
    ) -> int:
        """Pending changes of `audience` become exactly `changes` (a snapshot's diff). They
        have waited since the oldest change they replace: a comparison every `schedule` must
        not restart the `flush_interval` wait, or a short schedule would never flush."""
        ...

    def audience_pending(self, audience: str) -> tuple[int, float | None]:
        """(changes waiting, when the oldest started waiting)."""
        ...

    def pending_audience_changes(self, audience: str, *, limit: int) -> list[PendingChange]:
        """Up to `limit` waiting changes, removals first."""
        ...

    def audience_changes_to_jobs(
        self, audience: str, taken: Sequence[tuple[str, int]], jobs: Sequence[NewJob], *, now: float
    ) -> int:
        """Enqueue the flush's jobs and drop the `(user_key, version)` changes they carry, in
        one transaction; how many jobs. All or nothing: if one of those changes is gone (another
        process's flush took it) or newer (an event changed the user since it was read),
        nothing is written and 0 is returned, so two flushes never send one change twice and
        a job never carries a change older than what is pending: read again and retry."""
        ...

    def claim_audience_job(
        self, destination: str, *, now: float, lease_seconds: float
    ) -> DeliveryJob | None:
        """The oldest active job of the destination, claimed, if it is due (one at a time)."""
        ...

    def active_audience_jobs(self, destination: str) -> int: ...

    def audience_delivered(
        self,
        job_id: int,
        *,
        audience: str,
        added: Sequence[tuple[str, bytes]],
        removed: Sequence[str],
        now: float,
        deleted_ids: Sequence[tuple[str, str]] = (),
    ) -> int:
        """`in_flight → delivered` and its users applied to the members, atomically. `added`
        members are recorded as sent at `now`; `deleted_ids` are the `(key, value)` pairs the
        job's Delete sent: a member still holding one lost it at X and is sent again by the
        next refresh (`queue_audience_refresh`)."""
        ...

    def shared_audience_ids(
        self, audience: str, pairs: Sequence[tuple[str, str]], *, excluded: Sequence[str]
    ) -> set[tuple[str, str]]:
        """Which of the `(key, value)` pairs a member other than `excluded` holds."""
        ...

    def queue_audience_refresh(self, audience: str, *, before: float, now: float) -> int:
        """Queue members last sent before `before` (or never recorded as sent) to be added
        again, unless a change of theirs waits already; how many were queued."""
        ...

    def note_audience_problem(self, name: str, problem: str | None) -> None:
        """Why the audience's last snapshot was refused; None clears it."""
        ...

    def active_audience_payloads(self, destination: str) -> list[bytes]:
        """The payloads of the destination's jobs not yet delivered or dead."""
        ...

    def audience_member_keys(self, audience: str, *, page: int = 100_000) -> Iterator[list[str]]:
        """Delivered member keys, page by page (never all in memory at once)."""
        ...

    def audience_member_count(self, audience: str) -> int: ...

    def suppressed_audience_members(
        self, audience: str, *, user_keys: Sequence[str], hashes: Sequence[str]
    ) -> list[tuple[str, bytes]]:
        """Members with one of `user_keys`, or an identifier in `hashes`."""
        ...

    # The delivery-job acks of `Store`, used by the audience worker.
    def schedule_retry(self, ids: Sequence[int], *, at: float, error: str, now: float) -> int: ...

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int: ...

    def release(self, ids: Sequence[int], *, now: float) -> int: ...

    def counts(self) -> dict[str, dict[JobStatus, int]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Delivered:
    """An audience job X accepted and the users it sent (see `audience_delivered`)."""

    job_id: int
    audience: str
    added: Sequence[tuple[str, bytes]]
    removed: Sequence[str]
    now: float
    deleted_ids: Sequence[tuple[str, str]] = ()


class AppliesDelivered(Protocol):
    def _apply_delivered(self, done: Delivered) -> int:
        """`audience_delivered` in one transaction."""
        ...


class AudienceDelivery:
    """`AudienceStore.audience_delivered` for every store, over its `_apply_delivered`."""

    def audience_delivered(
        self: AppliesDelivered,
        job_id: int,
        *,
        audience: str,
        added: Sequence[tuple[str, bytes]],
        removed: Sequence[str],
        now: float,
        deleted_ids: Sequence[tuple[str, str]] = (),
    ) -> int:
        return self._apply_delivered(Delivered(job_id, audience, added, removed, now, deleted_ids))
