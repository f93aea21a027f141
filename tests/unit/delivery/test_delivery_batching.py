from __future__ import annotations

import pytest

from xconduit.delivery import Batcher, BatchRules


def batcher(max_count: int = 3, max_age: float = 1.0) -> Batcher[float]:
    # Items are their own birth times.
    return Batcher(BatchRules(max_count=max_count, max_age=max_age), born=lambda t: t)


def test_a_full_batch_closes_at_once() -> None:
    b = batcher()
    b.add([10.0, 10.1, 10.2])
    assert b.take(now=10.2) == [10.0, 10.1, 10.2]
    assert len(b) == 0


@pytest.mark.parametrize(
    ("now", "expected"),
    [(10.5, None), (10.99, None), (11.0, [10.0, 10.4]), (50.0, [10.0, 10.4])],
)
def test_a_partial_batch_closes_when_its_oldest_item_is_max_age_old(
    now: float, expected: list[float] | None
) -> None:
    b = batcher()
    b.add([10.4, 10.0])
    assert b.closes_at() == 11.0
    assert b.take(now=now) == expected


def test_a_backlog_goes_out_in_full_batches_oldest_first() -> None:
    b = batcher(max_count=2)
    b.add([3.0, 1.0, 2.0])
    assert b.room() == 0
    assert b.take(now=0.0) == [1.0, 2.0]
    assert b.take(now=0.0) is None  # the rest is young and not full
    assert b.take(now=4.0) == [3.0]


def test_drain_gives_back_everything_and_empty_has_no_deadline() -> None:
    b = batcher()
    b.add([1.0])
    assert b.drain() == [1.0]
    assert b.closes_at() is None
    assert b.take(now=100.0) is None


@pytest.mark.parametrize(("count", "age"), [(0, 1.0), (1, -1.0)])
def test_rules_refuse_impossible_values(count: int, age: float) -> None:
    with pytest.raises(ValueError, match="max_"):
        BatchRules(max_count=count, max_age=age)
