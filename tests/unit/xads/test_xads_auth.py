from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import requests
from requests_oauthlib import OAuth1

from tests.support.xads_signing import CREDS, header_params, reference_signature, signature_of
from xconduit.xads import OAuth1Auth, XCredentials

NONCE = "fixednonce0123456789"
TIMESTAMP = 1_714_560_000


def signed(request: httpx.Request, creds: XCredentials = CREDS, **kwargs: object) -> httpx.Request:
    auth = OAuth1Auth(creds, nonce=lambda: NONCE, clock=lambda: TIMESTAMP, **kwargs)  # type: ignore[arg-type]
    request.headers["Authorization"] = auth.sign(request)
    return request


def requests_oauthlib_signature(
    method: str, url: str, *, creds: XCredentials = CREDS, **kwargs: Any
) -> str:
    prepared = requests.Request(method, url, **kwargs).prepare()
    auth = OAuth1(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.access_token,
        resource_owner_secret=creds.access_token_secret,
        nonce=NONCE,
        timestamp=str(TIMESTAMP),
    )
    header = auth(prepared).headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    found = re.search(r'oauth_signature="([^"]+)"', header)
    assert found
    return unquote(found.group(1))


def test_matches_x_documented_example() -> None:
    # docs.x.com "Creating a signature": these inputs must give hCtSmYh+iHYCEqBWrE7C7hYmtUk=.
    creds = XCredentials(
        consumer_key="xvz1evFS4wEEPTGEFPHBog",
        consumer_secret="kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        access_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        access_token_secret="LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    auth = OAuth1Auth(
        creds, nonce=lambda: "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", clock=lambda: 1318622958
    )
    request = httpx.Request(
        "POST",
        "https://api.twitter.com/1.1/statuses/update.json",
        params={"include_entities": "true"},
        data={"status": "Hello Ladies + Gentlemen, a signed OAuth request!"},
    )
    params = header_params(auth.sign(request))
    assert params["oauth_signature"] == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
    assert params["oauth_signature_method"] == "HMAC-SHA1"
    assert params["oauth_version"] == "1.0"


BASE = "https://ads-api.x.com/12/accounts/18ce552mlaq"

SAME_AS_REQUESTS_OAUTHLIB = [
    pytest.param("GET", f"{BASE}/custom_audiences", {"params": {"q": "vip"}}, id="get-query"),
    pytest.param(
        "GET",
        f"{BASE}/custom_audiences",
        {"params": {"cursor": "c:1,2", "q": "Café + friends", "count": "10"}},
        id="reserved-and-unicode-query",
    ),
    pytest.param(
        "POST",
        f"{BASE}/custom_audiences",
        {"params": {"name": "developers", "description": "a b/c"}},
        id="create-audience-query",
    ),
    pytest.param(
        "POST",
        f"{BASE}/custom_audiences/1nmth",
        {"data": {"name": "renamed", "when": "2024-05-01T00:00:00Z"}},
        id="form-body",
    ),
    pytest.param(
        "POST",
        "https://ads-api.x.com/12/measurement/conversions/oka17",
        {"json": {"conversions": [{"event_id": "ol288", "identifiers": [{"twclid": "x"}]}]}},
        id="json-body",
    ),
    pytest.param("DELETE", f"{BASE}/custom_audiences/1nmth", {}, id="delete"),
    pytest.param("GET", "http://127.0.0.1:8123/12/accounts", {}, id="loopback-port"),
]


@pytest.mark.parametrize(("method", "url", "kwargs"), SAME_AS_REQUESTS_OAUTHLIB)
def test_same_signature_as_requests_oauthlib_and_rfc(
    method: str, url: str, kwargs: dict[str, Any]
) -> None:
    request = signed(httpx.Request(method, url, **kwargs))
    ours = signature_of(request)
    assert ours == requests_oauthlib_signature(method, url, **kwargs)
    assert ours == reference_signature(request, CREDS.consumer_secret, CREDS.access_token_secret)


def test_header_carries_the_token_and_fixed_values() -> None:
    request = signed(httpx.Request("GET", f"{BASE}/authenticated_user_access"))
    params = header_params(request.headers["Authorization"])
    assert params["oauth_consumer_key"] == CREDS.consumer_key
    assert params["oauth_token"] == CREDS.access_token
    assert params["oauth_nonce"] == NONCE
    assert params["oauth_timestamp"] == str(TIMESTAMP)


def _variants() -> dict[str, str]:
    """Signature of one request, and of the same request with one thing changed."""
    url = f"{BASE}/custom_audiences"
    other_token = XCredentials(
        consumer_key=CREDS.consumer_key,
        consumer_secret=CREDS.consumer_secret,
        access_token="43-other-token",
        access_token_secret=CREDS.access_token_secret,
    )
    other_secret = XCredentials(
        consumer_key=CREDS.consumer_key,
        consumer_secret="wrong-secret",
        access_token=CREDS.access_token,
        access_token_secret=CREDS.access_token_secret,
    )

    def sig(req: httpx.Request, creds: XCredentials = CREDS, ts: int = TIMESTAMP) -> str:
        auth = OAuth1Auth(creds, nonce=lambda: NONCE, clock=lambda: ts)
        return header_params(auth.sign(req))["oauth_signature"]

    return {
        "original": sig(httpx.Request("POST", url, params={"name": "vip"})),
        "query-param": sig(httpx.Request("POST", url, params={"name": "vip2"})),
        "extra-param": sig(httpx.Request("POST", url, params={"name": "vip", "x": "1"})),
        "path": sig(httpx.Request("POST", url + "x", params={"name": "vip"})),
        "method": sig(httpx.Request("PUT", url, params={"name": "vip"})),
        "token": sig(httpx.Request("POST", url, params={"name": "vip"}), other_token),
        "consumer-secret": sig(httpx.Request("POST", url, params={"name": "vip"}), other_secret),
        "timestamp": sig(httpx.Request("POST", url, params={"name": "vip"}), ts=TIMESTAMP + 1),
        "form-body": sig(httpx.Request("POST", url, params={"name": "vip"}, data={"a": "1"})),
    }


def test_tampering_with_any_signed_part_changes_the_signature() -> None:
    variants = _variants()
    for (name_a, a), (name_b, b) in itertools.combinations(variants.items(), 2):
        assert a != b, f"{name_a} and {name_b} sign the same"


def test_json_body_is_not_signed_but_form_body_is() -> None:
    url = "https://ads-api.x.com/12/measurement/conversions/oka17"
    json_a = signed(httpx.Request("POST", url, json={"conversions": [1]}))
    json_b = signed(httpx.Request("POST", url, json={"conversions": [2]}))
    assert signature_of(json_a) == signature_of(json_b)
    form_a = signed(httpx.Request("POST", url, data={"v": "1"}))
    form_b = signed(httpx.Request("POST", url, data={"v": "2"}))
    assert signature_of(form_a) != signature_of(form_b)


def test_callback_and_verifier_are_signed_header_params() -> None:
    consumer = XCredentials(consumer_key="ck", consumer_secret="cs")
    request = signed(
        httpx.Request("POST", "https://api.x.com/oauth/request_token"),
        consumer,
        callback_uri="https://app.example/cb?x=1",
    )
    params = header_params(request.headers["Authorization"])
    assert params["oauth_callback"] == "https://app.example/cb?x=1"
    assert "oauth_token" not in params
    assert signature_of(request) == reference_signature(request, "cs", "")
    request = signed(
        httpx.Request("POST", "https://api.x.com/oauth/access_token"), CREDS, verifier="v123"
    )
    assert header_params(request.headers["Authorization"])["oauth_verifier"] == "v123"
    assert signature_of(request) == reference_signature(
        request, CREDS.consumer_secret, CREDS.access_token_secret
    )


def test_default_nonce_and_timestamp_vary() -> None:
    auth = OAuth1Auth(CREDS)
    first = header_params(auth.sign(httpx.Request("GET", BASE)))
    second = header_params(auth.sign(httpx.Request("GET", BASE)))
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert first["oauth_timestamp"].isdigit()


def test_repr_hides_secrets() -> None:
    text = repr(OAuth1Auth(CREDS)) + repr(CREDS) + str(CREDS)
    assert CREDS.consumer_secret not in text
    assert CREDS.access_token_secret not in text
    assert CREDS.access_token not in text
