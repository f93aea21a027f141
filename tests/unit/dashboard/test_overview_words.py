"""The overview's sentences about waiting and failed events (pure rendering)."""

from __future__ import annotations

import pytest

from xconduit.dashboard.overview import destination_section, failed_words
from xconduit.dashboard.problems import RootCause
from xconduit.dashboard.views import Outcomes, RateBudget

NOW = 1_800_000_000.0


def section(*, waiting: int, budget: RateBudget | None, holds: list[RootCause]) -> str:
    outcomes = Outcomes(
        name="shop",
        received=10 + waiting,
        sent=10,
        not_sent={},
        waiting=waiting,
        failed=0,
        failed_why={},
    )
    return destination_section(outcomes, hours=[], budget=budget, holds=holds, now=NOW)


def budget(drained_at: float | None) -> RateBudget:
    return RateBudget(
        account_id="18ce552mlaq",
        used=60_000,
        allowed=60_000,
        window=900.0,
        next_reset=NOW + 300,
        backlog=5,
        drained_at=drained_at,
    )


def test_waiting_past_the_budget_says_when_it_reaches_x() -> None:
    text = section(waiting=5, budget=budget(NOW + 300), holds=[])
    assert "5 events waiting: all reach X by 2027-01-15 08:05:00 UTC" in text
    assert "(60,000 per 15 minutes)" in text


def test_waiting_within_the_budget_is_being_sent() -> None:
    assert "1 event waiting: being sent now" in section(waiting=1, budget=budget(NOW), holds=[])


def test_waiting_held_by_a_problem_names_it() -> None:
    cause = RootCause(
        what='conversion destination "shop": pixel_id',
        why="",
        fix="",
        anchor="check-x",
        waiting=5,
        destinations=("shop",),
    )
    text = section(waiting=5, budget=budget(NOW + 300), holds=[cause])
    assert "held until this is fixed: <b>conversion destination &quot;shop&quot;: pixel_id" in text
    assert "reach X by" not in text


def test_nothing_waiting_says_nothing() -> None:
    assert "waiting-note" not in section(waiting=0, budget=None, holds=[])


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("INVALID_PARAMETER", "X said: INVALID_PARAMETER"),
        ("http_400", "X answered HTTP 400"),
        ("retry_window_exhausted", "X did not take them before the retries ran out"),
        ("other", "for another reason (the Dead letters page has X's words)"),
    ],
)
def test_failed_words(reason: str, expected: str) -> None:
    assert failed_words(reason).startswith(expected)
