"""The common event without the mapping core: its outputs from a template learned from the core.

Most events of a shop repeat a few shapes (the same event name, properties, products and context),
differing only in a few plain fields: ids, times, the email, the order id, the amount. `Holes.read`
takes those fields out (when each is of a plain kind) and keys the rest of the event; the second
event of a key is mapped by the core twice, as sent and with every hole changed (the probe), and
the outputs become a template only when filling it gives the core's bytes for both. Later events
of the key get their jobs, counts, debugger row and left-out fields from the template: the
strings of their holes come from the core's own functions (`hash_email`, `conversion_value`,
`conversion_time`), filled into the bytes the core made. Any other event, or a field of another
kind, goes through the core unchanged (the field stays in the key).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from xconduit.mapping.conversions import EARLIEST_TIME, FUTURE_SLACK, conversion_time, format_time
from xconduit.mapping.values import BadValue, conversion_value
from xconduit.normalize.identifiers import clean_ip, hash_email
from xconduit.normalize.redact import private_id
from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.counts import Count, RecentEvent

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,98}")
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._+\-]{0,63}@[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63}){1,4}")
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}[0-9]{1,3}")
_LARGEST = 10**15
_PROBE_TIMES = ("2010-01-01T00:00:00.000Z", "2011-01-01T00:00:00.000Z")
_PROBE_RECEIVED = "2030-01-01T00:00:00.000+00:00"


class Holes:
    """Reads the holes of the events of one request (received at `received_at`)."""

    def __init__(self, received_at: str) -> None:
        self.received_at = received_at
        self.received = conversion_time(received_at)
        self.latest = format_time(datetime.fromisoformat(received_at) + FUTURE_SLACK)

    def read(self, raw: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[str, ...]] | None:
        """(key, the strings of the holes), or None when the event cannot be keyed."""
        top = dict(raw)
        strings: list[str] = []
        mask = 0
        for bit, name, kind in _TOP:
            value = top.get(name)
            if value is not None and (text := kind(self, value)) is not None:
                del top[name]
                strings.append(text)
                mask |= bit
        for where, inside in _INSIDE:
            inner = top.get(where)
            if type(inner) is not dict:
                continue
            copied = False
            for bit, name, kind in inside:
                value = inner.get(name)
                if value is not None and (text := kind(self, value)) is not None:
                    if not copied:
                        inner = top[where] = dict(inner)
                        copied = True
                    del inner[name]
                    strings.append(text)
                    mask |= bit
        try:
            shape = orjson.dumps(top)
        except (TypeError, orjson.JSONEncodeError):
            return None
        return (mask, shape), tuple(strings)

    def probe(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """A copy of `raw` whose every hole holds another value of the same kind."""
        copy: dict[str, Any] = orjson.loads(orjson.dumps(raw))
        for where, name, kind in HOLES:
            inner = copy.get(where) if where else copy
            if type(inner) is not dict or inner.get(name) is None:
                continue
            if kind(self, inner[name]) is None:
                continue
            other = _other(kind, inner[name])
            if other is None or kind(self, other) is None:
                return None
            inner[name] = other
        return copy

    def ident(self, value: Any) -> str | None:
        return value if type(value) is str and _ID.fullmatch(value) else None

    def order(self, value: Any) -> str | None:
        text = self.ident(value)
        return text if text is not None and private_id(text) == text else None

    def time(self, value: Any) -> str | None:
        """The core's conversion time of an ISO-8601 time within X's limits."""
        if type(value) is not str or len(value) > 40:
            return None
        try:
            if _TIME.fullmatch(value):
                datetime.fromisoformat(value)  # the core takes X's form as is: check the date
                when = value
            else:
                when = conversion_time(value)  # Segment's Python library: microseconds, +00:00
        except (ValueError, OverflowError):
            return None
        return when if EARLIEST_TIME <= when <= self.latest else None

    def received_time(self, value: Any) -> str | None:
        if value == self.received_at:
            return self.received
        return None if value != _PROBE_RECEIVED else conversion_time(value)

    def email(self, value: Any) -> str | None:
        if type(value) is not str or not _EMAIL.fullmatch(value):
            return None
        return hash_email(value)

    def amount(self, value: Any) -> str | None:
        if type(value) is int:
            return f"{value}.00" if 0 <= value < _LARGEST else None
        return _float_amount(value) if type(value) is float else None

    def ip(self, value: Any) -> str | None:
        if type(value) is not str or not _IPV4.fullmatch(value):
            return None
        return value if clean_ip(value) == value else None


@lru_cache(maxsize=4096)
def _float_amount(value: float) -> str | None:
    """The core's value string of a float amount (prices repeat: kept, like the phone cache)."""
    try:
        return conversion_value({"value": value}, [])
    except BadValue:
        return None


Kind = Callable[[Holes, Any], "str | None"]

HOLES: tuple[tuple[str, str, Kind], ...] = (
    ("", "messageId", Holes.ident),
    ("", "userId", Holes.ident),
    ("", "anonymousId", Holes.ident),
    ("", "timestamp", Holes.time),
    ("", "originalTimestamp", Holes.time),
    ("", "sentAt", Holes.time),
    ("", "receivedAt", Holes.received_time),
    ("properties", "email", Holes.email),
    ("properties", "order_id", Holes.order),
    ("properties", "orderId", Holes.order),
    ("properties", "revenue", Holes.amount),
    ("properties", "value", Holes.amount),
    ("context", "ip", Holes.ip),
    ("traits", "email", Holes.email),
)
"""Where a hole may be, and the kind of value it takes (the method giving its string)."""
_TOP = tuple((1 << n, name, kind) for n, (where, name, kind) in enumerate(HOLES) if not where)
_INSIDE = tuple(
    (
        outer,
        tuple(
            (1 << n, name, kind) for n, (where, name, kind) in enumerate(HOLES) if where == outer
        ),
    )
    for outer in dict.fromkeys(where for where, _, _ in HOLES if where)
)


def _other(kind: Kind, value: Any) -> Any:
    """Another value of `kind` than `value`, for the probe."""
    if kind is Holes.ident or kind is Holes.order:
        return value + "Q" if len(value) < 99 else value[:-1]
    if kind is Holes.time:
        return _PROBE_TIMES[value == _PROBE_TIMES[0]]
    if kind is Holes.received_time:
        return _PROBE_RECEIVED
    if kind is Holes.email:
        return "q" + value
    if kind is Holes.amount:
        return value + 1
    if kind is Holes.ip:
        return "192.0.2.1" if value != "192.0.2.1" else "192.0.2.2"
    return None


class Outputs(NamedTuple):
    """What the collector keeps of one accepted event (the core's or the template's)."""

    message_id: str
    jobs: tuple[NewJob, ...]
    counts: tuple[Count, ...]
    left_out: tuple[tuple[str, str, str], ...]
    """(destination, field, rule) of every field left out."""
    recent: tuple[str, str, bytes]
    """The debugger's row: the event's name, its message id and its results."""


def outputs_of(event: IncomingEvent, left_out: tuple[tuple[str, str, str], ...]) -> Outputs:
    recent = event.recent
    row = ("", "", b"") if recent is None else (recent.event, recent.message_id, recent.results)
    return Outputs(event.message_id, event.jobs, event.counts, left_out, row)


class _Text:
    """Bytes with holes: each occurrence of a hole's string (JSON-quoted) is a slot."""

    def __init__(self, parts: tuple[bytes, ...], order: tuple[int, ...]) -> None:
        # Filled as text, then encoded once: the parts are UTF-8 (orjson's), so this gives the
        # same bytes as encoding each string (measured: ~2× faster than a generator of encodes).
        self._format = "%s".join(part.decode().replace("%", "%%") for part in parts)
        self._pick = _getter(order)

    @classmethod
    def learn(cls, strings: tuple[str, ...], data: bytes) -> _Text | None:
        found = []
        for n, text in enumerate(strings):
            quoted = f'"{text}"'.encode()
            at = data.find(quoted)
            while at >= 0:
                found.append((at + 1, at + len(quoted) - 1, n))
                at = data.find(quoted, at + len(quoted))
        found.sort()
        parts, start = [], 0
        for begin, end, _ in found:
            if begin < start:
                return None  # overlapping holes
            parts.append(data[start:begin])
            start = end
        parts.append(data[start:])
        return cls(tuple(parts), tuple(n for _, _, n in found))

    def fill(self, strings: tuple[str, ...]) -> bytes:
        return (self._format % self._pick(strings)).encode()


def _getter(order: tuple[int, ...]) -> Callable[[tuple[str, ...]], tuple[str, ...]]:
    """The strings at `order`, as a tuple (itemgetter gives a bare item for one index)."""
    if len(order) > 1:
        return itemgetter(*order)
    if order:
        first = order[0]
        return lambda strings: (strings[first],)
    return lambda strings: ()


def _slot(strings: tuple[str, ...], value: str) -> int | str | None:
    """The hole `value` is (its index), or `value` itself when no hole is; None if ambiguous."""
    times = strings.count(value)
    return value if times == 0 else strings.index(value) if times == 1 else None


def _pick(strings: tuple[str, ...], slot: int | str) -> str:
    return slot if type(slot) is str else strings[slot]  # type: ignore[index]


class Template(NamedTuple):
    """An event key's outputs with holes."""

    source: str
    message_id: int | str
    jobs: tuple[tuple[NewJob, int | str, int | str, int | str, _Text], ...]
    """Per job: the core's job, and the slots of its message id, conversion id, time, payload."""
    counts: tuple[Count, ...]
    left_out: tuple[tuple[str, str, str], ...]
    event: str
    results: _Text

    @classmethod
    def learn(cls, source: str, strings: tuple[str, ...], made: Outputs) -> Template | None:
        if len(set(strings)) != len(strings):
            return None
        message_id = _slot(strings, made.message_id)
        jobs = []
        for job in made.jobs:
            mid = _slot(strings, job.message_id)
            cid = _slot(strings, job.conversion_id)
            when = _slot(strings, job.conversion_time)
            payload = _Text.learn(strings, job.payload)
            if mid is None or cid is None or when is None or payload is None:
                return None
            jobs.append((job, mid, cid, when, payload))
        results = _Text.learn(strings, made.recent[2])
        if results is None or message_id is None or made.recent[1] != made.message_id:
            return None
        return cls(
            source, message_id, tuple(jobs), made.counts, made.left_out, made.recent[0], results
        )

    def outputs(self, strings: tuple[str, ...]) -> Outputs:
        """The outputs of the event whose holes hold `strings` (to check the template)."""
        event = self.event_of(strings)
        assert event.recent is not None
        return outputs_of(event, self.left_out)

    def event_of(self, strings: tuple[str, ...]) -> IncomingEvent:
        message_id = _pick(strings, self.message_id)
        jobs = tuple(
            NewJob(
                destination=job.destination,
                account_id=job.account_id,
                pixel_id=job.pixel_id,
                message_id=_pick(strings, mid),
                conversion_id=_pick(strings, cid),
                payload=payload.fill(strings),
                owner=job.owner,
                priority=job.priority,
                conversion_time=_pick(strings, when),
            )
            for job, mid, cid, when, payload in self.jobs
        )
        recent = RecentEvent(
            source=self.source,
            message_id=message_id,
            event=self.event,
            results=partial(self.results.fill, strings),
        )
        return IncomingEvent(
            source=self.source,
            message_id=message_id,
            jobs=jobs,
            counts=self.counts,
            recent=recent,
        )


class Known:
    """The templates of the event keys seen (bounded: forgotten all at once when full). Shared by
    the threads that accept requests: each step is one dictionary operation, and two threads
    learning the same key store the same template."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._keys: dict[tuple[Any, ...], Template | bool] = {}
        """A key's template, or False: seen once; True: cannot be learnt."""

    def get(self, key: tuple[Any, ...]) -> Template | bool:
        """A template; True: seen before, learn now; False: new, or cannot be learnt."""
        found = self._keys.get(key)
        if found is None:
            if len(self._keys) >= self.LIMIT:
                self._keys.clear()
            self._keys[key] = False
            return False
        return not found if type(found) is bool else found

    def templates(self) -> int:
        return sum(type(found) is Template for found in list(self._keys.values()))

    def learned(self, key: tuple[Any, ...], template: Template | None) -> None:
        self._keys[key] = True if template is None else template
