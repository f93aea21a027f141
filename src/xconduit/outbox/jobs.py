"""Delivery jobs: what the outbox holds, and the states a job moves through.

A delivery job is one conversion on its way to one destination (an X pixel). Its payload is the
exact object that goes into X's `conversions[]`, with hashed identifiers only.

    commit_events
         │
         v         claim_batch              mark_delivered
      pending ──────────────────> in_flight ──────────────> delivered
       ^   ^        release        │  │  │
       │   └───────────────────────┘  │  │  schedule_retry
       │                              │  └───────────────> retry_scheduled ──┐
       │             dead_letter      │                                     │ claim_batch
       │   dead <─────────────────────┘             in_flight <─────────────┘ (when due)
       │    │
       └────┘ replay_dead

* `pending → in_flight`, `retry_scheduled → in_flight`: `claim_batch` takes due jobs, counts an
  attempt and sets a lease. An `in_flight` job whose lease expired (its worker crashed) is due
  again and is claimed like a pending one (`in_flight → in_flight`, another attempt).
* `in_flight → delivered | retry_scheduled | dead`: only an `in_flight` job moves; an ack for a
  job in any other state is ignored (see `docs/explanation/delivery-guarantees.md`).
* `in_flight → pending`: `release` gives a claimed job back at shutdown without counting the
  attempt.
* `dead → pending`: `replay_dead`, by an operator. `delivered` is final; so is `dead` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from xconduit.outbox.audience_jobs import AudienceChange
from xconduit.outbox.counts import Count, RecentEvent


class JobStatus(StrEnum):
    """Where a delivery job is in its life."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    RETRY_SCHEDULED = "retry_scheduled"
    DEAD = "dead"


DEFAULT_PRIORITY = 4
"""The priority of a job made without one (and of jobs stored before priorities existed): the
middle, as `xconduit.config.priority.EVENT` (the outbox does not import the configuration)."""

OLDEST_SHARE = 10
"""One job in this many of every claim is the longest due, whatever its priority."""


def oldest_share(limit: int) -> int:
    """How many of a claim of `limit` jobs go to the longest-due ones, not by priority: a tenth,
    and at least one in any claim of two or more, so that no priority starves another."""
    return 0 if limit < 2 else max(1, limit // OLDEST_SHARE)


@dataclass(frozen=True, slots=True)
class Claim:
    """What a claim asks for (see `Store.claim_batch`)."""

    destination: str
    limit: int
    now: float
    lease_seconds: float
    owner: str = ""

    def params(self, destination: str) -> dict[str, Any]:
        """The claim query's parameters, `destination` as the store writes it."""
        return {
            "destination": destination,
            "owner": self.owner,
            "now": self.now,
            "limit": self.limit,
            "oldest": oldest_share(self.limit),
            "lease_until": self.now + self.lease_seconds,
        }


ACTIVE_STATUSES: frozenset[JobStatus] = frozenset(
    (JobStatus.PENDING, JobStatus.IN_FLIGHT, JobStatus.RETRY_SCHEDULED)
)
"""States with work left to do: a job in one of them will be claimed again some day."""


# NewJob and IncomingEvent are not frozen: the collector builds one of each per event, and a
# frozen dataclass's __init__ costs ~4× a plain one's (1.7 vs 0.4 µs for NewJob). Treat them as
# values all the same: nothing changes them once built.
@dataclass(kw_only=True, slots=True)
class NewJob:
    """A delivery job to enqueue: one conversion for one destination."""

    destination: str
    account_id: str
    pixel_id: str
    message_id: str
    conversion_id: str
    payload: bytes
    """The conversion object as orjson bytes, identifiers already hashed."""
    owner: str = ""
    """The key of the destination that made the job (`xconduit.config.identity`): only a
    process whose configuration has a destination of this key claims it. Empty: untagged (made
    before the outbox knew owners), claimed once a process adopts it (`adopt_jobs`)."""
    priority: int = DEFAULT_PRIORITY
    """Claim order when the backlog is large: 0 first, 9 last (`xconduit.config.priority`)."""
    conversion_time: str = ""
    """The conversion's time in X's form (`yyyy-MM-ddTHH:mm:ss.SSSZ`, sorts as text): within a
    priority the freshest is claimed first. Empty: unknown (claimed after the dated ones)."""


@dataclass(kw_only=True, slots=True)
class IncomingEvent:
    """One accepted event and the delivery jobs it maps to (possibly none)."""

    source: str
    message_id: str
    jobs: tuple[NewJob, ...] = ()
    counts: tuple[Count, ...] = ()
    """Counter increments the store adds if the event is new (see `xconduit.outbox.counts`)."""
    recent: RecentEvent | None = None
    """The event as the live debugger shows it, kept if the event is new."""
    audience_changes: tuple[AudienceChange, ...] = ()
    """Users this event makes enter or exit custom audiences (committed with the event)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryJob:
    """A delivery job as stored. Times are epoch seconds."""

    id: int
    destination: str
    account_id: str
    pixel_id: str
    message_id: str
    conversion_id: str
    payload: bytes
    status: JobStatus
    attempts: int
    """Claims so far (a released claim does not count)."""
    created_at: float
    next_attempt_at: float
    """When the job is due: for `in_flight`, the lease expiry (it is due again if never acked)."""
    lease_until: float | None
    last_error: str | None
    delivered_at: float | None
    owner: str = ""
    """The key of the job's destination (see `NewJob.owner`)."""
    priority: int = DEFAULT_PRIORITY
    """See `NewJob.priority` (kept by the in-memory store; SQL stores do not read it back)."""
    conversion_time: str = ""
    """See `NewJob.conversion_time` (a claim reads it back; other reads may not)."""


def pending_job(id_: int, job: NewJob, now: float) -> DeliveryJob:
    """`job` as enqueued with this id: pending, due at once."""
    return DeliveryJob(
        id=id_,
        destination=job.destination,
        account_id=job.account_id,
        pixel_id=job.pixel_id,
        message_id=job.message_id,
        conversion_id=job.conversion_id,
        payload=job.payload,
        status=JobStatus.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        lease_until=None,
        last_error=None,
        delivered_at=None,
        owner=job.owner,
        priority=job.priority,
        conversion_time=job.conversion_time,
    )
