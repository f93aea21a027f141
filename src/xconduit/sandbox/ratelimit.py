"""Per-account rate limits in fixed windows, reported with X's headers.

X's docs disagree on the Conversion API limit: 60,000 *events* per 15 minutes
(guide, chart) or 100,000 *requests* per 15 minutes (v12 reference). Both readings are budgets
here; either or both can be set. A window starts at the first request after the previous one ended.

GET endpoints have their own budgets per endpoint, from X's rate-limit chart: 2,000 per
15 minutes per ad account for reads of an account ("Other Account Reads"), 5 per 15 minutes per
user token for reads without an account id ("Global Reads", e.g. `GET accounts`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    """Budgets per ad account; None turns a budget off."""

    window_seconds: float = 900.0
    """Window of the Conversion API budgets (X: 15 minutes)."""
    conversion_events: int | None = 60_000
    """Conversions (events) accepted per window and account."""
    conversion_requests: int | None = None
    """Conversion API requests per window and account (the v12 reference reading: 100,000)."""
    audience_requests: int | None = 1500
    """Audience-users requests per `audience_window_seconds` and account (X: 1,500 per minute)."""
    audience_window_seconds: float = 60.0
    account_reads: int | None = 2000
    """GET requests per endpoint and ad account per `read_window_seconds` (X: 2,000 per 15 min)."""
    global_reads: int | None = 5
    """GET requests per endpoint without an account id (`GET accounts`), per user token and
    `read_window_seconds` (X: 5 per 15 min)."""
    read_window_seconds: float = 900.0


@dataclass(frozen=True, kw_only=True)
class Quota:
    """One budget's state after a check; `headers()` are X's rate-limit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  # epoch seconds

    def headers(self, *, account_level: bool = True) -> dict[str, str]:
        """X's user-level headers, and the account-level ones (same values) unless the budget
        is not an account's (`account_level=False`)."""
        values = {"limit": str(self.limit), "remaining": str(self.remaining)}
        values["reset"] = str(math.ceil(self.reset))
        out: dict[str, str] = {}
        for name, value in values.items():
            out[f"x-rate-limit-{name}"] = value
            if account_level:
                out[f"x-account-rate-limit-{name}"] = value
        return out


class RateLimiter:
    """Fixed-window counters keyed by (account, budget name), for the budgets of `limits`."""

    def __init__(self, *, clock: Callable[[], float], limits: RateLimit | None = None) -> None:
        self.limits = limits or RateLimit()
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    # --- the sandbox's budgets ----------------------------------------------------------------

    def conversion_quotas(self, account_id: str, events: int) -> list[Quota]:
        """The Conversion API budgets that are on, checked for one request of `events`."""
        quotas = (
            self._check(account_id, "conversion_requests", 1),
            self._check(account_id, "conversion_events", events),
        )
        return [q for q in quotas if q is not None]

    def spend_conversion_requests(self, account_id: str) -> dict[str, str]:
        """Spend one request; the headers of that budget, else of the events budget."""
        quota = self._spend(account_id, "conversion_requests", 1)
        if quota is None:
            quota = self._check(account_id, "conversion_events", 0)
        return {} if quota is None else quota.headers()

    def spend_conversion_events(self, account_id: str, events: int) -> dict[str, str]:
        quota = self._spend(account_id, "conversion_events", events)
        return {} if quota is None else quota.headers()

    def audience_quota(self, account_id: str) -> Quota | None:
        return self._check(account_id, "audience_requests", 1)

    def spend_audience_request(self, account_id: str) -> dict[str, str]:
        quota = self._spend(account_id, "audience_requests", 1)
        return {} if quota is None else quota.headers()

    def spend_read(self, owner: str, endpoint: str, *, account_level: bool) -> Quota | None:
        """One GET of `endpoint` by `owner` (an ad account, else the token's user): spent when
        it fits (`allowed`), else refused unspent; None when that budget is off."""
        name = "account_reads" if account_level else "global_reads"
        budget = self._budget(name)
        if budget is None:
            return None
        limit, window = budget
        key = (owner, f"{name}:{endpoint}")
        quota = self.check(key, cost=1, limit=limit, window=window)
        return self.spend(key, cost=1, limit=limit, window=window) if quota.allowed else quota

    def _budget(self, name: str) -> tuple[int, float] | None:
        """(limit, window) of a `RateLimit` budget, or None when it is off."""
        limit: int | None = getattr(self.limits, name)
        if name == "audience_requests":
            window = self.limits.audience_window_seconds
        elif name in ("account_reads", "global_reads"):
            window = self.limits.read_window_seconds
        else:
            window = self.limits.window_seconds
        return None if limit is None else (limit, window)

    def _check(self, account_id: str, name: str, cost: int) -> Quota | None:
        budget = self._budget(name)
        if budget is None:
            return None
        return self.check((account_id, name), cost=cost, limit=budget[0], window=budget[1])

    def _spend(self, account_id: str, name: str, cost: int) -> Quota | None:
        budget = self._budget(name)
        if budget is None:
            return None
        return self.spend((account_id, name), cost=cost, limit=budget[0], window=budget[1])

    # --- one budget ---------------------------------------------------------------------------

    def check(self, key: tuple[str, str], *, cost: int, limit: int, window: float) -> Quota:
        """Would `cost` fit now? Does not spend it (see `spend`)."""
        start, used = self._current(key, window)
        remaining = max(limit - used, 0)
        return Quota(
            allowed=cost <= remaining, limit=limit, remaining=remaining, reset=start + window
        )

    def spend(self, key: tuple[str, str], *, cost: int, limit: int, window: float) -> Quota:
        start, used = self._current(key, window)
        used += cost
        self._windows[key] = (start, used)
        return Quota(
            allowed=True, limit=limit, remaining=max(limit - used, 0), reset=start + window
        )

    def reset(self) -> None:
        self._windows.clear()

    def _current(self, key: tuple[str, str], window: float) -> tuple[float, int]:
        now = self._clock()
        start, used = self._windows.get(key, (now, 0))
        if now >= start + window:
            start, used = now, 0
        self._windows[key] = (start, used)
        return start, used
