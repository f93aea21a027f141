"""Close batches of delivery jobs by count or age, whichever comes first (pure).

Items in, batches out.

A worker claims jobs from the outbox into a `Batcher`, then asks it for a closed batch. A batch
closes when it holds `max_count` items (X takes up to 500 conversions per request) or when its
oldest item is `max_age` seconds old. Age counts from the item's birth (a job's `created_at`), so
a backlog or a retried job goes out at once and only fresh trickling traffic waits to fill up.
The clock is passed in; nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class BatchRules:
    """When a batch is closed."""

    max_count: int = 500
    """Items per batch (X's limit for conversions is 500)."""
    max_age: float = 1.0
    """Seconds the oldest item may wait for the batch to fill."""

    def __post_init__(self) -> None:
        if self.max_count < 1:
            raise ValueError("max_count must be at least 1")
        if self.max_age < 0:
            raise ValueError("max_age cannot be negative")


class Batcher(Generic[T]):
    """Holds items until they make a closed batch. `born(item)` is the item's birth time."""

    def __init__(self, rules: BatchRules, *, born: Callable[[T], float]) -> None:
        self.rules = rules
        self._born = born
        self._items: list[T] = []

    def __len__(self) -> int:
        return len(self._items)

    def room(self) -> int:
        """How many items fit before the batch is full."""
        return max(self.rules.max_count - len(self._items), 0)

    def add(self, items: Iterable[T]) -> None:
        self._items.extend(items)

    def closes_at(self) -> float | None:
        """When the held items close by age (None when nothing is held)."""
        if not self._items:
            return None
        return min(self._born(item) for item in self._items) + self.rules.max_age

    def take(self, now: float) -> list[T] | None:
        """A closed batch (at most `max_count` items, oldest first), or None if none is closed."""
        if not self._items:
            return None
        closes_at = self.closes_at()
        assert closes_at is not None
        if len(self._items) < self.rules.max_count and now < closes_at:
            return None
        self._items.sort(key=self._born)
        batch = self._items[: self.rules.max_count]
        del self._items[: self.rules.max_count]
        return batch

    def drain(self) -> list[T]:
        """Everything held, closed or not (at shutdown)."""
        items, self._items = self._items, []
        return items
