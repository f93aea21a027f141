"""Why an event was not sent, in the few phrases the overview groups by."""

from __future__ import annotations

import pytest

from xconduit.normalize.conversion import MISSING_IDENTIFIER
from xconduit.observability.tally import tally, why_not_sent


@pytest.mark.parametrize(
    ("outcome", "reason", "expected"),
    [
        (
            "filtered",
            'event "Product Viewed" is not mapped to an X event',
            "not mapped to an X event",
        ),
        ("filtered", "page events are not mapped (set page_event_id)", "not mapped to an X event"),
        (
            "filtered",
            "identify events are not conversions",
            "not a conversion (identify, group, …)",
        ),
        ("filtered", "consent: Advertising is not granted", "consent denied"),
        (
            "filtered",
            "consent: the event carries no consent and missing_consent is deny",
            "consent denied",
        ),
        ("filtered", "suppressed", "suppressed (the user opted out)"),
        ("invalid", MISSING_IDENTIFIER, "no email, phone or click id"),
        (
            "invalid",
            f"email: not an email address ({MISSING_IDENTIFIER})",
            "no email, phone or click id",
        ),
        (
            "invalid",
            "conversion_time: the event has no timestamp, originalTimestamp or receivedAt",
            "no time of the event",
        ),
        ("invalid", "value: not a number", "a value X would refuse"),
        ("invalid", None, "a value X would refuse"),
    ],
)
def test_why_not_sent(outcome: str, reason: str | None, expected: str) -> None:
    assert why_not_sent(outcome, reason) == expected


def test_a_filtered_event_counts_why_beside_its_outcome() -> None:
    from xconduit.mapping import MappingResult

    result = MappingResult(
        destination="shop",
        outcome="filtered",
        reason="consent: Advertising is not granted",
        conversion=None,
        pixel_id="oka17",
        account_id="18ce552mlaq",
        message_id="m-1",
    )
    counts, _ = tally("web", "m-1", "Order Completed", [result])
    names = {(c.name, c.labels) for c in counts}
    shop = (("destination", "shop"), ("event", "(not mapped)"))  # no names: one label for all
    assert ("conversions_filtered", shop) in names
    assert ("conversions_not_sent", (*shop, ("why", "consent denied"))) in names
