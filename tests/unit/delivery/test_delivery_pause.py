"""Which answers of X pause (the account, or one destination) and which dead-letter a conversion;
how destination pauses live beside account pauses; a check run counted in the store makes a
monitor run its checks at once; OAuth's code 32 at request_token names the consumer key."""

from __future__ import annotations

import threading
import time

import pytest

from xconduit.accounts.monitor import SetupMonitor
from xconduit.accounts.tokens import consumer_refused
from xconduit.config import ConversionDestination, Settings, XSettings
from xconduit.delivery.pause import (
    AccountPauses,
    destination_fix,
    held_for_setup,
    refuses_credentials,
    refuses_destination,
)
from xconduit.errors import (
    AuthError,
    DeliveryError,
    FatalDeliveryError,
    RetriableDeliveryError,
    XErrorDetail,
)
from xconduit.outbox.memory import MemoryStore
from xconduit.xads import Audience, UserAccess, WebEventTag


def fatal(
    status: int, code: str | None, message: str, parameter: str | None = None
) -> FatalDeliveryError:
    detail = XErrorDetail(code=code, message=message, parameter=parameter)
    return FatalDeliveryError("x", status=status, errors=(detail,))


# (X's answer, what it pauses: "account" | "destination" | None = the conversion's own fault)
ANSWERS = [
    (AuthError("x", status=401), "account"),
    (AuthError("x", status=403), "account"),
    (fatal(404, "NOT_FOUND", "User 1 does not have access to account a"), "account"),
    (fatal(404, "NOT_FOUND", "pixel_id (zzzzz) was not found"), "destination"),
    (fatal(404, "ROUTE_NOT_FOUND", "The requested resource could not be found"), "destination"),
    (FatalDeliveryError("html 404 page", status=404), "destination"),
    (
        fatal(404, "NOT_FOUND", "event_id (ob100) does not belong to provided account", "event_id"),
        "destination",
    ),
    (
        fatal(400, "NOT_FOUND", "event_id (zz999) does not belong to provided account", "event_id"),
        "destination",
    ),
    (
        fatal(
            400, "INVALID_PARAMETER", "event_id (oka17) is not a single event tag (SET)", "event_id"
        ),
        "destination",
    ),
    (
        fatal(400, "INVALID_PARAMETER", "hashed_email (<hash>) is not a valid SHA-256 hash", "x"),
        None,
    ),
    (fatal(400, "INVALID_PARAMETER", "At least one user identifier must be provided", ""), None),
    (fatal(400, "MISSING_PARAMETER", "Event ID was not found", "event_id"), None),
    (RetriableDeliveryError("x", status=503), None),
]


@pytest.mark.parametrize(("error", "pauses"), ANSWERS)
def test_what_each_answer_pauses(error: DeliveryError, pauses: str | None) -> None:
    found = (
        "account"
        if refuses_credentials(error)
        else "destination"
        if refuses_destination(error)
        else None
    )
    assert found == pauses


def test_held_for_setup_leaves_only_the_conversions_own_errors_dead() -> None:
    pixel = fatal(404, "NOT_FOUND", "pixel_id (zzzzz) was not found")
    bad_hash = fatal(400, "INVALID_PARAMETER", "hashed_email (<hash>) is not valid", "x")
    dead: list[tuple[int, DeliveryError]] = [
        (1, AuthError("x", status=401)),
        (2, pixel),
        (3, bad_hash),
    ]
    account, account_error, destination, destination_error = held_for_setup(dead)
    assert (account, destination) == ([1], [2])
    assert isinstance(account_error, AuthError)
    assert destination_error is pixel
    assert [item for item, _ in dead] == [3]
    assert 'conversion destination "shop": pixel_id' in destination_fix(pixel, destination="shop")


def test_a_destination_pause_holds_that_destination_only() -> None:
    pauses = AccountPauses(probe_after=300)
    pauses.pause("a", "X 404 pixel", now=100, destination="shop", fix="set the pixel")
    assert pauses.until("a", now=200, destination="shop") == 400
    assert pauses.until("a", now=200, destination="blog") is None  # same account, other pixel
    assert pauses.until("a", now=200) is None  # the audiences of the account go on
    (pause,) = pauses.paused()
    assert pause.problem == (
        'delivery to conversion destination "shop" (account a) paused: X 404 pixel; '
        "fix: set the pixel"
    )
    pauses.pause("a", "401", now=150)
    assert pauses.until("a", now=200, destination="blog") == 450  # the account holds all
    pauses.resume("a")  # a passing credentials check does not clear the pixel
    assert pauses.until("a", now=200, destination="shop") == 400
    pauses.resume_destination("shop")
    assert pauses.paused() == []


class PassingX:
    def __init__(self) -> None:
        self.rounds = 0

    def authenticated_user_access(self, account_id: str) -> UserAccess:
        self.rounds += 1
        return UserAccess(user_id="7", permissions=frozenset({"AD_MANAGER"}))

    def web_event_tags(self, account_id: str) -> list[WebEventTag]:
        return [WebEventTag(id="ol288", website_tag_id="oka17", name="Buy", status="TRACKING")]

    def get_audience(self, account_id: str, audience_id: str) -> Audience:
        raise AssertionError("no audience configured")


def test_a_check_run_counted_in_the_store_resumes_a_monitor_s_process_at_once() -> None:
    shop = ConversionDestination(
        name="shop", account_id="18ce552mlaq", pixel_id="oka17", events={"Order Completed": "ol288"}
    )
    store, x, pauses = MemoryStore(), PassingX(), AccountPauses()
    monitor = SetupMonitor(
        settings=Settings(conversions=[shop]),
        client=x,
        pauses=pauses,
        interval=3600,
        runs=store,
        poll=0.05,
    )
    ran = threading.Event()
    monitor.on_change = ran.set
    monitor.start()
    try:
        assert ran.wait(10)  # the round at start
        pauses.pause("18ce552mlaq", "X 404 pixel", now=time.time(), destination="shop")
        ran.clear()
        store.note_check_run(now=time.time())  # `xconduit check`, in another process
        assert ran.wait(10)  # not an hour later
        assert pauses.paused() == []
        assert x.rounds == 2
    finally:
        monitor.stop()


@pytest.mark.parametrize(
    ("api", "oauth_host", "expected"),
    [
        ("sandbox", None, "https://api.x.com"),
        ("https://ads-api.x.com", None, "https://api.x.com"),
        ("https://ads-api.twitter.com", None, "https://api.x.com"),
        ("http://127.0.0.1:9999", None, "http://127.0.0.1:9999"),
        ("http://127.0.0.1:9999", "https://api.x.com/", "https://api.x.com"),
    ],
)
def test_oauth_follows_the_api_unless_set(api: str, oauth_host: str | None, expected: str) -> None:
    assert XSettings(api=api, oauth_host=oauth_host).oauth_url == expected


def test_code_32_at_request_token_names_the_consumer_key() -> None:
    refused = AuthError(
        "oauth/request_token: X answered 401 32: Could not authenticate you.",
        status=401,
        errors=(XErrorDetail(code="32", message="Could not authenticate you."),),
    )
    text = consumer_refused(refused)
    assert "x.consumer_key / x.consumer_secret are likely wrong" in text
    assert "Could not authenticate you." in text
    other = AuthError("oauth/request_token: X answered 401", status=401)
    assert consumer_refused(other) == str(other)
