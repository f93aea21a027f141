"""docs/reference/mapping.md §4 (event syntax) and 4.4: twq('config'/'event') and one conversion id on both legs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tag_harness import TagPage

pytestmark = pytest.mark.browser

EVENTS = {
    "Order Completed": "tw-uni1-purch",
    "signed up": "tw-uni1-signup",
    "Product Added": "tw-uni1-cart",
}
PRODUCTS = [
    {"product_id": "p-2", "sku": "SKU-B", "name": "Shoes", "category": "Footwear", "price": 30,
     "quantity": 2, "product_group_id": "g-shoes"},
    {"product_id": "p-1", "sku": "SKU-A", "name": "Hat", "price": "15.5"},
]  # fmt: skip


def event_tag(**extra: Any) -> dict[str, Any]:
    return {"syntax": "event", "universal_pixel_id": "uni1", "events": EVENTS, **extra}


def test_page_view_configures_the_pixel(tag_page: TagPage) -> None:
    tag_page.open(event_tag(page_pixel="pp1"))
    tag_page.page_view()
    tag_page.page_view()  # a single-page app's route change records another page view
    assert tag_page.twq() == [["config", "uni1"], ["config", "uni1"]]
    assert tag_page.uwt_count(1) == 1
    page = {"txn_id": "pp1", "p_id": "Twitter", "tw_sale_amount": "0", "tw_order_quantity": "0"}
    assert tag_page.adsct(2) == [page, page]


def test_without_a_pixel_nothing_loads(tag_page: TagPage) -> None:
    tag_page.open({"syntax": "event"})
    tag_page.page_view()
    tag_page.track("Order Completed", {"order_id": "o-1", "revenue": 5})
    assert tag_page.twq() == []
    assert tag_page.uwt_count(0) == 0
    assert tag_page.adsct(0) == []


@pytest.mark.parametrize(
    ("identifier", "ids"), [("product_id", ["p-2", "p-1"]), ("sku", ["SKU-B", "SKU-A"])]
)
def test_purchase_params(tag_page: TagPage, identifier: str, ids: list[str]) -> None:
    tag_page.open(event_tag(product_identifier=identifier))
    tag_page.track(
        "Order Completed",
        {"order_id": "o-77", "revenue": "75.50", "currency": "eur", "products": PRODUCTS},
    )
    params = {
        "value": 75.5,
        "currency": "EUR",
        "contents": [
            {"content_id": ids[0], "content_name": "Shoes", "content_type": "Footwear",
             "content_price": 30, "num_items": 2, "content_group_id": "g-shoes"},
            {"content_id": ids[1], "content_name": "Hat", "content_price": 15.5},
        ],
        "conversion_id": "o-77",
    }  # fmt: skip
    assert tag_page.twq() == [["event", "tw-uni1-purch", params]]
    assert tag_page.events()[0]["properties"]["conversion_id"] == "o-77"


def test_value_from_products_and_default_currency(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    tag_page.track("Order Completed", {"order_id": 42, "products": PRODUCTS})
    [[_, _, params]] = tag_page.twq()
    assert (params["value"], params["currency"], params["conversion_id"]) == (75.5, "USD", "42")


def test_pre_purchase_event_has_no_value(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    tag_page.track(
        "product added",
        {"product_id": "p-1", "name": "Hat", "price": 15.5, "quantity": 1, "value": 15.5},
    )
    [[kind, event_id, params]] = tag_page.twq()
    assert (kind, event_id) == ("event", "tw-uni1-cart")
    assert params["contents"] == [
        {"content_id": "p-1", "content_name": "Hat", "content_price": 15.5, "num_items": 1}
    ]
    assert "value" not in params
    assert "currency" not in params


@pytest.mark.parametrize("name", ["Signed Up", "  SIGNED UP", "signed up "])
def test_event_names_are_case_insensitive(tag_page: TagPage, name: str) -> None:
    tag_page.open(event_tag())
    tag_page.track(name, {"value": 3})
    [[kind, event_id, params]] = tag_page.twq()
    assert (kind, event_id, params["value"], params["currency"]) == (
        "event",
        "tw-uni1-signup",
        3,
        "USD",
    )


@pytest.mark.parametrize("name", ["toString", "constructor", "__proto__", "valueOf", "Not Mapped"])
def test_unmapped_and_prototype_names_fire_nothing(tag_page: TagPage, name: str) -> None:
    tag_page.open(event_tag(single_event_tags={"Signed Up": ["s1"]}))
    tag_page.track(name, {"value": 3})
    assert tag_page.twq() == []
    assert tag_page.uwt_count(0) == 0
    assert tag_page.adsct(0) == []
    [sent] = tag_page.events()
    assert sent["event"] == name


def test_single_event_tags_fire_with_the_event_syntax(tag_page: TagPage) -> None:
    tag_page.open(event_tag(single_event_tags={"Signed Up": ["s1"]}))
    tag_page.track("Signed Up", {"revenue": 4})
    assert [c[:2] for c in tag_page.twq()] == [["event", "tw-uni1-signup"]]
    assert tag_page.adsct(1)[0]["txn_id"] == "s1"


# ---- 4.4: one conversion id on both legs ----
@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"conversion_id": "c-1", "order_id": "o-1"}, "c-1"),
        ({"order_id": "o-1"}, "o-1"),
        ({"orderId": "o-2"}, "o-2"),
        ({}, None),  # the event's messageId
    ],
    ids=["conversion_id", "order_id", "orderId", "messageId"],
)
def test_conversion_id_on_both_legs(
    tag_page: TagPage, props: dict[str, Any], expected: str | None
) -> None:
    tag_page.open(event_tag())
    tag_page.track("Order Completed", {"revenue": 10, **props})
    [sent] = tag_page.events()
    [[_, _, params]] = tag_page.twq()
    want = expected or sent["messageId"]
    assert params["conversion_id"] == want
    assert sent["properties"]["conversion_id"] == want


def test_each_event_gets_its_own_conversion_id(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    tag_page.track("Signed Up")
    tag_page.track("Signed Up")
    ids = [c[2]["conversion_id"] for c in tag_page.twq()]
    sent = [e["properties"]["conversion_id"] for e in tag_page.events()]
    assert ids == sent
    assert len(set(ids)) == 2


# ---- PII only when the destination allows it ----
def test_pii_is_not_passed_by_default(tag_page: TagPage) -> None:
    tag_page.open(event_tag())
    tag_page.identify("u-1", {"email": "ana@example.com", "phone": "+15551234567"})
    tag_page.track("Signed Up", {"email": "ana@example.com"})
    [[_, _, params]] = tag_page.twq()
    assert "email_address" not in params
    assert "phone_number" not in params


def test_pii_is_passed_when_enabled(tag_page: TagPage) -> None:
    tag_page.open(event_tag(send_pii_to_pixel=True))
    tag_page.identify("u-1", {"email": "ana@example.com", "phone": "+15551234567"})
    tag_page.track("Signed Up")
    tag_page.track("Signed Up", {"email": "bo@example.com"})
    first, second = (c[2] for c in tag_page.twq())
    assert (first["email_address"], first["phone_number"]) == ("ana@example.com", "+15551234567")
    assert second["email_address"] == "bo@example.com"


def test_pre_purchase_value_when_the_destination_enables_it(tag_page: TagPage) -> None:
    tag_page.open(event_tag(value_on_pre_purchase=True))
    tag_page.track("Product Added", {"product_id": "p-1", "price": 15.5, "quantity": 2})
    [[_, _, params]] = tag_page.twq()
    assert (params["value"], params["currency"]) == (31, "USD")
