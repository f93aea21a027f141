"""Counters, recent events and secrets behave the same in every store."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from xconduit.outbox import IncomingEvent
from xconduit.outbox.counts import RECENT_PER_SOURCE, Count, RecentEvent, summed

NOW = 1_767_268_800.0
SHOP = (("destination", "shop"),)


def event(n: int, source: str = "web") -> IncomingEvent:
    return IncomingEvent(
        source=source,
        message_id=f"m-{n}",
        counts=(
            Count("events_received", (("source", source),)),
            Count("conversions_filtered", SHOP),
        ),
        recent=RecentEvent(
            source=source, message_id=f"m-{n}", event="Order Completed", results=b"[]"
        ),
    )


def totals(store: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(r.name, tuple(sorted(r.labels.items()))): r.value for r in store.counter_totals()}


def test_new_events_are_counted_once_duplicates_not(store: Any) -> None:
    store.commit_events([event(1), event(2)], now=NOW)
    store.commit_events([event(2), event(3)], now=NOW + 120)  # m-2 is a duplicate
    got = totals(store)
    assert got[("events_received", (("source", "web"),))] == 3
    assert got[("conversions_filtered", SHOP)] == 3
    minutes = store.counter_minutes(NOW - 60)
    per_minute = {(m.minute, m.name): m.value for m in minutes if m.name == "events_received"}
    assert per_minute == {
        (int(NOW // 60), "events_received"): 2,
        (int((NOW + 120) // 60), "events_received"): 1,
    }
    assert [m.value for m in store.counter_minutes(NOW + 60) if m.name == "events_received"] == [1]


def test_add_counts_and_purge_minutes_keep_the_totals(store: Any) -> None:
    store.add_counts(
        [Count("x_requests", (("status", "200"),)), Count("x_conversions_sent", (), 500)], now=NOW
    )
    store.add_counts([Count("x_conversions_sent", (), 20)], now=NOW + 3600)
    assert totals(store)[("x_conversions_sent", ())] == 520
    assert store.purge_counter_minutes(NOW + 60) == 2
    assert totals(store)[("x_conversions_sent", ())] == 520
    assert [m.value for m in store.counter_minutes(0)] == [20]


def test_recent_events_keep_the_newest_per_source(store: Any) -> None:
    store.commit_events([event(n) for n in range(RECENT_PER_SOURCE + 5)], now=NOW)
    store.commit_events([event(1000, source="app")], now=NOW)
    web = store.recent_events(source="web", limit=1000)
    assert len(web) == RECENT_PER_SOURCE
    assert web[0].message_id == f"m-{RECENT_PER_SOURCE + 4}"  # newest first
    assert [r.message_id for r in store.recent_events(source="app")] == ["m-1000"]
    assert orjson.loads(web[0].results) == []


def test_held_debugger_rows_keep_their_own_times_and_the_trim(store: Any) -> None:
    held = [(event(n).recent, NOW + n) for n in range(RECENT_PER_SOURCE + 3)]
    store.add_recent(held)
    store.add_recent([(event(7, source="app").recent, NOW + 7)])
    web = store.recent_events(source="web", limit=1000)
    assert [(r.message_id, r.received_at) for r in web] == [
        (f"m-{n}", NOW + n) for n in reversed(range(3, RECENT_PER_SOURCE + 3))
    ]
    assert [r.message_id for r in store.recent_events(source="app")] == ["m-7"]


def test_secrets(store: Any) -> None:
    assert store.get_secret("x") is None
    store.put_secret("x", b"one", now=NOW)
    store.put_secret("x", b"two", now=NOW)
    assert store.get_secret("x") == b"two"
    assert store.delete_secret("x")
    assert not store.delete_secret("x")


SHARED = Count("events_accepted", (("source", "web"),))
"""One object for many events, as the template path gives them."""
CASES = {
    "one object many times": [SHARED] * 800,
    "equal objects, not the same": [Count("events_accepted", (("source", "web"),))] * 3 + [SHARED],
    "fractional values": [Count("value", (("d", "shop"),), 12.3)] * 50 + [SHARED],
    "integer values": [Count("value", (("d", "shop"),), 2)] * 7,
    "labels in another order": [
        Count("x", (("a", "1"), ("b", "2"))),
        Count("x", (("b", "2"), ("a", "1"))),
    ],
    "nothing": [],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_summed_gives_one_total_per_counter_as_adding_one_by_one(name: str) -> None:
    one_by_one: dict[tuple[str, str], float] = {}
    for count in CASES[name]:
        key = (count.name, count.labels_json)
        one_by_one[key] = one_by_one.get(key, 0.0) + count.value
    assert dict(summed(CASES[name])) == pytest.approx(one_by_one, rel=1e-12)
    assert set(summed(CASES[name])) == set(one_by_one)
