"""Custom audiences: lifecycle, user operations, X's limits and Delete-matching semantics."""

from __future__ import annotations

import json
from typing import Any

import pytest

from xconduit.sandbox.audiences import Membership, check_size, months_later, validate_operations

H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
BASE = "/12/accounts/18ce552mlaq/custom_audiences"


def _op(kind: str = "Update", **params: Any) -> dict[str, Any]:
    params.setdefault("users", [{"email": [H1]}])
    return {"operation_type": kind, "params": params}


@pytest.mark.parametrize(
    "body",
    [
        [_op()],
        [_op("Delete")],
        [_op(effective_at="2024-05-01T00:00:00Z", expires_at="2025-06-01T00:00:00Z")],
        [_op(users=[{"email": [H1], "handle": [H2, H3]}, {"partner_user_id": ["crm-1"]}])],
        [_op(), _op("Delete")],
    ],
)
def test_valid_operations(body: list[Any]) -> None:
    request_errors, op_errors, operations = validate_operations(body)
    assert (request_errors, op_errors) == ([], [])
    assert len(operations) == len(body)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (_op("Add"), "operation_type (Add) must be one of Update, Delete"),
        ({"operation_type": "Update"}, '"params" is missing'),
        (_op(users=[]), '"users" is missing or empty'),
        (_op(users=[{"ip_address": ["1.2.3.4"]}]), "ip_address is not a user identifier type"),
        (_op(users=[{"email": H1}]), "email must be a non-empty array of strings"),
        (
            _op(users=[{"email": ["Jane.Doe@Example.com"]}]),
            "email: a value is not a SHA-256 hash (64 lowercase hex characters)",
        ),
        (
            _op(users=[{"phone_number": ["+12025550100"]}]),
            "phone_number: a value is not a SHA-256 hash (64 lowercase hex characters)",
        ),
        (
            _op(users=[{"handle": [H1.upper()]}]),
            "handle: a value is not a SHA-256 hash (64 lowercase hex characters)",
        ),
        (
            _op(effective_at="2024-05-01"),
            "effective_at (2024-05-01) is not an ISO 8601 timestamp",
        ),
        (
            _op(effective_at="2024-05-02T00:00:00Z", expires_at="2024-05-01T00:00:00Z"),
            "expires_at must be after effective_at",
        ),
    ],
)
def test_invalid_operation_is_reported_at_its_index(op: dict[str, Any], message: str) -> None:
    request_errors, op_errors, _ = validate_operations([_op(), op])
    assert request_errors == []
    assert [(e.index, e.error.message) for e in op_errors] == [(1, message)]


@pytest.mark.parametrize(("count", "ok"), [(2500, True), (2501, False)])
def test_at_most_2500_operations(count: int, ok: bool) -> None:
    request_errors, _, _ = validate_operations([_op()] * count)
    assert (request_errors == []) is ok


@pytest.mark.parametrize(("size", "ok"), [(5_000_000, True), (5_000_001, False)])
def test_at_most_5_000_000_bytes(size: int, ok: bool) -> None:
    assert (check_size(size) is None) is ok


def test_delete_matches_any_key_the_user_was_added_with() -> None:
    members = Membership()
    _, _, ops = validate_operations([_op(users=[{"email": [H1], "twitter_id": [H2]}])])
    members.apply(ops)
    _, _, removal = validate_operations([_op("Delete", users=[{"twitter_id": [H2]}])])
    members.apply(removal)
    assert len(members) == 0


def test_delete_leaves_other_members() -> None:
    members = Membership()
    _, _, ops = validate_operations([_op(users=[{"email": [H1]}, {"email": [H2]}])])
    members.apply(ops)
    _, _, removal = validate_operations([_op("Delete", users=[{"handle": [H1]}, {"email": [H2]}])])
    members.apply(removal)
    assert members.as_json() == [{"email": [H1]}]


def test_create_list_get_delete(api: Any) -> None:
    created = api.call("POST", BASE, params={"name": "VIP buyers", "description": "d"})
    assert created.status_code == 200
    audience = created.json()["data"]
    assert audience["name"] == "VIP buyers"
    assert audience["owner_account_id"] == "18ce552mlaq"
    assert audience["audience_type"] == "CRM"
    one = api.call("GET", f"{BASE}/{audience['id']}")
    assert one.json()["data"]["id"] == audience["id"]
    listed = api.call("GET", BASE, params={"q": "vip", "with_total_count": "true"})
    assert [a["id"] for a in listed.json()["data"]] == [audience["id"]]
    assert listed.json()["total_count"] == 1
    deleted = api.call("DELETE", f"{BASE}/{audience['id']}")
    assert deleted.json()["data"]["deleted"] is True
    assert api.call("GET", f"{BASE}/{audience['id']}").status_code == 404
    again = api.call("GET", f"{BASE}/{audience['id']}", params={"with_deleted": "true"})
    assert again.json()["data"]["deleted"] is True
    assert [a["id"] for a in api.call("GET", BASE).json()["data"]] == ["1nmth"]
    with_deleted = api.call("GET", BASE, params={"with_deleted": "true"}).json()["data"]
    assert len(with_deleted) == 2


def test_name_is_required_and_unique_even_after_delete(api: Any) -> None:
    assert api.call("POST", BASE).json()["errors"][0]["code"] == "MISSING_PARAMETER"
    first = api.call("POST", BASE, form={"name": "buyers"}).json()["data"]
    duplicate = api.call("POST", BASE, form={"name": "buyers"})
    assert duplicate.status_code == 400
    api.call("DELETE", f"{BASE}/{first['id']}")
    assert api.call("POST", BASE, form={"name": "buyers"}).status_code == 400


def test_list_pages_with_cursor(api: Any) -> None:
    for n in range(5):
        api.call("POST", BASE, params={"name": f"a{n}"})
    page = api.call("GET", BASE, params={"count": "4"}).json()
    assert len(page["data"]) == 4
    rest = api.call("GET", BASE, params={"count": "4", "cursor": page["next_cursor"]}).json()
    assert len(rest["data"]) == 2
    assert rest["next_cursor"] is None
    bad = api.call("GET", BASE, params={"count": "1001"})
    assert bad.status_code == 400
    both = api.call("GET", BASE, params={"cursor": "4", "with_total_count": "true"})
    assert both.json()["errors"][0]["code"] == "EXCLUSIVE_PARAMETERS"


def test_users_counts_per_user_object(api: Any) -> None:
    body = [
        _op(users=[{"email": [H1], "handle": [H2]}, {"email": [H3]}]),
        _op("Delete", users=[{"handle": [H2]}, {"email": ["d" * 64]}]),
    ]
    response = api.call("POST", f"{BASE}/1nmth/users", json=body)
    assert response.status_code == 200
    assert response.json() == {
        "request": {"params": {"account_id": "18ce552mlaq", "custom_audience_id": "1nmth"}},
        "data": {"success_count": 4, "total_count": 4},
    }
    assert api.sandbox.audience_members("1nmth") == [{"email": [H3]}]


def test_invalid_operation_fails_the_whole_request(api: Any) -> None:
    body = [_op(), _op("Add")]
    response = api.call("POST", f"{BASE}/1nmth/users", json=body)
    assert response.status_code == 400
    assert response.json()["operation_errors"] == [
        {
            "index": 1,
            "code": "INVALID_PARAMETER",
            "message": "operation_type (Add) must be one of Update, Delete",
            "parameter": "operation_type",
        }
    ]
    assert api.sandbox.audience_members("1nmth") == []


def test_body_over_5_000_000_bytes_is_refused(api: Any) -> None:
    users = [{"email": [H1]}] * 5000
    body = [_op(users=users)] * 13
    assert len(json.dumps(body)) > 5_000_000
    response = api.call("POST", f"{BASE}/1nmth/users", json=body)
    assert response.status_code == 400
    assert "5000000 bytes" in response.json()["errors"][0]["message"]
    assert api.sandbox.audience_members("1nmth") == []


def test_users_of_unknown_or_other_account_audience(api: Any) -> None:
    assert api.call("POST", f"{BASE}/zzzzz/users", json=[_op()]).status_code == 404
    other = "/12/accounts/18ce55other/custom_audiences/1nmth/users"
    response = api.call("POST", other, json=[_op()])
    assert response.status_code == 404
    assert "does not have access" in response.json()["errors"][0]["message"]


def test_reading_needs_access_and_writing_needs_admin_or_ad_manager(api: Any) -> None:
    analyst = api.sandbox.issue_token("43")
    assert api.call("GET", BASE, creds=analyst).status_code == 200
    response = api.call("POST", BASE, params={"name": "x"}, creds=analyst)
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "ACTION_NOT_ALLOWED"


def test_an_update_sharing_a_key_is_a_member_of_its_own_and_a_delete_takes_both() -> None:
    """X documents no merging; it deletes by any key a member was added with."""
    members = Membership()
    _, _, ops = validate_operations(
        [_op(users=[{"email": [H1]}, {"email": [H1], "handle": [H2]}, {"email": [H3]}])]
    )
    assert members.apply(ops) == 3
    assert len(members) == 3
    members.apply(ops)  # the same user objects again: refreshed, not added twice
    assert len(members) == 3
    _, _, removal = validate_operations([_op("Delete", users=[{"email": [H1]}])])
    members.apply(removal)
    assert members.as_json() == [{"email": [H3]}]


def test_a_member_expires_13_months_after_the_request_that_sent_it() -> None:
    members = Membership()
    jan = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
    _, _, ops = validate_operations([_op(users=[{"email": [H1]}, {"email": [H2]}])])
    members.apply(ops, now=jan)
    year = months_later(jan, 12)
    _, _, again = validate_operations([_op(users=[{"email": [H2]}])])
    members.apply(again, now=year)  # sent again after a year: kept 13 months from then
    members.expire(months_later(jan, 13) - 1)
    assert len(members) == 2
    members.expire(months_later(jan, 13))
    assert members.as_json() == [{"email": [H2]}]
    members.expire(months_later(year, 13))
    assert len(members) == 0
    assert months_later(1_769_860_800.0, 1) == 1_772_280_000.0  # 31 Jan → 28 Feb
