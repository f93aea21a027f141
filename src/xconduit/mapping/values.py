"""Money, quantities and product contents of a conversion (docs/reference/mapping.md §3), pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from xconduit.normalize.identifiers import has_control
from xconduit.normalize.redact import private_id, redact

_CENT = Decimal("0.01")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TOO_LARGE = Decimal("1e15")  # X's value is a double: larger amounts lose cents
_TOO_LARGE_INT = 10**15
_NONE: list[Mapping[str, Any]] = []  # shared "no products"; never mutated
_GROUP_KEYS = ("product_group_id", "productGroupId", "group_id", "groupId")
_FIELDS = {"value": "properties.value", "revenue": "properties.revenue"}


class BadValue(ValueError):
    """A field holds a value X cannot take; the message names the field and the rule only.
    Internal to mapping: the mapping core catches it and records the event as invalid with that
    reason, so it never reaches a caller and stays outside `xconduit.errors`."""


def prop(props: Mapping[str, Any], snake: str, camel: str | None = None) -> Any:
    """A property by its snake_case name, else its camelCase name (docs/reference/mapping.md §1)."""
    value = props.get(snake)
    if value is None and camel is not None:
        value = props.get(camel)
    return value


def decimal_of(value: Any, field: str) -> Decimal | None:
    """A JSON number or numeric string as a Decimal; None when absent; BadValue if it is not an
    amount X takes (a number, finite, not negative, below 1e15). The message names the field and
    the rule, never the value: it may be personal data sent in the wrong field."""
    if value is None or value == "":
        return None
    if type(value) is int:
        number = Decimal(value)
    elif isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadValue(f"{field}: not a number")
    elif isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        # Plain decimal notation only, as the website tag reads it: no "1_000", "$25", "1,5"
        # or non-ASCII digits, which Decimal() would accept or misread.
        raise BadValue(f"{field}: not a number")
    else:
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else Decimal(repr(value))
        except InvalidOperation:
            raise BadValue(f"{field}: not a number") from None
    if not number.is_finite() or abs(number) >= _TOO_LARGE:
        raise BadValue(f"{field}: not a number X accepts (finite, below 1e15)")
    if number < 0:
        raise BadValue(f"{field}: must not be negative")
    return number


def money(amount: Decimal) -> str:
    """A decimal string with at least two places, as X's own examples send it ("25.00"), and
    every further digit the amount has ("12.345", "0.001"): X takes a double in currency units,
    so rounding to cents would change amounts (three-decimal currencies, unit prices) and could
    send a small non-zero amount as zero."""
    if amount == amount.to_integral_value():
        return f"{int(amount)}.00"  # the common whole-number case, without quantize
    cents = amount.quantize(_CENT)
    if cents == amount:
        return str(cents)
    return format(amount.normalize(), "f")  # trailing zeros dropped, never an exponent


COUNT_RULE = "not a whole number above zero"
CONTROL_RULE = "contains a control character"

Dropped = list[tuple[str, str]]
"""Fields left out of a conversion and why, as (field, rule): filled by the functions below."""


def positive_int(value: Any) -> int | None:
    """An integer count > 0, from an int, an integral float or a digit string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
        return number if number > 0 else None
    return None


def products_of(props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    products = props.get("products")
    if type(products) is not list:
        return _NONE
    return [p for p in products if isinstance(p, dict)]


def conversion_value(props: Mapping[str, Any], products: list[Mapping[str, Any]]) -> str | None:
    """`value`, else `revenue`, else Σ price × quantity over products, else price × quantity,
    as a two-place decimal string. A product without a quantity counts once, as Segment's
    e-commerce spec implies."""
    for key in ("value", "revenue"):
        raw = props.get(key)
        if type(raw) is int and 0 <= raw < _TOO_LARGE_INT:
            return f"{raw}.00"  # the common case, without Decimal
        amount = decimal_of(raw, _FIELDS[key])
        if amount is not None:
            return money(amount)
    amount = _computed_value(props, products)
    return None if amount is None else money(amount)


def _computed_value(props: Mapping[str, Any], products: list[Mapping[str, Any]]) -> Decimal | None:
    total: Decimal | None = None
    for i, product in enumerate(products):
        price = decimal_of(product.get("price"), f"properties.products[{i}].price")
        if price is not None:
            total = (total or Decimal(0)) + price * (positive_int(product.get("quantity")) or 1)
    if total is not None:
        return total
    price = decimal_of(props.get("price"), "properties.price")
    if price is not None:
        return price * (positive_int(props.get("quantity")) or 1)
    return None


def number_items(
    props: Mapping[str, Any], products: list[Mapping[str, Any]], dropped: Dropped
) -> int | None:
    """`quantity` when the event gives one, else Σ products[].quantity; an integer > 0 or None.

    An explicit `quantity` wins over the products. One that is not a count (0, 2.5, "three") is
    dropped and named in `dropped`, and not replaced by the products' sum: the sender's count
    is sent as given or not at all. The sum is left out when a product's quantity is not a count
    (`contents` names it), as it would be short."""
    quantity = props.get("quantity")
    if quantity is not None and quantity != "":
        count = positive_int(quantity)
        if count is None:
            dropped.append(("properties.quantity", COUNT_RULE))
        return count
    total = 0
    for product in products:
        raw = product.get("quantity")
        if raw is None or raw == "":
            continue
        count = positive_int(raw)
        if count is None:
            return None
        total += count
    return total or None


def contents(
    props: Mapping[str, Any],
    products: list[Mapping[str, Any]],
    *,
    product_identifier: str,
    dropped: Dropped,
) -> list[dict[str, Any]]:
    """One `contents[]` item per product, or from the event's own product fields. A product's
    quantity that is not a count and an id holding a control character are left out of its
    item and named in `dropped`."""
    items: Iterator[dict[str, Any]]
    if products:
        items = (
            _item(p, product_identifier, f"properties.products[{i}].", dropped, quantity=True)
            for i, p in enumerate(products)
        )
    elif prop(props, "product_id", "productId") is not None or props.get("sku") is not None:
        # The event's own quantity is `number_items`, which reports it when it is not a count.
        items = iter((_item(props, product_identifier, "properties.", dropped, quantity=False),))
    else:
        return []
    return [item for item in items if item]


def _item(
    product: Mapping[str, Any],
    product_identifier: str,
    where: str,
    dropped: Dropped,
    *,
    quantity: bool,
) -> dict[str, Any]:
    """`quantity`: name a quantity that is not a count in `dropped` (False for the event's own
    fields, whose quantity `number_items` names)."""
    item: dict[str, Any] = {}
    if product_identifier == "sku":
        key, content_id = "sku", product.get("sku")
    elif product.get("product_id") is not None:
        key, content_id = "product_id", product.get("product_id")
    else:
        key, content_id = "productId", product.get("productId")
    _put_id(item, "content_id", content_id, dropped, where, key)
    for group_key in _GROUP_KEYS:
        group = product.get(group_key)
        if group is not None:
            _put_id(item, "content_group_id", group, dropped, where, group_key)
            break
    _put_text(item, "content_name", product.get("name"), redact)
    _put_text(item, "content_type", product.get("category"), redact)
    price = decimal_of(product.get("price"), f"{where}price")
    if price is not None:
        # A JSON number, as in X's own example (`"content_price":100.99`); `value` is a string.
        item["content_price"] = float(money(price))
    raw = product.get("quantity")
    count = positive_int(raw)
    if count is not None:
        item["num_items"] = count
    elif quantity and raw is not None and raw != "":
        dropped.append((f"{where}quantity", COUNT_RULE))
    return item


def _put_id(
    item: dict[str, Any], key: str, value: Any, dropped: Dropped, where: str, name: str
) -> None:
    """An id sent in the clear; left out, and named (`where` + `name`), when it holds a control
    character (X would store it as sent)."""
    if isinstance(value, str) and has_control(value.strip()):
        dropped.append((where + name, CONTROL_RULE))
        return
    _put_text(item, key, value, private_id)


def _put_text(item: dict[str, Any], key: str, value: Any, clean: Callable[[str], str]) -> None:
    if isinstance(value, str):
        value = value.strip()
        if value:
            item[key] = clean(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        item[key] = (
            str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        )
