"""Fixtures for sandbox unit tests: an injectable clock and an OAuth-signing in-process client."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from oauthlib.oauth1 import Client as OAuthClient

from xconduit.sandbox import (
    InProcessTransport,
    RateLimit,
    Sandbox,
    SandboxCredentials,
    Seed,
    SeedAccount,
    SeedAudience,
    SeedEvent,
    SeedPixel,
    SeedUser,
)

START = 1_714_564_800.0  # 2024-05-01T12:00:00Z


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Two accounts so "event of another account" and "no access" can be tested.
SEED = Seed(
    accounts=(
        SeedAccount(
            id="18ce552mlaq",
            name="Shop",
            pixels=(
                SeedPixel(
                    id="oka17",
                    events=(SeedEvent(id="ol288", name="Purchase"), SeedEvent(id="ol289")),
                ),
            ),
            audiences=(SeedAudience(id="1nmth", name="seeded"),),
        ),
        SeedAccount(
            id="18ce55other",
            name="Other",
            pixels=(SeedPixel(id="oth01", events=(SeedEvent(id="ev999"),)),),
        ),
    ),
    users=(
        SeedUser(id="42", screen_name="admin", permissions={"18ce552mlaq": ("ACCOUNT_ADMIN",)}),
        SeedUser(id="43", screen_name="analyst", permissions={"18ce552mlaq": ("ANALYST",)}),
        SeedUser(id="44", screen_name="other", permissions={"18ce55other": ("AD_MANAGER",)}),
    ),
)


class Api:
    """Signs requests like an OAuth 1.0a client would and sends them in-process."""

    def __init__(self, sandbox: Sandbox, client: httpx.Client, clock: Clock) -> None:
        self.sandbox = sandbox
        self.client = client
        self.clock = clock
        self.creds = sandbox.credentials

    def sign(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        creds: SandboxCredentials | None = None,
        timestamp: float | None = None,
        nonce: str | None = None,
    ) -> tuple[str, dict[str, str], str | None]:
        c = creds or self.creds
        signer = OAuthClient(
            c.consumer_key,
            client_secret=c.consumer_secret,
            resource_owner_key=c.access_token,
            resource_owner_secret=c.access_token_secret,
            timestamp=str(int(self.clock() if timestamp is None else timestamp)),
            nonce=nonce,
        )
        url = "http://testserver" + path + ("?" + urlencode(params) if params else "")
        headers = {}
        body = None
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(form)
        uri, signed_headers, signed_body = signer.sign(url, method, body, headers)
        return uri, dict(signed_headers), signed_body

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        json: Any = None,
        creds: SandboxCredentials | None = None,
        timestamp: float | None = None,
    ) -> httpx.Response:
        uri, headers, body = self.sign(
            method, path, params=params, form=form, creds=creds, timestamp=timestamp
        )
        if json is not None:
            headers["Content-Type"] = "application/json"
            body = jsonlib.dumps(json)
        return self.client.request(method, uri, headers=headers, content=body)

    def conversions(self, body: Any, pixel: str = "oka17", **kw: Any) -> httpx.Response:
        return self.call("POST", f"/12/measurement/conversions/{pixel}", json=body, **kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def rate_limit() -> RateLimit:
    return RateLimit(window_seconds=15.0)


@pytest.fixture
def sandbox(clock: Clock, rate_limit: RateLimit) -> Sandbox:
    return Sandbox(seed=SEED, clock=clock, rate_limit=rate_limit)


@pytest.fixture
def api(sandbox: Sandbox, clock: Clock) -> Iterator[Api]:
    transport = InProcessTransport(sandbox.app)
    with httpx.Client(transport=transport, base_url="http://testserver") as client:
        yield Api(sandbox, client, clock)


def _conversion(**overrides: Any) -> dict[str, Any]:
    """A valid conversion; pass a field as None to leave it out."""
    base: dict[str, Any] = {
        "conversion_time": "2024-05-01T12:00:00.000Z",
        "event_id": "tw-oka17-ol288",
        "identifiers": [{"twclid": "23opevjt88psuo13lu8d020qkn"}],
        "conversion_id": "order-1",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture
def conversion() -> Any:
    return _conversion


@pytest.fixture
def make_api() -> Any:
    """Build an `Api` around another client (e.g. an app that mounts the sandbox)."""
    return Api
