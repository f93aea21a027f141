"""Every error class and every sandbox fault, seen through XAdsClient over loopback HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.xads_sandbox_helpers import ACCOUNT, PIXEL, conversion, credentials_of, sha
from xconduit.errors import (
    AuthError,
    FatalDeliveryError,
    RateLimited,
    RetriableDeliveryError,
)
from xconduit.sandbox import RateLimit, Sandbox, serve_sandbox
from xconduit.xads import OAuth1Auth, XAdsClient


def statuses(sandbox: Sandbox, suffix: str) -> list[object]:
    return [r["status"] for r in sandbox.requests() if r["path"].endswith(suffix)]


def test_scheduled_500s_then_success(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("conversions", [500, 500, 200])
    for _ in range(2):
        with pytest.raises(RetriableDeliveryError) as caught:
            client.send_conversions(PIXEL, [conversion()])
        assert type(caught.value) is RetriableDeliveryError
        assert caught.value.status == 500
        assert caught.value.errors[0].code == "INTERNAL_ERROR"
    assert client.send_conversions(PIXEL, [conversion()]).processed == 1
    assert statuses(sandbox, PIXEL) == [500, 500, 200]
    assert len(sandbox.conversions()) == 1


def test_503_without_retry_after_is_plain_retriable(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("conversions", [503])
    with pytest.raises(RetriableDeliveryError) as caught:
        client.send_conversions(PIXEL, [conversion()])
    assert type(caught.value) is RetriableDeliveryError
    assert caught.value.status == 503
    assert caught.value.errors[0].code == "SERVICE_UNAVAILABLE"


def test_503_with_retry_after_gives_a_time(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("conversions", ["503:retry-after=7"])
    before = time.time()
    with pytest.raises(RateLimited) as caught:
        client.send_conversions(PIXEL, [conversion()])
    assert caught.value.status == 503
    assert before + 7 <= caught.value.retry_at <= time.time() + 7


def test_429_fault_uses_the_reset_header(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("audience_users", ["429:reset=30"])
    audience = client.create_audience(ACCOUNT, "limited")
    op = {"operation_type": "Update", "params": {"users": [{"email": [sha("a@x.test")]}]}}
    before = time.time()
    with pytest.raises(RateLimited) as caught:
        client.audience_users(ACCOUNT, audience.id, [op])
    assert caught.value.status == 429
    # The sandbox sends int(now + 30) as epoch seconds.
    assert int(before + 30) - 1 <= caught.value.retry_at <= time.time() + 30


def test_real_rate_limit_budget(http: httpx.Client) -> None:
    sb = Sandbox(rate_limit=RateLimit(conversion_events=3, window_seconds=600))
    with serve_sandbox(sb) as url:
        client = XAdsClient(http=http, credentials=credentials_of(sb), base_url=url)
        assert client.send_conversions(PIXEL, [conversion(1), conversion(2)]).processed == 2
        before = time.time()
        with pytest.raises(RateLimited) as caught:
            client.send_conversions(PIXEL, [conversion(3), conversion(4)])
    assert before + 590 <= caught.value.retry_at <= time.time() + 601
    assert [c["conversion_id"] for c in sb.conversions()] == ["order-1", "order-2"]


def test_slow_answer_times_out(sandbox: Sandbox, base_url: str) -> None:
    sandbox.faults.schedule("conversions", ["slow:1.5"])
    with httpx.Client(timeout=httpx.Timeout(0.3)) as http:
        client = XAdsClient(http=http, credentials=credentials_of(sandbox), base_url=base_url)
        with pytest.raises(RetriableDeliveryError) as caught:
            client.send_conversions(PIXEL, [conversion()])
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)
    assert "may or may not have arrived" in str(caught.value)
    # It did arrive, once X finished: wait for it, so it cannot land in the next test's sandbox.
    deadline = time.monotonic() + 10
    while not sandbox.conversions() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c["conversion_id"] for c in sandbox.conversions()] == ["order-0"]


def test_slow_answer_within_timeout_is_delivered(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("conversions", ["slow:0.3"])
    assert client.send_conversions(PIXEL, [conversion()]).processed == 1


def test_dropped_connection(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("conversions", ["drop"])
    with pytest.raises(RetriableDeliveryError) as caught:
        client.send_conversions(PIXEL, [conversion()])
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert sandbox.conversions() == []


def test_dropped_after_handling_means_it_may_have_arrived(
    sandbox: Sandbox, client: XAdsClient
) -> None:
    sandbox.faults.schedule("conversions", ["drop:after"])
    with pytest.raises(RetriableDeliveryError):
        client.send_conversions(PIXEL, [conversion(5)])
    # The error says "may have arrived" because it did: retries rely on conversion_id dedup.
    assert [c["conversion_id"] for c in sandbox.conversions()] == ["order-5"]


def test_audience_count_mismatch(sandbox: Sandbox, client: XAdsClient) -> None:
    audience = client.create_audience(ACCOUNT, "mismatch")
    sandbox.faults.schedule("audience_users", ["mismatch:2"])
    ops = [
        {"operation_type": "Update", "params": {"users": [{"email": [sha(f"{i}@x.test")]}]}}
        for i in range(5)
    ]
    result = client.audience_users(ACCOUNT, audience.id, ops)
    assert (result.success_count, result.total_count, result.sent_users) == (3, 5, 5)
    assert result.matched is False
    assert client.audience_users(ACCOUNT, audience.id, ops).matched  # resend: counts match


@pytest.mark.parametrize(
    "override",
    [
        {"consumer_secret": "wrong-consumer-secret"},
        {"access_token_secret": "wrong-token-secret"},
        {"access_token": "1000000001-not-a-token"},
    ],
    ids=["consumer-secret", "token-secret", "token"],
)
def test_wrong_credentials_are_auth_errors(
    sandbox: Sandbox, base_url: str, http: httpx.Client, override: dict[str, str]
) -> None:
    creds = credentials_of(sandbox, **override)
    client = XAdsClient(http=http, credentials=creds, base_url=base_url)
    with pytest.raises(AuthError) as caught:
        client.send_conversions(PIXEL, [conversion()])
    assert caught.value.status == 401
    assert caught.value.errors[0].code == "UNAUTHORIZED_ACCESS"
    assert sandbox.conversions() == []


def test_clock_skew_is_an_auth_error(sandbox: Sandbox, base_url: str, http: httpx.Client) -> None:
    creds = credentials_of(sandbox)
    skewed = OAuth1Auth(creds, clock=lambda: time.time() - 3600)
    client = XAdsClient(http=http, credentials=creds, base_url=base_url, auth=skewed)
    with pytest.raises(AuthError):
        client.accounts()


def test_oauth_endpoints_refuse_a_wrong_consumer_secret(
    sandbox: Sandbox, base_url: str, http: httpx.Client
) -> None:
    creds = credentials_of(sandbox, consumer_secret="wrong")
    client = XAdsClient(http=http, credentials=creds, base_url=base_url, oauth_base_url=base_url)
    with pytest.raises(AuthError) as caught:
        client.request_token("https://app.example/cb")
    assert caught.value.errors[0].code == "32"  # api.x.com's numeric code, as a string


def test_oauth_fault_is_retriable(sandbox: Sandbox, client: XAdsClient) -> None:
    sandbox.faults.schedule("oauth", [500])
    with pytest.raises(RetriableDeliveryError):
        client.request_token("https://app.example/cb")


def test_validation_errors_are_fatal_with_x_details(sandbox: Sandbox, client: XAdsClient) -> None:
    bad = conversion(conversion_time="2024-05-01 12:00:00")
    with pytest.raises(FatalDeliveryError) as caught:
        client.send_conversions(PIXEL, [bad])
    assert not isinstance(caught.value, AuthError)
    assert caught.value.status == 400
    assert caught.value.errors[0].code == "INVALID_PARAMETER"
    assert caught.value.errors[0].parameter == "conversion_time"


def test_invalid_hash_is_not_echoed(sandbox: Sandbox, client: XAdsClient) -> None:
    raw = "jane.doe@example.com"  # a bug upstream forgot to hash: it must not reach our errors
    bad = conversion(identifiers=[{"hashed_email": raw}])
    with pytest.raises(FatalDeliveryError) as caught:
        client.send_conversions(PIXEL, [bad])
    assert caught.value.status == 400
    assert raw not in str(caught.value)
    assert all(raw not in e.message for e in caught.value.errors)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda c: c.send_conversions("nopix", [conversion()]), "NOT_FOUND"),
        (lambda c: c.get_audience(ACCOUNT, "nosuch"), None),
        (lambda c: c.authenticated_user_access("nosuchaccount"), "NOT_FOUND"),
    ],
    ids=["unknown-pixel", "unknown-audience", "no-access-to-account"],
)
def test_not_found_is_fatal_not_auth(client: XAdsClient, call: object, code: str | None) -> None:
    with pytest.raises(FatalDeliveryError) as caught:
        call(client)  # type: ignore[operator]
    assert not isinstance(caught.value, AuthError)
    assert caught.value.status == 404
    if code is not None:
        assert caught.value.errors[0].code == code


def test_unknown_route_is_fatal(sandbox: Sandbox, base_url: str, http: httpx.Client) -> None:
    client = XAdsClient(
        http=http, credentials=credentials_of(sandbox), base_url=base_url, version="9"
    )
    with pytest.raises(FatalDeliveryError) as caught:
        client.accounts()
    assert caught.value.status == 404


def test_probability_faults_are_all_classified(sandbox: Sandbox, client: XAdsClient) -> None:
    # Half the requests fail with a mix of faults; every call either delivers or raises one of
    # the retriable classes, never anything else.
    for fault in ("500", "503", "503:retry-after=1", "429:reset=1"):
        sandbox.faults.set_probability("conversions", fault, 0.15)
    outcomes: dict[str, int] = {}
    for n in range(40):
        try:
            client.send_conversions(PIXEL, [conversion(n)])
            name = "delivered"
        except RetriableDeliveryError as exc:
            name = type(exc).__name__
        outcomes[name] = outcomes.get(name, 0) + 1
    assert outcomes.get("delivered", 0) == len(sandbox.conversions())
    assert set(outcomes) <= {"delivered", "RetriableDeliveryError", "RateLimited"}
    assert sum(outcomes.values()) == 40
