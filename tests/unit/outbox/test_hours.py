"""The charted counters' hourly amounts (migration 0016), against each store."""

from __future__ import annotations

from xconduit.outbox import IncomingEvent, Store
from xconduit.outbox.counts import Count
from xconduit.outbox.hours import HOURS_KEPT, HourStore
from xconduit.outbox.maintenance import Maintenance

NOW = 1_767_268_800.0  # an hour's start
SENT = Count("conversions_delivered", (("destination", "shop"), ("event", "Purchase")), 2.0)
FAILED = Count(
    "conversions_dead",
    (("destination", "shop"), ("event", "Purchase"), ("reason", "http_400")),
)


def hours(store: HourStore, since: float) -> dict[tuple[int, str], float]:
    return {(r.hour, r.name): r.value for r in store.counter_hours(since)}


def test_sent_and_failed_are_added_per_hour_beside_the_minutes(store: Store) -> None:
    assert isinstance(store, HourStore)
    store.add_counts([SENT, FAILED, Count("conversions_queued", SENT.labels)], now=NOW + 10)
    store.add_counts([SENT], now=NOW + 3599)
    store.add_counts([SENT, FAILED], now=NOW + 3600)
    hour = int(NOW // 3600)
    assert hours(store, NOW) == {
        (hour, "conversions_delivered"): 4.0,
        (hour, "conversions_dead"): 1.0,
        (hour + 1, "conversions_delivered"): 2.0,
        (hour + 1, "conversions_dead"): 1.0,
    }
    assert hours(store, NOW + 3600) == {
        (hour + 1, "conversions_delivered"): 2.0,
        (hour + 1, "conversions_dead"): 1.0,
    }
    (row,) = [r for r in store.counter_hours(NOW + 3600) if r.name == "conversions_dead"]
    assert row.labels == {"destination": "shop", "event": "Purchase", "reason": "http_400"}


def test_the_collectors_commits_write_no_hour_rows(store: Store) -> None:
    assert isinstance(store, HourStore)
    queued = Count("conversions_queued", (("destination", "shop"),))
    store.commit_events([IncomingEvent(source="web", message_id="m", counts=(queued,))], now=NOW)
    assert store.counter_hours(0) == []


def test_maintenance_purges_hours_older_than_kept(store: Store) -> None:
    assert isinstance(store, HourStore)
    store.add_counts([SENT], now=NOW - HOURS_KEPT - 3600)
    store.add_counts([SENT], now=NOW - 3 * 24 * 3600)  # past the minutes' 2 days, still kept
    Maintenance(store, retention=3600.0, clock=lambda: NOW).run_once()
    assert list(hours(store, 0)) == [(int((NOW - 3 * 24 * 3600) // 3600), "conversions_delivered")]
    assert store.counter_minutes(0) == []
