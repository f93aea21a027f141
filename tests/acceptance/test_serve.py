"""`xconduit serve` in a subprocess with no configuration, as the README's first command runs it."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    env["XCONDUIT_SERVER__LISTEN"] = "127.0.0.1:0"  # any free port; the banner names it
    proc = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "serve"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if line.strip().startswith("curl -sS"):
            break
    try:
        yield proc, lines
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def test_the_printed_curl_reaches_the_sandbox_within_two_seconds(
    served: tuple[subprocess.Popen[str], list[str]], tmp_path: Path
) -> None:
    _, lines = served
    banner = "\n".join(lines)
    url = re.search(r"listening on (http://\S+)", banner)
    assert url, banner
    assert "wk_demo_xconduit" in banner
    [curl] = [line.strip() for line in lines if line.strip().startswith("curl -sS")]
    sent = time.monotonic()
    done = subprocess.run(shlex.split(curl), capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    assert '"success":true' in done.stdout
    conversions: list[dict[str, object]] = []
    while time.monotonic() - sent < 2.0 and not conversions:
        conversions = httpx.get(f"{url.group(1)}/_sandbox/conversions").json()["data"]
        time.sleep(0.05)
    assert conversions, "no conversion reached the sandbox within 2 s"
    [conversion] = conversions
    assert conversion["event_id"] == "tw-oka17-ol288"
    email = hashlib.sha256(b"jane.doe@example.com").hexdigest()
    assert {"hashed_email": email} in conversion["identifiers"]  # type: ignore[operator]
    assert (tmp_path / ".xconduit" / "xconduit.db").exists()


def test_it_stops_cleanly_on_sigint(served: tuple[subprocess.Popen[str], list[str]]) -> None:
    proc, _ = served
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0


def test_the_printed_sandbox_token_lets_another_origin_reset_the_demo(
    served: tuple[subprocess.Popen[str], list[str]],
) -> None:
    _, lines = served
    banner = "\n".join(lines)
    url = re.search(r"listening on (http://\S+)", banner)
    token = re.search(r"Sandbox write token .*: (\S+)$", banner, re.MULTILINE)
    assert url, banner
    assert token, banner
    foreign = {"Origin": "https://evil.example"}
    reset = f"{url.group(1)}/_sandbox/reset"
    assert httpx.post(reset, headers=foreign).status_code == 403
    granted = {**foreign, "X-Sandbox-Token": token.group(1)}
    assert httpx.post(reset, headers=granted).status_code == 200
