"""Both legs: which conversion ids reached the gateway from the website tag (the pixel leg: the
browser fired X's pixel with the same id) and which from the server (a write key, a sync), so
that the overview can show the share X saw on both legs and deduplicated (migration 0014).

The collector notes each conversion's leg in memory (`LegRecorder.note`: an append); a thread
hashes and writes them every second in one transaction. Only a SHA-256 of the destination
and conversion id is stored, never the id: it may be an email. Rows are purged `LEGS_KEPT`
after they were first seen (outbox/maintenance.py). Mixins of the three stores.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

import orjson

from xconduit.outbox.sql import load_queries

log = logging.getLogger("xconduit.outbox")

LEGS_KEPT = 48 * 3600.0
"""Seconds a conversion id's legs are remembered (the dashboard shows the last 24 h)."""
FLUSH_EVERY = 1.0


def leg_key(destination: str, conversion_id: str) -> int:
    """What is stored of a conversion id: 64 bits of a SHA-256 of it and its destination, never
    the id. An integer key is the table's rowid: a sync's 40,000 rows insert ~3× faster than
    with a text key (a collision among a day's ids is a 1-in-10^9 chance)."""
    digest = hashlib.sha256(f"{destination}\x1f{conversion_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LegRow(NamedTuple):
    destination: str
    key: int
    pixel: bool
    """True: from the website tag; False: from the server."""


@dataclass(frozen=True, kw_only=True)
class LegShares:
    both: int
    pixel_only: int
    server_only: int

    @property
    def total(self) -> int:
        return self.both + self.pixel_only + self.server_only

    def share(self, n: int) -> float:
        return n / self.total if self.total else 0.0


@runtime_checkable
class LegStore(Protocol):
    def note_legs(self, rows: Sequence[LegRow], *, now: float) -> None: ...

    def leg_shares(self, since: float) -> dict[str, LegShares]: ...

    def purge_legs(self, older_than: float) -> int: ...

    def has_pixel_legs(self) -> bool:
        """Whether the website tag brought any conversion id kept."""
        ...

    def note_server_of_tagged(self, keys: Sequence[int], *, now: float) -> None:
        """The server leg of those of `keys` the tag brought; others are not kept."""
        ...


def _params(rows: Sequence[LegRow], now: float) -> Iterator[dict[str, Any]]:
    for row in rows:
        yield {
            "destination": row.destination,
            "key": row.key,
            "pixel_at": now if row.pixel else None,
            "server_at": None if row.pixel else now,
            "now": now,
        }


def _shares(rows: Sequence[Sequence[Any]]) -> dict[str, LegShares]:
    return {
        str(r[0]): LegShares(both=int(r[1]), pixel_only=int(r[2]), server_only=int(r[3]))
        for r in rows
    }


class SqliteLegs:
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]  # the store's
    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def note_legs(self, rows: Sequence[LegRow], *, now: float) -> None:
        if not rows:
            return
        # One statement for the second's rows (a JSON array): one per row cost the collector
        # ~7 µs of CPU per conversion, binding each row's parameters.
        table = orjson.dumps([(r.key, r.destination, r.pixel) for r in rows]).decode()
        with self._write() as conn:
            query = load_queries("sqlite", "legs.sql")["note_legs_bulk"]
            conn.execute(query, {"rows": table, "now": now})

    def leg_shares(self, since: float) -> dict[str, LegShares]:
        return _shares(
            self._read(load_queries("sqlite", "legs.sql")["leg_shares"], {"since": since})
        )

    def purge_legs(self, older_than: float) -> int:
        with self._write() as conn:
            query = load_queries("sqlite", "legs.sql")["purge_legs"]
            return conn.execute(query, {"since": older_than}).rowcount

    def has_pixel_legs(self) -> bool:
        return bool(self._read(load_queries("sqlite", "legs.sql")["has_pixel_legs"], {}))

    def note_server_of_tagged(self, keys: Sequence[int], *, now: float) -> None:
        if keys:
            query = load_queries("sqlite", "legs.sql")["note_server_of_tagged"]
            with self._write() as conn:
                conn.executemany(query, ({"key": key, "now": now} for key in keys))


class PostgresLegs:
    _tx: Callable[..., AbstractContextManager[Any]]  # the store's
    _read: Callable[[str, dict[str, Any]], list[Any]]  # the store's

    def note_legs(self, rows: Sequence[LegRow], *, now: float) -> None:
        if rows:
            query = load_queries("postgresql", "legs.sql")["note_leg"]
            with self._tx() as conn, conn.cursor() as cursor:
                cursor.executemany(query, list(_params(rows, now)))

    def leg_shares(self, since: float) -> dict[str, LegShares]:
        query = load_queries("postgresql", "legs.sql")["leg_shares"]
        return _shares(self._read(query, {"since": since}))

    def purge_legs(self, older_than: float) -> int:
        with self._tx() as conn:
            query = load_queries("postgresql", "legs.sql")["purge_legs"]
            return int(conn.execute(query, {"since": older_than}).rowcount)

    def has_pixel_legs(self) -> bool:
        return bool(self._read(load_queries("postgresql", "legs.sql")["has_pixel_legs"], {}))

    def note_server_of_tagged(self, keys: Sequence[int], *, now: float) -> None:
        if keys:
            query = load_queries("postgresql", "legs.sql")["note_server_of_tagged"]
            with self._tx() as conn, conn.cursor() as cursor:
                cursor.executemany(query, [{"key": key, "now": now} for key in keys])


class MemoryLegs:
    _legs_lock = threading.Lock()

    def _legs(self) -> dict[tuple[str, int], list[float | None]]:
        table: dict[tuple[str, int], list[float | None]] | None = self.__dict__.get("_leg_rows")
        if table is None:
            table = self.__dict__.setdefault("_leg_rows", {})
        return table

    def note_legs(self, rows: Sequence[LegRow], *, now: float) -> None:
        with self._legs_lock:
            table = self._legs()
            for row in rows:
                seen = table.setdefault((row.destination, row.key), [None, None, now])
                seen[0 if row.pixel else 1] = seen[0 if row.pixel else 1] or now

    def leg_shares(self, since: float) -> dict[str, LegShares]:
        counts: dict[str, list[int]] = {}
        with self._legs_lock:
            for (destination, _), (pixel, server, first) in self._legs().items():
                if first is None or first < since:
                    continue
                n = counts.setdefault(destination, [0, 0, 0])
                n[0 if pixel and server else 1 if pixel else 2] += 1
        return {
            d: LegShares(both=b, pixel_only=p, server_only=s) for d, (b, p, s) in counts.items()
        }

    def has_pixel_legs(self) -> bool:
        with self._legs_lock:
            return any(seen[0] is not None for seen in self._legs().values())

    def note_server_of_tagged(self, keys: Sequence[int], *, now: float) -> None:
        wanted = set(keys)
        with self._legs_lock:
            for (_, key), seen in self._legs().items():
                if key in wanted and seen[1] is None:
                    seen[1] = now

    def purge_legs(self, older_than: float) -> int:
        with self._legs_lock:
            table = self._legs()
            old = [k for k, (_, _, first) in table.items() if first is None or first < older_than]
            for k in old:
                del table[k]
        return len(old)


def note_server_jobs(
    store: object, events: Sequence[Any], fresh: Sequence[bool], now: float
) -> None:
    """A sync's committed rows, on the server leg of the conversion ids the website tag brought
    (in their own transaction, after the rows'). A row no tag saw is not kept: a sync of
    offline orders would fill the table and the shares with ids no pixel could ever see, and
    skipping it costs a sync nothing when no tag is used (~35 % of its time when written)."""
    try:
        if not isinstance(store, LegStore) or not store.has_pixel_legs():
            return
    except Exception:  # a dashboard figure must never cost a sync
        log.exception("cannot read the legs")
        return
    keys = [
        leg_key(job.destination, job.conversion_id)
        for event, new in zip(events, fresh, strict=True)
        if new
        for job in event.jobs
        if job.conversion_id
    ]
    try:
        store.note_server_of_tagged(keys, now=now)
    except Exception:  # a dashboard figure must never cost a sync
        log.exception("cannot store the legs of %d conversions", len(keys))


class LegRecorder:
    """The collector's notes of each conversion's leg, written every `FLUSH_EVERY` seconds.

    `note` only appends to a deque (thread-safe, no lock): the hash is made by the writer."""

    def __init__(self, store: LegStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock
        self._noted: deque[tuple[str, str, bool]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def note(self, jobs: Iterable[Any], *, pixel: bool) -> None:
        """One event's jobs (`destination`, `conversion_id`), from the tag or not."""
        for job in jobs:
            if job.conversion_id:
                self._noted.append((job.destination, job.conversion_id, pixel))

    def flush(self) -> None:
        noted = self._noted
        rows = []
        while noted:
            destination, cid, pixel = noted.popleft()
            rows.append(LegRow(destination, leg_key(destination, cid), pixel))
        try:
            self._store.note_legs(rows, now=self._clock())
        except Exception:  # a dashboard figure must never cost a conversion
            log.exception("cannot store the legs of %d conversions", len(rows))

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            self.flush()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="conversion-legs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
