"""Both legs in each store: which conversion ids came from the website tag, which from the
server, counted once per id over a window, purged after 48 h, and stored as a hash only."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from xconduit.outbox import IncomingEvent, NewJob, Store
from xconduit.outbox.legs import (
    LEGS_KEPT,
    LegRecorder,
    LegRow,
    LegShares,
    leg_key,
    note_server_jobs,
)
from xconduit.outbox.maintenance import Maintenance
from xconduit.outbox.sqlite import SqliteStore

NOW = 1_800_000_000.0


class Job(NamedTuple):
    destination: str
    conversion_id: str


def test_shares_of_both_legs_pixel_only_and_server_only(store: Store) -> None:
    recorder = LegRecorder(store, clock=lambda: NOW)  # type: ignore[arg-type]
    recorder.note([Job("shop", "o-1")], pixel=True)
    recorder.note([Job("shop", "o-2")], pixel=True)
    recorder.note([Job("shop", "o-1"), Job("b", "")], pixel=False)
    recorder.note([Job("shop", "o-1")], pixel=False)  # a resend
    recorder.flush()
    # A sync's rows: server leg; a duplicate row (not fresh) is not noted.
    job = NewJob(
        destination="shop",
        account_id="a",
        pixel_id="p",
        message_id="s-1",
        conversion_id="o-2",
        payload=b"{}",
    )
    rows = [IncomingEvent(source="sync:x", message_id="s-1", jobs=(job,))]
    note_server_jobs(store, rows, [True], NOW)
    note_server_jobs(store, [IncomingEvent(source="sync:x", message_id="s-3")], [True], NOW)
    untagged = NewJob(**{**{f: getattr(job, f) for f in job.__slots__}, "conversion_id": "o-7"})
    rows = [IncomingEvent(source="sync:x", message_id="s-7", jobs=(untagged,))]
    note_server_jobs(store, rows, [True], NOW)  # no tag brought o-7: not kept
    store.note_legs([LegRow("shop", leg_key("shop", "o-4"), pixel=False)], now=NOW + 1)  # type: ignore[attr-defined]

    shares = store.leg_shares(NOW - 60)  # type: ignore[attr-defined]
    assert shares == {"shop": LegShares(both=2, pixel_only=0, server_only=1)}
    assert shares["shop"].share(2) == 2 / 3
    assert store.leg_shares(NOW + 0.5) == {"shop": LegShares(both=0, pixel_only=0, server_only=1)}  # type: ignore[attr-defined]

    # Purged with the other old rows, 48 h after first seen.
    Maintenance(store, retention=3600, clock=lambda: NOW + LEGS_KEPT + 0.5).run_once()
    assert store.leg_shares(0) == {"shop": LegShares(both=0, pixel_only=0, server_only=1)}  # type: ignore[attr-defined]


def test_only_a_hash_of_the_conversion_id_is_stored(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "q.db")
    recorder = LegRecorder(store, clock=lambda: NOW)
    recorder.note([Job("shop", "jane@example.com")], pixel=True)
    recorder.stop()  # flushes what is noted
    store.close()
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"jane@example.com" not in data
    keys = sqlite3.connect(tmp_path / "q.db").execute("SELECT key FROM conversion_legs").fetchall()
    assert keys == [(leg_key("shop", "jane@example.com"),)]


def test_a_sync_without_the_tag_keeps_nothing(store: Store) -> None:
    job = NewJob(
        destination="shop",
        account_id="a",
        pixel_id="p",
        message_id="s-1",
        conversion_id="o-1",
        payload=b"{}",
    )
    note_server_jobs(
        store, [IncomingEvent(source="sync:x", message_id="s-1", jobs=(job,))], [True], NOW
    )
    assert not store.has_pixel_legs()  # type: ignore[attr-defined]
    assert store.leg_shares(0) == {}  # type: ignore[attr-defined]


def test_the_overview_says_so_when_the_legs_cannot_be_read(tmp_path: Path) -> None:
    from xconduit.config import ConversionDestination, Settings
    from xconduit.dashboard.legs import legs_section

    SqliteStore(tmp_path / "q.db").close()
    with sqlite3.connect(tmp_path / "q.db") as conn:  # as a store past 0015 without 0014
        conn.execute("DROP TABLE conversion_legs")
    store = SqliteStore(tmp_path / "q.db")
    shop = ConversionDestination(name="shop", account_id="18ce552mlaq", pixel_id="oka17")
    html = legs_section(Settings(conversions=[shop]), store, now=NOW)
    assert "Both legs: cannot be read" in html


def test_keys_at_both_ends_of_64_bits_are_kept_exactly(store: Store) -> None:
    """The SQL stores write a flush's rows as one JSON array: its integers must come back as the
    same 64-bit keys (a key read as a float would be another id)."""
    keys = [-(2**63), 2**63 - 1, 2**53 + 1]
    store.note_legs([LegRow("shop", k, pixel=True) for k in keys], now=NOW)  # type: ignore[attr-defined]
    store.note_legs([LegRow("shop", k, pixel=False) for k in keys], now=NOW + 1)  # type: ignore[attr-defined]
    assert store.leg_shares(0) == {"shop": LegShares(both=3, pixel_only=0, server_only=0)}  # type: ignore[attr-defined]
