"""X's audience rules, against the sandbox over HTTP: X deletes a member by any key it was added
with (two members sharing a phone number), forgets a member 13 months after it was sent (a fake
clock), and a snapshot that would remove too many members is stopped before anything is sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.audience_helpers import (
    ACCOUNT,
    Snapshots,
    client_for,
    members,
    settings,
    sha,
    user_requests,
)
from tests.support.stores import opened_store
from xconduit.app import build_gateway
from xconduit.audiences.runner import AudienceRunner
from xconduit.audiences.snapshot import ShrinkingSnapshot
from xconduit.config import Settings
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox, Seed, SeedAccount, serve_sandbox
from xconduit.sandbox.audiences import months_later
from xconduit.sandbox.seed import DEFAULT_USER_ID
from xconduit.serving import serve_in_thread
from xconduit.xads import XAdsClient

FAMILY_PHONE = "+14155550100"
BOTH = {"email": "email", "phone_number": "phone"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AudienceStore]:
    with opened_store(request.param, tmp_path) as opened:
        yield opened


def person(name: str, phone: str | None = None) -> dict[str, str | None]:
    return {"email": f"{name}@example.com", "phone": phone}


def user(name: str, phone: str | None = None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = [("email", (sha(f"{name}@example.com"),))]
    if phone is not None:
        found.append(("phone_number", (sha(phone),)))
    return tuple(sorted(found))


def test_removing_one_of_two_members_sharing_a_phone_keeps_the_other_at_x(
    store: AudienceStore, sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    everyone = [person("ann", FAMILY_PHONE), person("bob", FAMILY_PHONE)]
    everyone += [person(n) for n in ("cy", "dee", "eve")]
    snaps.rows = everyone
    client = Recording(client_for(sandbox, base_url, http))
    run = AudienceRunner(
        settings=settings(identifiers=BOTH, max_shrink=0.5),
        store=store,
        client=client,
        snapshots=snaps,
        workdir=tmp_path,
    )
    report = run.sync("vip")
    audience_id = report.record.audience_id
    assert len(members(sandbox, audience_id)) == report.members == 5

    snaps.rows = everyone[1:]  # ann leaves; bob, who shares her phone number, stays
    report = run.sync("vip")
    left = {user("bob", FAMILY_PHONE), user("cy"), user("dee"), user("eve")}
    assert members(sandbox, audience_id) == left
    assert report.members == 4
    assert client.deleted() == [{"email": [sha("ann@example.com")]}]

    again = run.sync("vip")  # X and xconduit agree: nothing to send
    assert again.diff is not None
    assert (again.diff.entering, again.diff.exiting, again.members) == (0, 0, 4)
    assert members(sandbox, audience_id) == left

    snaps.rows = everyone[2:]  # bob leaves too: no member holds the phone number any more
    report = run.sync("vip")
    assert members(sandbox, audience_id) == {user("cy"), user("dee"), user("eve")}
    assert client.deleted() == [
        {"email": [sha("bob@example.com")], "phone_number": [sha(FAMILY_PHONE)]}
    ]


def test_an_exit_whose_every_identifier_another_member_holds_is_not_sent_and_is_counted(
    store: AudienceStore, sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    everyone = [{"email": None, "phone": FAMILY_PHONE}, person("bob", FAMILY_PHONE)]
    everyone += [person(n) for n in ("cy", "dee", "eve")]
    snaps.rows = everyone
    run = AudienceRunner(
        settings=settings(identifiers=BOTH),
        store=store,
        client=client_for(sandbox, base_url, http),
        snapshots=snaps,
        workdir=tmp_path,
    )
    audience_id = run.sync("vip").record.audience_id
    sent = len(user_requests(sandbox))

    snaps.rows = everyone[1:]  # the phone-only member leaves: a Delete would take bob too
    report = run.sync("vip")
    assert report.sent.unsent == 1
    assert len(user_requests(sandbox)) == sent  # nothing went to X
    assert user("bob", FAMILY_PHONE) in members(sandbox, audience_id)
    assert report.members == 4


def test_members_x_lost_to_an_older_removal_are_sent_again(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    """Members of an outbox from before this version have no send time: the next run sends
    them again, which gives back those an older removal took from X ("unchanged" no more)."""
    snaps = Snapshots()
    snaps.rows = [person("bob", FAMILY_PHONE), person("cy")]
    client = client_for(sandbox, base_url, http)
    run = AudienceRunner(
        settings=settings(identifiers=BOTH),
        store=SqliteStore(tmp_path / "outbox.db"),
        client=client,
        snapshots=snaps,
        workdir=tmp_path,
    )
    audience_id = run.sync("vip").record.audience_id
    # An older xconduit removed ann (who is gone from the outbox) by her email and the family's
    # phone number: X deleted bob with her.
    client.audience_users(
        ACCOUNT,
        audience_id,
        [
            {
                "operation_type": "Delete",
                "params": {"users": [{"phone_number": [sha(FAMILY_PHONE)]}]},
            }
        ],
    )
    assert members(sandbox, audience_id) == {user("cy")}
    with sqlite3.connect(tmp_path / "outbox.db") as conn:  # what migration 0009 leaves
        conn.execute("UPDATE audience_members SET sent_at = NULL")

    report = run.sync("vip")
    assert report.diff is not None
    assert (report.diff.entering, report.diff.exiting) == (0, 0)
    assert report.refreshed == 2
    assert members(sandbox, audience_id) == {user("bob", FAMILY_PHONE), user("cy")}
    assert run.sync("vip").refreshed == 0


class Recording:
    """The X client, keeping the operations of each audience-users request."""

    def __init__(self, client: XAdsClient) -> None:
        self._client = client
        self.sent: list[list[dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def audience_users(self, account_id: str, audience_id: str, operations: Any) -> Any:
        self.sent.append(orjson.loads(orjson.dumps(operations)))
        return self._client.audience_users(account_id, audience_id, operations)

    def deleted(self) -> list[dict[str, Any]]:
        """The users of the last request's Delete."""
        (delete,) = [op for op in self.sent[-1] if op["operation_type"] == "Delete"]
        return list(delete["params"]["users"])


def test_members_are_sent_again_before_x_forgets_them(tmp_path: Path) -> None:
    now = [1_767_268_800.0]  # 2026-01-01 12:00:00 UTC

    def clock() -> float:
        return now[0]

    sb = Sandbox(seed=Seed(accounts=(SeedAccount(id=ACCOUNT, name="Expiry"),)), clock=clock)
    snaps = Snapshots()
    snaps.set_emails(["ann@example.com", "bob@example.com"])
    with serve_sandbox(sb) as url, httpx.Client(timeout=10.0) as http:
        run = AudienceRunner(
            settings=settings(),
            store=SqliteStore(tmp_path / "outbox.db"),
            client=client_for(sb, url, http, clock=clock),
            snapshots=snaps,
            workdir=tmp_path,
            clock=clock,
        )
        start = now[0]
        audience_id = run.sync("vip").record.audience_id
        now[0] = months_later(start, 11)
        assert run.sync("vip").refreshed == 0  # not yet
        now[0] = months_later(start, 12) + 86_400
        report = run.sync("vip")
        assert report.diff is not None
        assert (report.diff.entering, report.diff.exiting, report.refreshed) == (0, 0, 2)

        now[0] = months_later(start, 13) + 86_400  # X forgot what it got a year ago
        assert len(members(sb, audience_id)) == 2
        assert run.sync("vip").refreshed == 0
        now[0] = months_later(start, 25) + 86_400  # a year and more without a run: all gone
        assert members(sb, audience_id) == set()


def test_a_snapshot_removing_too_many_members_stops_before_sending_and_is_a_problem(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    audience = settings().audiences[0].model_dump(mode="json", exclude_none=True)
    config = Settings.model_validate(
        {"server": {"store": f"sqlite:///{tmp_path}/outbox.db"}, "audiences": [audience]}
    )
    snaps = Snapshots()
    snaps.set_emails([f"user{n}@example.com" for n in range(10)])
    run = AudienceRunner(
        settings=config,
        store=SqliteStore(tmp_path / "outbox.db"),
        client=client_for(sandbox, base_url, http),
        snapshots=snaps,
        workdir=tmp_path,
    )
    audience_id = run.sync("vip").record.audience_id
    sent = len(user_requests(sandbox))

    snaps.set_emails(["user0@example.com"])  # a broken upstream table: 1 row
    with pytest.raises(ShrinkingSnapshot) as refused:
        run.sync("vip")
    assert "would remove 9 of the 10 members" in str(refused.value)
    assert "--allow-shrink" in str(refused.value)
    assert "max_shrink" in str(refused.value)
    assert len(user_requests(sandbox)) == sent
    assert len(members(sandbox, audience_id)) == 10
    assert run.store.audience_pending("vip") == (0, None)

    gateway = build_gateway(config, workdir=tmp_path, delivery=False)
    with serve_in_thread(gateway.app, host="127.0.0.1") as url:
        page = httpx.get(url + "/").text
        banner = page[page.index('id="alarm"') : page.index("</ul>", page.index('id="alarm"'))]
        assert "audience vip: the snapshot would remove 9 of the 10 members" in banner

        report = run.sync("vip", allow_shrink=True)
        assert report.members == len(members(sandbox, audience_id)) == 1
        assert "audience vip:" not in httpx.get(url + "/").text
    gateway.stop()


def test_serve_does_not_compare_again_while_requests_wait_for_x(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    now = [1_767_268_800.0]
    reads: list[float] = []

    class Counting(Snapshots):
        def __call__(self, audience: object) -> Any:
            reads.append(now[0])
            return super().__call__(audience)

    snaps = Counting()
    snaps.set_emails([f"user{n}@example.com" for n in range(10)])
    run = AudienceRunner(
        settings=settings(schedule="1h", flush_interval=60),
        store=SqliteStore(tmp_path / "outbox.db"),
        client=client_for(sandbox, base_url, http),
        snapshots=snaps,
        workdir=tmp_path,
        clock=lambda: now[0],
    )
    audience_id = run.sync("vip").record.audience_id
    snaps.set_emails([f"user{n}@example.com" for n in range(11)])
    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("CAMPAIGN_ANALYST",))  # may not write
    for _ in range(3):  # compared, flushed, refused: the request waits
        now[0] += 3600
        run.tick()
        now[0] += 60
        run.tick()
    assert len(reads) == 2  # the first run's, and one in serve: later ones wait for the request
    assert run.store.active_audience_jobs("audience:vip") == 1

    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("AD_MANAGER",))
    run.sender.pauses.resume(ACCOUNT)
    now[0] += 3600
    run.tick()  # the request goes first
    run.tick()  # then the comparison: nothing new
    assert len(reads) == 3
    assert members(sandbox, audience_id) == {
        (("email", (sha(f"user{n}@example.com"),)),) for n in range(11)
    }
    added = [u["users"] for u in sandbox.audience_uploads() if u["audience_id"] == audience_id]
    assert added == [10, 1]
