"""Installing without the repository: the built wheel in a clean virtualenv gives a working
`xconduit serve` (the SQL files, the tag and the dashboard come with it)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_installs_and_serves(tmp_path: Path) -> None:
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dist), str(ROOT)], check=True)
    wheel = next(dist.glob("xconduit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XCONDUIT_", "PYTHONPATH"))}
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
