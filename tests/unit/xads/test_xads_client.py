from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.xads_signing import CREDS, header_params, reference_signature
from xconduit.errors import (
    AuthError,
    ConfigError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
)
from xconduit.xads import XAdsClient

NOW = 1_714_560_000.0
HASH = "e586883b2b4faf78d48300a79e0e15138d664cdf796ffb86e533170a9893eda8"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeX:
    """Routes (method, path) to handlers and records every request."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, path)] = handler

    def handle(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, text="<html>not found</html>")
        return handler(request)


def ok(data: Any, **extra: Any) -> Handler:
    return lambda _: httpx.Response(200, json={"data": data, "request": {"params": {}}, **extra})


@pytest.fixture
def fake() -> FakeX:
    return FakeX()


@pytest.fixture
def client(fake: FakeX) -> Iterator[XAdsClient]:
    with httpx.Client(transport=httpx.MockTransport(fake.handle)) as http:
        yield XAdsClient(
            http=http,
            credentials=CREDS,
            base_url="https://ads.test",
            oauth_base_url="https://oauth.test",
            clock=lambda: NOW,
        )


def assert_signed(request: httpx.Request, token_secret: str = CREDS.access_token_secret) -> None:
    expected = reference_signature(request, CREDS.consumer_secret, token_secret)
    assert header_params(request.headers["Authorization"])["oauth_signature"] == expected


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(str(request.url)).query)


CONVERSION = {
    "conversion_time": "2024-05-01T12:00:00.000Z",
    "event_id": "ol288",
    "identifiers": [{"hashed_email": HASH}],
    "conversion_id": "order-123",
}


def test_send_conversions(fake: FakeX, client: XAdsClient) -> None:
    fake.on(
        "POST",
        "/12/measurement/conversions/oka17",
        lambda _: httpx.Response(
            200,
            json={
                "request": {"params": {"account_id": "18ce552mlaq"}},
                "data": {"conversions_processed": 2, "debug_id": "dbg-1"},
            },
        ),
    )
    result = client.send_conversions("oka17", [CONVERSION, CONVERSION])
    assert (result.processed, result.sent, result.complete) == (2, 2, True)
    assert (result.debug_id, result.account_id) == ("dbg-1", "18ce552mlaq")
    (request,) = fake.requests
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"conversions": [CONVERSION, CONVERSION]}
    assert header_params(request.headers["Authorization"])["oauth_token"] == CREDS.access_token
    assert_signed(request)


@pytest.mark.parametrize("count", [0, 501])
def test_send_conversions_bounds(fake: FakeX, client: XAdsClient, count: int) -> None:
    with pytest.raises(ValueError, match="1 to 500"):
        client.send_conversions("oka17", [CONVERSION] * count)
    assert fake.requests == []


def test_send_conversions_500_is_accepted(fake: FakeX, client: XAdsClient) -> None:
    fake.on("POST", "/12/measurement/conversions/oka17", ok({"conversions_processed": 500}))
    assert client.send_conversions("oka17", [CONVERSION] * 500).processed == 500


def test_conversions_shortfall_is_logged(
    fake: FakeX, client: XAdsClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.on("POST", "/12/measurement/conversions/oka17", ok({"conversions_processed": 1}))
    with caplog.at_level(logging.WARNING, logger="xconduit.xads"):
        result = client.send_conversions("oka17", [CONVERSION, CONVERSION])
    assert not result.complete
    assert "processed 1 of 2" in caplog.text


def test_x_errors_are_raised_with_details(fake: FakeX, client: XAdsClient) -> None:
    body = {
        "errors": [
            {"code": "INVALID_PARAMETER", "message": "bad time", "parameter": "conversion_time"}
        ]
    }
    fake.on(
        "POST",
        "/12/measurement/conversions/oka17",
        lambda _: httpx.Response(400, json=body),
    )
    with pytest.raises(FatalDeliveryError) as caught:
        client.send_conversions("oka17", [CONVERSION])
    assert not isinstance(caught.value, AuthError)
    assert caught.value.status == 400
    assert caught.value.errors[0].parameter == "conversion_time"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401, json={"errors": [{"code": "UNAUTHORIZED_ACCESS", "message": "x"}]}),
         AuthError),
        (httpx.Response(429, headers={"x-rate-limit-reset": str(int(NOW) + 90)}), RateLimited),
        (httpx.Response(503, headers={"retry-after": "5"}), RateLimited),
        (httpx.Response(500, text="<html>oops</html>"), RetriableDeliveryError),
        (httpx.Response(404, text="<html>no</html>"), FatalDeliveryError),
    ],
)  # fmt: skip
def test_statuses_become_errors(
    fake: FakeX, client: XAdsClient, response: httpx.Response, error: type[Exception]
) -> None:
    fake.on("GET", "/12/accounts", lambda _: response)
    with pytest.raises(error) as caught:
        client.accounts()
    assert type(caught.value) is error


def test_rate_limited_carries_reset(fake: FakeX, client: XAdsClient) -> None:
    headers = {"x-account-rate-limit-reset": str(int(NOW) + 900)}
    fake.on("GET", "/12/accounts", lambda _: httpx.Response(429, headers=headers))
    with pytest.raises(RateLimited) as caught:
        client.accounts()
    assert caught.value.retry_at == NOW + 900


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectTimeout("timed out"),
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_network_failures_are_retriable(exc: Exception) -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise exc

    with httpx.Client(transport=httpx.MockTransport(boom)) as http:
        client = XAdsClient(http=http, credentials=CREDS, base_url="https://ads.test")
        with pytest.raises(RetriableDeliveryError) as caught:
            client.send_conversions("oka17", [CONVERSION])
    assert caught.value.__cause__ is exc


def test_bad_base_url_is_a_config_error() -> None:
    with httpx.Client() as http:
        client = XAdsClient(http=http, credentials=CREDS, base_url="ftp://ads.test")
        with pytest.raises(ConfigError):
            client.accounts()


def test_unreadable_success_is_fatal(fake: FakeX, client: XAdsClient) -> None:
    fake.on("GET", "/12/accounts/a1/authenticated_user_access", lambda _: httpx.Response(200))
    with pytest.raises(FatalDeliveryError, match="not an object"):
        client.authenticated_user_access("a1")


AUDIENCE = {
    "id": "1nmth",
    "name": "developers",
    "description": None,
    "audience_type": "CRM",
    "targetable": False,
    "targetable_types": ["CRM", "EXCLUDED_CRM"],
    "reasons_not_targetable": ["PROCESSING", "TOO_SMALL"],
    "audience_size": None,
    "permission_level": "READ_WRITE",
    "owner_account_id": "18ce552mlaq",
    "created_at": "2024-05-01T00:00:00Z",
    "updated_at": "2024-05-01T00:00:00Z",
    "deleted": False,
}


def test_create_audience_sends_signed_query_params(fake: FakeX, client: XAdsClient) -> None:
    fake.on("POST", "/12/accounts/18ce552mlaq/custom_audiences", ok(AUDIENCE))
    audience = client.create_audience("18ce552mlaq", "developers", "Devs: A/B, 2024")
    assert audience.id == "1nmth"
    assert audience.reasons_not_targetable == ("PROCESSING", "TOO_SMALL")
    assert audience.audience_size is None
    (request,) = fake.requests
    assert query(request) == {"name": ["developers"], "description": ["Devs: A/B, 2024"]}
    assert request.content == b""
    assert_signed(request)


def test_list_and_iterate_audiences(fake: FakeX, client: XAdsClient) -> None:
    pages = {
        None: ({**AUDIENCE, "id": "a"}, "c1"),
        "c1": ({**AUDIENCE, "id": "b"}, "c2"),
        "c2": ({**AUDIENCE, "id": "c"}, None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        item, following = pages[cursor]
        return httpx.Response(200, json={"data": [item], "next_cursor": following})

    fake.on("GET", "/12/accounts/acc/custom_audiences", handler)
    page = client.list_audiences("acc", name_prefix="dev", count=1)
    assert [a.id for a in page.audiences] == ["a"]
    assert page.next_cursor == "c1"
    assert query(fake.requests[0]) == {"q": ["dev"], "count": ["1"]}
    assert_signed(fake.requests[0])
    assert [a.id for a in client.iter_audiences("acc", name_prefix="dev")] == ["a", "b", "c"]
    assert query(fake.requests[-1]) == {"q": ["dev"], "cursor": ["c2"]}


def test_list_audiences_count_bounds(client: XAdsClient) -> None:
    with pytest.raises(ValueError, match="1 and 1000"):
        client.list_audiences("acc", count=1001)


def test_get_and_delete_audience(fake: FakeX, client: XAdsClient) -> None:
    fake.on("GET", "/12/accounts/acc/custom_audiences/1nmth", ok(AUDIENCE))
    fake.on("DELETE", "/12/accounts/acc/custom_audiences/1nmth", ok({**AUDIENCE, "deleted": True}))
    assert client.get_audience("acc", "1nmth").name == "developers"
    assert client.delete_audience("acc", "1nmth").deleted is True
    assert [r.method for r in fake.requests] == ["GET", "DELETE"]


def test_ids_cannot_escape_the_path(fake: FakeX, client: XAdsClient) -> None:
    with pytest.raises(FatalDeliveryError):
        client.get_audience("acc", "../../accounts")
    assert fake.requests[0].url.raw_path == b"/12/accounts/acc/custom_audiences/..%2F..%2Faccounts"
    with pytest.raises(ValueError, match="empty"):
        client.get_audience("acc", "")


def users_op(kind: str, n: int) -> dict[str, Any]:
    return {
        "operation_type": kind,
        "params": {"users": [{"email": [f"{i:064x}"]} for i in range(n)]},
    }


def count_users(request: httpx.Request, short: int = 0) -> httpx.Response:
    sent = sum(len(op["params"]["users"]) for op in json.loads(request.content))
    data = {"success_count": sent - short, "total_count": sent}
    return httpx.Response(200, json={"data": data})


USERS_PATH = "/12/accounts/acc/custom_audiences/1nmth/users"


def test_audience_users_splits_and_sums(fake: FakeX, client: XAdsClient) -> None:
    fake.on("POST", USERS_PATH, count_users)
    ops = [users_op("Update", 3) for _ in range(5)] + [users_op("Delete", 2)]
    result = client.audience_users("acc", "1nmth", ops, max_operations=2)
    assert (result.requests, result.sent_users) == (3, 17)
    assert (result.success_count, result.total_count, result.matched) == (17, 17, True)
    sent = [op for r in fake.requests for op in json.loads(r.content)]
    assert sent == ops
    for request in fake.requests:
        assert request.headers["content-type"] == "application/json"
        assert_signed(request)


def test_audience_users_splits_by_bytes(fake: FakeX, client: XAdsClient) -> None:
    fake.on("POST", USERS_PATH, count_users)
    result = client.audience_users("acc", "1nmth", [users_op("Update", 500)], max_bytes=10_000)
    assert result.requests > 1
    assert all(len(r.content) <= 10_000 for r in fake.requests)
    assert result.matched


def test_audience_users_mismatch_is_flagged_not_raised(
    fake: FakeX, client: XAdsClient, caplog: pytest.LogCaptureFixture
) -> None:
    fake.on("POST", USERS_PATH, lambda r: count_users(r, short=1))
    with caplog.at_level(logging.WARNING, logger="xconduit.xads"):
        result = client.audience_users("acc", "1nmth", [users_op("Update", 4)])
    assert (result.success_count, result.total_count, result.sent_users) == (3, 4, 4)
    assert result.matched is False
    assert "counted 3/4 of 4" in caplog.text


def test_audience_users_error_in_a_later_request_raises(fake: FakeX, client: XAdsClient) -> None:
    answers = iter([None, httpx.Response(503)])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers) or count_users(request)

    fake.on("POST", USERS_PATH, handler)
    with pytest.raises(RetriableDeliveryError):
        client.audience_users("acc", "1nmth", [users_op("Update", 1)] * 4, max_operations=2)
    assert len(fake.requests) == 2


def test_authenticated_user_access(fake: FakeX, client: XAdsClient) -> None:
    fake.on(
        "GET",
        "/12/accounts/18ce552mlaq/authenticated_user_access",
        ok({"user_id": "2417045708", "permissions": ["ACCOUNT_ADMIN", "TWEET_COMPOSER"]}),
    )
    access = client.authenticated_user_access("18ce552mlaq")
    assert access.user_id == "2417045708"
    assert access.permissions == {"ACCOUNT_ADMIN", "TWEET_COMPOSER"}
    assert access.can_send_conversions


@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        (["AD_MANAGER"], True),
        (["CAMPAIGN_ANALYST", "TWEET_COMPOSER"], False),
        (["PARTNER_AUDIENCE_MANAGER"], False),
        ([], False),
    ],
)
def test_conversion_permission(
    fake: FakeX, client: XAdsClient, permissions: list[str], allowed: bool
) -> None:
    path = "/12/accounts/a/authenticated_user_access"
    fake.on("GET", path, ok({"user_id": "1", "permissions": permissions}))
    assert client.authenticated_user_access("a").can_send_conversions is allowed


def test_accounts_and_web_event_tags_follow_cursors(fake: FakeX, client: XAdsClient) -> None:
    def paged(items: list[dict[str, Any]]) -> Handler:
        def handler(request: httpx.Request) -> httpx.Response:
            index = int(request.url.params.get("cursor", "0"))
            following = str(index + 1) if index + 1 < len(items) else None
            return httpx.Response(200, json={"data": [items[index]], "next_cursor": following})

        return handler

    fake.on("GET", "/12/accounts", paged([{"id": "a1", "name": "One"}, {"id": "a2"}]))
    tag = {
        "id": "ol288",
        "name": "Purchase",
        "website_tag_id": "oka17",
        "type": "PURCHASE",
        "status": "TRACKING",
        "last_tracked_at": "2024-05-01T00:00:00Z",
        "click_window": 30,
        "view_through_window": 1,
    }
    fake.on("GET", "/12/accounts/a1/web_event_tags", paged([tag]))
    assert [(a.id, a.name) for a in client.accounts()] == [("a1", "One"), ("a2", None)]
    (parsed,) = client.web_event_tags("a1")
    assert (parsed.id, parsed.website_tag_id, parsed.status) == ("ol288", "oka17", "TRACKING")
    assert parsed.click_window == 30


def test_three_legged_oauth(fake: FakeX, client: XAdsClient) -> None:
    fake.on(
        "POST",
        "/oauth/request_token",
        lambda _: httpx.Response(
            200, text="oauth_token=rt&oauth_token_secret=rts&oauth_callback_confirmed=true"
        ),
    )
    fake.on(
        "POST",
        "/oauth/access_token",
        lambda _: httpx.Response(
            200, text="oauth_token=at&oauth_token_secret=ats&user_id=99&screen_name=jack"
        ),
    )
    token = client.request_token("https://app.example/callback")
    assert (token.token, token.secret, token.callback_confirmed) == ("rt", "rts", True)
    first = fake.requests[0]
    assert first.url.host == "oauth.test"
    params = header_params(first.headers["Authorization"])
    assert params["oauth_callback"] == "https://app.example/callback"
    assert "oauth_token" not in params
    assert_signed(first, token_secret="")

    url = client.authorize_url("rt")
    assert url == "https://oauth.test/oauth/authorize?oauth_token=rt"

    access = client.access_token("rt", "rts", "verifier-1")
    assert (access.token, access.secret, access.user_id, access.screen_name) == (
        "at",
        "ats",
        "99",
        "jack",
    )
    second = fake.requests[1]
    params = header_params(second.headers["Authorization"])
    assert (params["oauth_token"], params["oauth_verifier"]) == ("rt", "verifier-1")
    assert_signed(second, token_secret="rts")
    assert "ats" not in repr(access)


def test_oauth_refusal_is_auth_error(fake: FakeX, client: XAdsClient) -> None:
    fake.on("POST", "/oauth/access_token", lambda _: httpx.Response(401, text="Invalid verifier"))
    with pytest.raises(AuthError, match="401"):
        client.access_token("rt", "rts", "bad")


def test_logging(fake: FakeX, client: XAdsClient, caplog: pytest.LogCaptureFixture) -> None:
    headers = {"x-current-api-version": "13", "x-api-warn": "v12 sunsets 2027-01-01"}
    fake.on(
        "POST",
        "/12/measurement/conversions/oka17",
        lambda _: httpx.Response(
            200, headers=headers, json={"data": {"conversions_processed": 1, "debug_id": "dbg-7"}}
        ),
    )
    with caplog.at_level(logging.DEBUG, logger="xconduit.xads"):
        client.send_conversions("oka17", [CONVERSION])
        client.send_conversions("oka17", [CONVERSION])
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings.count("X API WARNING on conversions: v12 sunsets 2027-01-01") == 2
    assert sum("current Ads API version is 13" in w for w in warnings) == 1
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("debug_id=dbg-7" in m and "x-current-api-version=13" in m for m in debug)


def test_no_hash_or_id_reaches_info_logs(
    fake: FakeX, client: XAdsClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = {
        "errors": [
            {
                "code": "INVALID_PARAMETER",
                "message": f"hashed_email ({HASH}) is not a valid SHA-256 hash",
            }
        ]
    }
    fake.on("POST", "/12/measurement/conversions/oka17", lambda _: httpx.Response(400, json=body))
    fake.on("POST", USERS_PATH, lambda r: count_users(r, short=1))
    with caplog.at_level(logging.INFO, logger="xconduit.xads"):
        with pytest.raises(FatalDeliveryError) as caught:
            client.send_conversions("oka17", [CONVERSION])
        client.audience_users("acc", "1nmth", [users_op("Update", 2)])
    assert caplog.records  # the failure and the mismatch were logged...
    assert HASH not in caplog.text  # ...without the hash X echoed
    assert f"{0:064x}" not in caplog.text
    assert "oka17" not in caplog.text
    assert "1nmth" not in caplog.text
    assert HASH not in str(caught.value)


def test_client_repr_hides_secrets(client: XAdsClient) -> None:
    assert CREDS.consumer_secret not in repr(client)
    assert CREDS.access_token_secret not in repr(client)
