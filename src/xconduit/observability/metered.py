"""Delivery's counters and its one log line per X request, as wrappers around the store and X.

`MeteredSender` wraps the X client: per request to the Conversion API it logs one line (status,
conversions, latency, debug_id) and counts

    x_requests{account,status}          requests, by HTTP status (or `none`: no answer)
    x_request_seconds{account}          latency (histogram)
    batch_conversions{account}          conversions per request (histogram)
    x_conversions_sent{account}         conversions sent, re-sends while bisecting included
                                        (the rate budget's use)

`MeteredStore` wraps the outbox the delivery workers use and counts their acks:

    conversions_delivered{destination,event}        delivered (event: see event_names)
    conversions_delivered_with{destination,event,key}
                                                    delivered carrying twclid / email / phone /
                                                    ip_ua (match quality); only_ip_ua: that and
                                                    nothing else (the advice's weak ones)
    conversions_retried{destination}                scheduled for a retry
    conversions_dead{destination,event,reason}      dead, by X's error code (or the cause)

The counts are written right after the ack, in their own transaction.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from xconduit.errors import DeliveryError
from xconduit.observability.event_names import UNMAPPED, EventNames
from xconduit.observability.tally import ONLY_IP_UA, match_keys
from xconduit.outbox import DeliveryJob
from xconduit.outbox.counts import Count
from xconduit.xads import ConversionsResult

log = logging.getLogger("xconduit.x")
events_log = logging.getLogger("xconduit.delivery.events")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 5, 10, 50, 100, 250, 500)
HISTOGRAMS = {"x_request_seconds": LATENCY_BUCKETS, "batch_conversions": BATCH_BUCKETS}
_CODE = re.compile(r"\b[A-Z][A-Z_]{3,}\b")


def histogram(name: str, labels: tuple[tuple[str, str], ...], value: float) -> list[Count]:
    """The increments of one observation: cumulative buckets (`le`), `_sum` and `_count`."""
    counts = [
        Count(f"{name}_bucket", (*labels, ("le", le_label(bound))))
        for bound in HISTOGRAMS[name]
        if value <= bound
    ]
    counts.append(Count(f"{name}_bucket", (*labels, ("le", "+Inf"))))
    counts.append(Count(f"{name}_sum", labels, value))
    counts.append(Count(f"{name}_count", labels))
    return counts


def le_label(bound: float) -> str:
    return f"{float(bound):g}" if bound != int(bound) else f"{float(bound):.1f}"


def dead_reason(reason: str) -> str:
    """A short, bounded label for a dead letter's reason: X's error code, or the cause."""
    if reason.startswith("retry window exhausted"):
        return "retry_window_exhausted"
    code = _CODE.search(reason)
    if code:
        return code.group(0)
    status = re.match(r"X (\d{3})", reason)
    return f"http_{status.group(1)}" if status else "other"


class CountSink:
    """Where counts go: the store's `add_counts`, never failing delivery."""

    def __init__(self, add: Callable[..., None], clock: Callable[[], float]) -> None:
        self._add = add
        self._clock = clock

    def __call__(self, counts: Sequence[Count]) -> None:
        try:
            self._add(counts, now=self._clock())
        except Exception:  # a counter must never cost a conversion
            log.exception("cannot store delivery counters")


class MeteredSender:
    """The X client, with a log line and counters per Conversion API request."""

    def __init__(
        self,
        sender: Any,
        sink: CountSink,
        *,
        accounts: Mapping[str, str],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sender = sender
        self._sink = sink
        self._accounts = dict(accounts)  # pixel → account
        self._monotonic = monotonic

    def __getattr__(self, name: str) -> Any:  # every other X call passes through
        return getattr(self._sender, name)

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult:
        account = self._accounts.get(pixel_id, "unknown")
        start = self._monotonic()
        status: str = "none"
        debug_id: str | None = None
        try:
            result = self._sender.send_conversions(pixel_id, conversions)
        except DeliveryError as error:
            status = str(error.status or "none")
            debug_id = error.debug_id
            raise
        else:
            status, debug_id = "200", result.debug_id
            return result  # type: ignore[no-any-return]
        finally:
            seconds = self._monotonic() - start
            self._record(account, pixel_id, status, len(conversions), seconds, debug_id)

    def _record(
        self, account: str, pixel: str, status: str, n: int, seconds: float, debug_id: str | None
    ) -> None:
        log.info(
            "x conversions %s %s",
            status,
            pixel,
            extra={
                "x_request": {
                    "endpoint": "conversions",
                    "account_id": account,
                    "pixel_id": pixel,
                    "status": status,
                    "conversions": n,
                    "latency_ms": round(seconds * 1000, 1),
                    "debug_id": debug_id,
                }
            },
        )
        acct = (("account", account),)
        self._sink(
            [
                Count("x_requests", (*acct, ("status", status))),
                Count("x_conversions_sent", acct, n),
                *histogram("x_request_seconds", acct, seconds),
                *histogram("batch_conversions", acct, n),
            ]
        )


class MeteredStore:
    """The outbox as delivery uses it, counting what the acks do."""

    def __init__(self, store: Any, sink: CountSink, names: EventNames | None = None) -> None:
        """`names`: the `event` label's (None: every conversion is `(not mapped)`)."""
        self._store = store
        self._sink = sink
        self._names = names
        self._lock = threading.Lock()
        self._claimed: dict[int, DeliveryJob] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def claim_batch(
        self, destination: str, *, limit: int, now: float, lease_seconds: float, owner: str = ""
    ) -> list[DeliveryJob]:
        jobs: list[DeliveryJob] = self._store.claim_batch(
            destination, limit=limit, now=now, lease_seconds=lease_seconds, owner=owner
        )
        with self._lock:
            self._claimed.update((job.id, job) for job in jobs)
        return jobs

    def claim_within_budget(
        self, destination: str, **options: Any
    ) -> tuple[list[DeliveryJob], int | None]:
        """The claim delivery makes (the rate budget's, see `xconduit.outbox.budget`)."""
        claimed: tuple[list[DeliveryJob], int | None] = self._store.claim_within_budget(
            destination, **options
        )
        with self._lock:
            self._claimed.update((job.id, job) for job in claimed[0])
        return claimed

    def _take(self, ids: Sequence[int]) -> list[DeliveryJob]:
        with self._lock:
            return [job for i in ids if (job := self._claimed.pop(i, None)) is not None]

    def mark_delivered(self, ids: Sequence[int], *, now: float) -> int:
        moved: int = self._store.mark_delivered(ids, now=now)
        counts = []
        for job in self._take(ids):
            _event_line(logging.DEBUG, job, "delivered")
            conversion = orjson.loads(job.payload)
            dest = (("destination", job.destination), ("event", self._label(job, conversion)))
            counts.append(Count("conversions_delivered", dest))
            keys = match_keys(conversion)
            if keys == ["ip_ua"]:
                keys.append(ONLY_IP_UA)
            counts += [Count("conversions_delivered_with", (*dest, ("key", key))) for key in keys]
        self._sink(counts)
        return moved

    def _label(self, job: DeliveryJob, conversion: Any) -> str:
        if self._names is None or not isinstance(conversion, dict):
            return UNMAPPED
        return self._names.of_conversion(job.destination, conversion)

    def schedule_retry(self, ids: Sequence[int], *, at: float, error: str, now: float) -> int:
        moved: int = self._store.schedule_retry(ids, at=at, error=error, now=now)
        jobs = self._take(ids)
        self._sink([Count("conversions_retried", (("destination", j.destination),)) for j in jobs])
        return moved

    def dead_letter(self, items: Sequence[tuple[int, str]], *, now: float) -> int:
        moved: int = self._store.dead_letter(items, now=now)
        reasons = dict(items)
        jobs = self._take(list(reasons))
        for job in jobs:
            _event_line(logging.WARNING, job, "dead", reasons[job.id])
        self._sink(
            [
                Count(
                    "conversions_dead",
                    (
                        ("destination", j.destination),
                        ("event", self._label(j, orjson.loads(j.payload))),
                        ("reason", dead_reason(reasons[j.id])),
                    ),
                )
                for j in jobs
            ]
        )
        return moved

    def release(self, ids: Sequence[int], *, now: float) -> int:
        self._take(ids)
        moved: int = self._store.release(ids, now=now)
        return moved


def _event_line(level: int, job: DeliveryJob, outcome: str, reason: str | None = None) -> None:
    """One line per conversion: its ids and outcome (X's reason is redacted by the client)."""
    fields = {
        "message_id": job.message_id,
        "conversion_id": job.conversion_id,
        "destination": job.destination,
        "outcome": outcome,
        "attempts": job.attempts,
        "reason": reason,
    }
    events_log.log(level, "conversion %s %s", job.message_id, outcome, extra={"event": fields})
