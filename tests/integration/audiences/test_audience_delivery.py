"""Audience lifecycle and delivery against the sandbox over HTTP: crash safety, X's limits,
count mismatches, suppression."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.audience_helpers import (
    ACCOUNT,
    Snapshots,
    client_for,
    emails_as_members,
    members,
    runner,
    settings,
    sha,
    user_requests,
)
from xconduit.audiences import flush as flushing
from xconduit.audiences.runner import AudienceRunner
from xconduit.outbox import JobStatus
from xconduit.outbox.audience_jobs import AudienceChange
from xconduit.sandbox import Sandbox
from xconduit.sandbox.seed import DEFAULT_USER_ID
from xconduit.xads import Audience, XAdsClient


def emails(start: int, stop: int) -> list[str]:
    return [f"user{n}@example.com" for n in range(start, stop)]


class CrashAfterCreate:
    """X creates the audience, then the process dies before recording its id."""

    def __init__(self, client: XAdsClient) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_audience(self, *args: Any, **kwargs: Any) -> Audience:
        self._client.create_audience(*args, **kwargs)
        raise SystemExit("killed after X answered")


def test_a_crash_after_x_created_the_audience_does_not_create_a_second(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 120))
    client = client_for(sandbox, base_url, http)
    crashing = runner(settings(), tmp_path / "outbox.db", CrashAfterCreate(client), snaps)  # type: ignore[arg-type]
    with pytest.raises(SystemExit):
        crashing.sync("vip")
    assert crashing.store.audience_record("vip") is None

    report = runner(settings(), tmp_path / "outbox.db", client, snaps).sync("vip")

    ours = [a for a in sandbox.audiences() if a["name"].startswith("xconduit vip ")]
    assert [a["id"] for a in ours] == [report.record.audience_id]
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 120))


def test_a_configured_audience_id_is_used_and_none_is_created(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    client = client_for(sandbox, base_url, http)
    existing = client.create_audience("18ce552mlaq", "Customers LTV > 1000")
    snaps = Snapshots()
    snaps.set_emails(emails(0, 10))
    report = runner(settings(audience_id=existing.id), tmp_path / "outbox.db", client, snaps).sync(
        "vip"
    )
    assert report.record.audience_id == existing.id
    assert len(sandbox.audiences()) == 1
    assert members(sandbox, existing.id) == emails_as_members(emails(0, 10))


@pytest.mark.slow
def test_six_thousand_changes_go_out_within_x_limits(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 6000))
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    report = run.sync("vip")
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 6000))
    uploads = sandbox.audience_uploads()
    assert uploads
    assert all(u["operations"] <= 2500 and u["bytes"] <= 5_000_000 for u in uploads)
    assert sum(u["users"] for u in uploads) == 6000
    assert report.sent.success_count == report.sent.total_count == 6000

    snaps.set_emails(emails(3000, 9000))  # 3,000 exit, 3,000 enter: one Delete, one Update
    report = run.sync("vip", allow_shrink=True)
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(3000, 9000))


def test_a_count_mismatch_from_x_is_sent_again(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 30))
    sandbox.faults.schedule("audience_users", ["mismatch:2", "200"])
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    report = run.sync("vip")
    assert report.sent.retried == 1
    assert report.sent.accepted == 1
    assert report.sent.dead == 0
    assert len(user_requests(sandbox)) == 2
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 30))
    assert report.members == 30
    vip = (("audience", "vip"),)
    assert counters(run) == {("audience_retried", vip): 1, ("audience_users_added", vip): 30}


def test_a_suppressed_user_is_removed_and_never_added_again(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 5))
    client = client_for(sandbox, base_url, http)
    report = runner(settings(), tmp_path / "outbox.db", client, snaps).sync("vip")
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 5))

    suppressed = settings()
    suppressed = suppressed.model_copy(
        update={
            "suppression": suppressed.suppression.model_copy(
                update={"hashed_identifiers": [sha("user2@example.com").upper()]}
            )
        }
    )
    run = runner(suppressed, tmp_path / "outbox.db", client, snaps)
    for _ in range(2):
        report = run.sync("vip")
        expected = [e for e in emails(0, 5) if e != "user2@example.com"]
        assert members(sandbox, report.record.audience_id) == emails_as_members(expected)


def test_a_request_x_refuses_is_a_dead_letter_in_the_dlq(
    sandbox: Sandbox,
    base_url: str,
    http: httpx.Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="xconduit.x")
    snaps = Snapshots()
    snaps.set_emails(emails(0, 3))
    client = client_for(sandbox, base_url, http)
    run = runner(settings(), tmp_path / "outbox.db", client, snaps)
    run.sync("vip")

    # A user object X refuses (400: not an identifier type), as an older gateway could queue.
    change = AudienceChange(audience="vip", user_key="u-old", op="add", payload=b'{"fax":["1"]}')
    run.store.enqueue_audience_changes([change], now=time.time())
    audience = run.audience("vip")
    flushing.flush(run.store, audience, run.ensure(audience), now=time.time())
    assert run.deliver("vip")
    sent = run.sender.stats["vip"]
    assert sent.dead == 1
    assert sent.last_error is not None
    assert "400" in sent.last_error
    (dead,) = run.store.list_dead(destination="audience:vip")  # type: ignore[attr-defined]
    assert dead.conversion_id == "1 added, 0 removed"
    assert run.store.audience_member_count("vip") == 3  # X never took it
    vip = (("audience", "vip"),)
    assert counters(run) == {
        ("audience_users_added", vip): 3,
        ("audience_dead", (("audience", "vip"), ("reason", "INVALID_PARAMETER"))): 1,
    }
    # One log line per request to X, as for conversions: status, users, latency.
    lines = [r.x_request for r in caplog.records if hasattr(r, "x_request")]
    assert [(x["endpoint"], x["status"], x["users"]) for x in lines] == [
        ("audience_users", "200", 3),
        ("audience_users", "400", 1),
    ]
    assert all(x["latency_ms"] >= 0 for x in lines)


def counters(run: AudienceRunner) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The audience counters in the store (what /metrics shows)."""
    rows = run.store.counter_totals()  # type: ignore[attr-defined]
    return {(r.name, tuple(sorted(r.labels.items()))): r.value for r in rows}


def test_refused_credentials_hold_the_changes_until_the_account_is_resumed(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    """A 401/403 is not the changes' fault: they wait (pending), none is dead-lettered."""
    snaps = Snapshots()
    snaps.set_emails(emails(0, 3))
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    run.sync("vip")
    snaps.set_emails(emails(0, 5))
    audience = run.audience("vip")
    record = run.ensure(audience)
    run.snapshot(audience)
    assert flushing.flush(run.store, audience, record, now=time.time()) == 1

    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("CAMPAIGN_ANALYST",))  # may not write
    assert run.deliver("vip") is False  # held: it does not wait for the pause to end
    assert run.store.list_dead() == []  # type: ignore[attr-defined]
    assert run.store.counts()["audience:vip"] == {JobStatus.DELIVERED: 1, JobStatus.PENDING: 1}
    assert [p.account_id for p in run.sender.pauses.paused()] == [ACCOUNT]
    assert run.sender.stats["vip"].refused is not None
    assert "ACTION_NOT_ALLOWED" in run.sender.stats["vip"].refused

    sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("AD_MANAGER",))
    run.sender.pauses.resume(ACCOUNT)  # what a passing setup check does
    assert run.deliver("vip") is True
    assert members(sandbox, record.audience_id) == emails_as_members(emails(0, 5))
    assert run.store.list_dead() == []  # type: ignore[attr-defined]


def test_a_created_audience_is_named_prefix_name_and_utc_time(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 3))
    client = client_for(sandbox, base_url, http)
    noon = 1_767_268_800.0  # 2026-01-01 12:00:00 UTC
    run = runner(settings(prefix="acme"), tmp_path / "outbox.db", client, snaps, clock=lambda: noon)
    report = run.sync("vip")
    assert report.record.x_name == "acme vip 20260101_120000"
    assert [a["name"] for a in sandbox.audiences()] == ["acme vip 20260101_120000"]


def test_a_change_x_never_took_is_sent_again_by_the_next_sync(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    config = settings()
    config = config.model_copy(
        update={"delivery": config.delivery.model_copy(update={"retry_window": 1.0})}
    )
    now = [1_767_268_800.0]

    def clock() -> float:
        now[0] += 2.0  # every failure is past the retry window: dead at once
        return now[0]

    snaps = Snapshots()
    snaps.set_emails(emails(0, 3))
    client = client_for(sandbox, base_url, http)
    run = runner(config, tmp_path / "outbox.db", client, snaps, clock=clock)
    run.sync("vip")

    snaps.set_emails(emails(0, 4))
    sandbox.faults.schedule("audience_users", ["500"])
    report = run.sync("vip")
    assert report.sent.dead == 1
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 3))

    report = run.sync("vip")  # compared with what X took, not with the previous snapshot
    assert report.diff is not None
    assert report.diff.entering == 1
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 4))


def test_a_rate_limited_request_waits_for_the_reset_and_is_sent_again(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails(emails(0, 10))
    sandbox.faults.schedule("audience_users", ["429:reset=1"])
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    report = run.sync("vip")
    assert (report.sent.retried, report.sent.accepted, report.sent.dead) == (1, 1, 0)
    assert report.sent.last_error is not None
    assert "429" in report.sent.last_error
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 10))


def test_an_audience_gone_while_changes_wait_is_said_once_and_recreate_sends_them(
    sandbox: Sandbox,
    base_url: str,
    http: httpx.Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """serve's loop: X answers 404 for the audience; the changes wait (no dead letter), the
    problem is logged once and noted; `--recreate` sends them and every member to a new one."""
    snaps = Snapshots()
    snaps.set_emails(emails(0, 3))
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    old = run.sync("vip").record.audience_id
    sandbox.reset()  # X forgot the audience
    snaps.set_emails(emails(0, 4))  # compared by serve's schedule: one change waits to be sent
    audience = run.audience("vip")
    run.snapshot(audience)
    assert flushing.flush(run.store, audience, run.ensure(audience), now=time.time()) == 1

    caplog.set_level(logging.ERROR, logger="xconduit.audiences")
    for _ in range(3):
        run.tick(["vip"])
    said = [r.getMessage() for r in caplog.records if "does not know" in r.getMessage()]
    assert len(said) == 1
    assert f"custom audience {old}" in said[0]
    assert "--recreate" in said[0]
    assert len(user_requests(sandbox)) == 1  # one 404, then nothing until recreated
    assert run.store.list_dead(destination="audience:vip") == []  # type: ignore[attr-defined]
    record = run.store.audience_record("vip")
    assert record is not None
    assert "--recreate" in (record.problem or "")

    report = run.sync("vip", recreate=True)
    assert report.record.audience_id != old
    assert report.record.problem is None
    assert members(sandbox, report.record.audience_id) == emails_as_members(emails(0, 4))
    assert run.store.list_dead(destination="audience:vip") == []  # type: ignore[attr-defined]
