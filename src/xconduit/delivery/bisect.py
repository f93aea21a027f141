"""Isolate the conversions X rejects: X answers all-or-nothing, so split a rejected batch in halves.

A 400 on a batch says *some* conversion is bad, not which (X lists the errors, not the rows). We
split the batch in two and send each half; a half that is accepted is delivered, a rejected half
is split again, down to single conversions, which are dead-lettered with X's own code and
message. With k bad conversions in n, that is about 2·k·log2(n) requests instead of n.

Two savings: when a rejected batch's left half is accepted, the right half must hold the bad
conversions, so it is split without being sent whole; and when `all_bad(part, error)` says the
error condemns every item of a part (X rejects the event id itself and every conversion of the
part uses it, e.g. an event deleted in Events Manager), the part is dead at once instead of being
split down to 500 single requests.

Errors that are not about a row (auth, an unknown pixel) end the whole part at once; a retriable
error (5xx, timeout) hands the part back for a retry; a 429 hands back everything not yet sent.
`before_send(n)` is asked before each request (the rate budget, the lease); when it says no,
the part is handed back unsent. Pure: the sender and the gate are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from xconduit.errors import (
    AuthError,
    DeliveryError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
)

T = TypeVar("T")

ROW_STATUSES = frozenset({400, 404})


def blames_rows(error: DeliveryError) -> bool:
    """True when X's rejection comes from conversions in the request, so splitting helps.

    400 is a bad conversion (invalid hash, time, identifiers). X answers 404 for a whole request
    (unknown pixel, no access) and also for an event id of another account; only the latter names
    a `parameter`.
    """
    if isinstance(error, AuthError) or not isinstance(error, FatalDeliveryError):
        return False
    if error.status == 400:
        return True
    return error.status == 404 and any(d.parameter == "event_id" for d in error.errors)


def condemns_event_id(event_ids: Sequence[str | None], error: DeliveryError) -> bool:
    """True when every error X listed is about `event_id` and the part uses one event id only:
    then no conversion of the part can be accepted, and splitting would only spend requests."""
    return (
        bool(error.errors)
        and all(detail.parameter == "event_id" for detail in error.errors)
        and len(set(event_ids)) == 1
        and event_ids[0] is not None
    )


@dataclass(kw_only=True)
class BisectResult(Generic[T]):
    delivered: list[T] = field(default_factory=list)
    dead: list[tuple[T, DeliveryError]] = field(default_factory=list)
    retry: list[tuple[list[T], DeliveryError]] = field(default_factory=list)
    """Parts X could not take now, each with its error."""
    unsent: list[T] = field(default_factory=list)
    """Parts `before_send` refused: give them back without counting an attempt."""
    requests: int = 0
    events: int = 0
    """Conversions sent, counting every re-send while bisecting."""


def send_bisecting(
    items: Sequence[T],
    send: Callable[[Sequence[T]], None],
    *,
    before_send: Callable[[int], bool] = lambda n: True,
    all_bad: Callable[[Sequence[T], DeliveryError], bool] = lambda part, error: False,
) -> BisectResult[T]:
    """Send `items`; `send` returns when X accepted them and raises a DeliveryError otherwise."""
    result: BisectResult[T] = BisectResult()
    stopped: list[DeliveryError] = []  # a 429: send nothing more

    def attempt(part: Sequence[T]) -> tuple[bool, DeliveryError | None]:
        """Send one part: (True, None) if accepted, (False, error) if rejected for its rows,
        (False, None) when the part was settled otherwise (dead whole, retry, unsent)."""
        if stopped:
            result.retry.append((list(part), stopped[0]))
            return False, None
        if not before_send(len(part)):
            result.unsent.extend(part)
            return False, None
        result.requests += 1
        result.events += len(part)
        try:
            send(part)
        except DeliveryError as error:
            if blames_rows(error):
                return False, error
            if isinstance(error, RateLimited):
                stopped.append(error)
            if isinstance(error, RetriableDeliveryError):
                result.retry.append((list(part), error))
            else:
                result.dead.extend((item, error) for item in part)
            return False, None
        result.delivered.extend(part)
        return True, None

    def split(part: Sequence[T]) -> None:
        middle = len(part) // 2
        left_ok = resolve(part[:middle], known_bad=False)
        resolve(part[middle:], known_bad=left_ok)

    def resolve(part: Sequence[T], *, known_bad: bool) -> bool:
        """Deliver or settle every item of `part`; True if X accepted it whole."""
        if known_bad and len(part) > 1:
            split(part)
            return False
        accepted, error = attempt(part)
        if error is not None:
            if len(part) == 1 or all_bad(part, error):
                result.dead.extend((item, error) for item in part)
            else:
                split(part)
        return accepted

    if items:
        resolve(items, known_bad=False)
    return result
