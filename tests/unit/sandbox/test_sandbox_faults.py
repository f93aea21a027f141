"""Fault injection: parsing, schedules, probabilities, and what the client sees."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from xconduit.sandbox import Fault, FaultInjector, parse_fault
from xconduit.sandbox.faults import parse_kind_fault


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        (200, Fault()),
        ("500", Fault(status=500)),
        (503, Fault(status=503)),
        ("503:retry-after=5", Fault(status=503, retry_after=5.0)),
        ("429", Fault(status=429)),
        ("429:reset=30", Fault(status=429, reset_in=30.0)),
        ("slow:2.5", Fault(delay=2.5)),
        ("drop", Fault(drop=True)),
        ("drop:after", Fault(drop_after=True)),
        ("mismatch", Fault(mismatch=1)),
        ("mismatch:3", Fault(mismatch=3)),
    ],
)
def test_parse_fault(spec: str | int, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize("spec", ["404", "slow:x", "500:retry-after=1", "drop:later", "boom"])
def test_parse_fault_rejects_unknown(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_fault(spec)


def test_parse_kind_fault() -> None:
    assert parse_kind_fault("conversions=503:retry-after=2") == (
        "conversions",
        Fault(status=503, retry_after=2.0),
    )
    with pytest.raises(ValueError, match="route kind"):
        parse_kind_fault("nowhere=500")


def test_schedule_is_used_in_order_then_no_fault() -> None:
    faults = FaultInjector()
    faults.schedule("conversions", [500, 503, 200])
    seen = [faults.next_fault("conversions").status for _ in range(4)]
    assert seen == [500, 503, None, None]
    assert faults.next_fault("accounts") == Fault()


def test_probability_with_seeded_rng() -> None:
    faults = FaultInjector(rng=random.Random(7))
    faults.set_probability("*", 500, 0.25)
    hits = sum(faults.next_fault("conversions").status == 500 for _ in range(4000))
    assert 850 < hits < 1150
    faults.set_probability("*", 500, 0)
    assert faults.next_fault("conversions") == Fault()


def test_503_with_and_without_retry_after(api: Any, conversion: Any) -> None:
    api.sandbox.faults.schedule("conversions", ["503:retry-after=7", 503, 500])
    first = api.conversions({"conversions": [conversion()]})
    assert (first.status_code, first.headers["retry-after"]) == (503, "7")
    assert first.json()["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    second = api.conversions({"conversions": [conversion()]})
    assert second.status_code == 503
    assert "retry-after" not in second.headers
    assert api.conversions({"conversions": [conversion()]}).status_code == 500
    assert api.conversions({"conversions": [conversion()]}).status_code == 200
    assert len(api.sandbox.conversions()) == 1


def test_429_fault_carries_reset(api: Any) -> None:
    api.sandbox.faults.schedule("accounts", ["429:reset=30"])
    response = api.call("GET", "/12/accounts")
    assert response.status_code == 429
    assert response.headers["x-rate-limit-reset"] == str(int(api.clock() + 30))
    assert response.headers["x-account-rate-limit-remaining"] == "0"


def test_faults_apply_only_to_their_route_kind(api: Any, conversion: Any) -> None:
    api.sandbox.faults.schedule("audience_users", [500])
    assert api.conversions({"conversions": [conversion()]}).status_code == 200


def test_mismatch_reports_fewer_successes(api: Any) -> None:
    api.sandbox.faults.schedule("audience_users", ["mismatch:2"])
    path = "/12/accounts/18ce552mlaq/custom_audiences/1nmth/users"
    users = [{"email": [c * 64]} for c in "abc"]
    body = [{"operation_type": "Update", "params": {"users": users}}]
    response = api.call("POST", path, json=body)
    assert response.json()["data"] == {"success_count": 1, "total_count": 3}


def test_drop_in_process_raises_a_transport_error(api: Any, conversion: Any) -> None:
    api.sandbox.faults.schedule("conversions", ["drop", "drop:after"])
    with pytest.raises(httpx.RemoteProtocolError):
        api.conversions({"conversions": [conversion()]})
    assert api.sandbox.conversions() == []
    with pytest.raises(httpx.RemoteProtocolError):
        api.conversions({"conversions": [conversion()]})
    assert len(api.sandbox.conversions()) == 1  # processed, then the answer was lost
    statuses = [r["status"] for r in api.sandbox.requests()]
    assert statuses == ["dropped", "dropped"]
