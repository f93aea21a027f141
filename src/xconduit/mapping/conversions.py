"""Event → X conversion for one conversion destination (docs/reference/mapping.md §3, §6), pure.

`ConversionMapper` is built once per destination (event names folded, paths compiled) and then
maps events with no I/O, no clock and no shared state, so it can run on any thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any

from xconduit.config.model import ConversionDestination, IdentifierPathSettings
from xconduit.config.priority import EVENT, default_priority, fold, priority_table
from xconduit.events import Event, parse_time
from xconduit.mapping.outcome import MappingResult
from xconduit.mapping.policy import consent_refusal, suppressed
from xconduit.mapping.values import (
    CONTROL_RULE,
    BadValue,
    Dropped,
    contents,
    conversion_value,
    number_items,
    products_of,
)
from xconduit.normalize import (
    DEFAULT_PATHS,
    MISSING_IDENTIFIER,
    IdentifierPaths,
    conversion_identifiers,
)
from xconduit.normalize.identifiers import has_control
from xconduit.normalize.redact import private_id, redact

PRE_PURCHASE = frozenset(
    (
        "product viewed",
        "product added",
        "products searched",
        "product added to wishlist",
        "checkout started",
        "payment info entered",
    )
)
"""Events before the purchase: they must not attribute revenue (docs/reference/mapping.md §4.2)."""


def conversion_time(text: str) -> str:
    """An event's ISO-8601 time (validated at parse) in X's form."""
    if (
        len(text) == 24
        and text[23] == "Z"
        and text[19] == "."
        and text[10] == "T"
        and text[4] == "-"
        and text[7] == "-"
    ):
        return text  # already X's form, as Segment's libraries write it: skip ~1 µs of formatting
    return format_time(parse_time(text))


def format_time(moment: datetime) -> str:
    """X's `yyyy-MM-ddTHH:mm:ss.SSSZ`, always UTC, always milliseconds."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is C code; it ends in "+00:00" for UTC, which X wants written "Z".
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


class ConversionMapper:
    """Maps events to X conversions for one destination."""

    def __init__(
        self,
        destination: ConversionDestination,
        *,
        suppressed_user_ids: Collection[str] = (),
        suppressed_hashes: Collection[str] = (),
        now: Callable[[], float] | None = None,
    ) -> None:
        """`now`: the clock that bounds conversion times of events without `receivedAt` (the
        collector sets it on every event); None: such events are not checked for the future."""
        self.destination = destination
        self._now = now
        self._latest_cache: tuple[str | None, str | None] = (None, None)
        self._events = {fold(name): event_id for name, event_id in destination.events.items()}
        self._priorities = priority_table(destination.priority)
        self._paths = _paths(destination)
        self._region = destination.phone_region
        self._user_ids = frozenset(suppressed_user_ids)
        self._hashes = frozenset(h.lower() for h in suppressed_hashes)
        self.suppresses = bool(self._user_ids or self._hashes)
        """Whether a user id or an identifier's hash can filter an event out."""

    def map(self, event: Event) -> MappingResult:
        dest = self.destination
        event_id, name = self._event_id(event)
        if event_id is None:
            return self._result(event, "filtered", reason=name)
        refusal = consent_refusal(
            event.context, category=dest.consent_category, missing=dest.missing_consent
        )
        if refusal:
            return self._result(event, "filtered", reason=refusal)
        ids = conversion_identifiers(event, region=self._region, paths=self._paths)
        if (self._user_ids or self._hashes) and suppressed(
            event.user_id,
            (ids.hashed_email, ids.hashed_phone_number),
            user_ids=self._user_ids,
            hashed=self._hashes,
        ):
            return self._result(event, "filtered", reason="suppressed", dropped=ids.dropped)
        if not ids.is_sufficient():
            return self._result(event, "invalid", reason=_missing(ids.dropped), dropped=ids.dropped)
        moment = event.timestamp or event.original_timestamp or event.received_at
        if moment is None:
            return self._result(
                event,
                "invalid",
                reason=_NO_TIME,
                dropped=ids.dropped,
            )
        when = conversion_time(moment)
        refusal = self._time_refusal(event, moment, when)
        if refusal is not None:
            return self._result(event, "invalid", reason=refusal, dropped=ids.dropped)
        conversion: dict[str, Any] = {
            "conversion_time": when,
            "event_id": event_id,
            "identifiers": ids.payload(),
        }
        fields: Dropped = []
        try:
            conversion_id = _conversion_id(event)
            if conversion_id is not None:
                conversion["conversion_id"] = conversion_id
            self._add_commerce(conversion, event.properties, name, fields)
        except BadValue as exc:
            return self._result(event, "invalid", reason=str(exc), dropped=ids.dropped)
        description = event.properties.get("description")
        if isinstance(description, str) and description.strip():
            conversion["description"] = redact(description.strip())
        priority = self._priorities.get(name)
        if priority is None:
            priority = self._priorities[name] = default_priority(name)
        return self._result(
            event,
            "conversion",
            conversion=conversion,
            dropped=ids.dropped,
            fields=fields,
            priority=priority,
        )

    def _time_refusal(self, event: Event, moment: str, when: str) -> str | None:
        """Why X would refuse `when` (before 2006, or more than 10 minutes after the event was
        received), naming the event field it came from; None when it is fine."""
        if when < EARLIEST_TIME:
            return f"{_time_field(event, moment)}: before 2006, X takes no conversion before it"
        latest = self._latest(event.received_at)
        if latest is not None and when > latest:
            return f"{_time_field(event, moment)}: more than 10 minutes in the future"
        return None

    def _latest(self, received_at: str | None) -> str | None:
        """The latest conversion time X takes, in X's form: 10 minutes after `received_at` (the
        collector's clock), else after the mapper's `now` (None: no clock, no check)."""
        if received_at is not None:
            cached = self._latest_cache
            if cached[0] == received_at:
                return cached[1]
            latest = format_time(parse_time(received_at) + FUTURE_SLACK)
            self._latest_cache = (received_at, latest)
            return latest
        if self._now is None:
            return None
        return format_time(datetime.fromtimestamp(self._now(), UTC) + FUTURE_SLACK)

    def _event_id(self, event: Event) -> tuple[str | None, str]:
        """The X event id, or None and why the event is filtered."""
        if event.type == "track":
            name = fold(event.event or "")
            event_id = self._events.get(name)
            if event_id is None:
                return None, f'event "{redact(event.event or "")}" is not mapped to an X event'
            return event_id, name
        if event.type == "page":
            if self.destination.page_event_id:
                return self.destination.page_event_id, "page"
            return None, "page events are not mapped (set page_event_id)"
        return None, f"{event.type} events are not conversions"

    def _add_commerce(
        self, conversion: dict[str, Any], props: Any, name: str, dropped: Dropped
    ) -> None:
        products = products_of(props)
        if name not in PRE_PURCHASE or self.destination.value_on_pre_purchase:
            value = conversion_value(props, products)
            if value is not None:
                conversion["value"] = value
                conversion["price_currency"] = self._currency(props.get("currency"))
        count = number_items(props, products, dropped)
        if count is not None:
            conversion["number_items"] = count
        if products or "product_id" in props or "productId" in props or "sku" in props:
            items = contents(
                props,
                products,
                product_identifier=self.destination.product_identifier,
                dropped=dropped,
            )
            if items:
                conversion["contents"] = items

    def _currency(self, currency: Any) -> str:
        if isinstance(currency, str) and currency.strip():
            code = currency.strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise BadValue("properties.currency: not an ISO 4217 code")
            return code
        return self.destination.default_currency

    def _result(
        self,
        event: Event,
        outcome: Any,
        *,
        conversion: dict[str, Any] | None = None,
        reason: str | None = None,
        dropped: tuple[str, ...] = (),
        fields: Dropped | None = None,
        priority: int = EVENT,
    ) -> MappingResult:
        """`dropped`: the identifier kinds left out; `fields`: the other fields left out, as
        (field, rule)."""
        dest = self.destination
        why = tuple((kind, DROP_RULES.get(kind, "invalid")) for kind in dropped) if dropped else ()
        if fields:
            why += tuple(fields)
        return MappingResult(
            outcome,
            dest.name,
            dest.pixel_id,
            dest.account_id,
            event.message_id,
            conversion,
            reason,
            why,
            priority,
        )


def _conversion_id(event: Event) -> str | None:
    """`conversion_id`, else `order_id`, else `messageId` (the browser tag sets the first); its
    SHA-256 hex when it is an email address or a phone number (the tag does the same).

    BadValue when the id holds a control character: X would store it as sent, and another id
    in its place would break deduplication with the pixel, so the event is invalid."""
    props = event.properties
    for key in _CONVERSION_ID_KEYS:
        value = props.get(key)
        if value is None:
            continue
        if type(value) is str:
            if value and not value.isspace():
                return _clean_id(value.strip(), f"properties.{key}")
        elif type(value) is int:
            return str(value)
    return None if event.message_id is None else _clean_id(event.message_id, "messageId")


def _clean_id(text: str, field: str) -> str:
    if has_control(text):
        raise BadValue(f"{field}: {CONTROL_RULE}")
    return private_id(text)


def _missing(dropped: tuple[str, ...]) -> str:
    """The reason of an event without a usable identifier, naming those that were dropped
    (`email: not an email address; At least one …`): X's words alone would hide them."""
    if not dropped:
        return MISSING_IDENTIFIER
    named = "; ".join(f"{kind}: {DROP_RULES.get(kind, 'invalid')}" for kind in dropped)
    return f"{named} ({MISSING_IDENTIFIER})"


def _time_field(event: Event, moment: str) -> str:
    """The event field a conversion time was read from."""
    if moment is event.timestamp:
        return "timestamp"
    if moment is event.original_timestamp:
        return "originalTimestamp"
    return "receivedAt"


DROP_RULES = {
    "twclid": "not an X click id",
    "email": "not an email address",
    "phone": "not a possible phone number",
    "ip_address": "not an IPv4 or IPv6 address",
    "user_agent": "not text, or contains a control character",
}
"""Why an identifier of each kind is dropped (`MappingResult.dropped`)."""
EARLIEST_TIME = "2006-01-01T00:00:00.000Z"
"""X takes no conversion before its own founding year."""
FUTURE_SLACK = timedelta(minutes=10)
"""How far after its receipt an event's time may be (clocks of browsers and servers drift)."""
_NO_TIME = "conversion_time: the event has no timestamp, originalTimestamp or receivedAt"
_CONVERSION_ID_KEYS = ("conversion_id", "conversionId", "order_id", "orderId")


def _paths(destination: ConversionDestination) -> IdentifierPaths:
    extra = destination.identifiers
    base = DEFAULT_PATHS
    if extra == IdentifierPathSettings():
        return base  # the precompiled default plan
    return IdentifierPaths(
        email=(*extra.email, *base.email),
        phone=(*extra.phone, *base.phone),
        twclid=(*extra.twclid, *base.twclid),
        ip_address=(*extra.ip_address, *base.ip_address),
        user_agent=(*extra.user_agent, *base.user_agent),
    )
