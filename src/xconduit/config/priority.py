"""Delivery priorities: which conversions go first when an account's backlog is more than its
rate budget sends in one window (docs/explanation/rate-limits.md). Pure rules, no I/O.

0 goes first, 9 last. Unless a destination's `priority` table names the event:

* Purchase-class events (a completed order) go first (0): they carry the revenue;
* other mapped events in the middle (4);
* page views near the end (8);
* a warehouse sync's rows last (9), unless the sync sets `priority`: a backfill waits behind
  live traffic (and still gets a share of every claim, see `xconduit.outbox.jobs.oldest_share`).
"""

from __future__ import annotations

from collections.abc import Mapping

FIRST = 0
LAST = 9
PURCHASE = 0
EVENT = 4
"""Also the priority of jobs stored before priorities existed (`xconduit.outbox.jobs`)."""
PAGE = 8
SYNC = LAST

PAGE_NAME = "page"
"""How a destination's `priority` table names page views."""

PURCHASE_EVENTS = frozenset(("order completed", "purchase", "purchased", "checkout completed"))
"""Purchase-class event names (folded: trimmed, case-insensitive)."""


def fold(name: str) -> str:
    """Event names match case-insensitively, ignoring surrounding spaces."""
    return name.strip().casefold()


def default_priority(folded: str) -> int:
    """The priority of an event the destination's table does not name (`page`: page views)."""
    if folded == PAGE_NAME:
        return PAGE
    return PURCHASE if folded in PURCHASE_EVENTS else EVENT


def priority_table(configured: Mapping[str, int]) -> dict[str, int]:
    """A destination's `priority` setting, names folded."""
    return {fold(name): value for name, value in configured.items()}
