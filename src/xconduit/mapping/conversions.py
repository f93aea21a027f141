"""Event → X conversion object for one conversion destination (mapping.md §3 and §6), pure.

`ConversionMapper` is built once per destination (event names folded, paths compiled) and then
maps events with no I/O, no clock and no shared state, so it can run on any thread.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from xconduit.config.model import ConversionDestination
from xconduit.events import Event
from xconduit.mapping.outcome import MappingResult
from xconduit.mapping.policy import consent_refusal, suppressed
from xconduit.mapping.values import (
    BadValue,
    contents,
    conversion_value,
    money,
    number_items,
    products_of,
    prop,
)
from xconduit.normalize import MISSING_IDENTIFIER, IdentifierPaths, conversion_identifiers

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
"""E-commerce events before the purchase: they must not attribute revenue (mapping.md §4.2)."""


def fold(name: str) -> str:
    """Event names match case-insensitively, ignoring surrounding spaces."""
    return name.strip().casefold()


def format_time(moment: datetime) -> str:
    """X's `yyyy-MM-ddTHH:mm:ss.SSSZ`, always UTC, always milliseconds."""
    t = moment.astimezone(UTC)
    return (
        f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
        f".{t.microsecond // 1000:03d}Z"
    )


class ConversionMapper:
    """Maps events to X conversions for one destination."""

    def __init__(
        self,
        destination: ConversionDestination,
        *,
        suppressed_user_ids: Collection[str] = (),
        suppressed_hashes: Collection[str] = (),
    ) -> None:
        self.destination = destination
        self._events = {fold(name): event_id for name, event_id in destination.events.items()}
        self._paths = _paths(destination)
        self._region = destination.phone_region
        self._user_ids = frozenset(suppressed_user_ids)
        self._hashes = frozenset(h.lower() for h in suppressed_hashes)

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
            return self._result(event, "invalid", reason=MISSING_IDENTIFIER, dropped=ids.dropped)
        moment = event.timestamp or event.original_timestamp or event.received_at
        if moment is None:
            return self._result(
                event,
                "invalid",
                reason="conversion_time: the event has no timestamp, originalTimestamp or receivedAt",
                dropped=ids.dropped,
            )
        conversion: dict[str, Any] = {
            "conversion_time": format_time(moment),
            "event_id": event_id,
            "identifiers": ids.payload(),
        }
        conversion_id = _conversion_id(event)
        if conversion_id is not None:
            conversion["conversion_id"] = conversion_id
        try:
            self._add_commerce(conversion, event.properties, name)
        except BadValue as exc:
            return self._result(event, "invalid", reason=str(exc), dropped=ids.dropped)
        description = event.properties.get("description")
        if isinstance(description, str) and description.strip():
            conversion["description"] = description.strip()
        return self._result(event, "conversion", conversion=conversion, dropped=ids.dropped)

    def _event_id(self, event: Event) -> tuple[str | None, str]:
        """The X event id, or None and why the event is filtered."""
        if event.type == "track":
            name = fold(event.event or "")
            event_id = self._events.get(name)
            if event_id is None:
                return None, f'event "{event.event}" is not mapped to an X event'
            return event_id, name
        if event.type == "page":
            if self.destination.page_event_id:
                return self.destination.page_event_id, "page"
            return None, "page events are not mapped (set page_event_id)"
        return None, f"{event.type} events are not conversions"

    def _add_commerce(self, conversion: dict[str, Any], props: Any, name: str) -> None:
        products = products_of(props)
        value = conversion_value(props, products)
        if value is not None and (
            name not in PRE_PURCHASE or self.destination.value_on_pre_purchase
        ):
            conversion["value"] = money(value)
            currency = props.get("currency")
            if isinstance(currency, str) and currency.strip():
                code = currency.strip().upper()
                if len(code) != 3 or not code.isalpha():
                    raise BadValue(f'currency: "{currency[:20]}" is not an ISO 4217 code')
            else:
                code = self.destination.default_currency
            conversion["price_currency"] = code
        count = number_items(props, products)
        if count is not None:
            conversion["number_items"] = count
        items = contents(props, products, product_identifier=self.destination.product_identifier)
        if items:
            conversion["contents"] = items

    def _result(self, event: Event, outcome: Any, **kwargs: Any) -> MappingResult:
        dest = self.destination
        return MappingResult(
            outcome=outcome,
            destination=dest.name,
            pixel_id=dest.pixel_id,
            account_id=dest.account_id,
            message_id=event.message_id,
            **kwargs,
        )


def _conversion_id(event: Event) -> str | None:
    """`conversion_id`, else `order_id`, else `messageId` (the browser tag sets the first)."""
    props = event.properties
    for value in (prop(props, "conversion_id", "conversionId"), prop(props, "order_id", "orderId")):
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return event.message_id


def _paths(destination: ConversionDestination) -> IdentifierPaths:
    extra = destination.identifiers
    base = IdentifierPaths()
    return IdentifierPaths(
        email=(*extra.email, *base.email),
        phone=(*extra.phone, *base.phone),
        twclid=(*extra.twclid, *base.twclid),
        ip_address=(*extra.ip_address, *base.ip_address),
        user_agent=(*extra.user_agent, *base.user_agent),
    )
