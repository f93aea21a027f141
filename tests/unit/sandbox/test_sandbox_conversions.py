"""Conversion API: X's validation rules and messages, all-or-nothing, access, the success body."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.sandbox.conversions import PixelContext, validate_conversions

CTX = PixelContext(
    pixel_id="oka17",
    account_id="18ce552mlaq",
    account_events={"ol288": "oka17", "ol289": "oka17"},
    pixel_ids=frozenset({"oka17", "oth01"}),
)
EMAIL = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
PHONE = "1fa6b8d986d9b9cd01bf36951815158bbde9f520c0567c835dfe34783d0a4231"


def _one(**fields: Any) -> dict[str, Any]:
    conv: dict[str, Any] = {
        "conversion_time": "2024-05-01T12:00:00.000Z",
        "event_id": "ol288",
        "identifiers": [{"twclid": "23opevjt88psuo13lu8d020qkn"}],
    }
    conv.update(fields)
    return {"conversions": [{k: v for k, v in conv.items() if v is not None}]}


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"conversion_time": "2017-10-05T00:00:00Z"},  # the form X's reference example shows
        {"event_id": "tw-oka17-ol288"},
        {"event_id": "ol289"},
        {"identifiers": [{"hashed_email": EMAIL}]},
        {"identifiers": [{"hashed_phone_number": PHONE}]},
        {"identifiers": [{"ip_address": "8.25.197.25", "user_agent": "Mozilla/5.0"}]},
        {"identifiers": [{"ip_address": "8.25.197.25"}, {"user_agent": "Mozilla/5.0"}]},
        {"identifiers": [{"twclid": "x"}, {"ip_address": "8.25.197.25"}]},
        {"number_items": 3, "value": "20.00", "price_currency": "EUR"},
        {"value": 20.5, "conversion_id": "o-1", "description": "d", "contents": []},
    ],
)
def test_valid_conversions(fields: dict[str, Any]) -> None:
    assert validate_conversions(_one(**fields), CTX) == []


@pytest.mark.parametrize(
    ("fields", "code", "message", "parameter"),
    [
        (
            {"conversion_time": "2024-05-01T12:00:00.000"},
            "INVALID_PARAMETER",
            'Expected Time in yyyy-MM-ddTHH:mm:ss.SSSZ, got "2024-05-01T12:00:00.000" '
            "for conversion_time",
            "conversion_time",
        ),
        (
            {"conversion_time": "2024-05-01T12:00:00+00:00"},
            "INVALID_PARAMETER",
            'Expected Time in yyyy-MM-ddTHH:mm:ss.SSSZ, got "2024-05-01T12:00:00+00:00" '
            "for conversion_time",
            "conversion_time",
        ),
        (
            {"conversion_time": "2024-13-01T12:00:00.000Z"},
            "INVALID_PARAMETER",
            'Expected Time in yyyy-MM-ddTHH:mm:ss.SSSZ, got "2024-13-01T12:00:00.000Z" '
            "for conversion_time",
            "conversion_time",
        ),
        (
            {"event_id": "oka17"},
            "INVALID_PARAMETER",
            "event_id (oka17) is not a single event tag (SET)",
            "event_id",
        ),
        (
            {"event_id": "ev999"},
            "NOT_FOUND",
            "event_id (ev999) does not belong to provided account",
            "event_id",
        ),
        (
            {"event_id": "tw-oth01-ol288"},
            "NOT_FOUND",
            "event_id (tw-oth01-ol288) does not belong to provided account",
            "event_id",
        ),
        (
            {"event_id": "zzzzz"},
            "NOT_FOUND",
            "event_id (zzzzz) does not belong to provided account",
            "event_id",
        ),
        ({"event_id": None}, "MISSING_PARAMETER", "Event ID was not found", "event_id"),
        (
            {"identifiers": [{"twclid": ""}]},
            "INVALID_PARAMETER",
            "At least one user identifier must be provided",
            "",
        ),
        (
            {"identifiers": [{"ip_address": "8.25.197.25"}]},
            "INVALID_PARAMETER",
            "At least one user identifier must be provided",
            "",
        ),
        (
            {"identifiers": [{"email": "someone@example.com"}]},
            "INVALID_PARAMETER",
            "At least one user identifier must be provided",
            "",
        ),
        (
            {"identifiers": [{"hashed_email": "not-a-hash"}]},
            "INVALID_PARAMETER",
            "hashed_email (not-a-hash) is not a valid SHA-256 hash",
            "hashed_email",
        ),
        (
            {"identifiers": [{"twclid": "x"}, {"hashed_phone_number": PHONE[:-1]}]},
            "INVALID_PARAMETER",
            f"hashed_phone_number ({PHONE[:-1]}) is not a valid SHA-256 hash",
            "hashed_phone_number",
        ),
        (
            {"number_items": 0},
            "INVALID_PARAMETER",
            "number_items (0) must be a positive integer",
            "number_items",
        ),
        (
            {"number_items": 1.5},
            "INVALID_PARAMETER",
            "number_items (1.5) must be a positive integer",
            "number_items",
        ),
    ],
)
def test_invalid_conversions(
    fields: dict[str, Any], code: str, message: str, parameter: str
) -> None:
    errors = validate_conversions(_one(**fields), CTX)
    assert [(e.code, e.message, e.parameter) for e in errors] == [(code, message, parameter)]


@pytest.mark.parametrize(("count", "ok"), [(1, True), (500, True), (501, False), (0, False)])
def test_conversion_count_is_1_to_500(count: int, ok: bool) -> None:
    one = _one()["conversions"][0]
    errors = validate_conversions({"conversions": [one] * count}, CTX)
    assert (errors == []) is ok
    if count == 501:
        assert [e.message for e in errors] == ["Conversion count limit is 500"]


def test_every_error_of_every_conversion_is_listed() -> None:
    good = _one()["conversions"][0]
    bad = {**good, "event_id": "oka17", "identifiers": []}
    errors = validate_conversions({"conversions": [good, bad, bad]}, CTX)
    assert len(errors) == 4


def test_accepted_batch_answers_like_x(api: Any, conversion: Any) -> None:
    response = api.conversions({"conversions": [conversion(), conversion(conversion_id="o2")]})
    assert response.status_code == 200
    assert response.headers["x-current-api-version"] == "12"
    body = response.json()
    assert body["request"] == {"params": {"account_id": "18ce552mlaq"}}
    assert body["data"]["conversions_processed"] == 2
    assert len(body["data"]["debug_id"]) == 36
    recorded = api.sandbox.conversions()
    assert [c["conversion_id"] for c in recorded] == ["order-1", "o2"]
    assert recorded[0]["pixel_id"] == "oka17"
    assert recorded[0]["account_id"] == "18ce552mlaq"
    assert recorded[0]["received_at"] == "2024-05-01T12:00:00Z"


def test_one_bad_conversion_rejects_the_whole_request(api: Any, conversion: Any) -> None:
    body = {"conversions": [conversion(), conversion(event_id="oka17")]}
    response = api.conversions(body)
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "code": "INVALID_PARAMETER",
                "message": "event_id (oka17) is not a single event tag (SET)",
                "parameter": "event_id",
            }
        ],
        "request": {"params": {"account_id": "18ce552mlaq"}},
    }
    assert api.sandbox.conversions() == []


def test_only_not_found_errors_answer_404(api: Any, conversion: Any) -> None:
    response = api.conversions({"conversions": [conversion(event_id="ev999")]})
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


def test_unknown_pixel_is_404(api: Any, conversion: Any) -> None:
    response = api.conversions({"conversions": [conversion()]}, pixel="nopix")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("user", ["43", "44"], ids=["analyst-only", "other-account"])
def test_token_user_without_admin_or_ad_manager_is_404(
    api: Any, conversion: Any, user: str
) -> None:
    creds = api.sandbox.issue_token(user)
    response = api.conversions({"conversions": [conversion()]}, creds=creds)
    assert response.status_code == 404
    assert response.json()["errors"] == [
        {
            "code": "NOT_FOUND",
            "message": f"User {user} does not have access to account 18ce552mlaq",
        }
    ]


def test_version_11_path_works_too(api: Any, conversion: Any) -> None:
    response = api.call(
        "POST", "/11/measurement/conversions/oka17", json={"conversions": [conversion()]}
    )
    assert response.status_code == 200


def test_body_that_is_not_json_is_400(api: Any) -> None:
    uri, headers, _ = api.sign("POST", "/12/measurement/conversions/oka17")
    headers["Content-Type"] = "application/json"
    response = api.client.post(uri, headers=headers, content=b"{not json")
    assert response.status_code == 400
    assert api.sandbox.conversions() == []
