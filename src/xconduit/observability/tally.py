"""What one accepted event adds to the store's counters and to the live debugger (pure).

    events_received{source}                         the event itself
    conversions_queued|filtered|invalid{destination,event}
                                                    its outcome per destination and event
                                                    (the configured name: event_names)
    conversions_not_sent{destination,event,why}     a filtered or invalid one, why in plain
                                                    words (a few fixed phrases: why_not_sent)
    identifiers_dropped{destination,event,kind,rule} an identifier present but unusable
                                                    (kind: email, phone, twclid, ip_address,
                                                    user_agent; the rule: docs/reference/mapping.md)
    fields_dropped{destination,field,rule}          another field left out of a conversion
                                                    (`properties.quantity`, a product's
                                                    `properties.products[].quantity`: no index,
                                                    so that the labels stay few)

The debugger's copy holds the outcome, the reason and the exact conversion (hashed identifiers
only, as X gets it), never the raw event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import orjson

from xconduit.mapping import MappingResult
from xconduit.normalize.conversion import MISSING_IDENTIFIER
from xconduit.normalize.redact import redact
from xconduit.observability.event_names import UNMAPPED, EventNames
from xconduit.outbox.counts import Count, RecentEvent

_OUTCOME_COUNTER = {
    "conversion": "conversions_queued",
    "filtered": "conversions_filtered",
    "invalid": "conversions_invalid",
}

NOT_MAPPED = "not mapped to an X event"
NOT_A_CONVERSION = "not a conversion (identify, group, …)"
NO_IDENTIFIER = "no email, phone or click id"
CONSENT_DENIED = "consent denied"
SUPPRESSED = "suppressed (the user opted out)"
NO_TIME = "no time of the event"
BAD_VALUE = "a value X would refuse"


def why_not_sent(outcome: str, reason: str | None) -> str:
    """A filtered or invalid event's reason as one of a few phrases a marketer reads (the
    dashboard groups by them; the exact reason stays in the live debugger)."""
    text = reason or ""
    if outcome == "filtered":
        if text.startswith("consent:"):
            return CONSENT_DENIED
        if text == "suppressed":
            return SUPPRESSED
        if text.endswith("events are not conversions"):
            return NOT_A_CONVERSION
        return NOT_MAPPED
    if MISSING_IDENTIFIER in text:
        return NO_IDENTIFIER
    if text.startswith("conversion_time"):
        return NO_TIME
    return BAD_VALUE


IDENTIFIER_KINDS = frozenset(("twclid", "email", "phone", "ip_address", "user_agent"))
"""The `MappingResult.dropped` names that are identifiers; other names are field paths."""
_INDEX = re.compile(r"\[[0-9]+\]")

MATCH_KEYS = ("twclid", "email", "phone", "ip_ua")
"""The identifier kinds of match quality: click id, hashed email, hashed phone, IP + user agent."""
ONLY_IP_UA = "only_ip_ua"
"""The `key` of delivered conversions whose only identifiers are IP + user agent."""


def tally(
    source: str,
    message_id: str,
    event: str,
    results: Sequence[MappingResult],
    names: EventNames | None = None,
) -> tuple[tuple[Count, ...], RecentEvent]:
    """`names`: the `event` label's (None: every event is `(not mapped)`)."""
    counts = outcome_counts(source, event, results, names)
    recent = RecentEvent(
        source=source,
        message_id=message_id,
        event=redact(event),
        results=partial(_lines, tuple(results)),
    )
    return tuple(counts), recent


def outcome_counts(
    source: str, event: str, results: Sequence[MappingResult], names: EventNames | None
) -> list[Count]:
    """The counts of one event (a sync's row too), without the debugger's copy."""
    counts = [Count("events_received", (("source", source),))]
    for result in results:
        label = UNMAPPED if names is None else names.of_name(result.destination, event)
        dest = (("destination", result.destination), ("event", label))
        counts.append(Count(_OUTCOME_COUNTER[result.outcome], dest))
        if result.outcome != "conversion":
            why = why_not_sent(result.outcome, result.reason)
            counts.append(Count("conversions_not_sent", (*dest, ("why", why))))
        for field, rule in result.dropped:
            if field in IDENTIFIER_KINDS:
                counts.append(
                    Count("identifiers_dropped", (*dest, ("kind", field), ("rule", rule)))
                )
            else:
                path = _INDEX.sub("[]", field)
                where = dest[:1]  # per destination only: fields are many
                counts.append(Count("fields_dropped", (*where, ("field", path), ("rule", rule))))
    return counts


def _lines(results: Sequence[MappingResult]) -> bytes:
    """The debugger's JSON of one event's results (made only for the rows it keeps)."""
    lines: list[dict[str, Any]] = [
        {
            "destination": result.destination,
            "outcome": result.outcome,
            "reason": result.reason,
            "dropped": list(result.dropped),
            "conversion": result.conversion,
        }
        for result in results
    ]
    return orjson.dumps(lines)


def match_keys(conversion: Mapping[str, Any]) -> list[str]:
    """Which of `MATCH_KEYS` a conversion carries."""
    found: set[str] = set()
    for identifier in conversion.get("identifiers") or ():
        if not isinstance(identifier, Mapping):
            continue
        if identifier.get("twclid"):
            found.add("twclid")
        if identifier.get("hashed_email"):
            found.add("email")
        if identifier.get("hashed_phone_number"):
            found.add("phone")
        if identifier.get("ip_address") and identifier.get("user_agent"):
            found.add("ip_ua")
    return [key for key in MATCH_KEYS if key in found]
