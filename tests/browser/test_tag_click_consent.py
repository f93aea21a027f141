"""docs/reference/mapping.md §4.4 (twclid: landing URL → 90-day cookie → every event) and 6 (consent)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.tag_harness import TagPage

pytestmark = pytest.mark.browser

ALL_PIXELS = {
    "syntax": "legacy",
    "universal_pixel_id": "uni1",
    "page_pixel": "pp1",
    "single_event_tags": {"Signed Up": ["s1"]},
}
EVENT_PIXEL = {
    "syntax": "event",
    "universal_pixel_id": "uni1",
    "events": {"Signed Up": "tw-uni1-a"},
}
DENIED = {"categoryPreferences": {"Advertising": False, "Analytics": True}}
GRANTED = {"categoryPreferences": {"Advertising": True}}
NINETY_DAYS = 90 * 24 * 3600


def test_twclid_from_landing_url_to_cookie_to_every_event(tag_page: TagPage) -> None:
    tag_page.open(EVENT_PIXEL, query="?utm_source=x&twclid=23opevjt88psuo13lu8d020qkn")
    tag_page.page_view()
    tag_page.track("Signed Up")
    cookie = tag_page.cookie("_twclid")
    assert cookie is not None
    assert json.loads(unquote(cookie["value"]))["twclid"] == "23opevjt88psuo13lu8d020qkn"
    assert abs(cookie["expires"] - (time.time() + NINETY_DAYS)) < 120
    assert (cookie["path"], cookie["sameSite"]) == ("/", "Lax")
    assert [e["context"]["twclid"] for e in tag_page.events()] == ["23opevjt88psuo13lu8d020qkn"] * 2

    # A later page of the same site, without twclid in its URL: the cookie carries it.
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Signed Up")
    assert tag_page.events()[-1]["context"]["twclid"] == "23opevjt88psuo13lu8d020qkn"


def test_a_new_click_replaces_the_stored_twclid(tag_page: TagPage) -> None:
    tag_page.open(EVENT_PIXEL, query="?twclid=first")
    tag_page.track("Signed Up")
    tag_page.open(EVENT_PIXEL, query="?twclid=second")
    tag_page.track("Signed Up")
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Signed Up")
    assert [e["context"]["twclid"] for e in tag_page.events()] == ["first", "second", "second"]


@pytest.mark.parametrize(
    "value", ["bare-id-123", "%7B%22twclid%22%3A%22bare-id-123%22%2C%22timestamp%22%3A1%7D"]
)
def test_twclid_cookie_set_by_x_pixel_is_read(tag_page: TagPage, value: str) -> None:
    tag_page.context.add_cookies(
        [{"name": "_twclid", "value": value, "domain": "127.0.0.1", "path": "/"}]
    )
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Signed Up")
    assert tag_page.events()[0]["context"]["twclid"] == "bare-id-123"


def test_no_twclid_no_cookie(tag_page: TagPage) -> None:
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Signed Up")
    assert "twclid" not in tag_page.events()[0]["context"]
    assert tag_page.cookie("_twclid") is None


# ---- consent ----
def per_call(consent: dict[str, Any]) -> dict[str, Any]:
    return {"context": {"consent": consent}}


@pytest.mark.parametrize("tag", [ALL_PIXELS, EVENT_PIXEL], ids=["legacy", "event"])
def test_denied_advertising_consent_fires_nothing_and_writes_no_cookie(
    tag_page: TagPage, tag: dict[str, Any]
) -> None:
    tag_page.open(tag, query="?twclid=abc")
    tag_page.page_view(per_call(DENIED))
    tag_page.track("Signed Up", {"revenue": 3}, per_call(DENIED))
    tag_page.track("Order Completed", {"order_id": "o-1"}, per_call(DENIED))
    assert tag_page.twq() == []
    assert tag_page.uwt_count(0) == 0
    assert tag_page.adsct(0) == []
    assert tag_page.cookie("_twclid") is None
    events = tag_page.events()
    assert [e["context"]["consent"] for e in events] == [DENIED] * 3  # the gateway filters them
    assert all("twclid" not in e["context"] for e in events)
    # Each event is its own fetch: they may reach the gateway in any order.
    [order] = [e for e in events if e.get("event") == "Order Completed"]
    assert order["properties"]["conversion_id"] == "o-1"


@pytest.mark.parametrize("tag", [ALL_PIXELS, EVENT_PIXEL], ids=["legacy", "event"])
def test_granted_advertising_consent_fires(tag_page: TagPage, tag: dict[str, Any]) -> None:
    tag_page.open(tag, query="?twclid=abc")
    tag_page.page_view(per_call(GRANTED))
    tag_page.track("Signed Up", {}, per_call(GRANTED))
    assert tag_page.twq() != []
    assert tag_page.uwt_count(1) == 1
    assert tag_page.cookie("_twclid") is not None
    assert [e["context"]["twclid"] for e in tag_page.events()] == ["abc", "abc"]


def test_preferences_without_the_category_deny(tag_page: TagPage) -> None:
    tag_page.open(EVENT_PIXEL)
    tag_page.track("Signed Up", {}, per_call({"categoryPreferences": {"Analytics": True}}))
    assert tag_page.twq() == []


@pytest.mark.parametrize(("missing", "fires"), [("allow", True), ("deny", False)])
def test_missing_consent_setting(tag_page: TagPage, missing: str, fires: bool) -> None:
    tag_page.open({**EVENT_PIXEL, "missing_consent": missing}, query="?twclid=abc")
    tag_page.track("Signed Up")
    assert (tag_page.twq() != []) is fires
    assert (tag_page.cookie("_twclid") is not None) is fires


def test_custom_consent_category(tag_page: TagPage) -> None:
    tag_page.open({**EVENT_PIXEL, "consent_category": "Marketing"})
    tag_page.track("Signed Up", {}, per_call({"categoryPreferences": {"Marketing": True}}))
    tag_page.track("Signed Up", {}, per_call({"categoryPreferences": {"Marketing": False}}))
    assert len(tag_page.twq()) == 1


@pytest.mark.parametrize("driver", ["tag"])
def test_consent_given_at_init_then_granted(tag_page: TagPage) -> None:
    tag_page.open(ALL_PIXELS, consent=DENIED, query="?twclid=abc")
    tag_page.page_view()
    tag_page.track("Signed Up")
    assert tag_page.twq() == []
    assert tag_page.cookie("_twclid") is None
    assert tag_page.events()[0]["context"]["consent"] == DENIED

    tag_page.page.evaluate("() => xconduit.consent({categoryPreferences: {Advertising: true}})")
    tag_page.track("Signed Up")
    tag_page.page_view()
    assert tag_page.twq() == [["init", "uni1"], ["track", "PageView"]]
    assert [i["txn_id"] for i in tag_page.adsct(2)] == ["s1", "pp1"]
    assert tag_page.cookie("_twclid") is not None
    assert tag_page.events()[-1]["context"]["twclid"] == "abc"


def test_empty_consent_category_turns_the_check_off(tag_page: TagPage) -> None:
    tag_page.open({**EVENT_PIXEL, "consent_category": ""})
    tag_page.track("Signed Up", {}, per_call(DENIED))
    assert [c[:2] for c in tag_page.twq()] == [["event", "tw-uni1-a"]]
