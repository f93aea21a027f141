"""`audiences sync` from snapshots against the sandbox over HTTP: X ends up with the snapshot."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from audience_helpers import (
    Snapshots,
    client_for,
    emails_as_members,
    members,
    runner,
    settings,
    user_requests,
)

from xconduit.audiences.snapshot import EmptySnapshot
from xconduit.sandbox import Sandbox


def emails(start: int, stop: int) -> list[str]:
    return [f"user{n}@example.com" for n in range(start, stop)]


def test_a_sequence_of_snapshots_leaves_x_equal_to_the_last(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    run = runner(settings(), tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    steps = {
        "grow": emails(0, 150),
        "grow more": emails(0, 400),
        "shrink": emails(100, 300),
        "churn": emails(150, 350),
    }
    for step, current in steps.items():
        snaps.set_emails(current)
        report = run.sync("vip")
        audience_id = report.record.audience_id
        assert members(sandbox, audience_id) == emails_as_members(current), step
        assert report.members == len(current)

    snaps.set_emails([])
    with pytest.raises(EmptySnapshot):
        run.sync("vip")
    assert members(sandbox, audience_id) == emails_as_members(emails(150, 350))

    report = run.sync("vip", allow_empty=True)
    assert members(sandbox, audience_id) == set()
    assert report.diff is not None
    assert report.diff.exiting == 200


def test_a_rerun_and_a_restart_send_nothing_new(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails([*emails(0, 50), " USER3@example.com ", "not-an-email"])
    client = client_for(sandbox, base_url, http)
    first = runner(settings(), tmp_path / "outbox.db", client, snaps)
    report = first.sync("vip")
    assert report.diff is not None
    assert (report.diff.entering, report.diff.exiting) == (50, 0)
    assert sum(report.diff.rejected.values()) == 1
    assert list(report.diff.rejected) == ["no usable identifier (email not valid)"]
    sent = len(user_requests(sandbox))

    again = first.sync("vip")
    assert again.diff is not None
    assert (again.diff.entering, again.diff.exiting) == (0, 0)
    assert again.diff.unchanged == 50

    first.store.close()  # type: ignore[attr-defined]
    restarted = runner(settings(), tmp_path / "outbox.db", client, snaps)
    after = restarted.sync("vip")
    assert after.record.audience_id == report.record.audience_id
    assert after.diff is not None
    assert after.diff.entering == 0
    assert len(user_requests(sandbox)) == sent
    assert len([a for a in sandbox.audiences() if a["name"].startswith("xconduit vip ")]) == 1
