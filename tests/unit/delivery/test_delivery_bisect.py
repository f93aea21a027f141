from __future__ import annotations

from collections.abc import Sequence

import pytest

from xconduit.delivery import send_bisecting
from xconduit.errors import (
    AuthError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
    XErrorDetail,
)


class FakeX:
    """All-or-nothing like X: rejects a request holding any bad item, naming no rows."""

    def __init__(self, bad: set[int], *, failures: dict[int, Exception] | None = None) -> None:
        self.bad = bad
        self.failures = failures or {}  # request number -> error to raise instead
        self.requests: list[list[int]] = []

    def send(self, part: Sequence[int]) -> None:
        self.requests.append(list(part))
        failure = self.failures.get(len(self.requests))
        if failure is not None:
            raise failure
        wrong = sorted(self.bad & set(part))
        if wrong:
            errors = tuple(
                XErrorDetail(code="INVALID_PARAMETER", message=f"row {n} is bad", parameter="x")
                for n in wrong
            )
            raise FatalDeliveryError("bad", status=400, errors=errors)


@pytest.mark.parametrize(
    ("size", "bad", "max_requests"),
    [
        (500, set(), 1),
        (500, {7}, 2 * 9 + 1),
        (500, {0, 250, 499}, 3 * 2 * 9 + 1),
        (497 + 3, {10, 11, 12}, 3 * 2 * 9 + 1),
        (1, {0}, 1),
        (8, set(range(8)), 15),  # all bad: every node of the tree, no more
    ],
)
def test_bisection_isolates_exactly_the_bad_rows(
    size: int, bad: set[int], max_requests: int
) -> None:
    x = FakeX(bad)
    result = send_bisecting(list(range(size)), x.send)
    assert sorted(item for item, _ in result.dead) == sorted(bad)
    assert sorted(result.delivered) == sorted(set(range(size)) - bad)
    assert result.requests == len(x.requests) <= max_requests
    assert result.events == sum(len(r) for r in x.requests)
    for item, error in result.dead:  # each dead row carries X's message about itself
        assert error.errors[0].message == f"row {item} is bad"


def test_a_right_half_known_to_be_bad_is_split_without_being_sent_whole() -> None:
    x = FakeX({3})
    send_bisecting([0, 1, 2, 3], x.send)
    assert x.requests == [[0, 1, 2, 3], [0, 1], [2], [3]]


def test_errors_not_about_rows_end_the_whole_part_at_once() -> None:
    x = FakeX({1}, failures={1: AuthError("no", status=401)})
    result = send_bisecting([0, 1, 2], x.send)
    assert [item for item, _ in result.dead] == [0, 1, 2]
    assert result.requests == 1


def test_a_retriable_error_while_bisecting_hands_that_part_back() -> None:
    x = FakeX({0}, failures={2: RetriableDeliveryError("boom", status=500)})
    result = send_bisecting([0, 1, 2, 3], x.send)
    # request 1: all (400); request 2: [0, 1] (500) -> retry; request 3: [2, 3] ok
    assert [part for part, _ in result.retry] == [[0, 1]]
    assert result.delivered == [2, 3]
    assert result.dead == []


def test_a_429_stops_sending_and_hands_back_everything_left() -> None:
    limited = RateLimited("slow down", status=429, retry_at=99.0)
    x = FakeX({0}, failures={2: limited})
    result = send_bisecting([0, 1, 2, 3], x.send)
    assert len(x.requests) == 2
    assert sorted(i for part, _ in result.retry for i in part) == [0, 1, 2, 3]
    assert all(error is limited for _, error in result.retry)


def test_parts_the_gate_refuses_are_left_unsent() -> None:
    x = FakeX({0})
    result = send_bisecting([0, 1, 2, 3], x.send, before_send=lambda n: n == 4)
    assert x.requests == [[0, 1, 2, 3]]
    assert sorted(result.unsent) == [0, 1, 2, 3]


@pytest.mark.parametrize("bisected", [True, False])
def test_a_404_for_an_event_id_is_bisected_but_an_unknown_pixel_is_not(bisected: bool) -> None:
    event = XErrorDetail(code="NOT_FOUND", message="event_id (zz) ...", parameter="event_id")
    errors = (event,) if bisected else ()
    calls: list[list[int]] = []

    def send(part: Sequence[int]) -> None:
        calls.append(list(part))
        if 1 in part or not errors:
            raise FatalDeliveryError("404", status=404, errors=errors)

    result = send_bisecting([0, 1], send)
    assert (result.delivered == [0]) is bisected
    assert len(calls) == (3 if bisected else 1)


def _refusal(event_id: str) -> XErrorDetail:
    return XErrorDetail(
        code="INVALID_PARAMETER",
        message=f"event_id ({event_id}) is not a single event tag (SET)",
        parameter="event_id",
    )


def test_a_batch_whose_one_event_id_x_refuses_is_dead_in_one_request() -> None:
    # An event deleted in Events Manager: every row names it; splitting would cost 999 requests.
    calls: list[list[int]] = []

    def send(part: Sequence[int]) -> None:
        calls.append(list(part))
        raise FatalDeliveryError(
            "400", status=400, errors=(_refusal("tw-oka17-gone1"),) * len(part)
        )

    result = send_bisecting(list(range(500)), send, event_id=lambda n: "tw-oka17-gone1")
    assert len(calls) == 1
    assert len(result.dead) == 500
    assert result.delivered == []


def test_rows_of_a_refused_event_id_are_dead_and_the_rest_is_sent_again_whole() -> None:
    event_ids = {n: "gone1" if n % 2 else "ol288" for n in range(400)}
    calls: list[list[int]] = []

    def send(part: Sequence[int]) -> None:
        calls.append(list(part))
        bad = [n for n in part if event_ids[n] == "gone1"]
        if bad:
            raise FatalDeliveryError("400", status=400, errors=(_refusal("gone1"),) * len(bad))

    result = send_bisecting(list(range(400)), send, event_id=event_ids.__getitem__)
    assert calls == [list(range(400)), list(range(0, 400, 2))]
    assert sorted(n for n, _ in result.dead) == list(range(1, 400, 2))
    assert result.delivered == list(range(0, 400, 2))
    for _, error in result.dead:  # one detail, about its own event id
        assert error.errors == (_refusal("gone1"),)


def test_other_bad_rows_beside_a_refused_event_id_are_still_bisected() -> None:
    event_ids = {n: "gone1" if n < 4 else "ol288" for n in range(8)}
    calls: list[list[int]] = []

    def send(part: Sequence[int]) -> None:
        calls.append(list(part))
        errors = [_refusal("gone1") for n in part if n < 4]
        errors += [
            XErrorDetail(code="INVALID_PARAMETER", message="bad hash", parameter="hashed_email")
            for n in part
            if n == 6
        ]
        if errors:
            raise FatalDeliveryError("400", status=400, errors=tuple(errors))

    result = send_bisecting(list(range(8)), send, event_id=event_ids.__getitem__)
    assert sorted(n for n, _ in result.dead) == [0, 1, 2, 3, 6]
    assert sorted(result.delivered) == [4, 5, 7]
    assert calls[:2] == [list(range(8)), [4, 5, 6, 7]]


@pytest.mark.parametrize(
    ("event_ids", "errors", "expected"),
    [
        # X names the id: exactly the rows using it
        (
            ["a", "b", "a"],
            [("event_id", "event_id (a) is not a single event tag (SET)")],
            [1, 0, 1],
        ),
        (["a", "b"], [("event_id", "event_id a does not belong to provided account")], [1, 0]),
        # X names no id: all rows when every error is about the part's only event id
        (["a", "a"], [("event_id", "m")], [1, 1]),
        (["a", "b"], [("event_id", "m")], [0, 0]),  # the other event id may be fine: bisect
        (["a", "a"], [("event_id", "m"), ("hashed_email", "m")], [0, 0]),
        (["a", "a"], [], [0, 0]),  # X named nothing
        (["a", None], [("event_id", "Event ID was not found")], [0, 1]),
        (["a", "a"], [("hashed_email", "event_id (a) …")], [0, 0]),  # not about event_id
    ],
)
def test_condemned(
    event_ids: list[str | None], errors: list[tuple[str, str]], expected: list[int]
) -> None:
    from xconduit.delivery.bisect import condemned

    details = tuple(XErrorDetail(code="X", message=m, parameter=p) for p, m in errors)
    error = FatalDeliveryError("x", status=400, errors=details)
    assert condemned(event_ids, error) == [bool(x) for x in expected]
