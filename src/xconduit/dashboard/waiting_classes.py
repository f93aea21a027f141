"""When each priority class of a destination's waiting events reaches X.

Delivery takes an account's waiting conversions most urgent first (`xconduit.config.priority`:
purchases 0, other events 4, page views 8, a sync's rows 9), at the account's budget (allowed
per window). So a class reaches X when the account's backlog up to and including its priority
has been sent: `RateBudget.sent_by` of that many. (A tenth of each claim goes to the longest
waiting, whatever their priority: a class may arrive a little earlier or later than said.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xconduit.config import Settings
from xconduit.config.identity import ownership
from xconduit.config.priority import EVENT, PAGE, PAGE_NAME, PURCHASE, SYNC, default_priority, fold
from xconduit.dashboard.views import RateBudget
from xconduit.outbox.waiting import WaitingStore

DEFAULT_WORDS = {
    PURCHASE: "purchases",
    EVENT: "other events",
    PAGE: "page views",
    SYNC: "sync rows",
}


@dataclass(frozen=True, kw_only=True)
class WaitingClass:
    destination: str
    words: str
    """The class in the user's words: "purchases", "page views", the events the config names."""
    priority: int
    waiting: int
    reaches_x_at: float | None
    """When the last of them will have been sent at the account's budget."""


def class_words(settings: Settings, destination: str) -> dict[int, str]:
    """Each priority's words for a destination: the defaults', then the events and syncs its
    configuration gives a priority of their own."""
    named: dict[int, list[str]] = defaultdict(list)
    for d in settings.conversions:
        if d.name != destination:
            continue
        for event, rank in d.priority.items():
            folded = fold(event)
            if rank != default_priority(folded):
                named[rank].append("page views" if folded == PAGE_NAME else event)
    for sync in settings.syncs:
        if sync.destination == destination and sync.priority is not None:
            named[sync.priority].append(f"sync {sync.name}")
    for rank, words in DEFAULT_WORDS.items():
        named[rank].append(words)
    return {rank: ", ".join(dict.fromkeys(words)) for rank, words in sorted(named.items())}


def waiting_classes(
    settings: Settings, store: Any, budgets: Mapping[str, RateBudget], *, now: float
) -> dict[str, list[WaitingClass]]:
    """Per destination of this configuration, its waiting events per priority class, most
    urgent first, each with when it reaches X (empty if the store cannot tell)."""
    if not isinstance(store, WaitingStore):
        return {}
    owns = ownership(settings).owns
    account_of = {d.name: d.account_id for d in settings.conversions}
    per_destination: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_account: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for (destination, owner, priority), n in store.waiting_by_priority().items():
        account = account_of.get(destination)
        if account is None or not owns(destination, owner):
            continue
        per_destination[destination][priority] += n
        per_account[account][priority] += n
    out: dict[str, list[WaitingClass]] = {}
    for destination, classes in per_destination.items():
        account = account_of[destination]
        budget = budgets.get(account)
        words = class_words(settings, destination)
        ahead = per_account[account]
        out[destination] = [
            WaitingClass(
                destination=destination,
                words=words.get(priority) or f"priority {priority}",
                priority=priority,
                waiting=n,
                reaches_x_at=None
                if budget is None
                else budget.sent_by(sum(m for p, m in ahead.items() if p <= priority), now=now),
            )
            for priority, n in sorted(classes.items())
        ]
    return out
