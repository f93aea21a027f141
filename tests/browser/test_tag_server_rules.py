"""The tag reads consent, money and event ids as the server leg does (docs/reference/mapping.md §3, 4, 6).

When the two legs disagree, one of them reaches X and the other does not, and "one conversion id
on both legs" breaks. Each table row is checked against the server's own rule as well, so a row
that the server would read differently fails here rather than pinning a wrong expectation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.tag_harness import TagPage
from xconduit.mapping.policy import consent_refusal
from xconduit.mapping.values import BadValue, conversion_value, products_of
from xconduit.tag import public_tag_settings

pytestmark = pytest.mark.browser

PIXEL = "uni1"
EVENT_PIXEL = {
    "syntax": "event",
    "universal_pixel_id": PIXEL,
    "events": {"Signed Up": "tw-uni1-a", "Order Completed": "tw-uni1-purch"},
}
EMAIL = "ana@example.com"
PHONE = "+15551234567"


# ---- consent (docs/reference/mapping.md §6, xconduit.mapping.policy.consent_refusal) ----
@pytest.mark.parametrize(
    ("category", "prefs", "fires"),
    [
        ("Advertising", {"advertising": True}, True),
        ("Advertising", {"ADVERTISING": True, "Analytics": False}, True),
        ("Marketing", {"marketing": True}, True),
        ("Advertising", {"Advertising": None, "advertising": True}, False),  # first match: null
        ("Advertising", {"advertising": None, "ADVERTISING": True}, False),
        ("Advertising", {"Advertising": False, "advertising": True}, False),  # exact key wins
        ("Advertising", {"advertising": False}, False),
        ("Advertising", {"advertising": "true"}, False),
        ("Advertising", {"Advertisingx": True}, False),
        ("Advertising", ["Advertising"], True),  # not a table: as no consent (allow)
    ],
)
def test_consent_category_as_the_server_reads_it(
    tag_page: TagPage, category: str, prefs: Any, fires: bool
) -> None:
    consent = {"categoryPreferences": prefs}
    server = consent_refusal({"consent": consent}, category=category, missing="allow") is None
    assert server is fires, "the row disagrees with the server's rule"
    tag_page.open({**EVENT_PIXEL, "consent_category": category}, query="?twclid=abc")
    tag_page.track("Signed Up", {}, {"context": {"consent": consent}})
    assert (tag_page.twq() != []) is fires
    assert ("twclid" in tag_page.events()[0]["context"]) is fires
    assert (tag_page.cookie("_twclid") is not None) is fires


# ---- value (docs/reference/mapping.md §3, xconduit.mapping.values.conversion_value) ----
def server_value(props: dict[str, Any]) -> float | None:
    """The server leg's value as a number; None when it has none or rejects the event."""
    try:
        value = conversion_value(props, products_of(props))
    except BadValue:
        return None
    return None if value is None else float(value)


@pytest.mark.parametrize(
    ("props", "value"),
    [
        ({"value": "1,234.50"}, None),
        ({"value": "$25"}, None),
        ({"value": "25 USD"}, None),
        ({"value": "0x10"}, None),
        ({"value": "Infinity"}, None),
        ({"value": "NaN"}, None),
        ({"value": True}, None),
        ({"value": {"amount": 5}}, None),
        ({"value": " 25.5 "}, 25.5),
        ({"value": "+3"}, 3),
        ({"value": "-2.5"}, None),  # a negative amount is invalid
        ({"value": ".5"}, 0.5),
        ({"value": "5."}, 5),
        ({"value": "1.5e2"}, 150),
        ({"value": 42}, 42),
        ({"value": "$25", "revenue": 30}, None),  # a bad value is not skipped for revenue
        ({"revenue": "1,234.50"}, None),
        ({"products": [{"price": "$5"}, {"price": 10}]}, None),
        ({"products": [{"price": "5", "quantity": "2"}, {"price": 1.5}]}, 11.5),
        ({"products": [{"price": 5, "quantity": 2.5}]}, 5),  # not a count: once
        ({"products": [{"price": 5, "quantity": -1}]}, 5),
        ({"price": "4", "quantity": "3"}, 12),
        ({"price": "4 EUR", "quantity": 3}, None),
    ],
)
def test_value_as_the_server_reads_it(
    tag_page: TagPage, props: dict[str, Any], value: float | None
) -> None:
    assert server_value(props) == value, "the row disagrees with the server's rule"
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Order Completed", {"order_id": "o-1", **props})
    [[kind, event_id, params]] = tag_page.twq()
    assert (kind, event_id, params["conversion_id"]) == ("event", "tw-uni1-purch", "o-1")
    assert params.get("value") == value
    assert ("currency" in params) is (value is not None)


def test_a_bad_price_leaves_no_content_price(tag_page: TagPage) -> None:
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Order Completed", {"products": [{"product_id": "p-1", "price": "1,50"}]})
    [[_, _, params]] = tag_page.twq()
    assert params["contents"] == [{"content_id": "p-1"}]
    assert "value" not in params


# ---- event ids (docs/reference/mapping.md §4, as xconduit.tag.public_tag_settings builds them) ----
def test_bare_event_ids_get_the_pixel_prefix(tag_page: TagPage) -> None:
    events = {"Order Completed": "ol288", "Signed Up": " tw-uni1-a ", "Lead": " l1 "}
    server = public_tag_settings({"universal_pixel_id": PIXEL}, events=events)["events"]
    assert server == {
        "order completed": "tw-uni1-ol288",
        "signed up": "tw-uni1-a",
        "lead": "tw-uni1-l1",
    }
    tag_page.open({"syntax": "event", "universal_pixel_id": PIXEL, "events": events})
    for name in events:
        tag_page.track(name)
    assert [call[:2] for call in tag_page.twq()] == [["event", server[n.lower()]] for n in events]


def test_bare_event_ids_without_a_pixel_stay_bare(tag_page: TagPage) -> None:
    tag_page.open({"syntax": "event", "page_pixel": "pp1", "events": {"Lead": "l1"}})
    tag_page.track("Lead")
    assert [call[:2] for call in tag_page.twq()] == [["event", "l1"]]


# ---- debug output ----
def test_debug_output_masks_email_and_phone(tag_page: TagPage) -> None:
    tag_page.open({**EVENT_PIXEL, "send_pii_to_pixel": True}, debug=True)
    tag_page.identify("u-1", {"email": EMAIL, "phone": PHONE})
    tag_page.track("Signed Up", {"value": 3})
    [[_, _, params]] = tag_page.twq()
    assert (params["email_address"], params["phone_number"]) == (EMAIL, PHONE)  # the pixel's
    lines = tag_page.console()
    [shown] = [json.loads(line)[1] for line in lines if '"event"' in line]
    masked = {**params, "email_address": "***", "phone_number": "***"}
    assert shown == ["event", "tw-uni1-a", masked]
    assert not [line for line in lines if EMAIL in line or PHONE in line]
