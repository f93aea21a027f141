"""`xconduit sync --wait`: wait until every job a run enqueued is delivered or dead.

A `serve` or `worker` of the same configuration on the outbox delivers them (its heartbeat says
it is alive and which destinations' keys it delivers); when none is alive the command delivers
itself, with the delivery workers the caller starts. A process of another configuration never
takes the sync's jobs, so it does not count.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.errors import ConfigError
from xconduit.outbox.jobs import ACTIVE_STATUSES, JobStatus
from xconduit.outbox.syncs import HEARTBEAT_TIMEOUT, SyncStore
from xconduit.sync.run import SyncResult

StartDelivery = Callable[[], Callable[[], None]]
"""Starts delivery workers in this process; returns the function that stops them."""


def needs_own_delivery(
    settings: Settings, store: SyncStore, *, now: float, sync: str | None = None
) -> bool:
    """True when no delivery process of this configuration's destination of `sync` is alive on
    the store (so `--wait` must deliver itself; a process of another configuration never
    delivers the sync's jobs). Raises `ConfigError` when it cannot: the built-in sandbox lives
    inside `xconduit serve`."""
    owner = _owner_of(settings, sync)
    if store.live_workers(since=now - HEARTBEAT_TIMEOUT, owner=owner):
        return False
    if settings.x.api == "sandbox":
        raise ConfigError(
            "--wait: nothing delivers: x.api is the built-in sandbox, which lives inside "
            "`xconduit serve`, and none of this configuration runs on this outbox. Start it "
            "(the rows wait in the "
            "outbox), or run `xconduit sandbox` and set x.api to its URL."
        )
    return True


def _owner_of(settings: Settings, sync: str | None) -> str | None:
    """The key of the destination of `sync` (None: no such sync, any process will do)."""
    found = next((s for s in settings.syncs if s.name == sync), None)
    return None if found is None else owner_keys(settings).get(found.destination)


def wait_for_delivery(
    result: SyncResult,
    store: SyncStore,
    *,
    start_delivery: StartDelivery | None,
    on_progress: Callable[[dict[JobStatus, int]], None] | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 0.5,
) -> dict[JobStatus, int]:
    """The run's jobs per state once none is active (`start_delivery`: deliver ourselves)."""
    stop = start_delivery() if start_delivery is not None else None
    try:
        while True:
            counts = store.job_counts_between(
                result.destination, result.first_job_id, result.last_job_id
            )
            if on_progress:
                on_progress(counts)
            if not any(counts.get(status) for status in ACTIVE_STATUSES):
                return counts
            sleep(poll)
    finally:
        if stop is not None:
            stop()
