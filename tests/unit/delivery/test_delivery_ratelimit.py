from __future__ import annotations

import pytest

from xconduit.delivery import Allowance, RateBudget
from xconduit.xads.payloads import parse_rate_limit


def budget(events: int = 1000, requests: int = 10, window: float = 100.0) -> RateBudget:
    return RateBudget(events=events, requests=requests, window=window)


def test_a_fresh_budget_allows_the_whole_window() -> None:
    assert budget().available(0.0) == Allowance(events=1000, requests=10)


def test_held_and_in_flight_events_count_until_a_window_after_they_settle() -> None:
    b = budget()
    b.hold(500)
    assert b.available(0.0).events == 500
    send = b.spend(events=500, held=500)
    assert b.available(0.0) == Allowance(events=500, requests=9)
    assert b.available(1000.0).events == 500  # in flight: counts however long it takes
    b.settle(send, now=5.0)
    assert b.available(104.9).events == 500
    assert b.available(105.0) == Allowance(events=1000, requests=10)


def test_free_at_is_the_time_the_oldest_settled_sends_leave_the_window() -> None:
    b = budget()
    for at in (1.0, 2.0, 3.0):
        b.settle(b.spend(events=300), now=at)
    assert b.free_at(events=100, now=3.0, requests=1) == 3.0  # 100 still free
    assert b.free_at(events=200, now=3.0, requests=1) == 101.0
    assert b.free_at(events=500, now=3.0, requests=1) == 102.0
    assert b.free_at(events=1001, now=3.0, requests=1) is None  # never, with these sends


def test_requests_are_a_budget_of_their_own() -> None:
    b = budget(requests=2)
    b.settle(b.spend(events=1), now=0.0)
    b.settle(b.spend(events=1), now=1.0)
    assert b.available(1.0) == Allowance(events=998, requests=0)
    assert b.free_at(events=1, requests=1, now=1.0) == 100.0


def test_an_in_flight_send_makes_free_at_unknown() -> None:
    b = budget(events=10)
    b.spend(events=10)
    assert b.free_at(events=1, requests=1, now=0.0) is None


def test_a_429_blocks_everything_until_the_reset() -> None:
    b = budget()
    b.block_until(50.0)
    assert b.available(49.0) == Allowance(events=0, requests=0)
    assert b.free_at(events=1, requests=1, now=10.0) == 50.0
    assert b.available(50.0).events == 1000


def test_headers_showing_usage_we_did_not_make_cap_us_until_the_reset() -> None:
    b = budget()
    b.settle(b.spend(events=100), now=0.0)
    b.observe(limit=1000, remaining=300, reset=60.0, now=0.0)  # someone else spent 600
    assert b.available(1.0).events == 300
    b.settle(b.spend(events=200), now=2.0)
    assert b.available(2.0).events == 100
    assert b.free_at(events=200, requests=1, now=2.0) == 60.0
    assert b.available(60.0).events == 700  # X's window reset; ours still holds 300


@pytest.mark.parametrize(
    ("limit", "remaining", "expected_events"),
    [
        (1000, 900, 900),  # matches our own count: no cap
        (5000, 900, 900),  # a looser limit never loosens ours
        (500, 400, 400),  # a stricter limit becomes ours
        (None, None, 900),
    ],
)
def test_headers_only_tighten(
    limit: int | None, remaining: int | None, expected_events: int
) -> None:
    b = budget()
    b.settle(b.spend(events=100), now=0.0)
    b.observe(limit=limit, remaining=remaining, reset=60.0, now=0.0)
    assert b.available(0.0).events == expected_events


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        (
            {
                "x-rate-limit-limit": "60000",
                "x-rate-limit-remaining": "10",
                "x-rate-limit-reset": "7",
            },
            (60000, 10, 7.0),
        ),
        (  # the account headers win
            {
                "x-rate-limit-remaining": "10",
                "X-Account-Rate-Limit-Remaining": "3",
                "x-account-rate-limit-reset": "9",
            },
            (None, 3, 9.0),
        ),
        ({"x-rate-limit-remaining": "many"}, (None, None, None)),
    ],
)
def test_rate_limit_headers_are_read_from_xs_answers(
    headers: dict[str, str], expected: tuple[int | None, int | None, float | None] | None
) -> None:
    status = parse_rate_limit(headers)
    if expected is None:
        assert status is None
    else:
        assert status is not None
        assert (status.limit, status.remaining, status.reset) == expected
