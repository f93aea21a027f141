"""Per-account rate limits in fixed windows, reported with X's headers.

X's docs disagree on the Conversion API limit: 60,000 *events* per 15 minutes
(guide, chart) or 100,000 *requests* per 15 minutes (v12 reference). Both readings are budgets
here; either or both can be set. A window starts at the first request after the previous one ended.
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


@dataclass(frozen=True, kw_only=True)
class Quota:
    """One budget's state after a check; `headers()` are X's rate-limit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: float  # epoch seconds

    def headers(self) -> dict[str, str]:
        values = {"limit": str(self.limit), "remaining": str(self.remaining)}
        values["reset"] = str(math.ceil(self.reset))
        out: dict[str, str] = {}
        for name, value in values.items():
            out[f"x-rate-limit-{name}"] = value
            out[f"x-account-rate-limit-{name}"] = value
        return out


class RateLimiter:
    """Fixed-window counters keyed by (account, budget name)."""

    def __init__(self, *, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

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
