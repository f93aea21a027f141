"""Who an event belongs to: each event of a batch is authenticated by the request's write key,
and only browser traffic gets the collector's view of the caller's IP address."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.events import order
from tests.support.gateway_live import (
    SERVER_KEY,
    WEB_KEY,
    basic,
    running_gateway,
    stored_conversions,
)
from xconduit.app import Gateway
from xconduit.config.demo import DEMO_WRITE_KEY, demo_settings


def ips(gateway: Gateway, destination: str = "shop") -> dict[str, list[str]]:
    """conversion_id → the IP addresses in its identifiers."""
    return {
        c["conversion_id"]: [i["ip_address"] for i in c["identifiers"] if "ip_address" in i]
        for c in stored_conversions(gateway, destination)
    }


def from_library(message_id: str, name: str | None) -> dict[str, Any]:
    event = order(message_id)
    if name is not None:
        event["context"] = {"library": {"name": name, "version": "1.0"}}
    return event


LIBRARIES = [
    ("analytics.js", True),  # analytics.js classic and analytics-next
    ("analytics-next", True),
    ("xconduit-tag", True),  # the gateway's website tag
    ("analytics-python", False),
    ("analytics-node", False),
    ("analytics-ruby", False),
    (None, False),
]


def test_only_browser_libraries_get_the_caller_s_ip(http: httpx.Client, gateway: Gateway) -> None:
    batch = [from_library(f"lib-{i}", name) for i, (name, _) in enumerate(LIBRARIES)]
    response = http.post(
        "/v1/batch", content=orjson.dumps({"batch": batch}), headers=basic(SERVER_KEY)
    )
    assert response.status_code == 200, response.text
    got = ips(gateway)
    for i, (name, browser) in enumerate(LIBRARIES):
        assert got[f"o-lib-{i}"] == (["127.0.0.1"] if browser else []), name


def test_a_source_with_client_ip_gives_it_to_every_event(
    http: httpx.Client, gateway: Gateway
) -> None:
    batch = [from_library(f"lib-{i}", name) for i, (name, _) in enumerate(LIBRARIES)]
    response = http.post(
        "/v1/batch", content=orjson.dumps({"batch": batch}), headers=basic(WEB_KEY)
    )
    assert response.status_code == 200, response.text
    assert all(found == ["127.0.0.1"] for found in ips(gateway).values())


@pytest.mark.parametrize("path", ["/v1/batch", "/v1/b"])
def test_a_batch_naming_a_browser_library_only_in_its_context_gets_the_caller_s_ip(
    http: httpx.Client, gateway: Gateway, path: str
) -> None:
    body = {
        "context": {"library": {"name": "analytics.js", "version": "1.0"}},
        "batch": [order("bare"), from_library("server", "analytics-python")],
    }
    response = http.post(path, content=orjson.dumps(body), headers=basic(SERVER_KEY))
    assert response.status_code == 200, response.text
    # The event's own library wins over the batch's.
    assert ips(gateway) == {"o-bare": ["127.0.0.1"], "o-server": []}


def test_an_event_s_own_ip_is_kept(http: httpx.Client, gateway: Gateway) -> None:
    event = from_library("own", "analytics.js")
    event["context"]["ip"] = "203.0.113.7"
    assert (
        http.post("/v1/track", content=orjson.dumps(event), headers=basic(SERVER_KEY)).status_code
        == 200
    )
    assert ips(gateway) == {"o-own": ["203.0.113.7"]}


def keyed(message_id: str, key: str | None) -> dict[str, Any]:
    event = order(message_id)
    if key is not None:
        event["writeKey"] = key
    return event


@pytest.mark.parametrize(
    ("headers", "top_key", "events", "accepted", "rejected"),
    [
        # the request's key (HTTP Basic): an event with another key is rejected
        (
            basic(SERVER_KEY),
            None,
            [keyed("a", None), keyed("b", SERVER_KEY), keyed("c", WEB_KEY)],
            ["o-a", "o-b"],
            [2],
        ),
        # the batch's `writeKey`
        ({}, SERVER_KEY, [keyed("a", WEB_KEY), keyed("b", None)], ["o-b"], [0]),
        # keys only on the events (analytics-next): each event needs the same one
        (
            {},
            None,
            [keyed("a", WEB_KEY), keyed("b", SERVER_KEY), keyed("c", None), keyed("d", WEB_KEY)],
            ["o-a", "o-d"],
            [1, 2],
        ),
    ],
)
def test_each_event_of_a_batch_is_authenticated_by_the_request_s_key(
    http: httpx.Client,
    gateway: Gateway,
    headers: dict[str, str],
    top_key: str | None,
    events: list[dict[str, Any]],
    accepted: list[str],
    rejected: list[int],
) -> None:
    body: dict[str, Any] = {"batch": events}
    if top_key is not None:
        body["writeKey"] = top_key
    response = http.post("/v1/batch", content=orjson.dumps(body), headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [r["index"] for r in answer["rejected"]] == rejected
    assert {r["field"] for r in answer["rejected"]} == {"writeKey"}
    assert sorted(c["conversion_id"] for c in stored_conversions(gateway)) == accepted
    for r in answer["rejected"]:
        assert SERVER_KEY not in r["error"]
        assert WEB_KEY not in r["error"]


def test_a_single_event_whose_key_differs_from_basic_auth_is_rejected(http: httpx.Client) -> None:
    response = http.post(
        "/v1/track", content=orjson.dumps(keyed("x", WEB_KEY)), headers=basic(SERVER_KEY)
    )
    assert response.status_code == 400
    assert response.json()["rejected"][0]["field"] == "writeKey"


def test_the_demo_gives_the_ip_to_the_tag_s_events_and_not_to_curl_s(tmp_path: Path) -> None:
    with running_gateway(demo_settings(), tmp_path) as (gateway, url):
        with httpx.Client(base_url=url, timeout=10) as client:
            for event in (from_library("tag", "xconduit-tag"), from_library("curl", None)):
                sent = client.post("/v1/track", json=event, headers=basic(DEMO_WRITE_KEY))
                assert sent.status_code == 200, sent.text
        got = ips(gateway, "demo")
    assert got == {"o-tag": ["127.0.0.1"], "o-curl": []}
