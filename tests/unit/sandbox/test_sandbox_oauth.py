"""OAuth 1.0a verification: what X signs (query, form body, oauth_*) and what it does not (JSON)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from xconduit.sandbox.oauth import OAuthFailure, OAuthVerifier, SignedRequest, compute_signature

UNAUTHORIZED = {
    "errors": [
        {"code": "UNAUTHORIZED_ACCESS", "message": "This request is not properly authenticated"}
    ],
    "request": {"params": {}},
}


def test_signature_matches_xs_documented_example() -> None:
    # X's "Creating a signature" walk-through: known inputs, known signature.
    header = (
        'OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", '
        'oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", '
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", '
        'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"'
    )
    req = SignedRequest(
        method="POST",
        url="https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
        authorization=header,
        form_body="status=Hello%20Ladies%20%2b%20Gentlemen%2c%20a%20signed%20OAuth%20request%21",
    )
    signature = compute_signature(
        req,
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    )
    assert signature == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="


def test_signed_get_passes(api: Any) -> None:
    response = api.call("GET", "/12/accounts")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["data"]] == ["18ce552mlaq"]


def _send(api: Any, uri: str, headers: dict[str, str], body: str | None) -> Any:
    return api.client.request("POST", uri, headers=headers, content=body)


def test_tampered_query_parameter_fails(api: Any) -> None:
    path = "/12/accounts/18ce552mlaq/custom_audiences"
    uri, headers, body = api.sign("POST", path, params={"name": "vip"})
    response = _send(api, uri.replace("name=vip", "name=vip2"), headers, body)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert _send(api, uri, headers, body).status_code == 200


def test_tampered_form_body_parameter_fails(api: Any) -> None:
    path = "/12/accounts/18ce552mlaq/custom_audiences"
    uri, headers, body = api.sign("POST", path, form={"name": "vip", "description": "a"})
    assert _send(api, uri, headers, body.replace("name=vip", "name=vip2")).status_code == 401
    assert _send(api, uri, headers, body).status_code == 200


def test_json_body_is_not_signed(api: Any, conversion: Any) -> None:
    uri, headers, _ = api.sign("POST", "/12/measurement/conversions/oka17")
    headers["Content-Type"] = "application/json"
    body = json.dumps({"conversions": [conversion(conversion_id="changed-after-signing")]})
    response = _send(api, uri, headers, body)
    assert response.status_code == 200
    assert api.sandbox.conversions()[0]["conversion_id"] == "changed-after-signing"


@pytest.mark.parametrize(
    "change",
    [
        {"access_token": "1000000001-unknown-token"},
        {"consumer_key": "unknown-consumer"},
        {"consumer_secret": "wrong-consumer-secret"},
        {"access_token_secret": "wrong-token-secret"},
    ],
    ids=["unknown-token", "unknown-consumer", "wrong-consumer-secret", "wrong-token-secret"],
)
def test_wrong_credentials_fail(api: Any, change: dict[str, str]) -> None:
    creds = dataclasses.replace(api.creds, **change)
    assert api.call("GET", "/12/accounts", creds=creds).status_code == 401


def test_token_swapped_in_header_fails(api: Any) -> None:
    other = api.sandbox.issue_token("43")
    uri, headers, _ = api.sign("GET", "/12/accounts")
    headers["Authorization"] = headers["Authorization"].replace(
        api.creds.access_token, other.access_token
    )
    assert api.client.get(uri, headers=headers).status_code == 401


def test_tampered_timestamp_fails(api: Any) -> None:
    uri, headers, _ = api.sign("GET", "/12/accounts")
    stamp = str(int(api.clock()))
    headers["Authorization"] = headers["Authorization"].replace(stamp, str(int(stamp) + 1))
    assert api.client.get(uri, headers=headers).status_code == 401


@pytest.mark.parametrize(("skew", "status"), [(-299, 200), (299, 200), (-301, 401), (301, 401)])
def test_timestamp_window_is_five_minutes(api: Any, skew: float, status: int) -> None:
    response = api.call("GET", "/12/accounts", timestamp=api.clock() + skew)
    assert response.status_code == status


def test_nonce_replay_fails(api: Any) -> None:
    uri, headers, _ = api.sign("GET", "/12/accounts")
    assert api.client.get(uri, headers=headers).status_code == 200
    assert api.client.get(uri, headers=headers).status_code == 401


def test_missing_or_malformed_header_fails(api: Any) -> None:
    assert api.client.get("/12/accounts").status_code == 401
    bad = {"Authorization": "Bearer abc"}
    assert api.client.get("/12/accounts", headers=bad).status_code == 401


def test_signature_method_must_be_hmac_sha1() -> None:
    verifier = OAuthVerifier(
        consumer_secret_for=lambda k: "s", token_secret_for=lambda t: "t", clock=lambda: 100.0
    )
    header = (
        'OAuth oauth_consumer_key="k", oauth_nonce="n", oauth_signature="x", '
        'oauth_signature_method="PLAINTEXT", oauth_timestamp="100", oauth_token="t"'
    )
    req = SignedRequest(method="GET", url="http://h/12/accounts", authorization=header)
    with pytest.raises(OAuthFailure, match="HMAC-SHA1"):
        verifier.verify(req)
