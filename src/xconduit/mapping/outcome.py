"""What mapping one event for one destination ends as."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from xconduit.config.priority import EVENT

Outcome = Literal["conversion", "filtered", "invalid"]


class MappingResult(NamedTuple):
    """An event × destination: a `conversion` to send, `filtered` (why) or `invalid` (the rule).

    A NamedTuple for the same reason as `Event`: it is built once per event on the hot path.
    """

    outcome: Outcome
    destination: str
    pixel_id: str
    account_id: str
    message_id: str | None
    conversion: dict[str, Any] | None = None
    """The exact object that goes in X's `conversions[]` (hashed identifiers only)."""
    reason: str | None = None
    dropped: tuple[tuple[str, str], ...] = ()
    """Fields present in the event but left out of the conversion, as (field, rule) pairs:
    identifiers by kind (`("twclid", "not an X click id")`), other fields by their path
    (`("properties.quantity", "not a whole number above zero")`). Never the value."""
    priority: int = EVENT
    """The conversion's delivery priority, 0 first (`xconduit.config.priority`)."""

    def as_line(self) -> dict[str, Any]:
        """The `xconduit map` output shape."""
        return {
            "message_id": self.message_id,
            "destination": self.destination,
            "outcome": self.outcome,
            "pixel_id": self.pixel_id,
            "conversion": self.conversion,
            "reason": self.reason,
            "dropped": [{"field": field, "rule": rule} for field, rule in self.dropped],
        }
