from __future__ import annotations

import random

import pytest

from xconduit.delivery import WINDOW_EXHAUSTED, RetryDecision, RetryPolicy
from xconduit.errors import (
    AuthError,
    DeliveryError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
    XErrorDetail,
)


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def policy(jitter_draw: float = 0.0) -> RetryPolicy:
    return RetryPolicy(
        retry_min=10.0, retry_max=300.0, retry_window=14_400.0, rng=FixedRandom(jitter_draw)
    )


NOW = 100_000.0
BAD_HASH = XErrorDetail(
    code="INVALID_PARAMETER",
    message="hashed_email (<hash>) is not a valid SHA-256 hash",
    parameter="hashed_email",
)


@pytest.mark.parametrize(
    ("attempts", "draw", "delay"),
    [
        (1, 0.0, 10.0),
        (2, 0.0, 20.0),
        (3, 0.0, 40.0),
        (5, 0.0, 160.0),
        (6, 0.0, 300.0),  # capped at retry_max
        (50, 0.0, 300.0),
        (1, 1.0, 5.0),  # jitter takes up to half the delay
        (6, 0.5, 225.0),
    ],
)
def test_backoff_doubles_from_retry_min_to_retry_max_with_jitter(
    attempts: int, draw: float, delay: float
) -> None:
    error = RetriableDeliveryError("x", status=500)
    decision = policy(draw).decide(error, attempts=attempts, created_at=NOW, now=NOW)
    assert decision is not None
    assert decision.retry_at == pytest.approx(NOW + delay)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RetriableDeliveryError("timeout"), NOW + 10.0),
        (RetriableDeliveryError("x", status=408), NOW + 10.0),
        (RetriableDeliveryError("x", status=423), NOW + 10.0),
        (RetriableDeliveryError("x", status=503), NOW + 10.0),
        (RateLimited("x", status=429, retry_at=NOW + 600.0), NOW + 600.0),  # X's reset, no backoff
        (RateLimited("x", status=503, retry_at=NOW + 5.0), NOW + 5.0),  # retry-after
        (RateLimited("x", status=429, retry_at=NOW - 5.0), NOW),  # a reset in the past: now
        (FatalDeliveryError("x", status=400, errors=(BAD_HASH,)), None),
        (FatalDeliveryError("x", status=404), None),
        (AuthError("x", status=401), None),
    ],
)
def test_decision_table(error: DeliveryError, expected: float | None) -> None:
    decision = policy().decide(error, attempts=1, created_at=NOW, now=NOW)
    assert (decision and decision.retry_at) == expected


@pytest.mark.parametrize(("age", "retried"), [(14_399.0, True), (14_400.0, False)])
def test_the_retry_window_counts_from_the_jobs_creation(age: float, retried: bool) -> None:
    error = RetriableDeliveryError("x", status=500)
    decision = policy().decide(error, attempts=30, created_at=NOW - age, now=NOW)
    assert isinstance(decision, RetryDecision) is retried


def test_dead_reasons_carry_xs_code_and_message_or_the_exhausted_window() -> None:
    p = policy()
    fatal = FatalDeliveryError("x", status=400, errors=(BAD_HASH,), debug_id="d-1")
    assert p.dead_reason(fatal) == (
        "X 400 INVALID_PARAMETER: hashed_email (<hash>) is not a valid SHA-256 hash "
        "(parameter hashed_email) [debug_id d-1]"
    )
    exhausted = p.dead_reason(RetriableDeliveryError("conversions: X answered 500", status=500))
    assert exhausted.startswith(WINDOW_EXHAUSTED)
    assert "500" in exhausted
