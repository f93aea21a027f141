"""What a client's events become in the collector (`EventAcceptor`, no HTTP): which are rejected
and why, and what the accepted ones carry to the outbox."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.events import EMAIL, EMAIL_HASH, order
from xconduit.config.demo import demo_settings
from xconduit.ingest.accept import Accepted, EventAcceptor
from xconduit.mapping import Router

RECEIVED = "2026-01-01T12:00:00.000Z"
BROWSER = {"library": {"name": "analytics.js"}}
SERVER = {"library": {"name": "analytics-python"}}


def accept(raws: list[Any], **options: Any) -> Accepted:
    ids = iter(f"assigned-{n}" for n in range(100))
    acceptor = EventAcceptor(Router(demo_settings()), new_id=lambda: next(ids))
    options = {"source": "demo", "default_type": None, "received_at": RECEIVED, **options}
    return acceptor.accept(raws, **options)


def stored(accepted: Accepted) -> list[dict[str, Any]]:
    """The conversions the outbox would hold, as X would receive them."""
    return [orjson.loads(job.payload) for event in accepted.events for job in event.jobs]


def nested(levels: int) -> list[Any]:
    """A JSON array `levels` deep (an event holding it nests one level deeper)."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


KEY = "wk_demo"
SECRET = "wk_someone_elses_key"


@pytest.mark.parametrize(
    ("raw", "options", "field", "rule"),
    [
        (["not", "an", "object"], {}, "event", "must be a JSON object, got an array"),
        ("just text", {}, "event", "must be a JSON object, got str"),
        (order(type=5), {}, "type", "must be a string"),
        (order(writeKey=SECRET), {}, "writeKey", "differs from the request's"),
        (order(), {"keys_in_events": True}, "writeKey", "missing"),
        (order(pad="x" * 40_000), {"check_size": True}, "event", "32 KB limit"),
        (order(pad=nested(64)), {"check_depth": True}, "event", "nested deeper than 64 levels"),
        (order(userId={"email": EMAIL}), {}, "userId", "must be a string, got an object"),
        ({"type": "track", "event": "x"}, {}, "userId", "needs a userId or an anonymousId"),
        (order(timestamp=f"sent by {EMAIL}"), {}, "timestamp", "not an ISO-8601 date"),
    ],
)
def test_a_bad_event_is_rejected_naming_the_field_and_rule_not_the_value(
    raw: Any, options: dict[str, Any], field: str, rule: str
) -> None:
    good_one = order("good", writeKey=KEY)
    accepted = accept([good_one, raw], write_key=KEY, **options)
    [good] = accepted.events
    assert good.message_id == "good"
    [rejected] = accepted.rejected
    assert (rejected.index, rejected.field) == (1, field)
    assert rule in rejected.error
    assert SECRET not in rejected.error
    assert EMAIL not in rejected.error
    assert "x" * 100 not in rejected.error


def test_a_rejection_names_only_the_message_id_the_client_sent() -> None:
    accepted = accept([order(None, type=5), order("m-2", type=5)])
    assert [r.message_id for r in accepted.rejected] == [None, "m-2"]


def test_a_missing_or_empty_message_id_is_assigned() -> None:
    accepted = accept([order(None), order(""), order("m-3")])
    assert [e.message_id for e in accepted.events] == ["assigned-0", "assigned-1", "m-3"]


def test_an_accepted_order_becomes_one_conversion_with_the_hashed_email_only() -> None:
    accepted = accept([order("m-1")])
    [conversion] = stored(accepted)
    assert conversion["conversion_id"] == "o-m-1"
    assert {"hashed_email": EMAIL_HASH} in conversion["identifiers"]
    payloads = b"".join(job.payload for event in accepted.events for job in event.jobs)
    assert EMAIL.lower().encode() not in payloads.lower()


CLIENT_IP = "203.0.113.7"
OWN_IP = "198.51.100.9"


def ips(conversion: dict[str, Any]) -> list[str]:
    return [i["ip_address"] for i in conversion["identifiers"] if "ip_address" in i]


@pytest.mark.parametrize(
    ("context", "any_library_ip", "sent"),
    [
        (BROWSER, False, [CLIENT_IP]),
        ({"library": {"name": " Analytics-Next "}}, False, [CLIENT_IP]),
        (SERVER, False, []),
        (None, False, []),
        (SERVER, True, [CLIENT_IP]),  # the source's client_ip = true
        ({**BROWSER, "ip": OWN_IP}, False, [OWN_IP]),  # the event's own address wins
    ],
)
def test_the_client_address_is_used_only_for_browser_events(
    context: dict[str, Any] | None, any_library_ip: bool, sent: list[str]
) -> None:
    event = order() if context is None else order(context=context)
    accepted = accept([event], client_ip=CLIENT_IP, any_library_ip=any_library_ip)
    [conversion] = stored(accepted)
    assert ips(conversion) == sent


def test_the_batch_context_fills_in_each_event_and_the_event_own_keys_win() -> None:
    batch = {"context": {"ip": OWN_IP, "locale": "en-US"}}
    events = [order("m-1"), order("m-2", context={"ip": "192.0.2.1"})]
    first, second = stored(accept(events, batch=batch))
    assert ips(first) == [OWN_IP]
    assert ips(second) == ["192.0.2.1"]


def test_a_browser_library_named_only_in_the_batch_context_gets_the_client_address() -> None:
    events = [order("m-1"), order("m-2", context=SERVER)]
    first, second = stored(accept(events, batch={"context": BROWSER}, client_ip=CLIENT_IP))
    assert ips(first) == [CLIENT_IP]
    assert ips(second) == []  # its own library wins over the batch's


def test_without_a_destination_for_the_event_it_is_accepted_with_no_jobs() -> None:
    accepted = accept([order("m-1", event="Page Scrolled")])
    [event] = accepted.events
    assert (event.message_id, event.jobs, accepted.rejected) == ("m-1", (), ())


def test_a_page_url_gives_its_twclid_and_is_never_sent_to_x() -> None:
    # X's conversion object has no field for the page ("event source") URL.
    url = "https://shop.example/thanks?twclid=23opevjt88psuo13lu8d020qkn&utm_source=x"
    [conversion] = stored(accept([order("m-1", context={"page": {"url": url}})]))
    assert {"twclid": "23opevjt88psuo13lu8d020qkn"} in conversion["identifiers"]
    payload = orjson.dumps(conversion).decode()
    assert "shop.example" not in payload
    assert "utm_source" not in payload
