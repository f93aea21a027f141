"""How the tag gets onto a page: the queue stub, `?key=` with /v1/tag-config, explicit init."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.tag_harness import FakeGateway, TagPage
from xconduit.tag import STUB_JS, public_tag_settings, snippet

pytestmark = pytest.mark.browser

TAG = {"syntax": "event", "universal_pixel_id": "uni1"}
EVENTS = {"Order Completed": "purch"}  # a bare event id: the settings make it tw-uni1-purch


def html(head: str) -> str:
    return f"<!doctype html><html><head><title>Shop</title>{head}</head><body></body></html>"


def serve_settings(gateway: FakeGateway, key: str, tag: dict[str, Any] = TAG) -> None:
    gateway.configs[key] = public_tag_settings(tag, events=EVENTS)


@pytest.mark.parametrize("driver", ["tag"])
def test_calls_before_the_tag_loads_are_replayed_in_order(tag_page: TagPage) -> None:
    init = {"collector": tag_page.gateway.base_url, "key": tag_page.key, "tag": TAG}
    init["tag"] = public_tag_settings(TAG, events=EVENTS)
    head = (
        f"<script>{STUB_JS}\n"
        f"xconduit.init({json.dumps(init)});\n"
        "xconduit.page();\n"
        "xconduit.identify('u-1', {plan: 'pro'});\n"
        "xconduit.track('Order Completed', {order_id: 'o-9', revenue: 20});\n"
        "window.queuedBeforeLoad = !window.xconduit.core;\n"
        '</script><script async src="/tag.js"></script>'
    )
    tag_page.open(None, html=html(head))
    tag_page.sent = 3
    events = tag_page.events()
    assert tag_page.page.evaluate("() => window.queuedBeforeLoad") is True
    # Each event is its own fetch: they may reach the gateway in any order.
    by_type = {e["type"]: e for e in events}
    assert sorted(by_type) == ["identify", "page", "track"]
    assert by_type["track"]["userId"] == "u-1"
    assert len({e["anonymousId"] for e in events}) == 1
    assert tag_page.twq() == [
        ["config", "uni1"],
        ["event", "tw-uni1-purch", {"value": 20, "currency": "USD", "conversion_id": "o-9"}],
    ]
    assert by_type["track"]["properties"]["conversion_id"] == "o-9"


@pytest.mark.parametrize("driver", ["tag"])
def test_standalone_script_with_key_fetches_the_public_settings(tag_page: TagPage) -> None:
    serve_settings(tag_page.gateway, tag_page.key)
    head = (
        f"<script>{STUB_JS}\nxconduit.page();\n"
        "xconduit.track('Order Completed', {order_id: 'o-1'});</script>"
        f'<script async src="/tag.js?key={tag_page.key}"></script>'
    )
    tag_page.open(None, html=html(head))
    tag_page.sent = 2
    assert [e["type"] for e in tag_page.events()] == ["page", "track"]
    assert tag_page.key in tag_page.gateway.config_requests
    assert tag_page.twq() == [
        ["config", "uni1"],
        ["event", "tw-uni1-purch", {"conversion_id": "o-1"}],
    ]


def test_settings_are_fetched_again_after_a_5xx(tag_page: TagPage) -> None:
    # A failed settings fetch would leave the pixel off for the whole page: the tag retries.
    serve_settings(tag_page.gateway, tag_page.key)
    tag_page.gateway.config_failures[tag_page.key] = 2
    tag_page.open(
        {"collector": tag_page.gateway.base_url, "key": tag_page.key}
        if tag_page.driver == "plugin"
        else None,
        html=None
        if tag_page.driver == "plugin"
        else html(
            f"<script>{STUB_JS}\nxconduit.track('Order Completed', {{order_id: 'o-2'}});</script>"
            f'<script async src="/tag.js?key={tag_page.key}"></script>'
        ),
    )
    if tag_page.driver == "plugin":
        tag_page.track("Order Completed", {"order_id": "o-2"})
    else:
        tag_page.sent = 1
    assert ["event", "tw-uni1-purch", {"conversion_id": "o-2"}] in tag_page.twq()
    assert tag_page.gateway.config_requests.count(tag_page.key) == 3  # two 503s, then the settings


@pytest.mark.parametrize("driver", ["tag"])
def test_the_documented_snippet_works(tag_page: TagPage) -> None:
    serve_settings(tag_page.gateway, tag_page.key)
    tag_page.open(
        None, html=html(snippet(gateway_url=tag_page.gateway.base_url, write_key=tag_page.key))
    )
    tag_page.sent = 1
    assert tag_page.events()[0]["type"] == "page"
    assert tag_page.twq() == [["config", "uni1"]]


@pytest.mark.parametrize("driver", ["tag"])
def test_unknown_key_still_sends_events_without_pixel(tag_page: TagPage) -> None:
    tag_page.open(None)  # init without `tag`: fetches /v1/tag-config, which answers 401
    tag_page.page_view()
    tag_page.track("Order Completed", {"order_id": "o-1"})
    assert [e["type"] for e in tag_page.events()] == ["page", "track"]
    assert tag_page.twq() == []
    assert tag_page.key in tag_page.gateway.config_requests


@pytest.mark.parametrize("driver", ["tag"])
def test_loading_the_tag_twice_fires_once(tag_page: TagPage) -> None:
    init = {"collector": tag_page.gateway.base_url, "key": tag_page.key, "tag": TAG}
    head = (
        f"<script>{STUB_JS}\nxconduit.init({json.dumps(init)});</script>"
        '<script src="/tag.js"></script><script src="/tag.js"></script>'
    )
    tag_page.open(None, html=html(head))
    tag_page.page_view()
    assert tag_page.twq() == [["config", "uni1"]]
    assert len(tag_page.events()) == 1


@pytest.mark.parametrize("driver", ["plugin"])
def test_plugin_fetches_settings_from_the_gateway(tag_page: TagPage) -> None:
    serve_settings(tag_page.gateway, tag_page.key)
    tag_page.open(None)  # xconduitPlugin({collector, key})
    tag_page.track("Order Completed", {"order_id": "o-3"})
    assert tag_page.twq() == [["event", "tw-uni1-purch", {"conversion_id": "o-3"}]]
    assert tag_page.events()[0]["properties"]["conversion_id"] == "o-3"


SHOP = Path(__file__).parents[2] / "docs" / "examples" / "shop.html"


@pytest.mark.parametrize("driver", ["tag"])
def test_example_shop_page(tag_page: TagPage) -> None:
    legacy = {"syntax": "legacy", "universal_pixel_id": "uni1", "page_pixel": "pp1"}
    tag_page.gateway.configs[tag_page.key] = public_tag_settings(legacy, events=EVENTS)
    query = f"?gateway={tag_page.gateway.base_url}&key={tag_page.key}&twclid=click-1"
    tag_page.open(None, html=SHOP.read_text(), query=query)
    page = tag_page.page
    # The how-to says "leave it ticked": the box starts ticked (consent given), untouched here.
    expect(page.locator("#consent")).to_be_checked()
    page.get_by_role("button", name="Add to cart").first.click()
    page.get_by_role("button", name="Checkout").click()
    page.get_by_role("button", name="Place order").click()
    tag_page.sent = 4
    events = tag_page.events()
    named = {e.get("event"): e for e in events}  # each its own fetch: any order at the gateway
    assert sorted(map(str, named)) == [
        "Checkout Started",
        "None",
        "Order Completed",
        "Product Added",
    ]
    order = named["Order Completed"]["properties"]
    assert order["conversion_id"] == order["order_id"]
    assert all(e["context"]["twclid"] == "click-1" for e in events)
    log = page.locator("#log")
    for line in ['twq("init", "uni1")', 'twq("track", "PageView")', '"AddToCart"', '"Purchase"']:
        expect(log).to_contain_text(line)

    page.uncheck("#consent")
    page.get_by_role("button", name="View").first.click()
    tag_page.sent = 5
    [viewed] = [e for e in tag_page.events() if e.get("event") == "Product Viewed"]
    assert viewed["context"]["consent"] == {"categoryPreferences": {"Advertising": False}}
    expect(log).not_to_contain_text('"ViewContent"')

    # An order without consent is never lost silently: the page says X receives nothing.
    page.get_by_role("button", name="Add to cart").first.click()
    page.get_by_role("button", name="Place order").click()
    tag_page.sent = 7
    orders = [e for e in tag_page.events() if e.get("event") == "Order Completed"]
    assert [o["context"]["consent"] for o in orders] == [
        {"categoryPreferences": {"Advertising": True}},
        {"categoryPreferences": {"Advertising": False}},
    ]
    expect(log).to_contain_text("sent WITHOUT advertising consent")
    assert log.inner_text().count('"Purchase"') == 1  # the first order's pixel call only
