"""When enqueued conversions will have reached X at the configured rate budget (pure).

X allows `events_per_window` conversions (60,000 by default) and `requests_per_window` requests
per ad account in any `window` (15 minutes). The first window's worth goes at once, then one
window's worth every window: `backlog` conversions need `ceil(backlog / events) - 1` more
windows, and likewise for requests of `batch_size` conversions each. The slower of the two wins.
"""

from __future__ import annotations

import math

from xconduit.config import DeliverySettings


def delivery_seconds(backlog: int, delivery: DeliverySettings) -> float:
    """Seconds until `backlog` conversions of one account have been sent (0 when they fit in the
    current window). Assumes a fresh budget: spending by a running gateway makes it later."""
    if backlog <= 0:
        return 0.0
    windows_for_events = math.ceil(backlog / delivery.events_per_window) - 1
    requests = math.ceil(backlog / delivery.batch_size)
    windows_for_requests = math.ceil(requests / delivery.requests_per_window) - 1
    return max(windows_for_events, windows_for_requests, 0) * float(delivery.window)


def spoken(seconds: float) -> str:
    """`4 h 15 min`, `12 min`, `under a minute`."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
