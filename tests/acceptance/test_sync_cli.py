"""`xconduit sync` in a subprocess: kill -9 mid-run then a rerun delivers every valid row exactly
once; the demo (serve with the built-in sandbox) runs a scheduled sync and `--wait` follows it;
exit codes and one-line causes."""

from __future__ import annotations

import csv
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from xconduit.sandbox import RateLimit, Sandbox, serve_sandbox

DESTINATION = """
[[conversions]]
name = "shop"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = { "Order Completed" = "tw-oka17-ol288" }
"""
SYNC = """
[[syncs]]
name = "orders"
destination = "shop"
source = "{source}"
cursor = "ts"
event = "Order Completed"
columns = {{ email = "email", value = "total", conversion_id = "order_id", conversion_time = "ts" }}
batch_rows = {batch_rows}
{extra}
"""
# Recent: a conversion more than 90 days old is not sent (xconduit.delivery.expiry).
T0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}


def _sync(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xconduit", "sync", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _orders(path: Path, start: int, count: int) -> tuple[set[str], set[str]]:
    """A Parquet file of orders; (valid ids, invalid ids): every 50th email and every 70th
    total break a rule."""
    ids = [f"ord-{i}" for i in range(start, start + count)]
    emails = [
        f"buyer{i}@example.com" if i % 50 else f"buyer{i}.example.com"
        for i in range(start, start + count)
    ]
    totals = [f"{i % 300}.25" if i % 70 else "n/a" for i in range(start, start + count)]
    times = [T0 + timedelta(seconds=i) for i in range(start, start + count)]
    pq.write_table(pa.table({"order_id": ids, "email": emails, "total": totals, "ts": times}), path)
    bad = {f"ord-{i}" for i in range(start, start + count) if i % 50 == 0 or i % 70 == 0}
    return set(ids) - bad, bad


def _jobs(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("select count(*) from delivery_jobs").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def _reported(folder: Path) -> set[str]:
    ids: set[str] = set()
    for path in folder.glob("orders-rejected-*.csv"):
        with path.open(newline="") as handle:
            ids |= {line["conversion_id"] for line in csv.DictReader(handle)}
    return ids


@pytest.mark.slow
def test_kill_9_mid_sync_then_a_rerun_delivers_every_valid_row_exactly_once(tmp_path: Path) -> None:
    valid, invalid = _orders(tmp_path / "orders.parquet", 1, 20_000)
    sandbox = Sandbox(rate_limit=RateLimit(conversion_events=None))
    creds = sandbox.credentials
    with serve_sandbox(sandbox) as url:
        (tmp_path / "x.toml").write_text(
            f'[x]\napi = "{url}"\nconsumer_key = "{creds.consumer_key}"\n'
            f'consumer_secret = "{creds.consumer_secret}"\naccess_token = "{creds.access_token}"\n'
            f'access_token_secret = "{creds.access_token_secret}"\n'
            "[delivery]\nevents_per_window = 1000000\n"
            + DESTINATION
            + SYNC.format(source="orders.parquet", batch_rows=500, extra="")
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "xconduit", "sync", "orders", "-c", "x.toml"],
            cwd=tmp_path,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        db = tmp_path / ".xconduit" / "xconduit.db"
        deadline = time.monotonic() + 60
        while _jobs(db) == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        committed = _jobs(db)
        assert 0 < committed < len(valid), "the kill did not land mid-run"

        rerun = _sync(tmp_path, "orders", "-c", "x.toml", "--wait")
        assert rerun.returncode == 0, rerun.stderr
        assert "already sent" in rerun.stdout or "conversions enqueued" in rerun.stdout
        assert re.search(r"delivered [\d,]+, dead 0", rerun.stdout), rerun.stdout
        assert "delivering from this command" in rerun.stderr  # no serve/worker was alive

        sent = [c["conversion_id"] for c in sandbox.conversions()]
    assert len(sent) == len(valid)  # nothing twice
    assert set(sent) == valid  # nothing lost
    assert _reported(tmp_path / ".xconduit" / "reports") == invalid


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, Path, set[str]]]:
    """`xconduit serve` with the built-in sandbox and an hourly sync of a file already there."""
    first, _ = _orders(tmp_path / "orders-1.parquet", 1, 300)
    (tmp_path / "x.toml").write_text(
        '[x]\napi = "sandbox"\n'
        + DESTINATION
        + SYNC.format(source="orders-*.parquet", batch_rows=1000, extra='schedule = "1h"')
    )
    env = _env() | {"XCONDUIT_SERVER__LISTEN": "127.0.0.1:0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "serve", "-c", "x.toml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = None
    for line in proc.stdout:
        if found := re.search(r"listening on (http://\S+)", line):
            url = found.group(1)
            break
    assert url
    try:
        yield url, tmp_path, first
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _sandbox_ids(url: str, count: int, timeout: float = 30) -> list[str]:
    deadline = time.monotonic() + timeout
    ids: list[str] = []
    while time.monotonic() < deadline:
        ids = [c["conversion_id"] for c in httpx.get(f"{url}/_sandbox/conversions").json()["data"]]
        if len(ids) >= count:
            break
        time.sleep(0.1)
    return ids


@pytest.mark.slow
def test_the_demo_serve_runs_the_schedule_and_sync_wait_follows_delivery(
    demo: tuple[str, Path, set[str]],
) -> None:
    url, folder, first = demo
    # serve runs the scheduled sync at start: the rows appear in its sandbox by themselves.
    assert sorted(_sandbox_ids(url, len(first))) == sorted(first)
    second, _ = _orders(folder / "orders-2.parquet", 1000, 200)
    done = _sync(folder, "orders", "-c", "x.toml", "--wait")
    assert done.returncode == 0, done.stderr
    assert "delivering from this command" not in done.stderr  # serve delivers
    ids = _sandbox_ids(url, len(first | second))
    assert sorted(ids) == sorted(first | second)


def test_exit_codes_and_one_line_causes(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text(
        DESTINATION + SYNC.format(source="missing.parquet", batch_rows=10, extra="")
    )
    missing = _sync(tmp_path, "orders", "-c", "x.toml")
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0
    assert "missing.parquet: no such file" in missing.stderr

    unknown = _sync(tmp_path, "nope", "-c", "x.toml")
    assert unknown.returncode == 1
    assert 'no sync is named "nope"' in unknown.stderr

    (tmp_path / "pg.toml").write_text(
        DESTINATION
        + SYNC.format(
            source="postgresql://u:hunter2@127.0.0.1:1/db",
            batch_rows=10,
            extra='query = "select 1"',
        )
    )
    unreachable = _sync(tmp_path, "orders", "-c", "pg.toml")
    assert unreachable.returncode == 1
    assert "cannot connect" in unreachable.stderr
    assert "hunter2" not in unreachable.stderr

    _orders(tmp_path / "orders.parquet", 1, 60)
    (tmp_path / "ok.toml").write_text(
        DESTINATION + SYNC.format(source="orders.parquet", batch_rows=10, extra="")
    )
    dry = _sync(tmp_path, "orders", "-c", "ok.toml", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = [line for line in dry.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 10
    assert '"outcome":"conversion"' in lines[0]
    assert "(dry run)" in dry.stdout
    assert _jobs(tmp_path / ".xconduit" / "xconduit.db") == 0

    (tmp_path / "bad.toml").write_text(
        DESTINATION
        + SYNC.format(
            source="orders.parquet", batch_rows=10, extra='query = "select nope from source"'
        )
    )
    bad = _sync(tmp_path, "orders", "-c", "bad.toml")
    assert bad.returncode == 1
    assert "nope" in bad.stderr

    ran = _sync(tmp_path, "orders", "-c", "ok.toml")
    assert ran.returncode == 0  # rejected rows do not fail the run
    assert re.search(r"rejected\s+│\s+1\b", ran.stdout), ran.stdout


def test_wait_with_the_built_in_sandbox_needs_serve(tmp_path: Path) -> None:
    _orders(tmp_path / "orders.parquet", 1, 10)
    (tmp_path / "x.toml").write_text(
        '[x]\napi = "sandbox"\n'
        + DESTINATION
        + SYNC.format(source="orders.parquet", batch_rows=10, extra="")
    )
    waited = _sync(tmp_path, "orders", "-c", "x.toml", "--wait")
    assert waited.returncode == 1
    assert "xconduit serve" in waited.stderr
    assert waited.stderr.strip().count("\n") == 0
    assert _jobs(tmp_path / ".xconduit" / "xconduit.db") == 0  # refused before reading a row


@pytest.mark.slow
def test_watch_runs_again_on_the_schedule_until_interrupted(tmp_path: Path) -> None:
    first, _ = _orders(tmp_path / "orders-1.parquet", 1, 20)
    (tmp_path / "x.toml").write_text(
        DESTINATION + SYNC.format(source="orders-*.parquet", batch_rows=10, extra='schedule = "1s"')
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "sync", "orders", "-c", "x.toml", "--watch"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / ".xconduit" / "xconduit.db"
    deadline = time.monotonic() + 60
    while _jobs(db) < len(first) and time.monotonic() < deadline:
        time.sleep(0.05)
    second, _ = _orders(tmp_path / "orders-2.parquet", 100, 5)
    while _jobs(db) < len(first | second) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert _jobs(db) == len(first | second)
    assert out.count("sync orders → shop") >= 2


def test_no_raw_email_or_phone_reaches_the_outbox_its_wal_or_the_output(tmp_path: Path) -> None:
    # `xconduit sync` writes in bulk, with a WAL of its own size: every file of the store, the
    # command's output and the report must hold hashes and redactions only, on the template
    # path (plain rows) and on the mapping core's (phones, free text); the "every" sync maps
    # every column a sync has, each holding an email address or a phone number inside other
    # text (`ORDER:<email>`, a user agent with an address in it, product ids).
    email, phone = "Zelda.Quux+leak@Example.com", "+1 415 555 0137"
    national = "(415) 555-0137"
    rows = [
        {
            "order_id": f"ord-{i}",
            "email": email if i % 2 else f"x{i}.{email}",
            "phone": phone,
            "total": f"{i}.50",
            "ts": f"2026-03-01T09:{i:02d}:00Z",
            "note": f"call {phone} or {email}",
            "inner_id": f"ORDER:{i}:{email}" if i % 2 else f"ord{i} {national}",
            "agent": f"Mozilla/5.0 (probe; {email}; {phone}) Chrome/120.0.6099.109",
            "ip": "203.0.113.9" if i % 3 else f"ip {email}",
            "click": f"tw {phone}",
            "currency": "EUR",
            "items": "2",
            "kind": "Order Completed",
            "products": (
                f'[{{"content_id": "pid {email}", "content_group_id": "grp {national}", '
                f'"content_name": "Mug for {email}", "content_type": "call {phone}", '
                f'"content_price": 3, "num_items": 2}}]'
            ),
        }
        for i in range(1, 40)
    ]
    bad = {**rows[0], "order_id": "ord-bad", "total": email, "inner_id": f"bad {national}"}
    rows.append(bad)  # a rejected row: the report holds its id hashed, its value masked
    worse = [  # rejected by the "every" sync only, one rule each
        {**bad, "inner_id": f"bad2 {email}", "total": "1", "currency": f"EUR {email}"},
        {**bad, "inner_id": f"bad4 {email}", "total": "1", "products": f"[{email}"},
        {**bad, "inner_id": f"bad5 {email}", "total": "1", "ts": f"2026 {phone}"},
    ]
    for name, table in (("orders.csv", rows), ("every.csv", rows + worse)):
        with (tmp_path / name).open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(table)
    plain = SYNC.format(source="orders.csv", batch_rows=7, extra="")
    full = (
        '[[syncs]]\nname = "full"\ndestination = "shop"\nsource = "orders.csv"\n'
        'event = "Order Completed"\nbatch_rows = 7\ncolumns = { email = "email", '
        'phone = "phone", value = "total", conversion_id = "order_id", conversion_time = "ts", '
        'description = "note" }\n'
    )
    every = (
        '[[syncs]]\nname = "every"\ndestination = "shop"\nsource = "every.csv"\n'
        'event_column = "kind"\nbatch_rows = 7\ncolumns = { email = "email", '
        'phone = "phone", twclid = "click", ip_address = "ip", user_agent = "agent", '
        'value = "total", currency = "currency", conversion_id = "inner_id", '
        'number_items = "items", description = "note", contents = "products", '
        'conversion_time = "ts" }\n'
    )
    (tmp_path / "x.toml").write_text(DESTINATION + plain + full + every)
    db = tmp_path / ".xconduit" / "xconduit.db"
    outputs = []
    reader: sqlite3.Connection | None = None
    try:
        for name in ("orders", "full", "every"):
            run = _sync(tmp_path, name, "-c", "x.toml")
            assert run.returncode == 0, run.stderr
            outputs += [run.stdout, run.stderr]
            if reader is None:  # held open: the WAL outlives the next command
                reader = sqlite3.connect(db)
                reader.execute("select count(*) from delivery_jobs").fetchone()
        assert reader is not None
        assert reader.execute("select count(*) from delivery_jobs").fetchone()[0] == 3 * 39
        redacted = "select count(*) from delivery_jobs where cast(payload as text) like ?"
        described = reader.execute(redacted, ("%call [phone] or [email]%",)).fetchone()[0]
        assert described == 2 * 39  # the free text went to X, redacted
        agents = reader.execute(redacted, ("%(probe; [email]; [phone]) Chrome/120%",)).fetchone()
        assert agents[0] == 39  # the user agent too, its version numbers kept
        sent = "select cast(payload as text) from delivery_jobs where cast(payload as text) like ?"
        payload = reader.execute(sent, ('%"conversion_id":"' + _sha("ORDER:1:" + email) + '"%',))
        assert payload.fetchone() is not None  # an id with personal data: its SHA-256
        files = {p.name: p.read_bytes() for p in db.parent.rglob("*") if p.is_file()}
    finally:
        if reader is not None:
            reader.close()
    assert any(name.endswith("-wal") for name in files)
    reports = [data.decode() for name, data in files.items() if name.startswith("every-rejected")]
    assert len(reports) == 1
    assert _sha(f"bad2 {email}") in reports[0]  # found in the warehouse by its hashed id
    blobs = [*files.values(), *(text.encode() for text in outputs)]
    for raw in ("zelda", "Zelda", "555 0137", "5550137", "555-0137"):
        assert not [b for b in blobs if raw.encode() in b], raw


def test_the_summary_says_why_rows_were_not_sent_or_read(tmp_path: Path) -> None:
    row = "o-1,a@example.com,10.00,2026-03-01 09:00:00\n"
    (tmp_path / "orders.csv").write_text(
        "order_id,email,total,ts\n"
        + row
        + "o-2,b@example.com,10.00,2099-01-01 00:00:00\n"
        + row  # the same line twice: repeated, not "already sent" by an earlier run
        + 'o-3,"c@example.com,10.00,2026-03-01 09:01:00\n'
    )
    (tmp_path / "x.toml").write_text(
        DESTINATION + SYNC.format(source="orders.csv", batch_rows=10, extra="")
    )
    ran = _sync(tmp_path, "orders", "-c", "x.toml")
    assert ran.returncode == 0, ran.stderr
    out = " ".join(ran.stdout.split())  # the table may wrap a note over lines
    assert re.search(r"repeated │ 1 \(equal to an earlier row of this run\)", out), out
    assert "already sent" not in out
    assert re.search(r"rejected │ 2 — ", out), out
    assert "1 rows rejected for their ts value" in out
    assert "1 lines of the file are no rows" in out

    fresh = tmp_path / "fresh"  # a new outbox: the sync's first run
    fresh.mkdir()
    (fresh / "db.toml").write_text(
        DESTINATION
        + SYNC.format(
            source="sqlite:///shop.db",
            batch_rows=10,
            extra='query = "select * from orders where ts > :cursor"',
        )
    )
    with sqlite3.connect(fresh / "shop.db") as conn:
        conn.execute("create table orders (order_id text, email text, total text, ts text)")
        conn.execute("insert into orders values ('o-9', 'z@example.com', '1', '2026-03-01')")
    nothing = _sync(fresh, "orders", "-c", "db.toml")
    assert nothing.returncode == 0, nothing.stderr
    said = " ".join(nothing.stdout.split())
    assert "read 0 rows: :cursor is NULL on the first run" in said
    assert "where :cursor is null or ts > :cursor" in said


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()
