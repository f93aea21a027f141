"""Budget-aware priority: what a backlog larger than one window's budget sends first, and the
conversions too old to send (in-memory store, fake X and clock, as test_delivery_service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pyarrow as pa
import pytest

from tests.unit.delivery.test_delivery_service import SHOP, START, Clock, FakeX, service
from tests.unit.sync.test_sync_fast import _map as sync_map
from tests.unit.sync.test_sync_fast import _plain as sync_rows
from xconduit.config import ConversionDestination, priority
from xconduit.delivery.expiry import EXPIRED_REASON
from xconduit.events import parse_event
from xconduit.mapping.conversions import ConversionMapper
from xconduit.outbox import IncomingEvent, JobStatus, NewJob
from xconduit.outbox.jobs import DEFAULT_PRIORITY
from xconduit.outbox.memory import MemoryStore
from xconduit.xads import ConversionsResult


class RecordingX(FakeX):
    """FakeX that remembers when each conversion id arrived."""

    def __init__(self, clock: Clock, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.arrived: dict[str, float] = {}

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        result = super().send_conversions(pixel_id, conversions)
        for c in conversions:
            self.arrived[str(c["conversion_id"])] = self.clock()
        return result


def x_time(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def jobs(prefix: str, count: int, *, priority: int, at: float) -> list[IncomingEvent]:
    time = x_time(at)
    return [
        IncomingEvent(
            source="t",
            message_id=f"{prefix}{n}",
            jobs=(
                NewJob(
                    destination="shop",
                    account_id=SHOP.account_id,
                    pixel_id=SHOP.pixel_id,
                    message_id=f"{prefix}{n}",
                    conversion_id=f"{prefix}{n}",
                    payload=orjson.dumps(
                        {"conversion_id": f"{prefix}{n}", "conversion_time": time}
                    ),
                    priority=priority,
                    conversion_time=time,
                ),
            ),
        )
        for n in range(count)
    ]


def test_purchases_behind_three_windows_of_page_views_arrive_in_the_first_window() -> None:
    clock, store = Clock(), MemoryStore()
    x = RecordingX(clock, limit=100, window=100.0)
    store.commit_events(jobs("view", 270, priority=8, at=START), now=clock())
    store.commit_events(jobs("order", 30, priority=0, at=START), now=clock() + 1)
    clock.now += 1
    svc = service(store, x, clock, events_per_window=100, window=100.0, batch_size=50)
    assert svc.run_until_idle(timeout=1000.0)
    assert x.too_many == 0
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 300}}
    orders = [t for cid, t in x.arrived.items() if cid.startswith("order")]
    assert len(orders) == 30
    assert max(orders) < START + 1 + 100.0  # every purchase inside the first window


def test_a_conversion_too_old_to_attribute_is_dead_with_the_reason_never_sent() -> None:
    clock, store = Clock(), MemoryStore()
    x = RecordingX(clock)
    store.commit_events(jobs("old", 2, priority=0, at=START - 91 * 86_400), now=clock())
    store.commit_events(jobs("ok", 2, priority=0, at=START - 89 * 86_400), now=clock())
    svc = service(store, x, clock)
    assert svc.run_until_idle(timeout=100.0)
    assert sorted(x.arrived) == ["ok0", "ok1"]
    dead = store.list_dead()
    assert sorted(j.message_id for j in dead) == ["old0", "old1"]
    assert all(j.last_error == EXPIRED_REASON for j in dead)
    assert "90 days" in EXPIRED_REASON
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 2, JobStatus.DEAD: 2}}
    assert svc.stats()["shop"].expired == 2


def test_a_job_queued_before_the_outbox_kept_its_time_is_sent_as_before() -> None:
    clock, store = Clock(), MemoryStore()
    x = RecordingX(clock)
    old = x_time(START - timedelta(days=120).total_seconds())
    payload = orjson.dumps({"conversion_id": "legacy", "conversion_time": old})
    new = NewJob(
        destination="shop",
        account_id=SHOP.account_id,
        pixel_id=SHOP.pixel_id,
        message_id="legacy",
        conversion_id="legacy",
        payload=payload,
    )
    store.commit_events([IncomingEvent(source="t", message_id="legacy", jobs=(new,))], now=START)
    assert service(store, x, clock).run_until_idle(timeout=100.0)
    assert list(x.arrived) == ["legacy"]
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 1}}


PIXEL = {"name": "shop", "account_id": "18ce552mlaq", "pixel_id": "oka17"}
EVENTS = {"Order Completed": "ol288", "Signed Up": "ol289"}


def mapped_priority(event: dict[str, Any], **settings: Any) -> int:
    dest = ConversionDestination(**PIXEL, events=EVENTS, page_event_id="ol290", **settings)
    base = {
        "messageId": "m1",
        "userId": "u1",
        "timestamp": "2026-12-01T10:00:00.000Z",
        "context": {"traits": {"email": "a@example.com"}},
    }
    result = ConversionMapper(dest).map(parse_event({**base, **event}))
    assert result.outcome == "conversion", result.reason
    return result.priority


@pytest.mark.parametrize(
    ("event", "settings", "priority"),
    [
        ({"type": "track", "event": "Order Completed"}, {}, 0),
        ({"type": "track", "event": "Signed Up"}, {}, 4),
        ({"type": "page"}, {}, 8),
        ({"type": "track", "event": "signed up "}, {"priority": {"Signed Up": 1}}, 1),
        ({"type": "page"}, {"priority": {"Page": 9}}, 9),
        ({"type": "track", "event": "Order Completed"}, {"priority": {"order completed": 3}}, 3),
    ],
)
def test_the_priority_of_a_mapped_event(
    event: dict[str, Any], settings: dict[str, Any], priority: int
) -> None:
    assert mapped_priority(event, **settings) == priority


@pytest.mark.parametrize("fast", [True, False])
def test_a_syncs_rows_go_last_unless_the_sync_sets_a_priority(fast: bool) -> None:
    batch = pa.RecordBatch.from_pydict(sync_rows(3))
    default = sync_map(batch, fast=fast)
    ranked = sync_map(batch, fast=fast, priority=2)
    assert [j.priority for e in default.events for j in e.jobs] == [9, 9, 9]
    assert [j.priority for e in ranked.events for j in e.jobs] == [2, 2, 2]
    times = [j.conversion_time for e in default.events for j in e.jobs]
    assert times == [
        "2026-03-01T10:15:30.250Z",
        "2026-03-01T10:15:31.250Z",
        "2026-03-01T10:15:32.250Z",
    ]


@pytest.mark.parametrize(
    ("table", "rule"),
    [({"page": 10}, r"\"page\": a priority is 0 \(first\) to 9"), ({" ": 1}, "empty")],
)
def test_a_priority_out_of_range_is_refused_naming_the_event(
    table: dict[str, int], rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        ConversionDestination(**PIXEL, priority=table)


def test_the_outbox_default_is_the_configurations_middle_priority() -> None:
    assert DEFAULT_PRIORITY == priority.EVENT
    assert priority.FIRST <= priority.PURCHASE < priority.EVENT < priority.PAGE < priority.SYNC
    assert priority.SYNC == priority.LAST
