from __future__ import annotations

import json

import pytest

from xconduit.errors import (
    AuthError,
    DeliveryError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
)
from xconduit.xads.responses import (
    DEFAULT_RATE_LIMIT_WAIT,
    OutcomeKind,
    classify,
    error_for,
    parse_retry_after,
    redact,
)

NOW = 1_714_560_000.0
HTML_404 = b"<html><body><h1>Sorry, that page does not exist</h1></body></html>"
CAPI_OK = {
    "request": {"params": {"account_id": "18ce552mlaq"}},
    "data": {"conversions_processed": 1, "debug_id": "ff02e052-36e4-47d6-bdf0-6d8986446562"},
}


def j(document: object) -> bytes:
    return json.dumps(document).encode()


def errors(code: str | None, message: str, parameter: str | None = None) -> bytes:
    item: dict[str, str] = {"message": message}
    if code is not None:
        item["code"] = code
    if parameter is not None:
        item["parameter"] = parameter
    return j({"errors": [item], "request": {"params": {}}})


def users(success: int, total: int) -> bytes:
    return j({"data": {"success_count": success, "total_count": total}})


D, P, RL, R, F = (
    OutcomeKind.DELIVERED,
    OutcomeKind.PARTIAL,
    OutcomeKind.RATE_LIMITED,
    OutcomeKind.RETRIABLE,
    OutcomeKind.FATAL,
)

# id: (status, headers, body, sent_users) -> (kind, retry_at, error class or None)
TABLE = [
    ("capi-200", 200, {}, j(CAPI_OK), None, D, None, None),
    ("empty-204", 204, {}, b"", None, D, None, None),
    ("oauth-form-200", 200, {}, b"oauth_token=t&oauth_token_secret=s", None, D, None, None),
    ("users-match", 200, {}, users(4, 4), 4, D, None, None),
    ("users-success-short", 200, {}, users(3, 4), 4, P, None, RetriableDeliveryError),
    ("users-total-short", 200, {}, users(4, 4), 5, P, None, RetriableDeliveryError),
    ("users-no-counts", 200, {}, j({"data": {}}), 2, P, None, RetriableDeliveryError),
    ("users-html-200", 200, {}, HTML_404, 2, P, None, RetriableDeliveryError),
    ("400-param", 400, {}, errors("INVALID_PARAMETER", "bad", "event_id"), None, F, None,
     FatalDeliveryError),
    ("400-no-code", 400, {}, errors(None, "Conversion count limit is 500"), None, F, None,
     FatalDeliveryError),
    ("401", 401, {}, errors("UNAUTHORIZED_ACCESS", "not authenticated"), None, F, None, AuthError),
    ("401-oauth-int-code", 401, {}, j({"errors": [{"code": 32, "message": "Could not"}]}), None,
     F, None, AuthError),
    ("403-client-app", 403, {}, errors("UNAUTHORIZED_CLIENT_APPLICATION", "no access"), None, F,
     None, AuthError),
    ("403-empty", 403, {}, b"", None, F, None, AuthError),
    ("404-html", 404, {}, HTML_404, None, F, None, FatalDeliveryError),
    ("404-not-found", 404, {}, errors("NOT_FOUND", "no access to account"), None, F, None,
     FatalDeliveryError),
    ("405", 405, {}, errors("METHOD_NOT_ALLOWED", "no"), None, F, None, FatalDeliveryError),
    ("302", 302, {"location": "https://x.com"}, b"", None, F, None, FatalDeliveryError),
    ("408", 408, {}, errors("CANCELLED_REQUEST", "cancelled"), None, R, None,
     RetriableDeliveryError),
    ("423", 423, {}, errors("LOCK_ACQUISITION_TIMEOUT", "lock"), None, R, None,
     RetriableDeliveryError),
    ("500", 500, {}, errors("INTERNAL_ERROR", "oops"), None, R, None, RetriableDeliveryError),
    ("502-html", 502, {}, b"<html>Bad gateway</html>", None, R, None, RetriableDeliveryError),
    ("503-no-retry-after", 503, {}, errors("OVER_CAPACITY", "busy"), None, R, None,
     RetriableDeliveryError),
    ("503-retry-after-secs", 503, {"retry-after": "30"}, b"", None, R, NOW + 30, RateLimited),
    ("503-retry-after-date", 503, {"Retry-After": "Wed, 01 May 2024 10:41:40 GMT"}, b"", None, R,
     NOW + 100, RateLimited),
    ("503-retry-after-junk", 503, {"retry-after": "soon"}, b"", None, R, None,
     RetriableDeliveryError),
    ("500-ignores-retry-after", 500, {"retry-after": "30"}, b"", None, R, None,
     RetriableDeliveryError),
    ("504", 504, {}, b"", None, R, None, RetriableDeliveryError),
    ("429-account-first", 429, {"x-account-rate-limit-reset": str(NOW + 900),
     "x-rate-limit-reset": str(NOW + 60)}, errors("TOO_MANY_REQUESTS", "slow down"), None, RL,
     NOW + 900, RateLimited),
    ("429-user-reset", 429, {"X-Rate-Limit-Reset": str(int(NOW) + 60)}, b"", None, RL, NOW + 60,
     RateLimited),
    ("429-retry-after", 429, {"retry-after": "7"}, b"", None, RL, NOW + 7, RateLimited),
    ("429-no-headers", 429, {}, b"", None, RL, NOW + DEFAULT_RATE_LIMIT_WAIT, RateLimited),
    ("429-reset-passed", 429, {"x-rate-limit-reset": str(NOW - 5)}, b"", None, RL, NOW,
     RateLimited),
    ("429-junk-reset", 429, {"x-rate-limit-reset": "later"}, b"", None, RL,
     NOW + DEFAULT_RATE_LIMIT_WAIT, RateLimited),
]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "headers", "body", "sent_users", "kind", "retry_at", "error"),
    [pytest.param(*row[1:], id=row[0]) for row in TABLE],
)
def test_classification_table(
    status: int,
    headers: dict[str, str],
    body: bytes,
    sent_users: int | None,
    kind: OutcomeKind,
    retry_at: float | None,
    error: type[DeliveryError] | None,
) -> None:
    outcome = classify(status, headers, body, sent_users=sent_users, now=NOW)
    assert outcome.kind is kind
    assert outcome.status == status
    assert outcome.retry_at == retry_at
    raised = error_for(outcome, "endpoint")
    if error is None:
        assert raised is None
        return
    assert type(raised) is error
    assert raised.status == status
    if isinstance(raised, RateLimited):
        assert raised.retry_at == retry_at


def test_x_error_fields_are_parsed() -> None:
    body = j(
        {
            "errors": [
                {
                    "code": "NOT_FOUND",
                    "message": "event_id (abc) does not belong",
                    "parameter": "event_id",
                },
                {"code": "INVALID_PARAMETER", "message": "At least one", "parameter": ""},
            ]
        }
    )
    outcome = classify(400, {}, body, now=NOW)
    assert [(e.code, e.message, e.parameter) for e in outcome.errors] == [
        ("NOT_FOUND", "event_id (abc) does not belong", "event_id"),
        ("INVALID_PARAMETER", "At least one", None),
    ]
    raised = error_for(outcome, "conversions")
    assert raised is not None
    assert raised.errors == outcome.errors
    assert "conversions: X answered 400 NOT_FOUND: event_id (abc)" in str(raised)
    assert "(parameter event_id)" in str(raised)
    assert "+1 more" in str(raised)


def test_operation_errors_are_kept() -> None:
    body = j({"operation_errors": [{"code": "INVALID_PARAMETER", "message": "bad user"}]})
    outcome = classify(400, {}, body, now=NOW)
    assert outcome.errors[0].code == "INVALID_PARAMETER"


def test_debug_id_and_version_headers() -> None:
    outcome = classify(
        200,
        {"X-Current-Api-Version": "12", "X-Api-Warn": "endpoint deprecated"},
        j(CAPI_OK),
        now=NOW,
    )
    assert outcome.debug_id == "ff02e052-36e4-47d6-bdf0-6d8986446562"
    assert outcome.api_version == "12"
    assert outcome.api_warn == "endpoint deprecated"
    assert outcome.data == CAPI_OK["data"]


def test_partial_outcome_reports_counts() -> None:
    outcome = classify(200, {}, users(3, 4), sent_users=4, now=NOW)
    assert (outcome.success_count, outcome.total_count) == (3, 4)
    assert "3 of 4" in str(error_for(outcome, "audience_users"))


HASH = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (f"hashed_email ({HASH}) is not valid", "hashed_email (<hash>) is not valid"),
        ("hashed_email (jane.doe@example.com) is not a valid SHA-256 hash",
         "hashed_email (<email>) is not a valid SHA-256 hash"),
        ("phone (+1 415-555-0100) bad", "phone (<phone>) bad"),
        ("event_id (ol288) is not a single event tag (SET)",
         "event_id (ol288) is not a single event tag (SET)"),
        ("User 2417045708 does not have access to account 18ce552mlaq",
         "User 2417045708 does not have access to account 18ce552mlaq"),
    ],
)  # fmt: skip
def test_redact(message: str, expected: str) -> None:
    assert redact(message) == expected


def test_error_messages_never_carry_hashes() -> None:
    body = errors("INVALID_PARAMETER", f"hashed_email ({HASH}) is not a valid SHA-256 hash")
    raised = error_for(classify(400, {}, body, now=NOW), "conversions")
    assert HASH not in str(raised)
    assert raised is not None
    assert HASH not in raised.errors[0].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", NOW),
        ("120", NOW + 120),
        ("Wed, 01 May 2024 10:40:00 GMT", NOW),
        ("", None),
        (None, None),
        ("-5", None),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected
