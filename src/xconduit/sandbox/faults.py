"""Fault injection per route kind, by schedule (one entry per request) or probability.

A fault is written as a short string, the same in Python, over HTTP and on the command line:
`200` (no fault), `500`, `503`, `503:retry-after=5`, `429`, `429:reset=30`, `slow:2.5`
(answer normally after 2.5 s), `drop` (close the connection without a response), `drop:after`
(handle and record the request, then close without a response) and
`mismatch` / `mismatch:3` (audience users: `success_count` lower than `total_count`).
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

ROUTE_KINDS = ("conversions", "audience_users", "audiences", "accounts", "oauth")
ANY = "*"


@dataclass(frozen=True, kw_only=True)
class Fault:
    status: int | None = None  # 500, 503 or 429 (anything else: answer normally)
    retry_after: float | None = None  # 503: the `retry-after` header
    reset_in: float = 60.0  # 429: seconds until `x-rate-limit-reset`
    delay: float = 0.0
    drop: bool = False  # close the connection before handling the request
    drop_after: bool = False  # handle (and record) the request, then close without answering
    mismatch: int = 0


NO_FAULT = Fault()


def parse_fault(spec: str | int | Fault) -> Fault:
    """`"503:retry-after=5"` -> Fault(status=503, retry_after=5.0); raises ValueError."""
    if isinstance(spec, Fault):
        return spec
    text = str(spec).strip().lower()
    head, _, arg = text.partition(":")
    if head in {"200", "ok", "none"}:
        return NO_FAULT
    if head == "drop":
        if arg not in {"", "after"}:
            raise ValueError(f"unknown fault option {arg!r}")
        return Fault(drop_after=True) if arg == "after" else Fault(drop=True)
    if head == "slow":
        return Fault(delay=float(arg or "1"))
    if head == "mismatch":
        return Fault(mismatch=int(arg or "1"))
    if head in {"500", "503", "429"}:
        fault = Fault(status=int(head))
        name, _, value = arg.partition("=")
        if name == "retry-after" and head == "503":
            return Fault(status=503, retry_after=float(value))
        if name == "reset" and head == "429":
            return Fault(status=429, reset_in=float(value))
        if arg:
            raise ValueError(f"unknown fault option {arg!r}")
        return fault
    raise ValueError(f"unknown fault {spec!r}")


def parse_kind_fault(text: str) -> tuple[str, Fault]:
    """CLI form `KIND=FAULT` (KIND may be `*`), e.g. `conversions=503:retry-after=2`."""
    kind, sep, fault = text.partition("=")
    if not sep:
        return ANY, parse_fault(text)
    _check_kind(kind)
    return kind, parse_fault(fault)


def _check_kind(kind: str) -> None:
    if kind != ANY and kind not in ROUTE_KINDS:
        raise ValueError(f"unknown route kind {kind!r}; use one of {', '.join(ROUTE_KINDS)} or *")


class FaultInjector:
    """Decides the fault for the next request of a route kind; thread-safe.

    A schedule entry is used first; without one, each probability is tried in turn.
    """

    def __init__(self, *, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._schedules: dict[str, deque[Fault]] = {}
        self._probabilities: dict[str, list[tuple[float, Fault]]] = {}

    def schedule(self, kind: str, faults: Iterable[str | int | Fault]) -> None:
        """Append faults for the next requests of `kind` (`*` = any kind), e.g. [500, 500, 200]."""
        _check_kind(kind)
        parsed = [parse_fault(f) for f in faults]
        with self._lock:
            self._schedules.setdefault(kind, deque()).extend(parsed)

    def set_probability(self, kind: str, fault: str | int | Fault, probability: float) -> None:
        """Inject `fault` on each request of `kind` with `probability` (0 removes it)."""
        _check_kind(kind)
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        parsed = parse_fault(fault)
        with self._lock:
            rules = [r for r in self._probabilities.get(kind, []) if r[1] != parsed]
            if probability > 0:
                rules.append((probability, parsed))
            self._probabilities[kind] = rules

    def clear(self) -> None:
        with self._lock:
            self._schedules.clear()
            self._probabilities.clear()

    def next_fault(self, kind: str) -> Fault:
        with self._lock:
            for key in (kind, ANY):
                queue = self._schedules.get(key)
                if queue:
                    return queue.popleft()
            for key in (kind, ANY):
                for probability, fault in self._probabilities.get(key, []):
                    if self._rng.random() < probability:
                        return fault
        return NO_FAULT

    def describe(self) -> dict[str, object]:
        with self._lock:
            return {
                "schedules": {k: [_show(f) for f in q] for k, q in self._schedules.items() if q},
                "probabilities": {
                    k: [{"fault": _show(f), "probability": p} for p, f in rules]
                    for k, rules in self._probabilities.items()
                    if rules
                },
            }


def _show(fault: Fault) -> str:
    if fault.drop:
        return "drop"
    if fault.drop_after:
        return "drop:after"
    if fault.delay:
        return f"slow:{fault.delay:g}"
    if fault.mismatch:
        return f"mismatch:{fault.mismatch}"
    if fault.status == 503 and fault.retry_after is not None:
        return f"503:retry-after={fault.retry_after:g}"
    if fault.status == 429:
        return f"429:reset={fault.reset_in:g}"
    return str(fault.status or 200)
