"""Decoded request → events for the outbox (pure: the time and the ids come from the caller).

Each event is checked on its own: a bad one is reported (`Rejected`, with its index in the
request) and never fails the others. A good one gets a `messageId` if it has none, the
collector's `receivedAt`, and `context.ip` from the client's address when it comes from a browser
(or its source sets `client_ip`); it is parsed, mapped for every destination of its source, and
becomes an `IncomingEvent` whose jobs hold only the mapped conversions (hashed identifiers), never
the raw event. An event of a batch is authenticated by the request's write key: one carrying
another key is rejected.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from xconduit.audiences.events import AudienceEvents
from xconduit.errors import InvalidEvent
from xconduit.events import MAX_DEPTH, nests_deeper, parse_event
from xconduit.ingest.body import KB, MAX_EVENT_BYTES
from xconduit.ingest.fast import Holes, Known, Outputs, Template, outputs_of
from xconduit.mapping import MappingResult, Router
from xconduit.normalize.redact import private_id
from xconduit.observability.event_names import EventNames
from xconduit.observability.tally import tally
from xconduit.outbox import IncomingEvent
from xconduit.outbox.legs import LegRecorder
from xconduit.routing import audience_changes, jobs_of

log = logging.getLogger("xconduit.ingest")

# Batch-level keys Segment applies to every event of the batch that lacks its own.
_BATCH_DEFAULTS = ("sentAt", "context", "integrations")


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejected:
    """An event of the request that was not accepted, and why."""

    index: int
    message_id: str | None
    field: str | None
    error: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "field": self.field,
            "error": self.error,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Unsendable:
    """An accepted event that a destination cannot send: X would reject it (mapping outcome
    `invalid`). It is committed like any event (other destinations may take it) and reported."""

    index: int
    message_id: str
    destination: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "destination": self.destination,
            "reason": self.reason,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class LeftOut:
    """A field of an accepted event that a destination left out of its conversion (or that left
    it without an identifier): the field and the rule it broke, never its value."""

    index: int
    message_id: str
    destination: str
    field: str
    rule: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "messageId": self.message_id,
            "destination": self.destination,
            "field": self.field,
            "rule": self.rule,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Accepted:
    """The events of one request that go to the outbox, those that were rejected, the
    destinations that cannot send some of the accepted ones, and the fields left out."""

    events: tuple[IncomingEvent, ...]
    rejected: tuple[Rejected, ...]
    invalid: tuple[Unsendable, ...] = ()
    dropped: tuple[LeftOut, ...] = ()


def _rejected(index: int, message_id: Any, field: str | None, error: str) -> Rejected:
    return Rejected(
        index=index,
        message_id=private_id(message_id) if isinstance(message_id, str) else None,
        field=field,
        error=error,
    )


BROWSER_LIBRARIES = frozenset(("analytics.js", "analytics-next", "xconduit-tag"))
"""`context.library.name` of the libraries that run in the shopper's browser: Segment's
analytics.js (classic and analytics-next both send `analytics.js`) and the website tag."""


def _from_browser(raw: Any) -> bool:
    if not isinstance(raw, dict):
        return False
    context = raw.get("context")
    library = context.get("library") if isinstance(context, dict) else None
    name = library.get("name") if isinstance(library, dict) else None
    return isinstance(name, str) and name.strip().lower() in BROWSER_LIBRARIES


def _check_key(raw: Any, write_key: str | None, *, keys_in_events: bool) -> None:
    """InvalidEvent when an event of the request is not authenticated by the request's key."""
    own = raw.get("writeKey") if isinstance(raw, dict) else None
    if own is None or own == "":
        if keys_in_events:
            raise InvalidEvent(
                "writeKey: missing on this event (the request's events carry their own keys)",
                field="writeKey",
            )
        return
    if own != write_key:
        raise InvalidEvent(
            "writeKey: differs from the request's write key (send each source's events in "
            "their own request)",
            field="writeKey",
        )


def new_message_id() -> str:
    return str(uuid.uuid4())


class EventAcceptor:
    """Turns the raw events of one request into outbox events (one `Router` for the process)."""

    def __init__(
        self,
        router: Router,
        *,
        new_id: Callable[[], str] = new_message_id,
        audiences: AudienceEvents | None = None,
        owners: Mapping[str, str] | None = None,
        fast: bool = True,
    ) -> None:
        """`owners`: the key of each destination (`owner_keys`), carried by its jobs. `fast`:
        map the common shapes from templates (`xconduit.ingest.fast`), which audiences and
        suppression lists rule out (they read fields the templates leave as holes)."""
        self._router = router
        self._names = EventNames(mapper.destination for _, mapper in router.mappers)
        self.legs: LegRecorder | None = None  # set by the gateway: the both-legs figures
        self._owners: Mapping[str, str] = owners or {}
        self._new_id = new_id
        self._audiences = audiences or None  # None when no audience is configured
        usable = fast and self._audiences is None and not router.suppresses
        self._known = Known() if usable else None

    def accept(
        self,
        raws: Sequence[Any],
        *,
        source: str,
        default_type: str | None,
        received_at: str,
        client_ip: str | None = None,
        any_library_ip: bool = False,
        batch: Mapping[str, Any] | None = None,
        check_size: bool = False,
        check_depth: bool = False,
        write_key: str | None = None,
        keys_in_events: bool = False,
    ) -> Accepted:
        """`client_ip`: the HTTP client's address, set as `context.ip` when the event has none
        and comes from a browser library (`BROWSER_LIBRARIES`), or from any library when
        `any_library_ip` (the source's `client_ip = true`). A server library's events never get
        it: it is the backend's address, not the shopper's, and would hurt matching.
        `batch`: the batch object, whose `sentAt`/`context`/`integrations` fill in each event's.
        `check_size`: measure each event against the 32 KB limit (needless when the whole
        body is smaller).
        `check_depth`: measure each event against the 64-level nesting limit (a batch is read
        deeper so that one event nested too deep is rejected alone).
        `write_key`: the request's key; an event carrying another `writeKey` is rejected, never
        taken as the request's source. `keys_in_events`: the request's key came from its events
        (analytics-next), so an event without its own `writeKey` is rejected too."""
        events: list[IncomingEvent] = []
        rejected: list[Rejected] = []
        invalid: list[Unsendable] = []
        dropped: list[LeftOut] = []
        defaults = {k: batch[k] for k in _BATCH_DEFAULTS if batch and batch.get(k) is not None}
        holes = Holes(received_at) if self._known is not None else None
        for index, raw in enumerate(raws):
            # The id as the client sent it, before one is assigned: a rejection names only that.
            sent_id = raw.get("messageId") if isinstance(raw, dict) else None
            try:
                _check_key(raw, write_key, keys_in_events=keys_in_events)
                self._prepare(
                    raw,
                    received_at,
                    client_ip,
                    defaults,
                    check_size=check_size,
                    check_depth=check_depth,
                    any_library_ip=any_library_ip,
                )
                event, unsendable, left_out = self._one(raw, source, default_type, holes)
                if self.legs is not None:  # templated or not: from the jobs
                    self.legs.note(event.jobs, pixel=_from_browser(raw))
            except InvalidEvent as exc:
                rejected.append(_rejected(index, sent_id, exc.field, str(exc)))
                continue
            except (TypeError, ValueError, OverflowError, RecursionError) as exc:
                # A parser or mapper bug on odd input must cost this event only, never the
                # request (and never a 500): report it and log the kind of error, not the data.
                log.warning("event could not be read: %s", type(exc).__name__)
                error = f"event: cannot be read ({type(exc).__name__})"
                rejected.append(_rejected(index, sent_id, None, error))
                continue
            events.append(event)
            if left_out:
                dropped += [
                    LeftOut(
                        index=index,
                        message_id=event.message_id,
                        destination=destination,
                        field=name,
                        rule=rule,
                    )
                    for destination, name, rule in left_out
                ]
            for result in unsendable:
                log.info(
                    "event %s cannot go to %s: %s",
                    event.message_id,
                    result.destination,
                    result.reason,
                )
                invalid.append(
                    Unsendable(
                        index=index,
                        message_id=event.message_id,
                        destination=result.destination,
                        reason=result.reason or "invalid",
                    )
                )
        return Accepted(
            events=tuple(events),
            rejected=tuple(rejected),
            invalid=tuple(invalid),
            dropped=tuple(dropped),
        )

    def _prepare(
        self,
        raw: Any,
        received_at: str,
        client_ip: str | None,
        defaults: Mapping[str, Any],
        *,
        check_size: bool,
        check_depth: bool,
        any_library_ip: bool,
    ) -> None:
        """Checks `raw` and completes it in place: the batch's fields, its id, `receivedAt` and
        the client's address."""
        if not isinstance(raw, dict):
            kind = "an array" if isinstance(raw, list) else type(raw).__name__
            raise InvalidEvent(f"event: must be a JSON object, got {kind}", field="event")
        if check_size and len(orjson.dumps(raw)) > MAX_EVENT_BYTES:
            raise InvalidEvent(
                f"event: larger than the {MAX_EVENT_BYTES // KB} KB limit of one event",
                field="event",
            )
        if check_depth and nests_deeper(raw):
            raise InvalidEvent(f"event: JSON nested deeper than {MAX_DEPTH} levels", field="event")
        for key, value in defaults.items():
            if raw.get(key) is None:
                raw[key] = value
            elif key != "sentAt" and isinstance(raw[key], dict) and isinstance(value, dict):
                raw[key] = {**value, **raw[key]}
        sent_id = raw.get("messageId")
        if sent_id is None or sent_id == "":
            raw["messageId"] = self._new_id()
        elif type(sent_id) is str:
            # Stored, shown and sent (the conversion id's last source): never with personal data.
            raw["messageId"] = private_id(sent_id)
        raw["receivedAt"] = received_at
        # After the batch's context is merged: a batch may name its library only there.
        if client_ip and (any_library_ip or _from_browser(raw)):
            context = raw.get("context")
            if context is None:
                raw["context"] = {"ip": client_ip}
            elif isinstance(context, dict) and not context.get("ip"):
                raw["context"] = {**context, "ip": client_ip}

    def _one(
        self, raw: dict[str, Any], source: str, default_type: str | None, holes: Holes | None
    ) -> Made:
        """A prepared event's outputs: from its shape's template when there is one, else from
        the mapping core (and the shape's template learned when the shape repeats)."""
        found = holes.read(raw) if holes is not None else None
        if found is None or self._known is None:
            return self._map(raw, source, default_type)
        shape, strings = found
        key = (source, default_type, *shape)
        template = self._known.get(key)
        if type(template) is Template:
            return template.event_of(strings), [], template.left_out
        made = self._map(raw, source, default_type)
        if template is True:
            assert holes is not None
            self._known.learned(key, self._learn(raw, holes, key, strings, made))
        return made

    def _learn(
        self,
        raw: dict[str, Any],
        holes: Holes,
        key: tuple[Any, ...],
        strings: tuple[str, ...],
        made: Made,
    ) -> Template | None:
        """The template of `raw`'s shape, if filling it gives the core's outputs both for `raw`
        and for the probe (`raw` with other values in its holes); else None."""
        source, default_type = key[0], key[1]
        outputs = _kept(made)
        template = None if outputs is None else Template.learn(source, strings, outputs)
        if template is None or template.outputs(strings) != outputs:
            return None
        probe = holes.probe(raw)
        found = None if probe is None else holes.read(probe)
        if probe is None or found is None or (source, default_type, *found[0]) != key:
            return None
        try:
            other = _kept(self._map(probe, source, default_type))
        except (InvalidEvent, TypeError, ValueError, OverflowError, RecursionError):
            return None
        return template if other is not None and template.outputs(found[1]) == other else None

    def _map(self, raw: dict[str, Any], source: str, default_type: str | None) -> Made:
        """The event for the outbox, the results no destination can send (audiences'
        included), and the fields left out (destination, field, rule), by the mapping core."""
        etype = raw.get("type")
        if etype is not None and not isinstance(etype, str):
            raise InvalidEvent("type: must be a string", field="type")
        event = parse_event(raw, default_type=default_type)
        message_id = event.message_id or ""
        results = self._router.map(event, source=source)
        jobs = jobs_of(results, message_id, self._owners)
        unsendable = [result for result in results if result.outcome == "invalid"]
        changes, problems = audience_changes(self._audiences, event, message_id)
        unsendable += problems
        counts, recent = tally(source, message_id, event.event or event.type, results, self._names)
        incoming = IncomingEvent(
            source=source,
            message_id=message_id,
            jobs=jobs,
            audience_changes=changes,
            counts=counts,
            recent=recent,
        )
        left_out = tuple(
            (result.destination, name, rule) for result in results for name, rule in result.dropped
        )
        return incoming, unsendable, left_out


Made = tuple[IncomingEvent, list[MappingResult], tuple[tuple[str, str, str], ...]]


def _kept(made: Made) -> Outputs | None:
    """What the collector keeps of an event the core mapped; None when a template cannot make it
    (an unsendable result, audience changes)."""
    event, unsendable, left_out = made
    if unsendable or event.audience_changes:
        return None
    return outputs_of(event, left_out)
