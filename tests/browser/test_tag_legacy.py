"""docs/reference/mapping.md §4.1 and 4.2: the legacy syntax, every row, via window.xconduit and analytics-next."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.tag_harness import TagPage

pytestmark = pytest.mark.browser

PRODUCTS = [
    {"product_id": "p-2", "sku": "SKU-B", "name": "Shoes", "category": "Footwear", "price": 30,
     "quantity": 2},
    {"product_id": "p-1", "sku": "SKU-A", "name": "Hat", "category": "Headwear", "price": 15.5,
     "quantity": 1},
]  # fmt: skip
ONE = dict(PRODUCTS[1])
MONEY = {"value": 75.5, "revenue": 75.5, "currency": "EUR", "order_id": "o-77", "quantity": 9}


def legacy(**extra: Any) -> dict[str, Any]:
    return {"syntax": "legacy", "universal_pixel_id": "uni1", **extra}


# (event, properties, X tag, params with product_id, params with sku)
ECOMMERCE = [
    (
        "Order Completed",
        {**MONEY, "products": PRODUCTS},
        "Purchase",
        {"value": "75.50", "currency": "EUR", "content_ids": ["p-1", "p-2"],
         "content_type": "product", "content_name": "Hat, Shoes", "num_items": "3",
         "order_id": "o-77"},
        {"content_ids": ["SKU-A", "SKU-B"]},
    ),
    (
        "Product Viewed",
        {**MONEY, **ONE},
        "ViewContent",
        {"content_ids": ["p-1"], "content_type": "product", "content_name": "Hat",
         "content_category": "Headwear"},
        {"content_ids": ["SKU-A"]},
    ),
    (
        "Product Added",
        {**MONEY, **ONE},
        "AddToCart",
        {"content_ids": ["p-1"], "content_type": "product", "content_name": "Hat"},
        {"content_ids": ["SKU-A"]},
    ),
    ("Products Searched", {**MONEY, "query": "hats"}, "Search", {}, {}),
    (
        "Product Added to Wishlist",
        {**MONEY, **ONE},
        "AddToWishlist",
        {"content_name": "Hat", "content_category": "Headwear", "content_ids": ["p-1"]},
        {"content_ids": ["SKU-A"]},
    ),
    (
        "Checkout Started",
        {**MONEY, "products": PRODUCTS},
        "InitiateCheckout",
        {"content_ids": ["p-1", "p-2"], "content_name": "Hat, Shoes",
         "content_category": "Footwear, Headwear"},
        {"content_ids": ["SKU-A", "SKU-B"]},
    ),
    ("Payment Info Entered", {**MONEY}, "AddPaymentInfo", {}, {}),
]  # fmt: skip
ROW_IDS = [row[0] for row in ECOMMERCE]


@pytest.mark.parametrize(
    ("event", "props", "x_tag", "params", "sku_params"), ECOMMERCE, ids=ROW_IDS
)
@pytest.mark.parametrize("identifier", ["product_id", "sku"])
def test_ecommerce_rows(
    tag_page: TagPage,
    identifier: str,
    event: str,
    props: dict[str, Any],
    x_tag: str,
    params: dict[str, Any],
    sku_params: dict[str, Any],
) -> None:
    tag_page.open(legacy(product_identifier=identifier))
    tag_page.track(event, props)
    expected = {**params, **sku_params} if identifier == "sku" else params
    assert tag_page.twq() == [["init", "uni1"], ["track", x_tag, expected]]
    assert tag_page.adsct(0) == []


@pytest.mark.parametrize(
    ("event", "props", "x_tag", "params", "sku_params"), ECOMMERCE, ids=ROW_IDS
)
def test_status_is_copied_on_every_row(
    tag_page: TagPage,
    event: str,
    props: dict[str, Any],
    x_tag: str,
    params: dict[str, Any],
    sku_params: dict[str, Any],
) -> None:
    tag_page.open(legacy())
    tag_page.track(event.upper(), {**props, "status": "returning customer"})
    assert tag_page.twq() == [
        ["init", "uni1"],
        ["track", x_tag, {**params, "status": "returning customer"}],
    ]


@pytest.mark.parametrize("name", ["order completed", "  ORDER COMPLETED ", "Order completed"])
def test_ecommerce_names_are_case_insensitive_and_trimmed(tag_page: TagPage, name: str) -> None:
    tag_page.open(legacy())
    tag_page.track(name, {"order_id": "o-1", "products": PRODUCTS})
    calls = tag_page.twq()
    assert [c[:2] for c in calls] == [["init", "uni1"], ["track", "Purchase"]]
    # no value/revenue: Σ price × quantity, as the server leg computes it
    assert (calls[1][2]["value"], calls[1][2]["currency"]) == ("75.50", "USD")


def test_ecommerce_events_need_a_universal_pixel(tag_page: TagPage) -> None:
    tag_page.open({"syntax": "legacy", "page_pixel": "pp1"})
    for event, props, *_ in ECOMMERCE:
        tag_page.track(event, props)
    assert tag_page.twq() == []
    assert tag_page.uwt_count(0) == 0
    assert tag_page.adsct(0) == []


# ---- 4.1: page views ----
@pytest.mark.parametrize(
    ("settings", "twq", "images"),
    [
        ({}, [], []),
        ({"universal_pixel_id": "uni1"}, [["init", "uni1"], ["track", "PageView"]], []),
        ({"page_pixel": "pp1"}, [], ["pp1"]),
        (
            {"universal_pixel_id": "uni1", "page_pixel": "pp1"},
            [["init", "uni1"], ["track", "PageView"]],
            ["pp1"],
        ),
    ],
    ids=["no-pixel", "universal", "page-pixel", "both"],
)
def test_page_view(
    tag_page: TagPage, settings: dict[str, str], twq: list[Any], images: list[str]
) -> None:
    tag_page.open({"syntax": "legacy", **settings})
    tag_page.page_view()
    assert tag_page.twq() == twq
    assert tag_page.uwt_count(1 if twq else 0) == (1 if twq else 0)
    expected = [
        {"txn_id": i, "p_id": "Twitter", "tw_sale_amount": "0", "tw_order_quantity": "0"}
        for i in images
    ]
    assert tag_page.adsct(len(images)) == expected


def test_init_is_called_once_over_many_events(tag_page: TagPage) -> None:
    tag_page.open(legacy())
    tag_page.page_view()
    tag_page.page_view()
    tag_page.track("Payment Info Entered")
    assert tag_page.twq() == [
        ["init", "uni1"],
        ["track", "PageView"],
        ["track", "PageView"],
        ["track", "AddPaymentInfo", {}],
    ]
    assert tag_page.uwt_count(1) == 1


# ---- 4.1: single-event tags ----
SINGLE = {"Signed Up": ["s1"], "Lead": ["l1", "l2"], "Order Completed": ["oc1"],
          "Checkout Started": ["cs1"]}  # fmt: skip


def image(txn: str, amount: str, quantity: str) -> dict[str, str]:
    return {
        "txn_id": txn,
        "p_id": "Twitter",
        "tw_sale_amount": amount,
        "tw_order_quantity": quantity,
    }


@pytest.mark.parametrize(
    ("event", "props", "images"),
    [
        ("Signed Up", {"revenue": 12.5, "quantity": 3}, [image("s1", "12.5", "3")]),
        ("Signed Up", {}, [image("s1", "0", "0")]),
        ("  signed UP ", {"revenue": "7"}, [image("s1", "7", "0")]),
        ("Lead", {}, [image("l1", "0", "0"), image("l2", "0", "0")]),
        ("Order Completed", {**MONEY, "products": PRODUCTS}, [image("oc1", "75.5", "3")]),
        ("Checkout Started", {"quantity": 9, "products": PRODUCTS}, [image("cs1", "0", "3")]),
        ("Not Mapped", {"revenue": 5}, []),
    ],
    ids=["revenue-quantity", "defaults", "case", "two-ids", "order-sum", "checkout-sum", "none"],
)
def test_single_event_tags(
    tag_page: TagPage, event: str, props: dict[str, Any], images: list[dict[str, str]]
) -> None:
    tag_page.open({"syntax": "legacy", "single_event_tags": SINGLE})
    tag_page.track(event, props)
    assert tag_page.adsct(len(images)) == images
    assert tag_page.twq() == []


def test_single_event_tags_fire_beside_the_ecommerce_tag(tag_page: TagPage) -> None:
    tag_page.open(legacy(single_event_tags=SINGLE))
    tag_page.track("Order Completed", {**MONEY, "products": PRODUCTS})
    assert [c[:2] for c in tag_page.twq()] == [["init", "uni1"], ["track", "Purchase"]]
    assert tag_page.adsct(1) == [image("oc1", "75.5", "3")]


@pytest.mark.parametrize("name", ["toString", "constructor", "__proto__", "hasOwnProperty"])
def test_prototype_names_are_never_mapped(tag_page: TagPage, name: str) -> None:
    tag_page.open(legacy(single_event_tags=SINGLE, page_pixel="pp1"))
    tag_page.track(name, {"revenue": 1})
    assert tag_page.twq() == []
    assert tag_page.adsct(0) == []
    assert [e.get("event") for e in tag_page.events()] == [name]
