"""A destination's numbers per event (the configured event name, `observability.event_names`),
counted from the store's per-minute counters of the last day (pure).

An event's waiting conversions are those queued in the window and neither sent nor failed yet,
so that each row adds up: received = sent + not sent + waiting + failed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from xconduit.observability.event_names import UNMAPPED
from xconduit.outbox.counts import MinuteRow

_KIND = {
    "conversions_queued": "queued",
    "conversions_filtered": "not_sent",
    "conversions_invalid": "not_sent",
    "conversions_delivered": "sent",
    "conversions_dead": "failed",
}


@dataclass(kw_only=True)
class EventOutcome:
    event: str
    queued: float = 0
    sent: float = 0
    failed: float = 0
    not_sent: dict[str, float] = field(default_factory=dict)
    """By why in plain words (observability.tally)."""

    @property
    def not_sent_total(self) -> float:
        return sum(self.not_sent.values())

    @property
    def received(self) -> float:
        return self.queued + self.not_sent_total

    @property
    def waiting(self) -> float:
        return max(self.queued - self.sent - self.failed, 0)


def event_outcomes(rows: Iterable[MinuteRow], destination: str) -> list[EventOutcome]:
    """The destination's events with any traffic, the most received first."""
    by_event: dict[str, EventOutcome] = {}
    unsorted: dict[str, float] = defaultdict(float)
    for row in rows:
        kind = _KIND.get(row.name)
        if kind is None and row.name != "conversions_not_sent":
            continue
        if row.labels.get("destination") != destination:
            continue
        name = row.labels.get("event", UNMAPPED)
        e = by_event.get(name) or by_event.setdefault(name, EventOutcome(event=name))
        if row.name == "conversions_not_sent":
            why = row.labels.get("why", "")
            e.not_sent[why] = e.not_sent.get(why, 0) + row.value
            unsorted[name] -= row.value
        elif kind == "not_sent":
            unsorted[name] += row.value
        elif kind is not None:
            setattr(e, kind, getattr(e, kind) + row.value)
    for name, n in unsorted.items():
        if n > 0:  # counted before the reasons were (an older version): said, not left out
            e = by_event[name]
            key = "for a reason not recorded (counted by an older version)"
            e.not_sent[key] = e.not_sent.get(key, 0) + n
    return sorted(by_event.values(), key=lambda e: (-e.received, e.event))
