"""Every conversion destination of a configuration, and which of them an event goes to (pure)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from xconduit.config.model import Settings
from xconduit.errors import InvalidEvent
from xconduit.events import Event, loads, parse_event
from xconduit.mapping.conversions import ConversionMapper
from xconduit.mapping.outcome import MappingResult
from xconduit.normalize.redact import private_id

_LINE_IDS = uuid.UUID("6f1c3b0e-5f0e-4c55-9a7c-0d0c6a1e2a11")


class Router:
    """Maps an event for every destination that takes events from its source."""

    def __init__(self, settings: Settings, *, now: Callable[[], float] | None = None) -> None:
        """`now`: see `ConversionMapper` (the collector needs none: it sets `receivedAt`)."""
        hashes = settings.suppression.hashed_identifiers
        user_ids = settings.suppression.user_ids
        self.mappers = [
            (
                frozenset(dest.sources),
                ConversionMapper(
                    dest, suppressed_user_ids=user_ids, suppressed_hashes=hashes, now=now
                ),
            )
            for dest in settings.conversions
        ]

    @property
    def suppresses(self) -> bool:
        """Whether a destination filters out suppressed users."""
        return any(mapper.suppresses for _, mapper in self.mappers)

    def map(self, event: Event, *, source: str | None = None) -> list[MappingResult]:
        return [
            mapper.map(event)
            for sources, mapper in self.mappers
            if not sources or source is None or source in sources
        ]


def map_lines(
    lines: Iterable[bytes], router: Router, *, received_at: Callable[[], str] | None = None
) -> Iterator[dict[str, Any]]:
    """`xconduit map`: JSON lines in, one result per event × destination out.

    A line that is not an event gives one `invalid` result with `destination: null` naming the
    line number, and the run goes on. An event without `messageId` gets a UUID derived from the
    line's bytes, so that re-running the same file gives the same `conversion_id`s.

    Read as the collector reads a `POST /v1/track`: an object without `type` but with an `event`
    is a track, and `received_at()` (the time the line is read) is its `receivedAt`, the
    conversion time of an event without `timestamp`.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw: Any = None
        try:
            raw = loads(line)
            if isinstance(raw, dict):
                sent_id = raw.get("messageId")
                if not sent_id:
                    raw["messageId"] = str(uuid.uuid5(_LINE_IDS, line.strip().hex()))
                elif type(sent_id) is str:
                    raw["messageId"] = private_id(sent_id)  # as the collector keeps it
                if raw.get("type") is None and raw.get("event") is not None:
                    raw["type"] = "track"
                if received_at is not None:
                    raw["receivedAt"] = received_at()
            results = [result.as_line() for result in router.map(parse_event(raw))]
        except InvalidEvent as exc:
            yield _invalid_line(raw, f"line {number}: {exc}")
            continue
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # A shape no rule foresaw: report the line, never stop the run (the error type is
            # enough to find the rule; the message could quote the input).
            yield _invalid_line(raw, f"line {number}: cannot map this event ({type(exc).__name__})")
            continue
        yield from results


def _invalid_line(raw: Any, reason: str) -> dict[str, Any]:
    message_id = raw.get("messageId") if isinstance(raw, dict) else None
    return {
        "message_id": private_id(message_id) if isinstance(message_id, str) else None,
        "destination": None,
        "outcome": "invalid",
        "pixel_id": None,
        "conversion": None,
        "reason": reason,
        "dropped": [],
    }
