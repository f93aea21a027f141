"""Inspection and control endpoints under /_sandbox/ (no OAuth), and the Python equivalents."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from xconduit.sandbox import InProcessTransport


def test_inspection_shows_what_was_received(api: Any, conversion: Any) -> None:
    api.conversions({"conversions": [conversion()]})
    body = [{"operation_type": "Update", "params": {"users": [{"email": ["a" * 64]}]}}]
    api.call("POST", "/12/accounts/18ce552mlaq/custom_audiences/1nmth/users", json=body)
    client = api.client
    conversions = client.get("/_sandbox/conversions").json()["data"]
    assert [(c["event_id"], c["pixel_id"]) for c in conversions] == [("tw-oka17-ol288", "oka17")]
    audiences = client.get("/_sandbox/audiences").json()["data"]
    assert [(a["id"], a["member_count"]) for a in audiences] == [("1nmth", 1)]
    members = client.get("/_sandbox/audiences/1nmth/users").json()["data"]
    assert members == [{"email": ["a" * 64]}]
    assert client.get("/_sandbox/audiences/nope/users").status_code == 404
    requests = client.get("/_sandbox/requests").json()["data"]
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 200), ("POST", 200)]
    assert requests[0]["path"] == "/12/measurement/conversions/oka17"
    page = client.get("/_sandbox/")
    assert page.headers["content-type"].startswith("text/html")
    assert "tw-oka17-ol288" in page.text
    assert "<script" not in page.text.split("</head>")[1].lower()


def test_reset_forgets_everything_but_the_seed(api: Any, conversion: Any) -> None:
    api.conversions({"conversions": [conversion()]})
    api.call("POST", "/12/accounts/18ce552mlaq/custom_audiences", params={"name": "new"})
    api.sandbox.faults.schedule("conversions", [500])
    assert api.client.post("/_sandbox/reset").status_code == 200
    assert api.sandbox.conversions() == []
    assert api.sandbox.requests() == []
    assert [a["id"] for a in api.sandbox.audiences()] == ["1nmth"]
    assert api.conversions({"conversions": [conversion()]}).status_code == 200


def test_faults_over_http(api: Any, conversion: Any) -> None:
    settings = {
        "schedule": {"conversions": [503, "200"]},
        "probability": [{"kind": "accounts", "fault": "500", "probability": 1}],
    }
    shown = api.client.post("/_sandbox/faults", json=settings).json()["data"]
    assert shown["schedules"] == {"conversions": ["503", "200"]}
    assert api.conversions({"conversions": [conversion()]}).status_code == 503
    assert api.call("GET", "/12/accounts").status_code == 500
    api.client.post("/_sandbox/faults", json={"clear": True})
    assert api.call("GET", "/12/accounts").status_code == 200
    bad = api.client.post("/_sandbox/faults", json={"schedule": {"conversions": ["boom"]}})
    assert bad.status_code == 400


def test_permissions_are_configurable(api: Any) -> None:
    path = "/12/accounts/18ce552mlaq/authenticated_user_access"
    assert api.call("GET", path).json()["data"] == {
        "user_id": "42",
        "permissions": ["ACCOUNT_ADMIN"],
    }
    api.client.post(
        "/_sandbox/permissions",
        json={"user_id": "42", "account_id": "18ce552mlaq", "permissions": ["ANALYST"]},
    )
    assert api.call("GET", path).json()["data"]["permissions"] == ["ANALYST"]
    api.sandbox.set_permissions("42", "18ce552mlaq", None)
    assert api.call("GET", path).status_code == 404
    assert api.call("GET", "/12/accounts").json()["data"] == []


def test_web_event_tags(api: Any, conversion: Any) -> None:
    base = "/12/accounts/18ce552mlaq/web_event_tags"
    tags = api.call("GET", base).json()["data"]
    assert [(t["id"], t["website_tag_id"]) for t in tags] == [
        ("ol288", "oka17"),
        ("ol289", "oka17"),
    ]
    assert {"type", "status", "last_tracked_at", "click_window", "view_through_window",
            "embed_code"} <= set(tags[0])  # fmt: skip
    api.conversions({"conversions": [conversion()]})
    one = api.call("GET", f"{base}/ol288").json()["data"]
    assert (one["status"], one["last_tracked_at"]) == ("TRACKING", "2024-05-01T12:00:00Z")
    missing = api.call("GET", f"{base}/ev999")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "WEB_EVENT_TAG_NOT_FOUND"


def test_unknown_route_and_method_use_xs_envelope(api: Any) -> None:
    response = api.call("GET", "/12/nothing/here")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "ROUTE_NOT_FOUND"
    assert response.headers["x-current-api-version"] == "12"
    assert api.call("DELETE", "/12/accounts").status_code == 405


def test_sandbox_can_be_mounted_under_another_app(sandbox: Any, clock: Any, make_api: Any) -> None:
    outer = Starlette(routes=[Mount("/x-sandbox", app=sandbox.app)])
    with httpx.Client(transport=InProcessTransport(outer), base_url="http://testserver") as c:
        api = make_api(sandbox, c, clock)
        assert api.call("GET", "/x-sandbox/12/accounts").status_code == 200
        assert api.call("GET", "/12/accounts").status_code == 404
    assert sandbox.requests()[0]["path"] == "/12/accounts"


def test_in_process_transport_works_inside_a_running_event_loop() -> None:
    import asyncio

    import httpx

    from xconduit.sandbox import InProcessTransport, Sandbox

    sb = Sandbox()

    async def call() -> int:
        with httpx.Client(transport=InProcessTransport(sb.app), base_url="http://x") as client:
            return client.get("/_sandbox/conversions").status_code

    assert asyncio.run(call()) == 200
