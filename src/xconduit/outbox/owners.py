"""This configuration's jobs and the others' in a shared outbox (see `xconduit.config.identity`).

Counts shown by the dashboard, `/metrics` and `/readyz` are the configuration's own; jobs of
other configurations are only counted, in one line (`foreign_line`), and never sent from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from xconduit.outbox.jobs import ACTIVE_STATUSES, JobStatus


@dataclass(frozen=True, kw_only=True, slots=True)
class OwnedCounts:
    own: dict[str, dict[JobStatus, int]] = field(default_factory=dict)
    """This configuration's jobs per destination and state (as `Store.counts`)."""
    foreign: int = 0
    """Jobs not delivered yet (pending, in flight, retrying) of destinations not in this
    configuration: never sent from here."""


def split_owned(
    by_owner: Mapping[tuple[str, str], Mapping[JobStatus, int]],
    owns: Callable[[str, str], bool],
) -> OwnedCounts:
    """`Store.job_owners()` split into this configuration's counts and the foreign total."""
    own: dict[str, dict[JobStatus, int]] = {}
    foreign = 0
    for (destination, owner), states in by_owner.items():
        if owns(destination, owner):
            mine = own.setdefault(destination, {})
            for status, count in states.items():
                mine[status] = mine.get(status, 0) + count
        else:
            foreign += sum(n for status, n in states.items() if status in ACTIVE_STATUSES)
    return OwnedCounts(own=own, foreign=foreign)


def foreign_active(active: Mapping[tuple[str, str], int], owns: Callable[[str, str], bool]) -> int:
    """Of `Store.active_job_owners()`, the jobs of destinations not in this configuration."""
    return sum(n for (destination, owner), n in active.items() if not owns(destination, owner))


def foreign_line(count: int) -> str:
    """What a process says about jobs it cannot own."""
    jobs = "job" if count == 1 else "jobs"
    verb = "belongs" if count == 1 else "belong"
    return (
        f"{count} {jobs} in this store {verb} to destinations not in this config "
        "(another configuration's, or a destination since removed or changed): never sent from "
        "here"
    )
