"""`kill -9` of `xconduit serve` while a client sends 20,000 events and workers deliver.

X is an external `xconduit sandbox` process, so it survives the gateway's kills and counts what
really arrived. Promise checked: every event that got a 200 reaches X at least once; duplicates
at X are only those of deliveries in flight at a kill (at most one X batch per kill).

Claim its size proves: 20,000 acknowledged events through 4 kills at random moments (200 requests
of 100, so most kills land mid-request or mid-delivery) lose none. XCONDUIT_CRASH_EVENTS and
XCONDUIT_CRASH_KILLS raise the size for a longer run (never below the claim).
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.net import free_port, wait_ready
from tests.support.soak import soak_size
from xconduit.sandbox import SandboxCredentials

pytestmark = pytest.mark.slow

KEY = "wk_crash_1"
EVENTS = soak_size("XCONDUIT_CRASH_EVENTS", 20_000)
PER_REQUEST = 100
KILLS = soak_size("XCONDUIT_CRASH_KILLS", 4)
X_BATCH = 500


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xconduit",
            "sandbox",
            "--port",
            str(port),
            "--rate-limit-events",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc, "/_sandbox/conversions")
        yield url
    finally:
        proc.kill()
        proc.wait()


def write_config(folder: Path, sandbox_url: str, port: int) -> Path:
    config = folder / "xconduit.toml"
    config.write_text(
        f"""
[server]
listen = "127.0.0.1:{port}"
store = "sqlite:///{folder / "outbox.db"}"

[x]
api = "{sandbox_url}"

[delivery]
batch_age = "100ms"

[[sources]]
name = "crash"
write_keys = ["{KEY}"]

[[conversions]]
name = "demo"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = {{ "Order Completed" = "tw-oka17-ol288" }}
"""
    )
    return config


class Sender:
    """Sends every event until it gets a 200, retrying through the gateway's kills."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.acked: set[str] = set()
        self.errors = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, auth=(KEY, ""), timeout=5) as http:
            for start in range(0, EVENTS, PER_REQUEST):
                ids = [f"e-{i}" for i in range(start, start + PER_REQUEST)]
                body = orjson.dumps(
                    {
                        "batch": [
                            {
                                "type": "track",
                                "event": "Order Completed",
                                "userId": f"u-{i}",
                                "messageId": i,
                                "properties": {"order_id": i, "email": f"{i}@example.com"},
                            }
                            for i in ids
                        ]
                    }
                )
                while True:
                    try:
                        response = http.post("/v1/batch", content=body)
                    except httpx.TransportError:
                        self.errors += 1
                        time.sleep(0.05)
                        continue
                    if response.status_code == 200:
                        self.acked.update(ids)
                        break
                    self.errors += 1
                    time.sleep(0.05)


def test_acked_events_survive_kill_9(tmp_path: Path, sandbox_url: str) -> None:
    port = free_port()
    config = write_config(tmp_path, sandbox_url, port)
    creds = SandboxCredentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    env.update(
        XCONDUIT_X__CONSUMER_KEY=creds.consumer_key,
        XCONDUIT_X__CONSUMER_SECRET=creds.consumer_secret,
        XCONDUIT_X__ACCESS_TOKEN=creds.access_token,
        XCONDUIT_X__ACCESS_TOKEN_SECRET=creds.access_token_secret,
    )
    url = f"http://127.0.0.1:{port}"

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "xconduit", "serve", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(url, proc, "/readyz")
        return proc

    rng = random.Random()
    sender = Sender(url)
    proc = start()
    thread = threading.Thread(target=sender.run, daemon=True)
    thread.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.0))
            proc.kill()  # SIGKILL: no shutdown code runs
            proc.wait()
            proc = start()
        thread.join(timeout=300)
        assert not thread.is_alive(), "the client did not finish"
        assert len(sender.acked) == EVENTS
        received: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            data = httpx.get(f"{sandbox_url}/_sandbox/conversions", timeout=30).json()["data"]
            received = [c["conversion_id"] for c in data]
            if sender.acked <= set(received):
                break
            time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait()
    missing = sender.acked - set(received)
    assert not missing, f"{len(missing)} acknowledged events never reached X"
    duplicated = sum(n - 1 for n in Counter(received).values() if n > 1)
    assert duplicated <= KILLS * X_BATCH, f"{duplicated} duplicates for {KILLS} kills"
