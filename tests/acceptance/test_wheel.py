"""Installing without the repository: the built wheel in a clean virtualenv gives a working
`xconduit serve` (the SQL files, the tag and the dashboard come with it), a configuration to
start from (`xconduit init`), and install commands for the optional parts that work as printed."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

# One worker runs this module, so the wheel is built and installed once (`--dist loadgroup`).
pytestmark = pytest.mark.xdist_group("wheel")

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path

    def run(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
        return subprocess.run(
            [str(self.venv / "bin" / "xconduit"), *args],
            cwd=cwd,
            env=env or clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("XCONDUIT_", "PYTHONPATH"))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    dist, venv = root / "dist", root / "venv"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(ROOT)], check=True)
    wheel = next(dist.glob("xconduit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    return Installed(wheel=wheel, venv=venv)


@pytest.mark.slow
def test_the_wheel_installs_and_serves(installed: Installed, tmp_path: Path) -> None:
    venv, work = installed.venv, tmp_path / "work"
    work.mkdir()
    env = clean_env()
    env["XCONDUIT_SERVER__LISTEN"] = "127.0.0.1:0"
    server = subprocess.Popen(
        [str(venv / "bin" / "xconduit"), "serve"],
        cwd=work,  # not the repository: only the installed package is there
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        banner = []
        for line in server.stdout:
            banner.append(line)
            if line.strip().startswith("curl -sS"):
                break
        text = "".join(banner)
        url = re.search(r"listening on (http://\S+)", text)
        assert url, text
        base = url.group(1)
        curl = shlex.split(banner[-1].strip())
        done = subprocess.run(curl, capture_output=True, text=True, timeout=30, check=True)
        assert '"accepted":1' in done.stdout

        deadline = time.monotonic() + 60  # ends a hang only; nothing about speed is asserted
        while not httpx.get(f"{base}/_sandbox/conversions").json()["data"]:
            assert time.monotonic() < deadline, "the demo conversion never reached the sandbox"
            time.sleep(0.2)
        # Ready once the first setup check at start has finished (it runs beside delivery).
        while (ready := httpx.get(f"{base}/readyz").json())["status"] == "starting":
            assert time.monotonic() < deadline, "the first setup check never finished"
            time.sleep(0.2)
        assert ready == {"status": "ready"}
        assert httpx.get(f"{base}/").status_code == 200
        assert "xconduit_conversions_delivered_total" in httpx.get(f"{base}/metrics").text
        assert httpx.get(f"{base}/tag.js").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
        assert server.stdout is not None
        server.stdout.close()


@pytest.mark.slow
def test_the_wheel_describes_itself_and_writes_a_configuration_to_start_from(
    installed: Installed, tmp_path: Path
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        metadata = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        text = wheel.read(metadata).decode()
    assert "Description-Content-Type: text/markdown" in text
    assert "## What works today" in text  # the README, shown on the package's page

    written = installed.run("init", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    config = tmp_path / "xconduit.toml"
    assert config.read_text().startswith("# xconduit configuration")
    config.write_text(config.read_text() + "\n# mine\n")
    again = installed.run("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert config.read_text().endswith("# mine\n")  # never overwritten

    # The configuration it wrote is valid as it is: the dry run maps an order with it.
    order = (
        b'{"userId":"u1","event":"Order Completed",'
        b'"properties":{"order_id":"o-1","email":"jane.doe@example.com"}}\n'
    )
    mapped = subprocess.run(
        [str(installed.venv / "bin" / "xconduit"), "map", "--config", str(config)],
        input=order,
        capture_output=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert mapped.returncode == 0, mapped.stderr
    assert b'"outcome":"conversion"' in mapped.stdout


@pytest.mark.slow
def test_a_missing_optional_part_names_a_command_that_installs_it_as_printed(
    installed: Installed, tmp_path: Path
) -> None:
    env = clean_env()
    env["XCONDUIT_SERVER__STORE"] = "postgresql://127.0.0.1:1/none"
    env["XCONDUIT_SERVER__LISTEN"] = "127.0.0.1:0"
    refused = installed.run("serve", cwd=tmp_path, env=env)
    assert refused.returncode != 0
    command = re.search(r"install it with: (.+)$", refused.stderr, re.MULTILINE)
    assert command, refused.stderr
    assert str(installed.wheel) in command.group(1)  # this wheel, not an index that lacks it
    done = subprocess.run(command.group(1), shell=True, cwd=tmp_path, capture_output=True)
    assert done.returncode == 0, done.stderr
    python = str(installed.venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import psycopg"], check=False).returncode == 0


@pytest.mark.slow
def test_an_audience_without_its_extra_names_a_command_that_installs_it_as_printed(
    installed: Installed, tmp_path: Path
) -> None:
    """The wheel alone has no DuckDB, PyArrow or numpy: `audiences sync` says so in one line
    before asking X for anything, and the command it prints makes the next run work."""
    from xconduit.sandbox import Sandbox, Seed, SeedAccount, serve_sandbox

    account = "18ce552mlaq"
    sb = Sandbox(seed=Seed(accounts=(SeedAccount(id=account, name="Wheel"),)))
    (tmp_path / "vip.csv").write_text("email\nann@example.com\n")
    c = sb.credentials
    with serve_sandbox(sb) as url:
        (tmp_path / "xconduit.toml").write_text(
            f"""
[server]
store = "sqlite:///{tmp_path / "outbox.db"}"

[x]
api = "{url}"
oauth_host = "{url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"
access_token = "{c.access_token}"
access_token_secret = "{c.access_token_secret}"

[[audiences]]
name = "vip"
account_id = "{account}"
source = "vip.csv"
identifiers = {{ email = "email" }}
"""
        )
        refused = installed.run("audiences", "sync", "vip", "-c", "xconduit.toml", cwd=tmp_path)
        assert refused.returncode == 1
        (line,) = refused.stderr.strip().splitlines()
        assert "the audiences extra" in line
        command = re.search(r"install it with: (.+)$", line)
        assert command, line
        assert str(installed.wheel) in command.group(1)
        assert sb.audiences() == []  # nothing created at X before the packages are there

        done = subprocess.run(command.group(1), shell=True, cwd=tmp_path, capture_output=True)
        assert done.returncode == 0, done.stderr
        synced = installed.run("audiences", "sync", "vip", "-c", "xconduit.toml", cwd=tmp_path)
        assert synced.returncode == 0, synced.stderr
        (audience,) = sb.audiences()
        assert len(sb.audience_members(audience["id"]) or []) == 1
