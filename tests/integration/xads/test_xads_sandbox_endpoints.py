"""Every XAdsClient endpoint against the sandbox over real loopback HTTP."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.xads_sandbox_helpers import (
    ACCOUNT,
    EVENT,
    PIXEL,
    conversion,
    credentials_of,
    sha,
)
from xconduit.errors import FatalDeliveryError
from xconduit.sandbox import Sandbox
from xconduit.xads import XAdsClient, XCredentials


def test_accounts_access_and_event_tags(client: XAdsClient) -> None:
    assert [a.id for a in client.accounts()] == [ACCOUNT]
    access = client.authenticated_user_access(ACCOUNT)
    assert access.can_send_conversions
    tags = client.web_event_tags(ACCOUNT)
    assert EVENT in {t.id for t in tags}
    assert {t.website_tag_id for t in tags} == {PIXEL}


def test_send_conversions_arrive(sandbox: Sandbox, client: XAdsClient) -> None:
    batch = [conversion(n) for n in range(500)]
    result = client.send_conversions(PIXEL, batch)
    assert (result.processed, result.complete, result.account_id) == (500, True, ACCOUNT)
    assert result.debug_id
    received = sandbox.conversions()
    assert [c["conversion_id"] for c in received] == [f"order-{n}" for n in range(500)]
    assert received[0]["identifiers"] == batch[0]["identifiers"]
    tag = next(t for t in client.web_event_tags(ACCOUNT) if t.id == EVENT)
    assert tag.status == "TRACKING"
    assert tag.last_tracked_at is not None


def test_audience_lifecycle(sandbox: Sandbox, client: XAdsClient) -> None:
    # Reserved characters and non-ASCII in a query parameter are part of the signature.
    created = client.create_audience(ACCOUNT, "VIP: A/B, 2024 + más", "Top 1% (by spend)")
    assert created.name == "VIP: A/B, 2024 + más"
    assert created.description == "Top 1% (by spend)"
    client.create_audience(ACCOUNT, "VIP later")
    client.create_audience(ACCOUNT, "Churned")
    page = client.list_audiences(ACCOUNT, name_prefix="VIP", count=1)
    assert len(page.audiences) == 1
    assert page.next_cursor is not None
    names = sorted(a.name for a in client.iter_audiences(ACCOUNT, name_prefix="VIP", count=1))
    assert names == ["VIP later", "VIP: A/B, 2024 + más"]
    assert client.get_audience(ACCOUNT, created.id).id == created.id
    deleted = client.delete_audience(ACCOUNT, created.id)
    assert deleted.deleted
    assert created.id not in {a.id for a in client.iter_audiences(ACCOUNT)}


def test_audience_users_add_and_remove(sandbox: Sandbox, client: XAdsClient) -> None:
    audience = client.create_audience(ACCOUNT, "members")
    add = {
        "operation_type": "Update",
        "params": {
            "effective_at": "2024-05-01T00:00:00Z",
            "users": [
                {"email": [sha("a@example.com")], "handle": [sha("jack")]},
                {"email": [sha("b@example.com")]},
            ],
        },
    }
    result = client.audience_users(ACCOUNT, audience.id, [add])
    assert (result.success_count, result.total_count, result.matched) == (2, 2, True)
    members = sandbox.audience_members(audience.id)
    assert members is not None
    assert len(members) == 2
    remove = {"operation_type": "Delete", "params": {"users": [{"handle": [sha("jack")]}]}}
    assert client.audience_users(ACCOUNT, audience.id, [remove]).matched
    assert len(sandbox.audience_members(audience.id) or []) == 1


def test_audience_users_split_by_operation_count(sandbox: Sandbox, client: XAdsClient) -> None:
    audience = client.create_audience(ACCOUNT, "split by count")
    ops = [
        {"operation_type": "Update", "params": {"users": [{"email": [sha(f"u{i}@x.test")]}]}}
        for i in range(2_501)
    ]
    result = client.audience_users(ACCOUNT, audience.id, ops)
    assert (result.requests, result.sent_users, result.matched) == (2, 2_501, True)
    users_requests = [r for r in sandbox.requests() if r["path"].endswith("/users")]
    assert [r["status"] for r in users_requests] == [200, 200]
    assert len(sandbox.audience_members(audience.id) or []) == 2_501


def fat_users(n: int) -> list[dict[str, list[str]]]:
    # ~13.6 kB per user: few users keep the sandbox fast, many bytes cross X's body limit.
    return [
        {
            "email": [sha(f"u{i}-{j}@x.test") for j in range(100)],
            "device_id": [sha(f"d{i}-{j}") for j in range(100)],
        }
        for i in range(n)
    ]


def test_audience_users_split_by_bytes(sandbox: Sandbox, client: XAdsClient) -> None:
    # ~6.8 MB in one operation: more than X's 5,000,000-byte limit, which the sandbox enforces.
    audience = client.create_audience(ACCOUNT, "split by bytes")
    op = {"operation_type": "Update", "params": {"users": fat_users(500)}}
    assert len(json.dumps(op)) > 5_000_000
    result = client.audience_users(ACCOUNT, audience.id, [op])
    assert (result.requests, result.success_count, result.matched) == (2, 500, True)
    assert len(sandbox.audience_members(audience.id) or []) == 500


@pytest.mark.parametrize(
    ("operations", "limits", "message"),
    [
        (
            [{"operation_type": "Update", "params": {"users": fat_users(500)}}],
            {"max_bytes": 10_000_000},
            "5000000",
        ),
        (
            [
                {"operation_type": "Update", "params": {"users": [{"email": [sha(str(i))]}]}}
                for i in range(2_501)
            ],
            {"max_operations": 3_000},
            "2500",
        ),
    ],
    ids=["bytes", "operations"],
)
def test_unsplit_requests_are_refused(
    client: XAdsClient,
    operations: list[dict[str, object]],
    limits: dict[str, int],
    message: str,
) -> None:
    # The control for the two tests above: without the split, X (the sandbox) says 400.
    audience = client.create_audience(ACCOUNT, "too big")
    with pytest.raises(FatalDeliveryError) as caught:
        client.audience_users(ACCOUNT, audience.id, operations, **limits)
    assert caught.value.status == 400
    assert message in str(caught.value)


def test_three_legged_oauth(
    sandbox: Sandbox, client: XAdsClient, base_url: str, http: httpx.Client
) -> None:
    requested = client.request_token("https://app.example/callback")
    assert requested.callback_confirmed
    authorize = client.authorize_url(requested.token)
    assert http.get(authorize).status_code == 200  # the approval page
    # The user approves in the browser; the sandbox redirects to the callback with a verifier.
    approval = http.post(
        authorize.split("?")[0],
        data={"oauth_token": requested.token, "user_id": "1000000001", "decision": "allow"},
    )
    assert approval.status_code == 302
    query = parse_qs(urlsplit(approval.headers["location"]).query)
    assert query["oauth_token"] == [requested.token]
    token = client.access_token(requested.token, requested.secret, query["oauth_verifier"][0])
    assert token.user_id == "1000000001"
    assert token.screen_name
    fresh = XAdsClient(
        http=http,
        credentials=credentials_of(
            sandbox, access_token=token.token, access_token_secret=token.secret
        ),
        base_url=base_url,
    )
    assert fresh.authenticated_user_access(ACCOUNT).user_id == "1000000001"


def test_sandbox_credentials_repr_does_not_leak(sandbox: Sandbox) -> None:
    creds: XCredentials = credentials_of(sandbox)
    assert sandbox.credentials.consumer_secret not in repr(creds)


def test_version_headers_are_logged(
    sandbox: Sandbox, base_url: str, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    old = XAdsClient(
        http=http, credentials=credentials_of(sandbox), base_url=base_url, version="11"
    )
    with caplog.at_level(logging.DEBUG, logger="xconduit.xads"):
        old.accounts()
        old.send_conversions(PIXEL, [conversion()])
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert all("x-current-api-version=12" in m for m in debug)
    assert any("debug_id=" in m and "debug_id=None" not in m for m in debug)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["X's current Ads API version is 12; this client calls version 11"]
