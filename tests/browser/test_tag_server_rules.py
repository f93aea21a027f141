"""The tag reads consent, money and event ids as the server leg does (docs/reference/mapping.md §3, 4, 6).

When the two legs disagree, one of them reaches X and the other does not, and "one conversion id
on both legs" breaks. The consent and money rows live in tests/cases/*.json, which
tests/unit/mapping/test_shared_cases.py checks against the server's own rules, so a row that the
server would read differently fails there rather than pinning a wrong expectation here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cases import cases
from tests.support.tag_harness import TagPage
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
    ("category", "prefs", "fires"), cases("consent", "category", "prefs", "fires")
)
def test_consent_category_as_the_server_reads_it(
    tag_page: TagPage, category: str, prefs: Any, fires: bool
) -> None:
    consent = {"categoryPreferences": prefs}
    tag_page.open({**EVENT_PIXEL, "consent_category": category}, query="?twclid=abc")
    tag_page.track("Signed Up", {}, {"context": {"consent": consent}})
    assert (tag_page.twq() != []) is fires
    assert ("twclid" in tag_page.events()[0]["context"]) is fires
    assert (tag_page.cookie("_twclid") is not None) is fires


# ---- value (docs/reference/mapping.md §3, xconduit.mapping.values.conversion_value) ----
@pytest.mark.parametrize(("props", "value"), cases("money", "props", "value"))
def test_value_as_the_server_reads_it(
    tag_page: TagPage, props: dict[str, Any], value: float | None
) -> None:
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
