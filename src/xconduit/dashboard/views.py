"""The numbers of each dashboard page, all counted from the store (pure but for store reads).

So that several processes show one truth, nothing here comes from a process's memory but the
setup checks' last table and the paused accounts.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from xconduit.config import Settings
from xconduit.config.identity import ownership
from xconduit.dashboard.event_views import EventOutcome, event_outcomes
from xconduit.observability.tally import MATCH_KEYS
from xconduit.outbox import JobStatus
from xconduit.outbox.counts import MinuteRow
from xconduit.outbox.owners import OwnedCounts, split_owned

HOUR = 3600.0
DAY = 24 * HOUR

DROP_WHY = {
    "email": "not an email address (no @, or no domain)",
    "phone": "not a phone number valid in the destination's phone_region",
    "twclid": "not an X click id (wrong shape)",
    "ip_address": "not an IPv4/IPv6 address",
    "user_agent": "empty or too long",
}


@dataclass(kw_only=True)
class Amounts:
    """What happened to one destination's events in a time span."""

    received: float = 0
    filtered: float = 0
    invalid: float = 0
    queued: float = 0
    delivered: float = 0
    retried: float = 0
    dead: float = 0


@dataclass(kw_only=True)
class DestinationOverview:
    name: str
    hour: Amounts
    day: Amounts
    states: dict[str, int]
    """Jobs now, by state (pending, in_flight, retry_scheduled, dead, delivered)."""


_AMOUNT = {
    "conversions_queued": "queued",
    "conversions_filtered": "filtered",
    "conversions_invalid": "invalid",
    "conversions_delivered": "delivered",
    "conversions_retried": "retried",
    "conversions_dead": "dead",
}


def own_counts(settings: Settings, store: Any) -> OwnedCounts:
    """This configuration's jobs per destination and state, and how many waiting jobs belong
    to destinations not in it (other configurations sharing the store; never shown as ours)."""
    if not hasattr(store, "job_owners"):
        return OwnedCounts(own=store.counts())
    return split_owned(store.job_owners(), ownership(settings).owns)


WAITING = (JobStatus.PENDING, JobStatus.IN_FLIGHT, JobStatus.RETRY_SCHEDULED)
"""The states of a job not yet sent for good (delivered) nor given up (dead)."""


def waiting(settings: Settings, store: Any) -> dict[str, int]:
    """This configuration's events waiting to be sent, per destination."""
    return {
        name: sum(n for s, n in states.items() if s in WAITING)
        for name, states in own_counts(settings, store).own.items()
    }


def destination_names(
    settings: Settings, store: Any, *, counts: OwnedCounts | None = None
) -> list[str]:
    """The configured destinations, then others of this configuration with jobs (audiences)."""
    names = [d.name for d in settings.conversions]
    own = (counts or own_counts(settings, store)).own
    return names + sorted(set(own) - set(names))


def _add(amounts: Amounts, row: MinuteRow) -> None:
    attr = _AMOUNT.get(row.name)
    if attr is None:
        return
    setattr(amounts, attr, getattr(amounts, attr) + row.value)
    if attr in ("queued", "filtered", "invalid"):
        amounts.received += row.value


def overview(settings: Settings, store: Any, *, now: float) -> list[DestinationOverview]:
    rows: list[MinuteRow] = store.counter_minutes(now - DAY)
    counts = own_counts(settings, store)
    states = counts.own
    first_hour_minute = int((now - HOUR) // 60)
    out = []
    for name in destination_names(settings, store, counts=counts):
        hour, day = Amounts(), Amounts()
        for row in rows:
            if row.labels.get("destination") != name:
                continue
            _add(day, row)
            if row.minute > first_hour_minute:
                _add(hour, row)
        now_states = {str(s): n for s, n in states.get(name, {}).items()}
        out.append(DestinationOverview(name=name, hour=hour, day=day, states=now_states))
    return out


@dataclass(kw_only=True)
class Outcomes:
    """What became of one destination's events, in the words of the overview."""

    name: str
    received: float
    """Over the last day (duplicates not counted)."""
    sent: float
    """X accepted them (last day)."""
    not_sent: dict[str, float]
    """Filtered or invalid (last day), by why in plain words (observability.tally)."""
    waiting: int
    """Not sent yet, now."""
    failed: float
    """Given up (last day): X refused them or their retries ran out."""
    failed_why: dict[str, float]
    events: list[EventOutcome] = field(default_factory=list)
    """The same per event (last day; waiting: queued in it, not yet sent nor failed)."""


def outcomes(settings: Settings, store: Any, *, now: float) -> list[Outcomes]:
    rows: list[MinuteRow] = store.counter_minutes(now - DAY)
    counts = own_counts(settings, store)
    held = waiting(settings, store)
    out = []
    for name in destination_names(settings, store, counts=counts):
        day = Amounts()
        why: dict[str, float] = defaultdict(float)
        failed_why: dict[str, float] = defaultdict(float)
        for row in rows:
            if row.labels.get("destination") != name:
                continue
            _add(day, row)
            if row.name == "conversions_not_sent":
                why[row.labels.get("why", "")] += row.value
            elif row.name == "conversions_dead":
                failed_why[row.labels.get("reason", "")] += row.value
        # Counted before the reasons were (an older version): said, not left out.
        unsorted = day.filtered + day.invalid - sum(why.values())
        if unsorted > 0:
            why["for a reason not recorded (counted by an older version)"] += unsorted
        out.append(
            Outcomes(
                name=name,
                received=day.received,
                sent=day.delivered,
                not_sent=dict(why),
                waiting=held.get(name, 0),
                failed=day.dead,
                failed_why=dict(failed_why),
                events=event_outcomes(rows, name),
            )
        )
    return out


@dataclass(kw_only=True)
class MatchQuality:
    destination: str
    delivered: float
    share: dict[str, float]
    """Share (0..1) of delivered conversions carrying each of MATCH_KEYS."""
    dropped: dict[tuple[str, str], float]
    """Identifiers dropped, by kind and the rule they broke."""


def match_quality(settings: Settings, store: Any, *, now: float) -> list[MatchQuality]:
    """Over the last day."""
    rows: list[MinuteRow] = store.counter_minutes(now - DAY)
    out = []
    for name in destination_names(settings, store):
        delivered = 0.0
        carrying: dict[str, float] = defaultdict(float)
        dropped: dict[tuple[str, str], float] = defaultdict(float)
        for row in rows:
            if row.labels.get("destination") != name:
                continue
            if row.name == "conversions_delivered":
                delivered += row.value
            elif row.name == "conversions_delivered_with":
                carrying[row.labels.get("key", "")] += row.value
            elif row.name == "identifiers_dropped":
                dropped[row.labels.get("kind", ""), row.labels.get("rule", "")] += row.value
        share = {k: (carrying[k] / delivered if delivered else 0.0) for k in MATCH_KEYS}
        out.append(
            MatchQuality(destination=name, delivered=delivered, share=share, dropped=dict(dropped))
        )
    return out


@dataclass(kw_only=True)
class RateBudget:
    account_id: str
    used: int
    allowed: int
    window: float
    next_reset: float | None
    """When the oldest conversion counted in `used` leaves the window."""
    backlog: int
    """Jobs waiting (pending, in flight, retrying) for the account's destinations."""
    drained_at: float | None
    """When the backlog will have been sent at the allowed rate (None: no backlog)."""

    def sent_by(self, backlog: int, *, now: float) -> float | None:
        """When `backlog` jobs (the first ones delivery takes) will have been sent at the
        allowed rate: what the window has free goes now, the rest a window at a time."""
        free = max(self.allowed - self.used, 0)
        if backlog == 0:
            return None
        if backlog <= free:
            return now
        windows = math.ceil((backlog - free) / self.allowed)
        # Nothing sent yet: what goes now frees its room a whole window later.
        first = self.next_reset if self.next_reset is not None else now + self.window
        return first + (windows - 1) * self.window


def rate_budgets(settings: Settings, store: Any, *, now: float) -> list[RateBudget]:
    window = float(settings.delivery.window)
    allowed = settings.delivery.events_per_window
    rows: list[MinuteRow] = store.counter_minutes(now - window + 60)
    states = own_counts(settings, store).own
    accounts = list(dict.fromkeys(d.account_id for d in settings.conversions))
    out = []
    for account_id in accounts:
        minutes = [
            r
            for r in rows
            if r.name == "x_conversions_sent" and r.labels.get("account") == account_id
        ]
        used = int(sum(r.value for r in minutes))
        oldest = min((r.minute for r in minutes if r.value), default=None)
        next_reset = None if oldest is None else (oldest + 1) * 60 + window
        backlog = sum(
            n
            for d in settings.conversions
            if d.account_id == account_id
            for s, n in states.get(d.name, {}).items()
            if s in (JobStatus.PENDING, JobStatus.IN_FLIGHT, JobStatus.RETRY_SCHEDULED)
        )
        budget = RateBudget(
            account_id=account_id,
            used=used,
            allowed=allowed,
            window=window,
            next_reset=next_reset,
            backlog=backlog,
            drained_at=None,
        )
        budget.drained_at = budget.sent_by(backlog, now=now)
        out.append(budget)
    return out


@dataclass(kw_only=True)
class DebugLine:
    id: int
    source: str
    message_id: str
    event: str
    received_at: float
    destination: str
    outcome: str
    """filtered, invalid, or for a conversion its job's state (pending, delivered, dead, …)."""
    reason: str
    dropped: list[list[str]]
    payload: str
    """The exact conversion as X gets it (hashed identifiers), pretty JSON; empty if none."""


def debugger(
    store: Any,
    *,
    source: str | None = None,
    event: str | None = None,
    outcome: str | None = None,
    limit: int = 100,
) -> list[DebugLine]:
    rows = store.recent_events(source=source, limit=limit if source else 1000)
    lines: list[DebugLine] = []
    for row in rows:
        for result in orjson.loads(row.results):
            lines.append(
                DebugLine(
                    id=row.id,
                    source=row.source,
                    message_id=row.message_id,
                    event=row.event,
                    received_at=row.received_at,
                    destination=str(result.get("destination")),
                    outcome=str(result.get("outcome")),
                    reason=str(result.get("reason") or ""),
                    dropped=list(result.get("dropped") or []),
                    payload=(
                        orjson.dumps(result["conversion"], option=orjson.OPT_INDENT_2).decode()
                        if result.get("conversion")
                        else ""
                    ),
                )
            )
    keys = [
        (line.destination, line.message_id, line.received_at)
        for line in lines
        if line.outcome == "conversion"
    ]
    states = store.job_states(keys)
    for line in lines:
        if line.outcome == "conversion":
            key = (line.destination, line.message_id, line.received_at)
            line.outcome = states.get(key, "purged")
    return [
        line
        for line in lines
        if (event is None or line.event == event) and (outcome is None or line.outcome == outcome)
    ]


def per_source(lines: Iterable[DebugLine], limit: int) -> list[DebugLine]:
    """At most `limit` events per source (an event can have several lines)."""
    seen: dict[str, set[int]] = defaultdict(set)
    out = []
    for line in lines:
        ids = seen[line.source]
        if line.id in ids or len(ids) < limit:
            ids.add(line.id)
            out.append(line)
    return out
