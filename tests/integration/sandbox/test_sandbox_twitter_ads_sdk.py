"""Independent interop check: X's official Python SDK (twitter-ads, API v11) against the sandbox.

The SDK has no host option for a client; its requests use `Request._DEFAULT_DOMAIN` unless a
request passes `domain=`, so the test points that class attribute at the sandbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from twitter_ads.audience import CustomAudience
from twitter_ads.client import Client
from twitter_ads.error import NotAuthorized
from twitter_ads.http import Request

from xconduit.sandbox import Sandbox, serve_sandbox


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def client(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    with serve_sandbox(sandbox) as base_url:
        monkeypatch.setattr(Request, "_DEFAULT_DOMAIN", base_url)
        c = sandbox.credentials
        yield Client(c.consumer_key, c.consumer_secret, c.access_token, c.access_token_secret)


def test_sdk_lists_and_loads_accounts(client: Client) -> None:
    accounts = list(client.accounts())
    assert [a.id for a in accounts] == ["18ce552mlaq"]
    account = client.accounts("18ce552mlaq")
    assert account.name == "Sandbox demo account"


def test_sdk_custom_audience_lifecycle(client: Client, sandbox: Sandbox) -> None:
    account = client.accounts("18ce552mlaq")
    audience = CustomAudience.create(account, "SDK audience")  # create, then reload
    assert audience.name == "SDK audience"
    emails = [hashlib.sha256(e.encode()).hexdigest() for e in ("a@x.com", "b@x.com")]
    ops = [
        {"operation_type": "Update", "params": {"users": [{"email": [e]} for e in emails]}},
        {"operation_type": "Delete", "params": {"users": [{"email": [emails[0]]}]}},
    ]
    assert audience.users(ops) == (3, 3)
    assert sandbox.audience_members(audience.id) == [{"email": [emails[1]]}]
    assert [a.name for a in account.custom_audiences()] == ["SDK audience"]
    assert account.custom_audiences(audience.id).name == "SDK audience"
    audience.delete()
    assert [a["deleted"] for a in sandbox.audiences() if a["id"] == audience.id] == [True]
    paths = [r["path"] for r in sandbox.requests()]
    assert all(p.startswith("/11/") for p in paths)


def test_sdk_with_wrong_secret_is_not_authorized(sandbox: Sandbox, client: Client) -> None:
    c = sandbox.credentials
    wrong = Client(c.consumer_key, "wrong", c.access_token, c.access_token_secret)
    with pytest.raises(NotAuthorized):
        list(wrong.accounts())


def test_sdk_audience_created_without_description_has_null_description(
    client: Client, sandbox: Sandbox
) -> None:
    # X's create and get examples answer "description": null for an audience without one.
    account = client.accounts("18ce552mlaq")
    audience = CustomAudience.create(account, "no description")
    assert audience.description is None
    body = Request(client, "get", f"/11/accounts/18ce552mlaq/custom_audiences/{audience.id}")
    assert body.perform().body["data"]["description"] is None


def test_sdk_request_params_are_echoed_with_their_documented_types(
    client: Client, sandbox: Sandbox
) -> None:
    # X's examples echo id lists as arrays and counts as numbers, never everything as text.
    account = client.accounts("18ce552mlaq")
    audience = CustomAudience.create(account, "echoed")
    path = "/11/accounts/18ce552mlaq/custom_audiences"
    params = {"custom_audience_ids": audience.id, "count": 5, "with_deleted": "true"}
    echoed = Request(client, "get", path, params=params).perform().body["request"]["params"]
    assert echoed == {
        "account_id": "18ce552mlaq",
        "custom_audience_ids": [audience.id],
        "count": 5,
        "with_deleted": True,
    }
    accounts = Request(client, "get", "/11/accounts", params={"count": 5}).perform()
    assert accounts.body["request"]["params"] == {"count": 5}
    ids = {"account_ids": "18ce552mlaq,nosuchacct"}
    listed = Request(client, "get", "/11/accounts", params=ids).perform().body
    assert listed["request"]["params"] == {"account_ids": ["18ce552mlaq", "nosuchacct"]}
    assert [a["id"] for a in listed["data"]] == ["18ce552mlaq"]


def test_sdk_reads_rate_limits_from_the_headers_of_get_answers(client: Client) -> None:
    # X: "The endpoint rate limits and reset windows are communicated via HTTP response headers";
    # the SDK copies every x-* header onto the objects it returns.
    accounts = client.accounts()
    first = int(accounts.rate_limit_remaining)
    assert int(accounts.rate_limit_limit) >= first > 0
    again = client.accounts()
    assert int(again.rate_limit_remaining) == first - 1
    # An account's reads have account-level limits too, per endpoint.
    headers = Request(client, "get", "/11/accounts/18ce552mlaq").perform().headers
    assert (
        int(headers["x-account-rate-limit-remaining"])
        == int(headers["x-account-rate-limit-limit"]) - 1
    )
    audiences = client.accounts("18ce552mlaq").custom_audiences()
    assert int(audiences.account_rate_limit_limit) - 1 == int(
        audiences.account_rate_limit_remaining
    )
