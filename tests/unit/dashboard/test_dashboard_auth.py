"""The dashboard's count of wrong admin tokens per client, and the token comparison."""

from __future__ import annotations

import pytest

from xconduit.dashboard.auth import MAX_CLIENTS, FailedTokens, same_token


def test_wrong_tokens_hold_a_client_off_until_the_oldest_is_a_window_old() -> None:
    now = [1000.0]
    failures = FailedTokens(limit=3, window=60.0, clock=lambda: now[0])
    for second in range(3):
        assert failures.retry_after("a") is None
        now[0] = 1000.0 + second * 10
        failures.failed("a")
    assert failures.retry_after("a") == 40  # at 1020: the first, at 1000, counts until 1060
    assert failures.retry_after("b") is None  # another client is not held off
    now[0] = 1059.5
    assert failures.retry_after("a") == 1
    now[0] = 1060.0
    assert failures.retry_after("a") is None  # one more try, then held off again
    failures.failed("a")
    assert failures.retry_after("a") == 10


@pytest.mark.parametrize(
    ("given", "same"),
    [("s3cret", True), ("s3cre", False), ("s3cret-and-more", False), ("", False)],
)
def test_same_token(given: str, same: bool) -> None:
    assert same_token(given, "s3cret") is same


def test_memory_is_bounded_the_oldest_clients_are_forgotten() -> None:
    failures = FailedTokens(limit=1, window=60.0, clock=lambda: 1000.0)
    for n in range(MAX_CLIENTS + 1):
        failures.failed(f"client-{n}")
    assert failures.retry_after("client-0") is None  # forgotten: a flood of names costs memory
    assert failures.retry_after("client-1") == 60
    assert failures.retry_after(f"client-{MAX_CLIENTS}") == 60
