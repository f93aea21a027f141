"""`GET /v1/tag-config?key=…`: the public tag settings of the destinations of a key's source."""

from __future__ import annotations

from typing import Any

from xconduit.config import Settings
from xconduit.tag import public_tag_settings


class TagConfigs:
    """Per source, the settings of the first tag of the first destination it feeds (or None).

    Built once at start: the settings are public and only change with the configuration.
    """

    def __init__(self, settings: Settings) -> None:
        self._by_source: dict[str, dict[str, Any] | None] = {}
        for source in settings.sources:
            found: dict[str, Any] | None = None
            for dest in settings.conversions:
                if dest.sources and source.name not in dest.sources:
                    continue
                if dest.tag:
                    found = public_tag_settings(
                        dest.tag[0].model_dump(),
                        pixel_id=dest.pixel_id,
                        events=dest.events,
                        product_identifier=dest.product_identifier,
                        default_currency=dest.default_currency,
                        consent_category=dest.consent_category,
                        missing_consent=dest.missing_consent,
                        value_on_pre_purchase=dest.value_on_pre_purchase,
                        phone_region=dest.phone_region,
                    )
                    break
            self._by_source[source.name] = found

    def for_source(self, name: str) -> dict[str, Any] | None:
        return self._by_source.get(name)
