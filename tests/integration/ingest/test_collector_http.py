"""The collector over real HTTP on loopback with a real SQLite outbox: what a client sees."""

from __future__ import annotations

import asyncio
import gzip
import select
import socket
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.events import EMAIL, EMAIL_HASH, order
from tests.support.gateway_live import (
    LIMITED_KEY,
    SERVER_KEY,
    SHOP,
    WEB_KEY,
    basic,
    gateway_settings,
    post,
    running_gateway,
    stored_conversions,
)
from xconduit.app import Gateway
from xconduit.config import ConversionDestination, TagSettings
from xconduit.config.demo import DEMO_ACCOUNT_ID, DEMO_PIXEL_ID
from xconduit.errors import StoreError
from xconduit.outbox.memory import MemoryStore


def test_a_track_call_is_committed_then_answered(http: httpx.Client, gateway: Gateway) -> None:
    response = post(http, "/v1/track", order())
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "accepted": 1,
        "duplicates": 0,
        "rejected": [],
        "invalid": [],
        "dropped": [],
    }
    [conversion] = stored_conversions(gateway)
    assert conversion["event_id"] == "tw-oka17-ol288"
    assert conversion["identifiers"] == [{"hashed_email": EMAIL_HASH}]
    assert conversion["conversion_id"] == "o-m-1"
    # receivedAt is the collector's clock: the conversion time when the event has no timestamp.
    assert conversion["conversion_time"] == "2026-01-01T12:00:00.000Z"


def test_the_outbox_never_holds_the_raw_email(http: httpx.Client, tmp_path: Path) -> None:
    assert post(http, "/v1/batch", {"batch": [order(f"m-{i}") for i in range(20)]}).is_success
    for file in (tmp_path / ".xconduit").iterdir():
        data = file.read_bytes().lower()
        assert EMAIL.lower().encode() not in data
        assert b"jane.doe" not in data


@pytest.mark.parametrize(
    ("path", "event"),
    [
        ("/v1/track", order()),
        ("/v1/t", order()),
        ("/v1/page", {"userId": "u", "name": "Home"}),
        ("/v1/p", {"anonymousId": "a", "properties": {"url": "https://shop.example/"}}),
        ("/v1/screen", {"userId": "u", "name": "Cart"}),
        ("/v1/identify", {"userId": "u", "traits": {"plan": "pro"}}),
        ("/v1/i", {"userId": "u"}),
        ("/v1/group", {"userId": "u", "groupId": "g"}),
        ("/v1/alias", {"userId": "u", "previousId": "old"}),
    ],
)
def test_every_call_type_is_accepted(http: httpx.Client, path: str, event: dict[str, Any]) -> None:
    response = post(http, path, event)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1


def test_write_key_in_the_body_with_text_plain(http: httpx.Client, gateway: Gateway) -> None:
    # analytics.js sends JSON as text/plain with the key in the body.
    body = orjson.dumps({**order(), "writeKey": WEB_KEY})
    response = http.post("/v1/t", content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    assert len(stored_conversions(gateway)) == 1


def test_a_bad_event_never_fails_the_good_ones(http: httpx.Client, gateway: Gateway) -> None:
    batch = [
        order("good-1"),
        {
            "type": "track",
            "event": "Order Completed",
            "messageId": "no-user",
        },  # no userId/anonymousId
        order("bad-time", timestamp="yesterday"),
        "not an object",
        order("good-2", type="track"),
        {"type": "explode", "userId": "u", "messageId": "bad-type"},
    ]
    response = post(http, "/v1/batch", {"batch": batch})
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 2
    rejected = {r["index"]: r for r in answer["rejected"]}
    assert set(rejected) == {1, 2, 3, 5}
    assert rejected[1]["field"] == "userId"
    assert rejected[1]["messageId"] == "no-user"
    assert rejected[2]["field"] == "timestamp"
    assert "ISO-8601" in rejected[2]["error"]
    assert rejected[3]["field"] == "event"
    assert rejected[5]["field"] == "type"
    assert sorted(c["conversion_id"] for c in stored_conversions(gateway)) == [
        "o-good-1",
        "o-good-2",
    ]


def test_events_x_would_reject_are_reported_with_the_destination_and_rule(
    http: httpx.Client, gateway: Gateway
) -> None:
    no_identifier = order("ip-only", properties={"revenue": 3, "order_id": "o-ip"})
    no_identifier["context"] = {"ip": "203.0.113.1"}
    batch = [
        order("fine"),
        order("bad-value", properties={"email": EMAIL, "value": "abc"}),
        no_identifier,
    ]
    response = post(http, "/v1/batch", {"batch": batch})
    assert response.status_code == 200
    answer = response.json()
    assert answer["accepted"] == 3
    assert answer["invalid"] == [
        {
            "index": 1,
            "messageId": "bad-value",
            "destination": "shop",
            "reason": "properties.value: not a number",
        },
        {
            "index": 2,
            "messageId": "ip-only",
            "destination": "shop",
            "reason": "At least one user identifier must be provided",
        },
    ]
    assert [c["conversion_id"] for c in stored_conversions(gateway)] == ["o-fine"]


def test_every_dropped_field_is_named_in_the_answer(http: httpx.Client, gateway: Gateway) -> None:
    junk_email = order("junk-email", properties={"email": "bad@@victim.example", "order_id": "j"})
    batch = [
        junk_email,
        order("bad-phone", properties={"email": EMAIL, "phone": "call me", "order_id": "o-p"}),
        order("zero-items", properties={"email": EMAIL, "quantity": 0, "order_id": "o-z"}),
    ]
    response = post(http, "/v1/batch", {"batch": batch})
    assert response.status_code == 200
    answer = response.json()
    # The event left without an identifier says which one was dropped, and why.
    assert answer["invalid"] == [
        {
            "index": 0,
            "messageId": "junk-email",
            "destination": "shop",
            "reason": "email: not an email address (At least one user identifier must be provided)",
        }
    ]
    assert answer["dropped"] == [
        {**where, "destination": "shop", "field": field, "rule": rule}
        for where, field, rule in [
            ({"index": 0, "messageId": "junk-email"}, "email", "not an email address"),
            ({"index": 1, "messageId": "bad-phone"}, "phone", "not a possible phone number"),
            (
                {"index": 2, "messageId": "zero-items"},
                "properties.quantity",
                "not a whole number above zero",
            ),
        ]
    ]
    sent = stored_conversions(gateway)
    assert [c["conversion_id"] for c in sent] == ["o-p", "o-z"]
    assert ["number_items" in c for c in sent] == [False, False]
    assert "victim" not in response.text
    assert "call me" not in response.text


def test_a_rejection_names_only_the_message_id_the_client_sent(http: httpx.Client) -> None:
    response = post(http, "/v1/batch", {"batch": [order("ok"), {"type": "track", "event": "x"}]})
    assert response.json()["rejected"][0]["messageId"] is None


@pytest.mark.parametrize(
    "body",
    [
        b'{"userId":"u","event":"x","properties":{"a":' + b"[" * 900 + b"NaN" + b"]" * 900 + b"}}",
        b'{"userId":"u","event":"x","properties":{"value":' + b"1" * 5000 + b"}}",
    ],
    ids=["deep-nesting", "huge-integer"],
)
def test_hostile_json_is_a_400_not_a_500(http: httpx.Client, body: bytes) -> None:
    response = post(http, "/v1/track", body)
    assert response.status_code == 400, response.text
    assert "not valid JSON" in response.json()["error"]


def nested(levels: int) -> bytes:
    """A JSON array `levels` deep."""
    return b"[" * levels + b"]" * levels


def test_an_event_nested_too_deep_is_rejected_alone_from_its_batch(
    http: httpx.Client, gateway: Gateway
) -> None:
    # An event is level 1, its `properties` level 2: `a` may nest 62 more levels, not 63.
    events = {"fine": 1, "too-deep": 63, "deepest": 62}
    parts = []
    for message_id, levels in events.items():
        event = order(message_id)
        event["properties"]["a"] = None
        parts.append(orjson.dumps(event).replace(b'"a":null', b'"a":' + nested(levels)))
    body = b'{"batch":[' + b",".join(parts) + b"]}"
    response = post(http, "/v1/batch", body)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    assert response.json()["rejected"] == [
        {
            "index": 1,
            "messageId": "too-deep",
            "field": "event",
            "error": "event: JSON nested deeper than 64 levels",
        }
    ]
    assert sorted(c["conversion_id"] for c in stored_conversions(gateway)) == [
        "o-deepest",
        "o-fine",
    ]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        # the batch's own context is every event's: refused whole, naming it
        (
            b'{"context":{"a":' + nested(63) + b'},"batch":[' + orjson.dumps(order()) + b"]}",
            "context: nested deeper than 64 levels",
        ),
        # deeper than the parser reads: the batch cannot be read at all
        (
            b'{"batch":[' + orjson.dumps(order()) + b"," + nested(100_000) + b"]}",
            "not valid JSON: nested deeper than the parser reads",
        ),
        # the tolerant parser's path (NaN) is read as deep too, then the event is measured
        (
            b'{"batch":[{"userId":"u","type":"track","event":"x","a":NaN,"b":'
            + nested(300)
            + b"}]}",
            "no event in the request is valid",
        ),
    ],
    ids=["batch-context", "beyond-the-parser", "tolerant-path"],
)
def test_a_batch_too_deep_as_a_whole_is_a_400_naming_why(
    http: httpx.Client, body: bytes, words: str
) -> None:
    response = post(http, "/v1/batch", body)
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]


def test_nothing_usable_is_a_400_listing_why(http: httpx.Client, gateway: Gateway) -> None:
    response = post(http, "/v1/batch", {"batch": [{"type": "track", "event": "x"}, 3]})
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert [r["index"] for r in response.json()["rejected"]] == [0, 1]
    assert stored_conversions(gateway) == []


def test_message_ids_are_deduplicated_per_source(http: httpx.Client, gateway: Gateway) -> None:
    assert post(http, "/v1/track", order("same")).json()["accepted"] == 1
    again = post(http, "/v1/batch", {"batch": [order("same"), order("other"), order("other")]})
    assert again.json() == {
        "success": True,
        "accepted": 1,
        "duplicates": 2,
        "rejected": [],
        "invalid": [],
        "dropped": [],
    }
    # Another source may use the same messageId.
    assert post(http, "/v1/track", order("same"), key=WEB_KEY).json()["accepted"] == 1
    assert len(stored_conversions(gateway)) == 3


def test_a_missing_message_id_is_assigned(http: httpx.Client, gateway: Gateway) -> None:
    first = post(http, "/v1/track", order(None))
    second = post(http, "/v1/track", order(None))
    assert first.json()["accepted"] == second.json()["accepted"] == 1
    assert len(stored_conversions(gateway)) == 2


def test_batch_level_context_and_sent_at_apply_to_each_event(
    http: httpx.Client, gateway: Gateway
) -> None:
    body = {
        "batch": [{"type": "track", "userId": "u", "event": "Order Completed", "messageId": "ctx"}],
        "context": {"traits": {"email": EMAIL}},
    }
    assert post(http, "/v1/batch", body).json()["accepted"] == 1
    [conversion] = stored_conversions(gateway)
    assert conversion["identifiers"] == [{"hashed_email": EMAIL_HASH}]


@pytest.mark.parametrize(("key", "has_ip"), [(WEB_KEY, True), (SERVER_KEY, False)])
def test_client_ip_only_for_sources_that_ask(
    http: httpx.Client, gateway: Gateway, key: str, has_ip: bool
) -> None:
    assert post(http, "/v1/track", order(), key=key).status_code == 200
    [conversion] = stored_conversions(gateway)
    ips = [i["ip_address"] for i in conversion["identifiers"] if "ip_address" in i]
    assert ips == (["127.0.0.1"] if has_ip else [])


def test_gzip_bodies_are_read(http: httpx.Client) -> None:
    body = gzip.compress(orjson.dumps({"batch": [order(f"g-{i}") for i in range(50)]}))
    response = post(http, "/v1/batch", body, headers={"Content-Encoding": "gzip"})
    assert response.json()["accepted"] == 50


@pytest.mark.parametrize(
    ("path", "body", "encoding", "status", "words"),
    [
        ("/v1/track", orjson.dumps(order(pad="x" * 33_000)), "", 413, "32 KB"),
        (
            "/v1/batch",
            orjson.dumps({"batch": [order(f"{i}", pad="x" * 20_000) for i in range(30)]}),
            "",
            413,
            "500 KB",
        ),
        # 50 MB of zeros is 50 KB of gzip: refused after decompressing 500 KB.
        (
            "/v1/batch",
            gzip.compress(b"0" * 50_000_000, mtime=0),
            "gzip",
            413,
            "after decompression",
        ),
        ("/v1/track", gzip.compress(b" " * 40_000, mtime=0), "gzip", 413, "32 KB"),
        (
            "/v1/track",
            gzip.compress(orjson.dumps(order()), mtime=0)[:-12],
            "gzip",
            400,
            "truncated",
        ),
        ("/v1/track", b"\x1f\x8b not gzip at all", "gzip", 400, "gzip"),
        ("/v1/track", orjson.dumps(order()), "br", 400, "Content-Encoding"),
        ("/v1/track", b'{"userId": "u", "event": ', "", 400, "not valid JSON"),
        ("/v1/track", b"[1, 2]", "", 400, "JSON object"),
        ("/v1/track", b"", "", 400, "empty"),
        ("/v1/batch", b'{"batch": {"a": 1}}', "", 400, "batch"),
        ("/v1/batch", b'{"batch": []}', "", 400, "empty"),
        ("/v1/track", b'{"userId": 5.5e999999, "event": "x"}', "", 400, "userId"),
        ("/v1/track", b'{"userId": {"a": 1}, "event": "x"}', "", 400, "userId"),
    ],
)
def test_bad_bodies_get_a_4xx_naming_the_problem(
    http: httpx.Client, path: str, body: bytes, encoding: str, status: int, words: str
) -> None:
    headers = {"Content-Encoding": encoding} if encoding else {}
    response = post(http, path, body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    if status != 200:
        assert words in response.json()["error"] or words in str(response.json()["rejected"])


def test_a_body_without_length_is_cut_off_while_reading(live: tuple[Gateway, str]) -> None:
    # A chunked body that never ends: the answer (413) comes once 500 KB have arrived.
    port = int(live[1].rsplit(":", 1)[1])
    auth = basic(SERVER_KEY)["Authorization"]
    head = (
        f"POST /v1/batch HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode())
        while sent < 20_000_000:
            sock.sendall(chunk)
            sent += 65536
            if select.select([sock], [], [], 0.01)[0]:
                break
        sock.shutdown(socket.SHUT_WR)
        while block := sock.recv(65536):
            answer += block
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    assert sent < 2_000_000
    assert b"500 KB" in answer


def test_one_oversized_event_in_a_batch_is_rejected_alone(http: httpx.Client) -> None:
    batch = [order("small"), order("big", pad="x" * 40_000)]
    answer = post(http, "/v1/batch", {"batch": batch}).json()
    assert answer["accepted"] == 1
    assert answer["rejected"][0]["index"] == 1
    assert "32 KB" in answer["rejected"][0]["error"]


@pytest.mark.parametrize(
    ("headers", "body", "words"),
    [
        ({}, order(), "missing"),
        (basic("wk_nope"), order(), "unknown"),
        ({}, {**order(), "writeKey": "wk_nope"}, "unknown"),
        ({"Authorization": "Bearer abc"}, order(), "missing"),
        ({"Authorization": "Basic !!!"}, order(), "missing"),
    ],
)
def test_bad_or_missing_keys_are_401(
    http: httpx.Client, gateway: Gateway, headers: dict[str, str], body: Any, words: str
) -> None:
    response = http.post("/v1/track", content=orjson.dumps(body), headers=headers)
    assert response.status_code == 401
    assert "write key" in response.json()["error"]
    assert words in response.json()["error"]
    assert stored_conversions(gateway) == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/v1/nope", 404),
        ("GET", "/v1/track", 405),
        ("GET", "/nothing/here", 404),
        ("PUT", "/tag.js", 405),
    ],
)
def test_unknown_endpoints_answer_json(
    http: httpx.Client, method: str, path: str, status: int
) -> None:
    response = http.request(method, path, headers=basic(SERVER_KEY), content=b"{}")
    assert response.status_code == status
    assert response.json()["success"] is False
    assert path in response.json()["error"]


def test_cors_preflight_and_simple_requests(http: httpx.Client, gateway: Gateway) -> None:
    preflight = http.options(
        "/v1/track",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SHOP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    body = orjson.dumps({**order(), "writeKey": WEB_KEY})
    ok = http.post("/v1/t", content=body, headers={"Origin": SHOP, "Content-Type": "text/plain"})
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == SHOP


def test_other_origins_are_refused(http: httpx.Client, gateway: Gateway) -> None:
    evil = "https://evil.example"
    assert http.options("/v1/track", headers={"Origin": evil}).status_code == 403
    body = orjson.dumps({**order(), "writeKey": WEB_KEY})
    refused = http.post("/v1/t", content=body, headers={"Origin": evil})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers
    # A server source lists no origin: browsers may not use its key.
    assert post(http, "/v1/track", order(), headers={"Origin": SHOP}).status_code == 403
    assert stored_conversions(gateway) == []


def test_rate_limit_is_per_source_with_retry_after(http: httpx.Client) -> None:
    assert post(http, "/v1/track", order("r1"), key=LIMITED_KEY).status_code == 200
    limited = post(http, "/v1/track", order("r2"), key=LIMITED_KEY)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert "rate limit" in limited.json()["error"]
    assert post(http, "/v1/track", order("r3")).status_code == 200  # other sources unaffected


def test_health_readiness_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    assert http.get("/readyz").json()["status"] == "ready"  # delivering 0: collect-only here
    document = http.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert {"/v1/track", "/v1/batch", "/v1/b", "/v1/tag-config"} <= set(document["paths"])


def test_tag_and_its_settings(http: httpx.Client) -> None:
    tag = http.get("/tag.js")
    assert tag.status_code == 200
    assert tag.headers["content-type"].startswith("application/javascript")
    settings = http.get("/v1/tag-config", params={"key": WEB_KEY}, headers={"Origin": SHOP})
    assert settings.status_code == 200
    assert settings.headers["access-control-allow-origin"] == SHOP
    assert settings.json()["universal_pixel_id"] == "oka17"
    assert settings.json()["events"]["order completed"] == "tw-oka17-ol288"
    assert settings.json()["value_on_pre_purchase"] is False
    assert http.get("/v1/tag-config", params={"key": "wk_nope"}).status_code == 401
    assert http.get("/v1/tag-config").status_code == 401


@pytest.mark.parametrize("pre_purchase", [True, False])
def test_tag_settings_carry_the_destination_rules(tmp_path: Path, pre_purchase: bool) -> None:
    # The tag applies these rules itself: a setting missing here makes the pixel leg disagree
    # with the server leg (one sends `value`, the other does not).
    shop = ConversionDestination(
        name="shop",
        account_id=DEMO_ACCOUNT_ID,
        pixel_id=DEMO_PIXEL_ID,
        events={"Product Added": "cart1"},
        product_identifier="sku",
        default_currency="eur",
        consent_category="Marketing",
        missing_consent="deny",
        value_on_pre_purchase=pre_purchase,
        phone_region="GB",
        tag=[TagSettings(universal_pixel_id=DEMO_PIXEL_ID, send_pii_to_pixel=True)],
    )
    with (
        running_gateway(gateway_settings(conversions=[shop]), tmp_path) as (_, url),
        httpx.Client(base_url=url) as http,
    ):
        settings = http.get("/v1/tag-config", params={"key": WEB_KEY}).json()
    assert settings == {
        "syntax": "event",
        "universal_pixel_id": DEMO_PIXEL_ID,
        "page_pixel": "",
        "single_event_tags": {},
        "events": {"product added": f"tw-{DEMO_PIXEL_ID}-cart1"},
        "product_identifier": "sku",
        "send_pii_to_pixel": True,
        "default_currency": "EUR",
        "consent_category": "Marketing",
        "missing_consent": "deny",
        "value_on_pre_purchase": pre_purchase,
        "phone_country_code": "44",
        "phone_national_prefix": "0",
    }


class FailingStore(MemoryStore):
    def commit_events(self, events: Any, *, now: float, recent: bool = True) -> list[bool]:
        raise StoreError("disk I/O error")


def test_a_store_failure_is_503_with_retry_after(tmp_path: Path) -> None:
    with (
        running_gateway(gateway_settings(), tmp_path, store=FailingStore()) as (_, url),
        httpx.Client(base_url=url) as http,
    ):
        response = post(http, "/v1/track", order())
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["success"] is False


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.commits: list[int] = []

    def commit_events(self, events: Any, *, now: float, recent: bool = True) -> list[bool]:
        self.commits.append(len(events))
        return super().commit_events(events, now=now, recent=recent)


def test_concurrent_requests_share_transactions(tmp_path: Path) -> None:
    store = CountingStore()

    async def send_all(url: str) -> list[int]:
        # 200 requests over 50 connections: a request may wait for one as long as it takes (no
        # pool timeout: on a loaded machine 5 s is not enough, and speed is not asserted here).
        # No connection is reused: one idle past the server's keep-alive timeout while the
        # machine is busy would be closed under a request (a race of the client, not a result).
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=0)
        timeout = httpx.Timeout(60.0, pool=None)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as c:
            responses = await asyncio.gather(
                *(
                    c.post(
                        "/v1/track",
                        content=orjson.dumps(order(f"c-{i}")),
                        headers=basic(SERVER_KEY),
                    )
                    for i in range(200)
                )
            )
        return [r.status_code for r in responses]

    with running_gateway(gateway_settings(), tmp_path, store=store) as (_, url):
        statuses = asyncio.run(send_all(url))
    assert statuses == [200] * 200
    assert sum(store.commits) == 200
    assert len(store.commits) < 200


def test_a_200_means_committed(tmp_path: Path) -> None:
    # The answer comes after the commit: a store that has not committed yet holds the answer.
    class SlowStore(MemoryStore):
        def commit_events(self, events: Any, *, now: float, recent: bool = True) -> list[bool]:
            import time

            time.sleep(0.3)
            return super().commit_events(events, now=now, recent=recent)

    store = SlowStore()
    with (
        running_gateway(gateway_settings(), tmp_path, store=store) as (_, url),
        httpx.Client(base_url=url) as http,
    ):
        assert post(http, "/v1/track", order()).status_code == 200
        assert store.counts() == {"shop": {"pending": 1}}
