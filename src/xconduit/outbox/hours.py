"""Hourly amounts of the counters the overview's charts draw (migration 0016).

The per-minute amounts are kept 2 days (`counts.MINUTES_KEPT`); the 7-day chart needs more, so
the charted counters (`CHARTED`: sent to X, failed) are also added per hour, kept `HOURS_KEPT`.
They are added in the same transaction as the minute rows (`add_counts`), one row per counter,
and only for the charted names: the collector's commits (received, not sent) write none.
Purged by outbox/maintenance.py. Mixins of the three stores.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

from xconduit.outbox.counts import Count, labels_of
from xconduit.outbox.sql import load_queries

HOURS_KEPT = 8 * 24 * 3600.0
"""Seconds of hourly amounts kept (the overview charts the last 7 days)."""
CHARTED = frozenset({"conversions_delivered", "conversions_dead"})

_SQLITE = load_queries("sqlite", "hours.sql")
_POSTGRES = load_queries("postgresql", "hours.sql")


class HourRow(NamedTuple):
    hour: int
    """Epoch seconds // 3600."""
    name: str
    labels: dict[str, str]
    value: float


@runtime_checkable
class HourStore(Protocol):
    def counter_hours(self, since: float) -> list[HourRow]:
        """Hourly amounts of the charted counters from the hour of `since` on."""
        ...

    def purge_counter_hours(self, older_than: float) -> int:
        """Forget hourly amounts before `older_than`."""
        ...


def sqlite_add_hours(conn: sqlite3.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """`rows`: add_counts' minute rows (name, labels, value, minute), in its transaction."""
    charted = [{**r, "hour": r["minute"] // 60} for r in rows if r["name"] in CHARTED]
    if charted:
        conn.executemany(_SQLITE["add_count_hour"], charted)


def postgres_add_hours(conn: Any, params: dict[str, Any]) -> None:
    """`params`: add_counts' arrays (names, labels, values) and minute, in its transaction."""
    kept = [i for i, name in enumerate(params["names"]) if name in CHARTED]
    if kept:
        conn.execute(
            _POSTGRES["add_count_hours"],
            {
                "names": [params["names"][i] for i in kept],
                "labels": [params["labels"][i] for i in kept],
                "values": [params["values"][i] for i in kept],
                "hour": params["minute"] // 60,
            },
        )


class SqliteHours:
    _hour_queries = _SQLITE

    _write: Callable[[], AbstractContextManager[Any]]  # the store's
    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def counter_hours(self, since: float) -> list[HourRow]:
        rows = self._read(self._hour_queries["counter_hours"], {"hour": int(since // 3600)})
        return [
            HourRow(int(hour), name, labels_of(labels), float(value))
            for hour, name, labels, value in rows
        ]

    def purge_counter_hours(self, older_than: float) -> int:
        with self._write() as conn:
            query = self._hour_queries["purge_counter_hours"]
            return int(conn.execute(query, {"hour": int(older_than // 3600)}).rowcount)


class PostgresHours(SqliteHours):
    _hour_queries = _POSTGRES


class MemoryHours:
    """`MemoryCounts._add` calls `_add_hours` under the store's lock."""

    if TYPE_CHECKING:
        _lock: threading.Lock

    def _hours(self) -> dict[tuple[int, str, str], float]:
        hours: dict[tuple[int, str, str], float]
        hours = self.__dict__.setdefault("_counter_hours", defaultdict(float))
        return hours

    def _add_hours(self, counts: Sequence[Count], now: float) -> None:
        hour, hours = int(now // 3600), self._hours()
        for count in counts:
            if count.name in CHARTED:
                hours[(hour, count.name, count.labels_json)] += count.value

    def counter_hours(self, since: float) -> list[HourRow]:
        first = int(since // 3600)
        with self._lock:
            return [
                HourRow(hour, name, labels_of(labels), value)
                for (hour, name, labels), value in sorted(self._hours().items())
                if hour >= first
            ]

    def purge_counter_hours(self, older_than: float) -> int:
        first = int(older_than // 3600)
        with self._lock:
            hours = self._hours()
            old = [key for key in hours if key[0] < first]
            for key in old:
                del hours[key]
        return len(old)
