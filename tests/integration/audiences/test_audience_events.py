"""Event-fed audiences through the collector over HTTP: changes coalesce per user and flush on
size and on time (a controllable clock), then reach the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.audience_helpers import (
    ACCOUNT,
    client_for,
    emails_as_members,
    members,
    user_requests,
)
from xconduit.app import build_gateway
from xconduit.audiences.runner import AudienceRunner
from xconduit.config import Settings
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox
from xconduit.serving import serve_in_thread

KEY = "wk_audience_events"


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_268_800.0

    def __call__(self) -> float:
        return self.now


def event_settings(**audience: Any) -> Settings:
    return Settings.model_validate(
        {
            "sources": [{"name": "app", "write_keys": [KEY]}],
            "audiences": [
                {
                    "name": "vip",
                    "account_id": ACCOUNT,
                    "identifiers": {"email": "email"},
                    "trait": "vip",
                    "flush_users": 3,
                    "flush_interval": "5m",
                    **audience,
                }
            ],
            "delivery": {"retry_min": 0.01, "retry_max": 0.02},
        }
    )


class Feed:
    """A gateway on loopback, its outbox, and a runner on the same outbox."""

    def __init__(self, url: str, runner: AudienceRunner, clock: Clock) -> None:
        self.url, self.runner, self.clock = url, runner, clock

    def send(self, *events: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}/v1/batch", json={"batch": list(events)}, auth=(KEY, ""))
        assert response.status_code == 200, response.text
        assert response.json().get("rejected", []) == []

    def tick(self) -> None:
        self.runner.tick()
        self.runner.deliver("vip")


@pytest.fixture
def feed(
    request: pytest.FixtureRequest,
    sandbox: Sandbox,
    base_url: str,
    http: httpx.Client,
    tmp_path: Path,
) -> Iterator[Feed]:
    settings = getattr(request, "param", None) or event_settings()
    clock = Clock()
    store = SqliteStore(tmp_path / "outbox.db")
    gateway = build_gateway(settings, store=store, delivery=False, clock=clock)
    gateway.start()
    runner = AudienceRunner(
        settings=settings, store=store, client=client_for(sandbox, base_url, http), clock=clock
    )
    try:
        with serve_in_thread(gateway.app, name="audience-events") as url:
            yield Feed(url, runner, clock)
    finally:
        gateway.stop()


def entered(user: str, email: str | None = None, *, exited: bool = False) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": user,
        "event": "Audience Exited" if exited else "Audience Entered",
        "properties": {"audience_key": "vip"},
        "context": {"traits": {"email": email or f"{user}@example.com"}},
    }


def identify(user: str, vip: Any) -> dict[str, Any]:
    return {
        "type": "identify",
        "userId": user,
        "traits": {"email": f"{user}@example.com", "vip": vip},
    }


def audience_id(sandbox: Sandbox) -> str:
    (only,) = [a["id"] for a in sandbox.audiences() if a["name"].startswith("xconduit vip ")]
    return str(only)


def test_changes_flush_when_flush_users_are_pending(feed: Feed, sandbox: Sandbox) -> None:
    feed.send(entered("ann"), entered("bob"))
    feed.tick()
    assert user_requests(sandbox) == []

    feed.send(entered("cy"), {**entered("other"), "properties": {"audience_key": "someone else"}})
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(
        ["ann@example.com", "bob@example.com", "cy@example.com"]
    )
    assert len(user_requests(sandbox)) == 1


def test_changes_flush_flush_interval_after_the_oldest(feed: Feed, sandbox: Sandbox) -> None:
    feed.send(entered("ann"))
    feed.clock.now += 200
    feed.send(identify("bob", True))
    feed.tick()
    feed.clock.now += 99
    feed.tick()
    assert user_requests(sandbox) == []

    feed.clock.now += 1  # 300 s after ann's change
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(
        ["ann@example.com", "bob@example.com"]
    )


def test_an_add_then_a_remove_in_one_window_sends_nothing(feed: Feed, sandbox: Sandbox) -> None:
    feed.send(entered("ann"), entered("ann", exited=True), identify("bob", True))
    feed.send(identify("bob", False), identify("cy", "yes"), entered("dee"), entered("dee"))
    feed.clock.now += 300
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(["dee@example.com"])
    assert sandbox.audience_uploads()[0]["users"] == 1

    # A member who exits is removed, by the identifiers it was added with.
    feed.send(entered("dee", "new-address@example.com", exited=True))
    feed.clock.now += 300
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == set()


@pytest.mark.parametrize(
    "feed",
    [
        event_settings(flush_users=1).model_copy(
            update={
                "suppression": event_settings().suppression.model_copy(update={"user_ids": ["bob"]})
            }
        )
    ],
    indirect=True,
)
def test_a_suppressed_user_is_never_added(feed: Feed, sandbox: Sandbox) -> None:
    feed.send(entered("bob"), entered("ann"))
    feed.clock.now += 300
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(["ann@example.com"])


def test_an_event_without_a_usable_identifier_is_reported(feed: Feed) -> None:
    bad = {**entered("ann"), "context": {"traits": {"email": "not-an-email"}}}
    response = httpx.post(f"{feed.url}/v1/batch", json={"batch": [bad]}, auth=(KEY, ""))
    assert response.status_code == 200
    assert response.json()["invalid"] == [
        {
            "index": 0,
            "messageId": response.json()["invalid"][0]["messageId"],
            "destination": "audience:vip",
            "reason": "no usable identifier (email not valid)",
        }
    ]


def test_serve_removes_members_suppressed_since_they_were_added(
    feed: Feed, sandbox: Sandbox
) -> None:
    feed.send(entered("ann"), entered("bob"))
    feed.clock.now += 300
    feed.tick()
    both = emails_as_members(["ann@example.com", "bob@example.com"])
    assert members(sandbox, audience_id(sandbox)) == both

    # bob is put on the suppression list and serve restarts: no snapshot will revisit him.
    settings = event_settings()
    settings = settings.model_copy(
        update={"suppression": settings.suppression.model_copy(update={"user_ids": ["bob"]})}
    )
    restarted = AudienceRunner(
        settings=settings, store=feed.runner.store, client=feed.runner.client, clock=feed.clock
    )
    restarted.tick()
    feed.clock.now += 300
    restarted.tick()
    restarted.deliver("vip")
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(["ann@example.com"])


def test_event_fed_changes_keep_only_hashed_identifiers(
    feed: Feed, sandbox: Sandbox, tmp_path: Path
) -> None:
    feed.send(entered("ann", "ann.secret@example.com"), identify("bob", True))
    feed.clock.now += 300
    feed.tick()
    assert len(members(sandbox, audience_id(sandbox))) == 2
    feed.send(entered("cy", "cy.secret@example.com"))  # one change left pending

    kept = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert kept
    assert b"secret@example.com" not in kept
    assert b"bob@example.com" not in kept


def test_an_exit_carrying_only_the_user_id_removes_the_member(feed: Feed, sandbox: Sandbox) -> None:
    feed.send(entered("ann"), entered("bob"), identify("cy", True))
    feed.clock.now += 300
    feed.tick()
    assert len(members(sandbox, audience_id(sandbox))) == 3

    only_ids = [
        {
            "type": "track",
            "userId": "ann",
            "event": "Audience Exited",
            "properties": {"audience_key": "vip"},
        },
        {"type": "identify", "userId": "cy", "traits": {"vip": False}},
        {  # never a member: nothing to remove, nothing refused
            "type": "track",
            "userId": "dee",
            "event": "Audience Exited",
            "properties": {"audience_key": "vip"},
        },
    ]
    response = httpx.post(f"{feed.url}/v1/batch", json={"batch": only_ids}, auth=(KEY, ""))
    assert response.status_code == 200, response.text
    assert response.json().get("invalid", []) == []
    feed.clock.now += 300
    feed.tick()
    assert members(sandbox, audience_id(sandbox)) == emails_as_members(["bob@example.com"])
    assert feed.runner.store.audience_member_count("vip") == 1
