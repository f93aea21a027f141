"""`xconduit audiences sync|list` in a subprocess against a sandbox on loopback, from a CSV."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xconduit.extras import install_command
from xconduit.sandbox import Sandbox, Seed, SeedAccount, serve_sandbox
from xconduit.sandbox.seed import DEFAULT_USER_ID

ACCOUNT = "18ce552mlaq"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Sandbox, str]]:
    sb = Sandbox(seed=Seed(accounts=(SeedAccount(id=ACCOUNT, name="CLI"),)))
    with serve_sandbox(sb) as url:
        yield sb, url


def write_config(folder: Path, sb: Sandbox, url: str, extra: str = "") -> Path:
    c = sb.credentials
    config = folder / "xconduit.toml"
    config.write_text(
        f"""
[server]
store = "sqlite:///{folder / "outbox.db"}"

[x]
api = "{url}"
oauth_host = "{url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"
access_token = "{c.access_token}"
access_token_secret = "{c.access_token_secret}"

[[audiences]]
name = "vip"
account_id = "{ACCOUNT}"
source = "customers.csv"
query = "select email from source where lifetime_value > 1000"
identifiers = {{ email = "email" }}
{extra}
"""
    )
    return config


def xconduit(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    return subprocess.run(
        [sys.executable, "-m", "xconduit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=folder,
        env={**env, "COLUMNS": "200"},
    )


def customers(folder: Path, rows: list[tuple[str, int]]) -> None:
    lines = ["email,lifetime_value", *(f"{e},{v}" for e, v in rows)]
    (folder / "customers.csv").write_text("\n".join(lines) + "\n")


def test_sync_then_list_then_an_emptying_snapshot_is_refused(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    sb.reset()  # the module's sandbox: another test may have run on it first
    config = str(write_config(tmp_path, sb, url))
    customers(tmp_path, [("ann@example.com", 5000), ("bob@example.com", 10), ("cy@x.org", 2000)])

    done = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config)
    assert done.returncode == 0, done.stderr
    (audience,) = [a for a in sb.audiences() if a["name"].startswith("xconduit vip ")]
    assert f"{audience['name']} ({audience['id']})" in done.stdout
    summary = {
        " ".join(line.strip("│ ").split("│")[0].split()): line.split("│")[-2].strip()
        for line in done.stdout.splitlines()
        if line.count("│") == 3
    }
    assert summary["entering"] == "2"
    assert summary["exiting"] == "0"
    assert summary["unchanged"] == "0"
    assert summary["rejected"] == "0"
    assert summary["requests sent"] == "1 (1 accepted, 0 retried)"
    assert summary["X's counts"] == "2 of 2 (2 sent)"
    hashed = {m["email"][0] for m in sb.audience_members(audience["id"]) or []}
    assert hashed == {
        hashlib.sha256(e.encode()).hexdigest() for e in ("ann@example.com", "cy@x.org")
    }

    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    assert listed.returncode == 0, listed.stderr
    (row,) = [line for line in listed.stdout.splitlines() if audience["id"] in line]
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert cells[:5] == ["vip", audience["id"], audience["name"], "2", "0"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[5])  # last flush (UTC)

    customers(tmp_path, [("ann@example.com", 1), ("cy@x.org", 2)])
    refused = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "--allow-empty" in refused.stderr
    assert len(sb.audience_members(audience["id"]) or []) == 2

    emptied = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config, "--allow-empty")
    assert emptied.returncode == 0, emptied.stderr
    assert sb.audience_members(audience["id"]) == []


def test_an_unknown_audience_is_one_line_and_exit_1(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    config = str(write_config(tmp_path, sb, url))
    done = xconduit(tmp_path, "audiences", "sync", "nope", "-c", config)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "xconduit audiences: no audience is named 'nope' in [[audiences]] (vip)"
    ]


def test_a_user_who_may_not_write_keeps_the_changes_and_is_told(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    sb.reset()
    config = str(write_config(tmp_path, sb, url))
    customers(tmp_path, [("ann@example.com", 5000)])
    assert xconduit(tmp_path, "audiences", "sync", "vip", "-c", config).returncode == 0
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    (audience,) = [a for a in sb.audiences() if a["id"] in listed.stdout]

    customers(tmp_path, [("ann@example.com", 5000), ("bob@example.com", 3000)])
    sb.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("CAMPAIGN_ANALYST",))
    try:
        runs = [xconduit(tmp_path, "audiences", "sync", "vip", "-c", config) for _ in range(2)]
    finally:
        sb.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("ACCOUNT_ADMIN",))
    for done in runs:  # twice: the second run queues nothing new
        assert done.returncode == 1
        assert "X refused the credentials" in done.stderr
        assert "1 change(s) wait in the outbox" in done.stderr
        assert "xconduit check" in done.stderr
    dead = xconduit(tmp_path, "dlq", "list", "-c", config)
    assert "audience:vip" not in dead.stdout  # nothing dead: the change waits
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    (row,) = [line for line in listed.stdout.splitlines() if audience["id"] in line]
    assert [cell.strip() for cell in row.split("│")[1:-1]][3:5] == ["1", "1"]  # members, pending

    again = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config)
    assert again.returncode == 0, again.stderr
    hashed = {m["email"][0] for m in sb.audience_members(audience["id"]) or []}
    assert hashed == {
        hashlib.sha256(e.encode()).hexdigest() for e in ("ann@example.com", "bob@example.com")
    }
    accepted = [u for u in sb.audience_uploads() if u["audience_id"] == audience["id"]]
    assert [u["users"] for u in accepted] == [1, 1]  # ann, then bob once
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    (row,) = [line for line in listed.stdout.splitlines() if audience["id"] in line]
    assert [cell.strip() for cell in row.split("│")[1:-1]][3:5] == ["2", "0"]


def test_a_snapshot_that_would_remove_most_members_stops_and_says_how_to_go_on(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    sb.reset()
    config = str(write_config(tmp_path, sb, url))
    rows = [(f"user{n}@example.com", 5000) for n in range(10)]
    customers(tmp_path, rows)
    assert xconduit(tmp_path, "audiences", "sync", "vip", "-c", config).returncode == 0
    (audience,) = [a for a in sb.audiences() if a["name"].startswith("xconduit vip ")]

    customers(tmp_path, rows[:1])  # a broken upstream table: one row
    refused = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config)
    assert refused.returncode == 1
    assert "would remove 9 of the 10 members" in refused.stderr
    assert "--allow-shrink" in refused.stderr
    assert "max_shrink" in refused.stderr
    assert len(sb.audience_members(audience["id"]) or []) == 10
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    assert "would remove 9 of the 10 members" in listed.stderr
    assert listed.stderr.count("audience vip:") == 1, listed.stderr  # named once, not twice

    allowed = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config, "--allow-shrink")
    assert allowed.returncode == 0, allowed.stderr
    assert len(sb.audience_members(audience["id"]) or []) == 1
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    assert "would remove" not in listed.stdout + listed.stderr


def test_watch_compares_again_on_the_schedule_until_interrupted(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    sb.reset()
    config = str(
        write_config(tmp_path, sb, url, 'schedule = "1s"\nflush_interval = "1s"\nmax_shrink = 1.0')
    )
    customers(tmp_path, [("ann@example.com", 5000)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    watching = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "audiences", "sync", "vip", "-c", config, "--watch"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def hashed_members() -> set[str]:
            ours = [a for a in sb.audiences() if a["name"].startswith("xconduit vip ")]
            found = sb.audience_members(ours[0]["id"]) if len(ours) == 1 else None
            return {m["email"][0] for m in found or []}

        def wait_for(emails: set[str]) -> None:
            want = {hashlib.sha256(e.encode()).hexdigest() for e in emails}
            deadline = time.monotonic() + 60
            while hashed_members() != want and time.monotonic() < deadline:
                assert watching.poll() is None, watching.communicate()
                time.sleep(0.2)
            assert hashed_members() == want, f"X has not got {sorted(emails)} after 60 s"

        wait_for({"ann@example.com"})
        customers(tmp_path, [("ann@example.com", 1), ("bob@example.com", 5000)])
        wait_for({"bob@example.com"})
    finally:
        watching.send_signal(signal.SIGINT)
        _, err = watching.communicate(timeout=30)
    assert watching.returncode == 0, err
    assert "watching vip" in err


def _watch(folder: Path, config: str, *, ignoring_sigint: bool = False) -> subprocess.Popen[str]:
    """`audiences sync vip --watch` (stderr to `stderr.txt`), returned once it says it watches.
    `ignoring_sigint`: started with SIGINT ignored, as a background job of a script is (bash
    ignores SIGINT in it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    ignore = "signal.signal(signal.SIGINT, signal.SIG_IGN); " if ignoring_sigint else ""
    main = f"import runpy, signal; {ignore}runpy.run_module('xconduit', run_name='__main__')"
    with (folder / "stderr.txt").open("w") as err:
        watching = subprocess.Popen(
            [sys.executable, "-c", main, "audiences", "sync", "vip", "-c", config, "--watch"],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
    deadline = time.monotonic() + 120
    while "watching vip" not in (folder / "stderr.txt").read_text():
        assert watching.poll() is None, (folder / "stderr.txt").read_text()
        assert time.monotonic() < deadline, "not watching after 120 s"
        time.sleep(0.05)
    return watching


def _interrupt(watching: subprocess.Popen[str], folder: Path) -> tuple[int, list[str]]:
    """SIGINT; the exit status and what stderr said after "watching" (30 s ends a hang, it is
    not a speed claim)."""
    watching.send_signal(signal.SIGINT)
    try:
        watching.wait(timeout=30)
    except subprocess.TimeoutExpired:
        watching.kill()
        watching.wait()
        raise AssertionError("the watch did not stop within 30 s of SIGINT") from None
    said = (folder / "stderr.txt").read_text().split("watching vip; Ctrl-C to stop\n", 1)[-1]
    return watching.returncode, said.splitlines()


def test_ctrl_c_stops_a_watch_started_with_sigint_ignored(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    """Python raises no KeyboardInterrupt when SIGINT was ignored at start: the watch handles
    the signal itself, as `sync --watch` and `serve` do."""
    sb, url = served
    sb.reset()
    config = str(write_config(tmp_path, sb, url, 'schedule = "1s"\nflush_interval = "1s"'))
    customers(tmp_path, [("ann@example.com", 5000)])
    assert _interrupt(_watch(tmp_path, config, ignoring_sigint=True), tmp_path) == (
        0,
        ["stopped watching vip"],
    )


@pytest.mark.slow
def test_ctrl_c_during_a_comparison_lets_it_end_then_stops(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    """SIGINT while a round compares a large snapshot (its DuckDB folder exists in the working
    folder): the round ends, its changes queued, then the watch stops cleanly. Cut short, the
    round queued nothing, or DuckDB turned the KeyboardInterrupt into a RuntimeError and a
    traceback."""
    sb, url = served
    sb.reset()
    config = str(
        write_config(tmp_path, sb, url, 'schedule = "1s"\nflush_interval = "1s"\nmax_shrink = 1.0')
    )
    customers(tmp_path, [("ann@example.com", 5000)])
    watching = _watch(tmp_path, config)
    big = tmp_path / "big"
    big.mkdir()
    customers(big, [(f"user{n}@example.com", 5000) for n in range(300_000)])
    (big / "customers.csv").replace(tmp_path / "customers.csv")  # the next round reads it all
    before = set(tmp_path.glob("xconduit-audience-*"))  # a round that began before, if any
    deadline = time.monotonic() + 120
    while not set(tmp_path.glob("xconduit-audience-*")) - before:  # a round is comparing
        assert watching.poll() is None
        assert time.monotonic() < deadline, "no comparison began in 120 s"
        time.sleep(0.01)
    stopped = _interrupt(watching, tmp_path)
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    (row,) = [line for line in listed.stdout.splitlines() if line.startswith("│ vip ")]
    sent, pending = (int(c.strip().replace(",", "")) for c in row.split("│")[4:6])
    assert sent + pending >= 300_000  # the round under way compared and queued the big snapshot
    assert stopped == (0, ["stopped watching vip"])
    assert not list(tmp_path.glob("xconduit-audience-*"))  # DuckDB's folder removed


def test_without_numpy_one_line_names_the_extra_and_nothing_is_created_at_x(
    served: tuple[Sandbox, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy not importable (a package on PYTHONPATH that raises ImportError, as a missing one
    does): the command says which extra and how to install it, before asking X for anything."""
    sb, url = served
    sb.reset()
    config = str(write_config(tmp_path, sb, url))
    customers(tmp_path, [("ann@example.com", 5000)])
    hidden = tmp_path / "hidden"
    (hidden / "numpy").mkdir(parents=True)
    (hidden / "numpy" / "__init__.py").write_text(
        "raise ImportError(\"No module named 'numpy' (hidden by the test)\")\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    done = subprocess.run(
        [sys.executable, "-m", "xconduit", "audiences", "sync", "vip", "-c", config],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**env, "COLUMNS": "200", "PYTHONPATH": str(hidden)},
    )
    monkeypatch.chdir(tmp_path)  # the command is printed for the folder it was run in
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "numpy" in line
    assert "audiences extra" in line
    assert line.endswith(f"; install it with: {install_command('audiences')}")
    assert "Traceback" not in done.stdout + done.stderr
    assert sb.audiences() == []
    assert not [r for r in sb.requests() if "custom_audiences" in r["path"]]


def test_an_audience_x_no_longer_knows_is_said_once_and_recreate_sends_every_member(
    served: tuple[Sandbox, str], tmp_path: Path
) -> None:
    sb, url = served
    sb.reset()
    config = str(write_config(tmp_path, sb, url))
    rows = [("ann@example.com", 5000), ("cy@x.org", 2000)]
    customers(tmp_path, rows)
    assert xconduit(tmp_path, "audiences", "sync", "vip", "-c", config).returncode == 0
    (old,) = sb.audiences()

    sb.reset()  # a new sandbox (or the audience deleted at X): X does not know it any more
    customers(tmp_path, [*rows, ("dee@example.com", 3000)])
    for _ in range(2):  # every run says it, once, and dead-letters nothing
        gone = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config)
        assert gone.returncode == 1
        (line,) = gone.stderr.strip().splitlines()
        assert f"X does not know custom audience {old['id']}" in line
        assert "xconduit audiences sync vip --recreate" in line
        assert "Traceback" not in gone.stdout + gone.stderr
    assert "audience:vip" not in xconduit(tmp_path, "dlq", "list", "-c", config).stdout
    assert not [r for r in sb.requests() if r["path"].endswith("/users")]
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    assert listed.stderr.strip().splitlines() == [f"audience vip: {line.split(': ', 2)[2]}"]

    again = xconduit(tmp_path, "audiences", "sync", "vip", "-c", config, "--recreate")
    assert again.returncode == 0, again.stderr
    (new,) = sb.audiences()
    assert new["id"] != old["id"]
    assert f"({new['id']})" in again.stdout
    hashed = {m["email"][0] for m in sb.audience_members(new["id"]) or []}
    assert hashed == {
        hashlib.sha256(e.encode()).hexdigest()
        for e in ("ann@example.com", "cy@x.org", "dee@example.com")
    }
    listed = xconduit(tmp_path, "audiences", "list", "-c", config)
    assert listed.stderr == ""
    (row,) = [line for line in listed.stdout.splitlines() if new["id"] in line]
    assert [cell.strip() for cell in row.split("│")[1:-1]][3:5] == ["3", "0"]
    assert xconduit(tmp_path, "audiences", "sync", "vip", "-c", config).returncode == 0
