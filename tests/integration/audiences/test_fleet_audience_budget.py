"""Two processes syncing audiences of one ad account on one store share X's audience limit: X (a
sandbox on loopback enforcing a small limit) never answers 429, and every member arrives."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fleet import environment
from xconduit.sandbox import RateLimit, Sandbox, Seed, SeedAccount, serve_sandbox

pytestmark = pytest.mark.slow

ACCOUNT = "18ce552mlaq"
LIMIT = 3
WINDOW = 2.0
PER_PROCESS = 4
"""Audiences each process syncs, one request each, one after the other: a burst of requests."""

RUNNER = """
import sys
from pathlib import Path
from xconduit.app import build_audiences, x_client
from xconduit.config import load_settings
from xconduit.outbox.open import open_store

settings = load_settings(sys.argv[1])
store = open_store(settings.server.store, busy_timeout=settings.server.busy_timeout)
runner = build_audiences(
    settings, store=store, client=x_client(settings, sandbox=None), workdir=Path(sys.argv[1]).parent
)
for name in sys.argv[2:]:
    sent = runner.sync(name, timeout=120).sent
    print(name, sent.accepted, sent.retried, sent.dead, flush=True)
"""


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    limits = RateLimit(audience_requests=LIMIT, audience_window_seconds=WINDOW)
    sb = Sandbox(seed=Seed(accounts=(SeedAccount(id=ACCOUNT, name="Fleet"),)), rate_limit=limits)
    with serve_sandbox(sb) as url:
        yield sb, url


def names(process: int) -> list[str]:
    return [f"p{process}_a{i}" for i in range(PER_PROCESS)]


def emails(name: str) -> list[str]:
    return [f"{name}_{i}@example.com" for i in range(3)]


def write_config(folder: Path, sb: Sandbox, url: str, store: str) -> Path:
    c = sb.credentials
    text = f"""
[server]
store = "{store}"

[x]
api = "{url}"
oauth_host = "{url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"
access_token = "{c.access_token}"
access_token_secret = "{c.access_token_secret}"

[delivery]
audience_requests_per_window = {LIMIT}
audience_window = "{WINDOW}s"
retry_min = "1s"
retry_max = "2s"
"""
    for name in names(0) + names(1):
        (folder / f"{name}.csv").write_text("email\n" + "\n".join(emails(name)) + "\n")
        text += f"""
[[audiences]]
name = "{name}"
account_id = "{ACCOUNT}"
source = "{name}.csv"
identifiers = {{ email = "email" }}
"""
    config = folder / "xconduit.toml"
    config.write_text(text)
    return config


def run_two_processes(folder: Path, store: str, sb: Sandbox, url: str) -> None:
    config = write_config(folder, sb, url, store)
    # The store's tables exist before the two processes race to open it.
    subprocess.run(
        [sys.executable, "-m", "xconduit", "audiences", "list", "-c", str(config)],
        env=environment(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RUNNER, str(config), *names(p)],
            cwd=folder,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in (0, 1)
    ]
    deadline = time.monotonic() + 240
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        outputs.append(out)
        assert proc.returncode == 0, out

    too_many = [r for r in sb.requests() if r.get("status") == 429]
    assert too_many == [], outputs
    audiences = {a["name"].split(" ")[1]: a["id"] for a in sb.audiences()}
    for name in names(0) + names(1):
        members = sb.audience_members(audiences[name]) or []
        assert {m["email"][0] for m in members} == {
            hashlib.sha256(e.encode()).hexdigest() for e in emails(name)
        }, name


def test_two_processes_on_one_sqlite_file_share_the_audience_limit(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    run_two_processes(tmp_path, f"sqlite:///{tmp_path / 'outbox.db'}", sb, url)


@pytest.mark.postgres
def test_two_processes_on_one_postgresql_schema_share_the_audience_limit(
    served: tuple[Sandbox, str], tmp_path: Path, pg_url: str
) -> None:
    sb, url = served
    run_two_processes(tmp_path, pg_url, sb, url)
