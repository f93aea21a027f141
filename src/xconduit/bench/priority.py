"""`priority`: a backlog of three windows' budget, 90 % page views queued before 10 % purchases.

The sandbox (in a child process, over loopback HTTP) allows 600 events per 2 s window (`scale`
below 1 does not shorten it: the case is short already). The same backlog is delivered twice
into fresh outboxes: once first-in first-out (every job of one priority and one time: the
claim order is arrival order, as before priorities), once with the default priorities (page
views 8, purchases 0). Reported side by side: the time until the last purchase is at the
sandbox (priority must be inside the first window), 429 answers (0), and how fully the budget
was used (≥ 99 %: the events sent over what the windows the sends spanned allow).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.progress import Progress

from xconduit.bench.deliver import (
    ACCOUNT,
    EVENT,
    PIXEL,
    SHOP,
    _client,
    run_service,
    sandbox_process,
)
from xconduit.bench.registry import Row, benchmark
from xconduit.config import DeliverySettings
from xconduit.config.priority import PAGE, PURCHASE
from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.sqlite import SqliteStore
from xconduit.xads import ConversionsResult, XAdsClient

LIMIT, WINDOW, WINDOWS = 600, 2.0, 3
PURCHASE_SHARE = 0.10


class _Arrivals:
    """The client, noting when X answered for each purchase (seconds after `start`)."""

    def __init__(self, client: XAdsClient, start: float) -> None:
        self._client, self._start = client, start
        self._lock = threading.Lock()
        self.purchases: list[float] = []
        self.starts: list[float] = []

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        with self._lock:
            self.starts.append(time.perf_counter() - self._start)
        result = self._client.send_conversions(pixel_id, conversions)
        at = time.perf_counter() - self._start
        with self._lock:
            self.purchases.extend(at for c in conversions if c.get("description") == "purchase")
        return result


def _backlog(store: SqliteStore, *, ranked: bool) -> int:
    """Page views first, then purchases; `ranked`: with the default priorities and each
    conversion's own time, else one priority and one time for all (first-in first-out)."""
    count = LIMIT * WINDOWS
    purchases = int(count * PURCHASE_SHARE)
    now = time.time()
    events = []
    for n in range(count):
        purchase = n >= count - purchases
        at = now - (count - n)  # arrival order: the later, the fresher
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
        conversion = {
            "conversion_time": when,
            "event_id": EVENT,
            "identifiers": [{"hashed_email": f"{n:064x}"}],
            "conversion_id": f"prio-{n}",
            "description": "purchase" if purchase else "page",
        }
        job = NewJob(
            destination=SHOP.name,
            account_id=ACCOUNT,
            pixel_id=PIXEL,
            message_id=f"m{n}",
            conversion_id=f"prio-{n}",
            payload=orjson.dumps(conversion),
            priority=(PURCHASE if purchase else PAGE) if ranked else PAGE,
            conversion_time=when if ranked else "",
        )
        events.append(IncomingEvent(source="bench", message_id=f"m{n}", jobs=(job,)))
    store.commit_events(events, now=now)
    return purchases


def _run(url: str, folder: str, *, ranked: bool, progress: Progress) -> dict[str, float]:
    count = LIMIT * WINDOWS
    store = SqliteStore(Path(folder) / f"outbox-{ranked}.db", synchronous="NORMAL")
    purchases = _backlog(store, ranked=ranked)
    settings = DeliverySettings(events_per_window=LIMIT, window=WINDOW)
    with httpx.Client(timeout=30.0) as http:
        client = _Arrivals(_client(http, url), time.perf_counter())
        label = "priority" if ranked else "fifo"
        elapsed, service = run_service(store, client, settings, count, progress, label, poll=0.02)
        stats = service.stats()[SHOP.name]
    store.close()
    if len(client.purchases) != purchases:
        raise RuntimeError(f"{len(client.purchases):,} of {purchases:,} purchases at the sandbox")
    # Budget used: the events sent over what the windows the sends spanned allow (the sends
    # start with the first request; X's window opens there).
    windows = int((max(client.starts) - min(client.starts)) // WINDOW) + 1
    return {
        "last_purchase": max(client.purchases),
        "rate_limited": float(stats.rate_limited),
        "budget": count / (LIMIT * windows) * 100,
        "elapsed": elapsed,
    }


@benchmark("priority")
def run_priority(progress: Progress, scale: float) -> list[Row]:
    count = LIMIT * WINDOWS
    with (
        tempfile.TemporaryDirectory() as folder,
        sandbox_process(
            "--rate-limit-events", str(LIMIT), "--rate-limit-window", str(WINDOW)
        ) as url,
    ):
        fifo = _run(url, folder, ranked=False, progress=progress)
        time.sleep(WINDOW)  # the sandbox's window of the first run is over
        ranked = _run(url, folder, ranked=True, progress=progress)
    backlog = f"{count:,} queued ({LIMIT} / {WINDOW:g} s), 10 % purchases last"
    return [
        Row(
            benchmark="priority",
            case="last purchase at X, FIFO",
            value=fifo["last_purchase"],
            unit="s",
            note=backlog,
        ),
        Row(
            benchmark="priority",
            case="last purchase at X, by priority",
            value=ranked["last_purchase"],
            unit="s",
            target=f"< {WINDOW:g} (first window)",
            ok=ranked["last_purchase"] < WINDOW,
        ),
        Row(
            benchmark="priority",
            case="429 answers (FIFO, priority)",
            value=fifo["rate_limited"] + ranked["rate_limited"],
            unit="",
            target="0",
            ok=fifo["rate_limited"] + ranked["rate_limited"] == 0,
        ),
        Row(
            benchmark="priority",
            case="budget used, FIFO",
            value=fifo["budget"],
            unit="%",
            target="≥ 99",
            ok=fifo["budget"] >= 99,
            note=f"{fifo['elapsed']:.1f} s for the backlog",
        ),
        Row(
            benchmark="priority",
            case="budget used, by priority",
            value=ranked["budget"],
            unit="%",
            target="≥ 99",
            ok=ranked["budget"] >= 99,
            note=f"{ranked['elapsed']:.1f} s for the backlog",
        ),
    ]
