"""The `event` label of the conversion counters: the event names the configuration maps, never
what a sender wrote, so that the labels stay as few as the config's events.

Per destination, each X event id gets one label: the configured names that map to it, joined
(`Order Completed / Purchase` when both are mapped to one X event), `page views` for the page
event id, and every event no mapping names counts under `(not mapped)`. The collector labels
by the event's name, delivery by the conversion's `event_id`: both give the same label.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from xconduit.config.model import ConversionDestination
from xconduit.config.priority import fold

UNMAPPED = "(not mapped)"
PAGE_VIEWS = "page views"


class EventNames:
    """Labels of the events of each destination (built once per process)."""

    def __init__(self, destinations: Iterable[ConversionDestination]) -> None:
        self._by_name: dict[str, dict[str, str]] = {}
        self._by_id: dict[str, dict[str, str]] = {}
        self._order: dict[str, list[str]] = {}
        for dest in destinations:
            names: dict[str, list[str]] = defaultdict(list)
            for name, event_id in dest.events.items():
                names[event_id].append(name)
            by_id = {event_id: " / ".join(written) for event_id, written in names.items()}
            by_name = {fold(name): by_id[event_id] for name, event_id in dest.events.items()}
            if dest.page_event_id:
                by_id.setdefault(dest.page_event_id, PAGE_VIEWS)
                by_name["page"] = by_id[dest.page_event_id]
            self._by_id[dest.name] = by_id
            self._by_name[dest.name] = by_name
            self._order[dest.name] = list(dict.fromkeys(by_id.values()))

    @classmethod
    def of(cls, settings: Any) -> EventNames:
        return cls(settings.conversions)

    def of_name(self, destination: str, name: str) -> str:
        """The label of an event by the name it was sent with (`page` for page views)."""
        return self._by_name.get(destination, {}).get(fold(name), UNMAPPED)

    def of_conversion(self, destination: str, conversion: Mapping[str, Any]) -> str:
        """The label of a conversion by its X event id."""
        event_id = conversion.get("event_id")
        by_id = self._by_id.get(destination, {})
        return by_id.get(event_id, UNMAPPED) if isinstance(event_id, str) else UNMAPPED

    def labels(self, destination: str) -> list[str]:
        """The destination's labels in the order of its configuration."""
        return list(self._order.get(destination, ()))
