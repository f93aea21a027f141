"""Isolate the conversions X rejects: X answers all-or-nothing, so split a rejected batch in halves.

A 400 on a batch says *some* conversion is bad, not which (X lists the errors, not the rows). We
split the batch in two and send each half; a half that is accepted is delivered, a rejected half
is split again, down to single conversions, which are dead-lettered with X's own code and
message. With k bad conversions in n, that is about 2·k·log2(n) requests instead of n.

Two savings: when a rejected batch's left half is accepted, the right half must hold the bad
conversions, so it is split without being sent whole; and when X's errors name an `event_id` it
refuses (`event_id (abc) does not belong to provided account`, `… is not a single event tag`),
no conversion using that event id can ever be accepted: every one of them in the part is dead at
once, and the rest is sent again whole. 200 conversions with a deleted event among 200 good ones
cost two requests instead of hundreds. (When X names no id but every error is about `event_id`
and the part uses one event id only, the whole part is dead the same way.)

Errors that are not about a row (auth, an unknown pixel) end the whole part at once; a retriable
error (5xx, timeout) hands the part back for a retry; a 429 hands back everything not yet sent.
`before_send(n)` is asked before each request (the rate budget, the lease); when it says no,
the part is handed back unsent. Pure: the sender and the gate are passed in.
"""

from __future__ import annotations

import re
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


_NAMED_EVENT_ID = re.compile(r"\bevent_id \(?([0-9A-Za-z_-]+)\)?")
"""X's messages name the refused id: `event_id (abc) …` (as sent) or `event_id abc …`."""


def condemned(event_ids: Sequence[str | None], error: DeliveryError) -> list[bool]:
    """Per item (by its event id): whether X's error refuses that event id outright, so that no
    request holding the item can succeed and splitting would only spend requests."""
    about = [d for d in error.errors if d.parameter == "event_id"]
    if not about:
        return [False] * len(event_ids)
    named: set[str] = set()
    unnamed = False
    for detail in about:
        match = _NAMED_EVENT_ID.search(detail.message)
        if match:
            named.add(match.group(1))
        else:
            unnamed = True  # e.g. "Event ID was not found": a conversion without one
    if (
        unnamed
        and len(about) == len(error.errors)
        and len(set(event_ids)) == 1
        and event_ids[0] is not None
    ):
        return [True] * len(event_ids)
    return [(e in named) if e is not None else unnamed for e in event_ids]


def _narrowed(error: DeliveryError, event_id: str | None) -> DeliveryError:
    """`error` with X's one detail about `event_id` (X repeats it per conversion; a dead
    letter's reason should name its own problem once, not the whole request's list)."""
    about = [d for d in error.errors if d.parameter == "event_id"]
    own = [d for d in about if (m := _NAMED_EVENT_ID.search(d.message)) and m.group(1) == event_id]
    detail = (own or about or list(error.errors))[:1]
    return FatalDeliveryError(
        str(error), status=error.status, errors=tuple(detail), debug_id=error.debug_id
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
    event_id: Callable[[T], str | None] | None = None,
) -> BisectResult[T]:
    """Send `items`; `send` returns when X accepted them and raises a DeliveryError otherwise.
    `event_id(item)`: the item's X event id, so that an event id X refuses condemns its items."""
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
        if error is None:
            return accepted
        ids = [event_id(item) for item in part] if event_id is not None else []
        flags = condemned(ids, error) if ids else [False] * len(part)
        if any(flags):
            narrowed: dict[str | None, DeliveryError] = {}
            for item, item_id, bad in zip(part, ids, flags, strict=True):
                if bad:
                    if item_id not in narrowed:
                        narrowed[item_id] = _narrowed(error, item_id)
                    result.dead.append((item, narrowed[item_id]))
            rest = [item for item, bad in zip(part, flags, strict=True) if not bad]
            if rest:  # maybe all good now; if not, X says so and bisection goes on
                resolve(rest, known_bad=False)
        elif len(part) == 1:
            result.dead.append((part[0], error))
        else:
            split(part)
        return False

    if items:
        resolve(items, known_bad=False)
    return result
