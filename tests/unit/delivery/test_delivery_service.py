"""DeliveryService over the in-memory store, a fake X and a fake clock (no sockets, no waiting)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
import pytest

from xconduit.config import ConversionDestination, DeliverySettings
from xconduit.config.identity import Ownership
from xconduit.delivery import DeliveryService
from xconduit.errors import RateLimited, RetriableDeliveryError
from xconduit.outbox import IncomingEvent, JobStatus, NewJob
from xconduit.outbox.memory import MemoryStore
from xconduit.xads import ConversionsResult

START = 1_700_000_000.0
SHOP = ConversionDestination(name="shop", account_id="18ce552mlaq", pixel_id="oka17")


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


class FakeX:
    """Fixed windows of `limit` events starting at the first request, like the sandbox."""

    def __init__(self, clock: Clock, *, limit: int = 10**9, window: float = 900.0) -> None:
        self.clock = clock
        self.limit, self.window = limit, window
        self.window_start: float | None = None
        self.used = 0
        self.sent: list[tuple[float, int]] = []
        self.script: list[Exception | int] = []  # per request: raise, or claim this processed
        self.too_many = 0

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        now = self.clock()
        if self.window_start is None or now >= self.window_start + self.window:
            self.window_start, self.used = now, 0
        step = self.script.pop(0) if self.script else None
        if isinstance(step, Exception):
            raise step
        if self.used + len(conversions) > self.limit:
            self.too_many += 1
            raise RateLimited("429", status=429, retry_at=self.window_start + self.window)
        self.used += len(conversions)
        self.sent.append((now, len(conversions)))
        processed = len(conversions) if step is None else step
        return ConversionsResult(
            processed=processed, sent=len(conversions), debug_id="d", account_id=None
        )


def enqueue(store: MemoryStore, count: int, *, now: float) -> None:
    events = [
        IncomingEvent(
            source="t",
            message_id=f"m{n}",
            jobs=(
                NewJob(
                    destination="shop",
                    account_id=SHOP.account_id,
                    pixel_id=SHOP.pixel_id,
                    message_id=f"m{n}",
                    conversion_id=f"c{n}",
                    payload=orjson.dumps({"conversion_id": f"c{n}"}),
                ),
            ),
        )
        for n in range(count)
    ]
    store.commit_events(events, now=now)


def service(store: MemoryStore, x: FakeX, clock: Clock, **settings: Any) -> DeliveryService:
    return DeliveryService(
        store=store,
        client=x,
        delivery=DeliverySettings(**settings),
        clock=clock,
        sleep=clock.sleep,
        destinations=[SHOP],
    )


def test_the_budget_makes_the_worker_wait_instead_of_getting_429s() -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock, limit=1000, window=100.0)
    enqueue(store, 2500, now=clock())
    svc = service(store, x, clock, events_per_window=1000, window=100.0)
    assert svc.run_until_idle(timeout=1000.0)
    assert x.too_many == 0
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 2500}}
    for start, _ in x.sent:  # no 100-s interval ever holds more than the budget
        assert sum(n for t, n in x.sent if start <= t < start + 100.0) <= 1000
    assert clock.now - START < 2 * 100.0 + 10  # and it did not wait longer than needed


def test_a_429_waits_for_xs_reset_then_delivers() -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock)
    x.script = [RateLimited("429", status=429, retry_at=START + 60.0)]
    enqueue(store, 10, now=clock())
    svc = service(store, x, clock)
    assert svc.run_until_idle(timeout=600.0)
    assert [t for t, _ in x.sent] == [pytest.approx(START + 60.0, abs=1.0)]
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 10}}


def test_retries_back_off_until_the_retry_window_is_exhausted() -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock)
    x.script = [RetriableDeliveryError("conversions: X answered 500", status=500)] * 1000
    enqueue(store, 3, now=clock())
    svc = service(store, x, clock, retry_window=3600.0)
    assert svc.run_until_idle(timeout=5 * 3600.0)
    dead = store.list_dead()
    assert len(dead) == 3
    assert all((j.last_error or "").startswith("retry window exhausted") for j in dead)
    assert 3600.0 <= clock.now - START <= 3600.0 + 300.0
    assert 10 <= dead[0].attempts <= 25  # 10, 20, 40 ... then every 2.5-5 minutes


def test_a_200_that_processed_fewer_is_delivered_and_logged_loudly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock)
    x.script = [4]
    enqueue(store, 5, now=clock())
    with caplog.at_level(logging.ERROR, logger="xconduit.delivery"):
        assert service(store, x, clock).run_until_idle(timeout=10.0)
    assert store.counts() == {"shop": {JobStatus.DELIVERED: 5}}
    assert "processed 4 of 5" in caplog.text


def test_young_jobs_wait_for_the_batch_to_fill_and_are_released_on_stop() -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock)
    enqueue(store, 5, now=clock())
    svc = service(store, x, clock, batch_age=30.0)
    assert not svc.run_until_idle(timeout=5.0)  # the batch is 5 s old, closes at 30 s
    assert x.sent == []
    assert store.counts() == {"shop": {JobStatus.PENDING: 5}}  # given back, not in flight
    claimed = store.claim_batch("shop", limit=9, now=clock(), lease_seconds=1.0)
    assert [job.attempts for job in claimed] == [1] * 5  # the released claim did not count


def tagged(store: MemoryStore, message_id: str, *, destination: str, owner: str) -> None:
    new = NewJob(
        destination=destination,
        account_id=SHOP.account_id,
        pixel_id=SHOP.pixel_id,
        message_id=message_id,
        conversion_id=message_id,
        payload=orjson.dumps({"conversion_id": message_id}),
        owner=owner,
    )
    store.commit_events([IncomingEvent(source="t", message_id=message_id, jobs=(new,))], now=START)


def test_only_this_configuration_s_jobs_are_sent_and_the_rest_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, store = Clock(), MemoryStore()
    x = FakeX(clock)
    mine = "a1b2c3d4e5f60718"
    tagged(store, "ours", destination="shop", owner=mine)
    tagged(store, "same-name-other-x", destination="shop", owner="ffeeddccbbaa9988")
    tagged(store, "not-configured", destination="crm", owner="0011223344556677")
    enqueue(store, 1, now=START)  # from before keys: same name, account and pixel: adopted
    svc = DeliveryService(
        store=store,
        client=x,
        delivery=DeliverySettings(),
        clock=clock,
        sleep=clock.sleep,
        destinations=[SHOP],
        ownership=Ownership(keys={"shop": mine}),
    )

    with caplog.at_level(logging.WARNING, logger="xconduit.delivery"):
        assert svc.run_until_idle(timeout=60.0)  # idle: the others' jobs are not its work
        assert svc.tidy() == 2

    assert sum(n for _, n in x.sent) == 2
    states = store.job_owners()
    assert states[("shop", mine)] == {JobStatus.DELIVERED: 2}
    assert states[("shop", "ffeeddccbbaa9988")] == {JobStatus.PENDING: 1}
    assert states[("crm", "0011223344556677")] == {JobStatus.PENDING: 1}
    lines = [r.getMessage() for r in caplog.records if "not in this config" in r.getMessage()]
    assert lines == [
        "delivery: 2 jobs in this store belong to destinations not in this config "
        "(another configuration's, or a destination since removed or changed): "
        "never sent from here"
    ]
