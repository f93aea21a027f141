"""The gateway's `/_sandbox/` (demo mode): anyone may read it; a foreign page may not change it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from xconduit.app import Gateway

EVIL = "https://evil.example"


def faults(url: str) -> dict[str, Any]:
    described: dict[str, Any] = httpx.get(f"{url}/_sandbox/faults").json()["data"]
    return described


def schedule_a_fault(url: str) -> None:
    # curl-style (no Origin, no Sec-Fetch-*): not a browser, allowed
    answer = httpx.post(f"{url}/_sandbox/faults", json={"schedule": {"conversions": ["503"]}})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "cross-site"},  # a form post whose Origin was stripped
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "same-site"},  # another port of the same host is another origin
        {"X-Sandbox-Token": "guessed"},
    ],
)
def test_a_foreign_page_cannot_reset_or_sabotage_the_demo(
    live: tuple[Gateway, str], headers: dict[str, str]
) -> None:
    _, url = live
    schedule_a_fault(url)
    before = faults(url)
    for path, body in [
        ("/_sandbox/reset", None),
        ("/_sandbox/faults", {"clear": True}),
        ("/_sandbox/permissions", {"user_id": "1", "account_id": "2", "permissions": []}),
    ]:
        answer = httpx.post(f"{url}{path}", json=body, headers=headers)
        assert answer.status_code == 403, path
        assert "X-Sandbox-Token" in answer.json()["error"]
    assert httpx.delete(f"{url}/_sandbox/faults", headers=headers).status_code == 403
    assert faults(url) == before  # nothing changed


def test_a_page_on_another_port_of_the_same_host_is_refused(live: tuple[Gateway, str]) -> None:
    _, url = live
    other = url.rsplit(":", 1)[0] + ":1"
    answer = httpx.post(f"{url}/_sandbox/reset", headers={"Origin": other})
    assert answer.status_code == 403


def test_a_rebound_dns_name_looks_same_origin_but_needs_the_token(
    live: tuple[Gateway, str],
) -> None:
    gateway, url = live
    port = url.rsplit(":", 1)[1]
    rebound = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
    assert httpx.post(f"{url}/_sandbox/reset", headers=rebound).status_code == 403
    with_token = {**rebound, "X-Sandbox-Token": gateway.sandbox_token}
    assert httpx.post(f"{url}/_sandbox/reset", headers=with_token).status_code == 200


@pytest.mark.parametrize("same_origin", [True, False])
def test_the_gateway_s_own_pages_and_token_holders_may_write(
    live: tuple[Gateway, str], same_origin: bool
) -> None:
    gateway, url = live
    schedule_a_fault(url)
    headers = (
        {"Origin": url, "Sec-Fetch-Site": "same-origin"}
        if same_origin
        else {
            "Origin": EVIL,
            "Sec-Fetch-Site": "cross-site",
            "X-Sandbox-Token": gateway.sandbox_token,
        }
    )
    answer = httpx.post(f"{url}/_sandbox/faults", json={"clear": True}, headers=headers)
    assert answer.status_code == 200
    assert faults(url)["schedules"] == {}  # cleared


def test_reads_stay_open_to_any_origin(live: tuple[Gateway, str]) -> None:
    _, url = live
    for path in ("/_sandbox/", "/_sandbox/conversions", "/_sandbox/requests", "/_sandbox/faults"):
        answer = httpx.get(f"{url}{path}", headers={"Origin": EVIL, "Sec-Fetch-Site": "cross-site"})
        assert answer.status_code == 200, path
