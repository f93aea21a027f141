"""`audiences sync` from snapshots against the sandbox over HTTP: X ends up with the snapshot."""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import httpx
import pytest

from tests.support.audience_helpers import (
    Snapshots,
    client_for,
    emails_as_members,
    members,
    runner,
    settings,
    sha,
    user_requests,
)
from tests.support.pgtemp import temp_schema
from xconduit.audiences.runner import AudienceRunner
from xconduit.audiences.snapshot import EmptySnapshot
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox


def emails(start: int, stop: int) -> list[str]:
    return [f"user{n}@example.com" for n in range(start, stop)]


def test_a_sequence_of_snapshots_leaves_x_equal_to_the_last(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    config = settings(max_shrink=1.0)  # any shrink: this is about X ending equal
    run = runner(config, tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
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

    first.store.close()
    restarted = runner(settings(), tmp_path / "outbox.db", client, snaps)
    after = restarted.sync("vip")
    assert after.record.audience_id == report.record.audience_id
    assert after.diff is not None
    assert after.diff.entering == 0
    assert len(user_requests(sandbox)) == sent
    assert len([a for a in sandbox.audiences() if a["name"].startswith("xconduit vip ")]) == 1


def test_serve_compares_on_schedule_and_backs_off_after_a_refused_snapshot(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    now = [1_767_268_800.0]
    reads = []

    class Counting(Snapshots):
        def __call__(self, audience: object):
            reads.append(now[0])
            return super().__call__(audience)

    snaps = Counting()
    snaps.set_emails(emails(0, 20))
    run = runner(
        settings(schedule="1h"),
        tmp_path / "outbox.db",
        client_for(sandbox, base_url, http),
        snaps,
        clock=lambda: now[0],
    )
    run.tick()  # compared; the changes wait for flush_interval like any others
    now[0] += 300
    run.tick()
    run.deliver("vip")
    record = run.store.audience_record("vip")
    assert record is not None
    assert members(sandbox, record.audience_id) == emails_as_members(emails(0, 20))

    snaps.set_emails(emails(0, 25))
    now[0] += 1500
    run.tick()  # not due yet
    assert len(reads) == 1

    snaps.set_emails([])
    now[0] += 1800
    run.tick()  # due: an emptying snapshot, refused
    run.tick()
    now[0] += 299
    run.tick()
    assert len(reads) == 2
    assert members(sandbox, record.audience_id) == emails_as_members(emails(0, 20))

    snaps.set_emails(emails(0, 25))
    now[0] += 1
    run.tick()
    now[0] += 300
    run.tick()
    run.deliver("vip")
    assert len(reads) == 3
    assert members(sandbox, record.audience_id) == emails_as_members(emails(0, 25))


def test_only_hashed_identifiers_are_kept(
    sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    snaps = Snapshots()
    snaps.set_emails([*emails(0, 40), "not-an-email"])
    config = settings(max_shrink=1.0)
    run = runner(config, tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    run.sync("vip")
    snaps.set_emails(emails(20, 60))  # pending changes and members both written
    run.sync("vip")
    run.store.close()

    assert (tmp_path / "outbox.db").stat().st_size > 0
    kept = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert b"example.com" not in kept
    assert b"not-an-email" not in kept
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("xconduit-audience-")] == []


def _customers_sqlite(path: Path, rows: list[tuple[str, int]]) -> str:
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE IF NOT EXISTS customers (email TEXT, ltv INTEGER)")
        conn.execute("DELETE FROM customers")
        conn.executemany("INSERT INTO customers VALUES (?, ?)", rows)
    return f"sqlite:///{path}"


def _customers_postgres(url: str, rows: list[tuple[str, int]]) -> str:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS customers (email TEXT, ltv INTEGER)")
        conn.execute("DELETE FROM customers")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO customers VALUES (%s, %s)", rows)
    return url


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_snapshot_from_a_database_query(
    kind: str, sandbox: Sandbox, base_url: str, http: httpx.Client, tmp_path: Path
) -> None:
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            fill = functools.partial(_customers_sqlite, tmp_path / "crm.db")
        else:
            fill = functools.partial(_customers_postgres, stack.enter_context(temp_schema()))
        source = fill([("ann@example.com", 5000), ("bob@example.com", 10)])
        config = settings(
            source=source, query="select email from customers where ltv > 1000", max_shrink=1.0
        )
        client = client_for(sandbox, base_url, http)
        run = AudienceRunner(
            settings=config,
            store=SqliteStore(tmp_path / "outbox.db"),
            client=client,
            workdir=tmp_path,
        )
        report = run.sync("vip")
        assert members(sandbox, report.record.audience_id) == emails_as_members(["ann@example.com"])

        fill([("ann@example.com", 5), ("bob@example.com", 2000)])
        report = run.sync("vip")
        assert members(sandbox, report.record.audience_id) == emails_as_members(["bob@example.com"])
        run.store.close()


IN_EMAIL = "Inside.5151@Audience-Probe.example"
IN_PHONE = "+1 415 555 5151"
AUDIENCE_NEEDLES = ("audience-probe", "inside.5151", "555 5151", "555-5151", "5555151")


def test_personal_data_inside_any_audience_column_never_reaches_the_store_or_x(
    sandbox: Sandbox,
    base_url: str,
    http: httpx.Client,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every identifier column holds an email address or a phone number inside other text; the
    # one key X takes in the clear (`partner_user_id`) is sent as its SHA-256 then, on the SQL
    # path and on the Python path alike (the non-ASCII row).
    keys = ("email", "phone_number", "handle", "twitter_id", "device_id", "partner_user_id")
    rows = [
        {
            "email": f"mail {IN_EMAIL}",
            "phone_number": f"call {IN_PHONE}",
            "handle": f"@h {IN_EMAIL}",
            "twitter_id": f"tw {IN_PHONE}",
            "device_id": f"dev {IN_EMAIL}",
            "partner_user_id": partner,
        }
        for partner in (f"crm:{IN_EMAIL}", f"crm {IN_PHONE}", "crmé (415) 555-5151", "crm-42")
    ]
    snaps = Snapshots()
    snaps.rows = rows
    config = settings(identifiers={k: k for k in keys})
    caplog.set_level("DEBUG")
    run = runner(config, tmp_path / "outbox.db", client_for(sandbox, base_url, http), snaps)
    audience_id = run.sync("vip").record.audience_id
    run.store.close()

    found = sandbox.audience_members(audience_id) or []
    partners = {value for member in found for value in member.get("partner_user_id", [])}
    assert partners == {*(sha(row["partner_user_id"]) for row in rows[:3]), "crm-42"}
    sent = f"{sandbox.audience_uploads()} {found}".lower()
    kept = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()).lower()
    logs = "\n".join(caplog.messages).lower()
    for needle in AUDIENCE_NEEDLES:
        assert needle not in sent, needle
        assert needle.encode() not in kept, needle
        assert needle not in logs, needle
