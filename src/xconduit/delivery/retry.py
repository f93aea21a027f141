"""What to do with a batch X did not take: a value that returns a decision (pure).

    error                                         decision
    RateLimited (429, or 503 with retry-after)    retry at X's reset time (`retry_at`)
    RetriableDeliveryError (408, 423, 5xx,        retry after an exponential backoff with jitter:
      timeouts, dropped connections)              retry_min, 2×, 4× … capped at retry_max
    FatalDeliveryError (other 4xx, incl. auth)    None: dead now, with X's code and message
    any of the above once the job has waited      None: dead, "retry window exhausted"
      `retry_window` since it was created

The worker only applies the decision. Randomness comes from an injected `random.Random`, so a
test can pin the jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from xconduit.errors import DeliveryError, RateLimited, RetriableDeliveryError

WINDOW_EXHAUSTED = "retry window exhausted"


@dataclass(frozen=True, kw_only=True)
class RetryDecision:
    """Try again at `retry_at` (epoch seconds); `reason` goes to the job's `last_error`."""

    retry_at: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff with jitter inside a retry window."""

    retry_min: float = 10.0
    """First backoff delay, seconds."""
    retry_max: float = 300.0
    """Longest backoff delay, seconds."""
    retry_window: float = 14_400.0
    """A job created longer ago than this is not retried again."""
    jitter: float = 0.5
    """Share of each delay that is random: 0.5 draws the delay from [d/2, d]."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempts: int) -> float:
        """The delay after the `attempts`-th failed attempt (1 = the first), jitter applied."""
        exponent = min(max(attempts, 1) - 1, 32)
        delay = min(self.retry_min * 2.0**exponent, self.retry_max)
        return delay * (1.0 - self.jitter * self.rng.random())

    def exhausted(self, *, created_at: float, now: float) -> bool:
        return now - created_at >= self.retry_window

    def decide(
        self, error: DeliveryError, *, attempts: int, created_at: float, now: float
    ) -> RetryDecision | None:
        """When to try again, or None for a dead letter (see `dead_reason` for why)."""
        if not isinstance(error, RetriableDeliveryError):
            return None
        if self.exhausted(created_at=created_at, now=now):
            return None
        if isinstance(error, RateLimited):
            return RetryDecision(retry_at=max(error.retry_at, now), reason=describe(error))
        return RetryDecision(retry_at=now + self.backoff(attempts), reason=describe(error))

    def dead_reason(self, error: DeliveryError) -> str:
        """Why `decide` said None: X's status, codes and messages, or the exhausted window."""
        if isinstance(error, RetriableDeliveryError):
            return f"{WINDOW_EXHAUSTED}; last error: {describe(error)}"
        return describe(error)


def describe(error: DeliveryError) -> str:
    """X's status, every error code and message (already redacted by the client), debug id."""
    if not error.errors:
        return str(error)
    parts = []
    for detail in error.errors:
        text = f"{detail.code or '-'}: {detail.message}"
        if detail.parameter:
            text += f" (parameter {detail.parameter})"
        parts.append(text)
    head = f"X {error.status}" if error.status is not None else "X"
    tail = f" [debug_id {error.debug_id}]" if error.debug_id else ""
    return f"{head} " + "; ".join(parts) + tail
