"""The template path gives exactly the mapping core's outputs (jobs' bytes, counters, debugger rows,
fields left out, responses) for every event of the unit tables and for generated events."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.ingest import test_accept
from tests.unit.mapping import test_conversions
from xconduit.config import ConversionDestination, demo_settings
from xconduit.config.demo import DEMO_ACCOUNT_ID, DEMO_PIXEL_ID
from xconduit.config.identity import owner_keys
from xconduit.ingest.accept import Accepted, EventAcceptor
from xconduit.ingest.fast import Known
from xconduit.mapping import Router

RECEIVED = "2026-12-07T01:00:00.000+00:00"
CLIENT_IP = "203.0.113.7"


def _settings() -> Any:
    """The demo destination and a second one (consent, another product id), so that events give
    several jobs, filtered results and left-out fields."""
    settings = demo_settings()
    other = ConversionDestination(
        name="second",
        account_id=DEMO_ACCOUNT_ID,
        pixel_id=DEMO_PIXEL_ID,
        events={"Order Completed": "tw-oka17-ol288", "Product Added": "ol290"},
        consent_category="advertising",
        product_identifier="sku",
    )
    return settings.model_copy(update={"conversions": [*settings.conversions, other]})


SETTINGS = _settings()


def acceptor(*, fast: bool) -> EventAcceptor:
    ids = (f"assigned-{n}" for n in itertools.count())
    return EventAcceptor(
        Router(SETTINGS), new_id=lambda: next(ids), owners=owner_keys(SETTINGS), fast=fast
    )


def kept(accepted: Accepted) -> list[Any]:
    """Everything the collector stores or answers of a request."""
    events = [
        (
            e.source,
            e.message_id,
            e.jobs,
            e.counts,
            e.audience_changes,
            None if e.recent is None else (e.recent.event, e.recent.message_id, e.recent.results),
        )
        for e in accepted.events
    ]
    return [events, accepted.rejected, accepted.invalid, accepted.dropped]


def same_outputs(raws: list[Any], **options: Any) -> None:
    """The fast acceptor (a fresh one, and again once it has learnt) answers as the core."""
    options = {"source": "demo", "default_type": None, "received_at": RECEIVED, **options}
    core, fast = acceptor(fast=False), acceptor(fast=True)
    for _ in range(2):
        expected = kept(core.accept(copy.deepcopy(raws), **options))
        assert kept(fast.accept(copy.deepcopy(raws), **options)) == expected


def _with(raw: dict[str, Any], holes: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(raw)
    for path, value in holes.items():
        where, _, name = path.rpartition(".")
        inner = event.setdefault(where, {}) if where else event
        if isinstance(inner, dict):
            inner[name] = value
    return event


ODD: dict[str, list[Any]] = {
    "messageId": ["415-555-0142", "a@b.co", "x\x01y", 7],
    "userId": ["", 7.0, "café"],
    "timestamp": [
        "2026-12-07T01:20:00.000Z",
        "2005-12-31T23:59:59.999Z",
        "2026-02-30T00:00:00.000Z",
        "2026-12-07T00:59:00.123456+00:00",
        "2026-12-07T01:09:59.999999+00:00",
        "2026-12-07T03:00:00.000+02:00",
    ],
    "properties.email": ["B@Example.com", "not-an-email", " b@example.com"],
    "properties.order_id": ["ord-415-555-0142", "o\x02", 12, "  "],
    "properties.revenue": [-1, 10**15, "12.5", 1e-05, float("inf"), True],
    "context.ip": ["256.1.1.1", "1.2.3.04", "::1"],
}
"""Values of the plain fields that are not of their plain kind (or not valid at all)."""


def variants(raw: Any) -> list[Any]:
    """`raw`, events of its shape with other plain values, and with each odd value of `ODD`
    between them (a template learnt from the first ones must not take those)."""
    if not isinstance(raw, dict):
        return [raw]
    out = [raw]
    for n in range(1, 4):
        other = copy.deepcopy(raw)
        for key in ("messageId", "userId", "anonymousId"):
            if isinstance(other.get(key), str) and other[key]:
                other[key] = f"{other[key]}{n}"
        props = other.get("properties")
        if isinstance(props, dict):
            if isinstance(props.get("email"), str):
                props["email"] = f"v{n}{props['email']}"
            if isinstance(props.get("order_id"), str):
                props["order_id"] = f"{props['order_id']}x{n}"
            if type(props.get("revenue")) in (int, float):
                props["revenue"] += n
        out.append(other)
    for path, values in ODD.items():
        out += [_with(raw, {path: value}) for value in values]
    return [*out, out[1]]


def table_events() -> Iterator[Any]:
    """The events of the parametrized cases of the ingest and mapping unit tables."""
    base = {
        "type": "track",
        "event": "Order Completed",
        "userId": "u-1",
        "messageId": "msg-1",
        "timestamp": "2024-05-01T12:00:00Z",
        "properties": {"email": "test-email@test.com"},
    }
    for module in (test_accept, test_conversions):
        for test in vars(module).values():
            for mark in getattr(test, "pytestmark", ()):
                if mark.name != "parametrize":
                    continue
                names = mark.args[0]
                names = names.split(",") if isinstance(names, str) else list(names)
                for values in mark.args[1]:
                    values = values.values if hasattr(values, "values") else values
                    case = dict(zip(names, values if len(names) > 1 else [values], strict=True))
                    yield _event(base, case)


def _event(base: dict[str, Any], case: dict[str, Any]) -> Any:
    if "raw" in case:
        return case["raw"]
    event = copy.deepcopy(base)
    for name, value in case.items():
        if name == "props" and isinstance(value, dict):
            event["properties"].update(value)
        elif name == "fields" and isinstance(value, dict):
            event.update(value)
        elif name == "context" and isinstance(value, dict):
            event["context"] = value
        elif name == "consent":
            event["context"] = {"consent": {"categoryPreferences": value}}
        elif name == "email":
            event["properties"]["email"] = value
    return event


TABLE = list(table_events())


def test_the_tables_give_enough_events() -> None:
    assert len(TABLE) > 100


@pytest.mark.parametrize("raw", TABLE)
def test_every_table_event_gives_the_core_s_outputs(raw: Any) -> None:
    same_outputs(variants(raw))
    same_outputs(variants(raw), client_ip=CLIENT_IP, batch={"context": {"library": {"name": "x"}}})


def test_a_template_is_used_and_its_bytes_are_the_core_s() -> None:
    raws = [
        {
            "type": "track",
            "event": "Order Completed",
            "userId": f"u{n}",
            "messageId": f"m-{n}",
            "properties": {"order_id": f"o{n}", "revenue": 12.5, "email": f"b{n}@example.com"},
        }
        for n in range(5)
    ]
    fast = acceptor(fast=True)
    fast.accept(copy.deepcopy(raws), source="demo", default_type=None, received_at=RECEIVED)
    assert fast._known is not None
    assert fast._known.templates() == 1
    same_outputs(raws)


# -- generated events ---------------------------------------------------------------------------

_IDS = st.sampled_from(
    ["m-1", "ord_2", "415-555-0142", "a@b.co", "x\x01y", "", " pad ", "7", "A" * 99, "café"]
)
_EMAILS = st.sampled_from(
    [
        "b1@example.com",
        "b2@example.com",
        "b3@shop.example.co.uk",
        "B1@Example.com",
        " b1@example.com",
        "not-an-email",
        "x@y",
        "a.b+c@d.io",
    ]
)
_AMOUNTS = st.one_of(
    st.integers(-5, 10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([12.5, 0.1, 1e-05, -0.0, "12.50", "$3", True]),
)
_TIMES = st.sampled_from(
    [
        "2026-12-07T00:59:00.000Z",
        "2026-12-07T01:20:00.000Z",  # more than 10 minutes after receipt
        "2005-12-31T23:59:59.999Z",
        "2026-02-30T00:00:00.000Z",
        "2026-12-07T00:59:00Z",
        "2026-12-07T00:59:00.000+02:00",
        "2026-12-07T00:59:00.123456+00:00",
        "2026-12-07T00:58:00.5+00:00",
        "yesterday",
    ]
)
_PRODUCT = st.fixed_dictionaries(
    {},
    optional={
        "product_id": st.sampled_from(["p1", "p-415-555-0142", 7]),
        "sku": st.sampled_from(["s1", "s2"]),
        "price": st.one_of(st.sampled_from([10, 9.99, "5", -1]), st.floats(0, 100)),
        "quantity": st.sampled_from([1, 2, 0, 1.5, "3"]),
        "name": st.sampled_from(["Mug", "call 415-555-0142"]),
    },
)
_PROPERTIES = st.fixed_dictionaries(
    {},
    optional={
        "email": _EMAILS,
        "phone": st.sampled_from(["+14155550142", "12"]),
        "order_id": _IDS,
        "orderId": _IDS,
        "revenue": _AMOUNTS,
        "value": _AMOUNTS,
        "currency": st.sampled_from(["USD", "eur", "EURO"]),
        "products": st.lists(_PRODUCT, max_size=3),
        "url": st.sampled_from(["https://shop.example/?twclid=abc", "https://shop.example/"]),
    },
)
_CONTEXT = st.fixed_dictionaries(
    {},
    optional={
        "ip": st.sampled_from(["203.0.113.9", "256.1.1.1", "::1", "1.2.3.04"]),
        "userAgent": st.sampled_from(["Mozilla/5.0", "bad\x00agent"]),
        "library": st.sampled_from([{"name": "analytics.js"}, {"name": "analytics-node"}]),
        "consent": st.sampled_from(
            [{"categoryPreferences": {"advertising": False}}, {"categoryPreferences": {}}]
        ),
        "traits": st.fixed_dictionaries({}, optional={"email": _EMAILS}),
    },
)
_EVENT = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "track", "track", "page", "identify"]),
        "event": st.sampled_from(["Order Completed", "Order Completed", "Product Added", "Zoomed"]),
        "messageId": st.sampled_from(["m-1", "m-2"]),
        "properties": _PROPERTIES,
    },
    optional={
        "userId": _IDS,
        "anonymousId": _IDS,
        "timestamp": _TIMES,
        "originalTimestamp": _TIMES,
        "sentAt": _TIMES,
        "context": _CONTEXT,
        "traits": st.fixed_dictionaries({}, optional={"email": _EMAILS}),
    },
)
_HOLES = st.fixed_dictionaries(
    {},
    optional={
        "messageId": _IDS,
        "userId": _IDS,
        "timestamp": _TIMES,
        "properties.email": _EMAILS,
        "properties.order_id": _IDS,
        "properties.revenue": _AMOUNTS,
        "context.ip": st.sampled_from(["198.51.100.1", "198.51.100.2"]),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EVENT, st.lists(_HOLES, min_size=2, max_size=8), st.booleans())
@pytest.mark.slow
def test_generated_events_give_the_core_s_outputs(
    raw: dict[str, Any], holes: list[dict[str, Any]], browser: bool
) -> None:
    """An event and others of its shape (other values in its plain fields), as one batch."""
    raws = [raw, *(_with(raw, h) for h in holes), raw]
    options = {"client_ip": CLIENT_IP} if browser else {}
    same_outputs(orjson.loads(orjson.dumps(raws)), **options)


def test_a_key_is_learnt_on_its_second_event_once_and_the_keys_are_bounded() -> None:
    known = Known()
    assert (known.get(("a",)), known.get(("a",))) == (False, True)  # new, then learn now
    known.learned(("a",), None)
    assert known.get(("a",)) is False  # cannot be learnt: never tried again
    for n in range(Known.LIMIT + 1):
        known.get((n,))
    assert known.get(("a",)) is False  # forgotten when full: new again
