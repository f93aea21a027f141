"""Rate limits per account with X's headers, on an injected clock and a 15-second window."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.sandbox import RateLimit, Sandbox
from xconduit.sandbox.ratelimit import RateLimiter


def _batch(conversion: Any, n: int) -> dict[str, Any]:
    return {"conversions": [conversion(conversion_id=f"o{i}") for i in range(n)]}


@pytest.fixture
def rate_limit() -> RateLimit:
    return RateLimit(window_seconds=15.0, conversion_events=10, audience_requests=2)


def test_events_budget_counts_conversions(api: Any, conversion: Any) -> None:
    first = api.conversions(_batch(conversion, 6))
    assert first.status_code == 200
    assert first.headers["x-rate-limit-limit"] == "10"
    assert first.headers["x-rate-limit-remaining"] == "4"
    assert first.headers["x-account-rate-limit-remaining"] == "4"
    assert first.headers["x-rate-limit-reset"] == str(int(api.clock() + 15))
    refused = api.conversions(_batch(conversion, 5))
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["x-rate-limit-remaining"] == "4"
    assert refused.headers["x-account-rate-limit-reset"] == str(int(api.clock() + 15))
    assert api.conversions(_batch(conversion, 4)).status_code == 200
    assert len(api.sandbox.conversions()) == 10


def test_budget_comes_back_after_the_window(api: Any, conversion: Any) -> None:
    assert api.conversions(_batch(conversion, 10)).status_code == 200
    assert api.conversions(_batch(conversion, 1)).status_code == 429
    api.clock.advance(14.9)
    assert api.conversions(_batch(conversion, 1)).status_code == 429
    api.clock.advance(0.1)
    response = api.conversions(_batch(conversion, 1))
    assert response.status_code == 200
    assert response.headers["x-rate-limit-remaining"] == "9"


def test_rejected_conversions_do_not_spend_events(api: Any, conversion: Any) -> None:
    bad = {"conversions": [conversion(event_id="oka17")] * 8}
    assert api.conversions(bad).status_code == 400
    assert api.conversions(_batch(conversion, 10)).status_code == 200


@pytest.mark.parametrize(
    "rate_limit",
    [RateLimit(window_seconds=15.0, conversion_events=None, conversion_requests=2)],
)
def test_requests_budget_counts_requests(api: Any, conversion: Any) -> None:
    assert api.conversions(_batch(conversion, 300)).status_code == 200
    second = api.conversions(_batch(conversion, 300))
    assert second.headers["x-rate-limit-remaining"] == "0"
    assert api.conversions(_batch(conversion, 1)).status_code == 429
    api.clock.advance(15)
    assert api.conversions(_batch(conversion, 1)).status_code == 200


def test_budgets_are_per_account(clock: Any, conversion: Any) -> None:
    limiter = RateLimiter(clock=clock)
    for account in ("a", "b"):
        limiter.spend((account, "x"), cost=5, limit=5, window=15)
    assert not limiter.check(("a", "x"), cost=1, limit=5, window=15).allowed
    assert limiter.check(("c", "x"), cost=5, limit=5, window=15).allowed


def test_audience_users_budget(api: Any) -> None:
    path = "/12/accounts/18ce552mlaq/custom_audiences/1nmth/users"
    body = [{"operation_type": "Update", "params": {"users": [{"email": ["a" * 64]}]}}]
    assert api.call("POST", path, json=body).status_code == 200
    assert api.call("POST", path, json=body).headers["x-rate-limit-remaining"] == "0"
    refused = api.call("POST", path, json=body)
    assert refused.status_code == 429
    assert refused.headers["x-rate-limit-reset"] == str(int(api.clock() + 60))


def test_sandbox_default_is_60000_events_per_15_minutes() -> None:
    limits = Sandbox().rate_limit
    assert (limits.conversion_events, limits.window_seconds) == (60_000, 900.0)
