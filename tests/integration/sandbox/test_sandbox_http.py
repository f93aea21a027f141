"""The sandbox over real loopback HTTP: requests-oauthlib, dropped connections, slow answers,
and the three-legged OAuth flow end to end."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import requests
from requests_oauthlib import OAuth1Session

from tests.support.ops_traffic import wait_for
from tests.support.xads_sandbox_helpers import ACCOUNT, PIXEL, conversion, credentials_of
from xconduit.errors import RateLimited
from xconduit.sandbox import RateLimit, Sandbox, SandboxCredentials, serve_sandbox
from xconduit.xads import XAdsClient

CONVERSION: dict[str, Any] = {
    "conversion_time": "2024-05-01T12:00:00.000Z",
    "event_id": "tw-oka17-ol288",
    "identifiers": [{"twclid": "23opevjt88psuo13lu8d020qkn"}],
    "conversion_id": "order-1",
}


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox()


@pytest.fixture
def base_url(sandbox: Sandbox) -> Iterator[str]:
    with serve_sandbox(sandbox) as url:
        yield url


def session(creds: SandboxCredentials) -> OAuth1Session:
    return OAuth1Session(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=creds.access_token,
        resource_owner_secret=creds.access_token_secret,
    )


def test_requests_oauthlib_calls_accounts_conversions_and_audiences(
    sandbox: Sandbox, base_url: str
) -> None:
    s = session(sandbox.credentials)
    accounts = s.get(f"{base_url}/12/accounts")
    assert accounts.status_code == 200
    assert accounts.headers["x-current-api-version"] == "12"
    sent = s.post(
        f"{base_url}/12/measurement/conversions/oka17", json={"conversions": [CONVERSION]}
    )
    assert sent.json()["data"]["conversions_processed"] == 1
    base = f"{base_url}/12/accounts/18ce552mlaq/custom_audiences"
    # Reserved characters in signed query values (X is strict about their encoding).
    created = s.post(base, params={"name": "VIP: 2024, EU", "description": "a+b/c"})
    assert created.status_code == 200, created.text
    audience_id = created.json()["data"]["id"]
    ops = [{"operation_type": "Update", "params": {"users": [{"email": ["a" * 64]}]}}]
    users = s.post(f"{base}/{audience_id}/users", json=ops)
    assert users.json()["data"] == {"success_count": 1, "total_count": 1}
    form = s.post(base, data={"name": "from form", "description": "x y"})
    assert form.status_code == 200, form.text
    assert [c["conversion_id"] for c in sandbox.conversions()] == ["order-1"]


def test_get_answers_carry_x_s_rate_limits_per_endpoint(sandbox: Sandbox, base_url: str) -> None:
    s = session(sandbox.credentials)
    # GET accounts has no account id: a user-level budget, 5 per 15 minutes in X's chart.
    seen = []
    for _ in range(5):
        answer = s.get(f"{base_url}/12/accounts")
        assert answer.status_code == 200
        assert "x-account-rate-limit-limit" not in answer.headers
        seen.append(
            (answer.headers["x-rate-limit-limit"], answer.headers["x-rate-limit-remaining"])
        )
    assert seen == [("5", str(left)) for left in (4, 3, 2, 1, 0)]
    refused = s.get(f"{base_url}/11/accounts")  # one budget for both versions
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    reset = int(refused.headers["x-rate-limit-reset"])
    assert sandbox.clock() < reset <= sandbox.clock() + 901
    # Another endpoint has its own budget; an account's reads also carry account-level headers.
    tags = s.get(f"{base_url}/12/accounts/{ACCOUNT}/web_event_tags")
    assert tags.status_code == 200
    assert tags.headers["x-account-rate-limit-limit"] == "2000"
    assert tags.headers["x-account-rate-limit-remaining"] == "1999"
    assert tags.headers["x-rate-limit-remaining"] == "1999"


def test_the_x_client_reads_conversion_limits_undisturbed_by_get_limits() -> None:
    sandbox = Sandbox(rate_limit=RateLimit(account_reads=2))
    with serve_sandbox(sandbox) as url, httpx.Client(timeout=10) as http:
        client = XAdsClient(http=http, credentials=credentials_of(sandbox), base_url=url)
        client.web_event_tags(ACCOUNT)
        client.authenticated_user_access(ACCOUNT)
        client.web_event_tags(ACCOUNT)
        with pytest.raises(RateLimited) as caught:  # the third read of that endpoint
            client.web_event_tags(ACCOUNT)
        assert sandbox.clock() + 890 <= caught.value.retry_at <= sandbox.clock() + 901
        # The conversions answer's headers are the Conversion API budget's, not the reads'.
        result = client.send_conversions(PIXEL, [conversion(1), conversion(2)])
    assert result.processed == 2
    assert result.rate_limit is not None
    assert (result.rate_limit.limit, result.rate_limit.remaining) == (60_000, 59_998)


def test_unsigned_request_is_401(base_url: str) -> None:
    response = httpx.get(f"{base_url}/12/accounts")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED_ACCESS"


@pytest.mark.parametrize(("fault", "recorded"), [("drop", 0), ("drop:after", 1)])
def test_dropped_connection_is_a_real_disconnect(
    sandbox: Sandbox, base_url: str, fault: str, recorded: int
) -> None:
    sandbox.faults.schedule("conversions", [fault])
    s = session(sandbox.credentials)
    auth_request = s.prepare_request(
        requests.Request(
            "POST",
            f"{base_url}/12/measurement/conversions/oka17",
            json={"conversions": [CONVERSION]},
        )
    )
    # Closed before an answer (RemoteProtocolError) or reset (ReadError, WriteError): the
    # same disconnect, told apart only by what the kernel did with the socket's buffers.
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        httpx.post(auth_request.url, headers=dict(auth_request.headers), content=auth_request.body)
    # The server thread records the drop as it closes the socket: the client may see it first.
    wait_for(
        lambda: sandbox.requests()[-1:] != [] and sandbox.requests()[-1]["status"] == "dropped",
        "the drop recorded",
        10,
    )
    assert len(sandbox.conversions()) == recorded
    # The server keeps serving after a drop.
    assert s.get(f"{base_url}/12/accounts").status_code == 200


def test_slow_response_hits_client_timeout(sandbox: Sandbox, base_url: str) -> None:
    sandbox.faults.schedule("*", ["slow:1.0"])
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{base_url}/12/accounts", timeout=0.2)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self.button: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a["action"]
        elif tag == "input":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "option" and "user_id" not in self.fields:
            self.fields["user_id"] = a["value"]
        elif tag == "button" and a.get("value") == "allow":
            self.button = (a["name"], a["value"])


@pytest.fixture
def callback_server() -> Iterator[tuple[str, list[str]]]:
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"connected")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", received
    finally:
        server.shutdown()
        server.server_close()


def _submit_authorize_page(base_url: str, token: str) -> httpx.Response:
    page = httpx.get(f"{base_url}/oauth/authorize", params={"oauth_token": token})
    assert page.status_code == 200
    assert "Authorize app" in page.text
    form = _FormParser()
    form.feed(page.text)
    assert form.button is not None
    data = {**form.fields, form.button[0]: form.button[1]}
    return httpx.post(form.action, data=data)


def test_three_legged_flow_end_to_end(
    sandbox: Sandbox, base_url: str, callback_server: tuple[str, list[str]]
) -> None:
    callback, received = callback_server
    creds = sandbox.credentials
    oauth = OAuth1Session(
        creds.consumer_key, client_secret=creds.consumer_secret, callback_uri=callback
    )
    request_token = oauth.fetch_request_token(f"{base_url}/oauth/request_token")
    assert request_token["oauth_callback_confirmed"] == "true"
    answer = _submit_authorize_page(base_url, request_token["oauth_token"])
    assert answer.status_code == 302
    landed = httpx.get(answer.headers["location"])  # follow the redirect to the local callback
    assert landed.text == "connected"
    redirect = "http://127.0.0.1" + received[0]
    oauth.parse_authorization_response(redirect)
    tokens = oauth.fetch_access_token(f"{base_url}/oauth/access_token")
    assert (tokens["user_id"], tokens["screen_name"]) == ("1000000001", "sandbox_admin")
    user = OAuth1Session(
        creds.consumer_key,
        client_secret=creds.consumer_secret,
        resource_owner_key=tokens["oauth_token"],
        resource_owner_secret=tokens["oauth_token_secret"],
    )
    access = user.get(f"{base_url}/12/accounts/18ce552mlaq/authenticated_user_access")
    assert access.json()["data"] == {"user_id": "1000000001", "permissions": ["ACCOUNT_ADMIN"]}
    # The request token is single-use.
    with pytest.raises(ValueError, match=r"."):
        oauth.fetch_access_token(f"{base_url}/oauth/access_token")


def test_pin_flow(sandbox: Sandbox, base_url: str) -> None:
    creds = sandbox.credentials
    oauth = OAuth1Session(
        creds.consumer_key, client_secret=creds.consumer_secret, callback_uri="oob"
    )
    token = oauth.fetch_request_token(f"{base_url}/oauth/request_token")["oauth_token"]
    page = _submit_authorize_page(base_url, token)
    match = re.search(r'id="pin"[^>]*><code>(\d+)</code>', page.text)
    assert match is not None
    tokens = oauth.fetch_access_token(f"{base_url}/oauth/access_token", verifier=match.group(1))
    assert tokens["oauth_token"].startswith("1000000001-")


def test_wrong_verifier_is_refused(sandbox: Sandbox, base_url: str) -> None:
    creds = sandbox.credentials
    oauth = OAuth1Session(
        creds.consumer_key, client_secret=creds.consumer_secret, callback_uri="oob"
    )
    token = oauth.fetch_request_token(f"{base_url}/oauth/request_token")["oauth_token"]
    _submit_authorize_page(base_url, token)
    with pytest.raises(ValueError, match=r"."):
        oauth.fetch_access_token(f"{base_url}/oauth/access_token", verifier="0000000")
