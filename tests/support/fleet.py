"""Processes for the fleet tests: an `xconduit sandbox` as X, collectors, workers, a generator.

Everything is a real process on loopback; X is a standalone sandbox process, so it outlives the
kills and counts what really arrived and when.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.net import free_port, wait_ready
from xconduit.sandbox import SandboxCredentials

KEY = "wk_fleet_1"
ACCOUNT = "18ce552mlaq"


def environment() -> dict[str, str]:
    creds = SandboxCredentials()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    env.update(
        XCONDUIT_X__CONSUMER_KEY=creds.consumer_key,
        XCONDUIT_X__CONSUMER_SECRET=creds.consumer_secret,
        XCONDUIT_X__ACCESS_TOKEN=creds.access_token,
        XCONDUIT_X__ACCESS_TOKEN_SECRET=creds.access_token_secret,
    )
    return env


@contextmanager
def sandbox(*, events: int, window: float, faults: Sequence[str] = ()) -> Iterator[str]:
    """An `xconduit sandbox` enforcing `events` conversions per `window` seconds per account."""
    port = free_port()
    args = ["--port", str(port), "--rate-limit-events", str(events)]
    args += ["--rate-limit-window", str(window)]
    for fault in faults:
        args += ["--fault", fault]
    proc = subprocess.Popen(
        [sys.executable, "-m", "xconduit", "sandbox", *args],
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


def write_config(folder: Path, *, store: str, x_url: str, events: int, window: float) -> Path:
    config = folder / "xconduit.toml"
    config.write_text(
        f"""
[server]
store = "{store}"

[x]
api = "{x_url}"
timeout = "5s"

[delivery]
batch_age = "50ms"
events_per_window = {events}
window = "{window}s"
retry_min = "1s"
retry_max = "2s"

[[sources]]
name = "fleet"
write_keys = ["{KEY}"]

[[conversions]]
name = "demo"
account_id = "{ACCOUNT}"
pixel_id = "oka17"
events = {{ "Order Completed" = "tw-oka17-ol288" }}
"""
    )
    return config


class Processes:
    """Collectors and workers started from one config; all killed at the end."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.env = environment()
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}

    def collector(self, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        proc = self._start("serve", "--listen", f"127.0.0.1:{port}", "--no-delivery", *extra)
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc, "/readyz")
        return proc, url

    def worker(self) -> subprocess.Popen[bytes]:
        return self._start("worker")

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        log = self.config.parent / f"{args[0]}-{len(self.running)}.log"
        with log.open("wb") as out:  # read when a test fails
            proc = subprocess.Popen(
                [sys.executable, "-m", "xconduit", *args, "--config", str(self.config)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.running.append(proc)
        self.logs[proc.pid] = log
        return proc

    def wait_logged(self, proc: subprocess.Popen[bytes], text: str, timeout: float = 30) -> None:
        """Until `proc` has printed `text` (a worker's start line, say)."""
        deadline = time.monotonic() + timeout
        while text not in self.logs[proc.pid].read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args!r} did not print {text!r}")
            time.sleep(0.05)

    def stop_all(self) -> None:
        for proc in self.running:
            proc.kill()
            proc.wait()


class Generator:
    """Sends `count` events in batches, round robin over `urls`, each batch until a 200 (another
    collector when one fails): `acked` holds what got a 200."""

    def __init__(
        self, urls: Sequence[str], count: int, *, per_request: int = 100, interval: float = 0.0
    ) -> None:
        self.urls = list(urls)
        self.interval = interval  # seconds between acknowledged requests: a steady sender
        self.count = count
        self.per_request = per_request
        self.acked: set[str] = set()
        self.statuses: Counter[int] = Counter()
        self.transport_errors = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def body(self, ids: Sequence[str]) -> bytes:
        batch = [
            {
                "type": "track",
                "event": "Order Completed",
                "userId": f"u-{i}",
                "messageId": i,
                "properties": {"order_id": i, "email": f"{i}@example.com", "revenue": 1.5},
            }
            for i in ids
        ]
        return orjson.dumps({"batch": batch})

    def run(self) -> None:
        clients = [httpx.Client(base_url=u, auth=(KEY, ""), timeout=10) for u in self.urls]
        turn = 0
        try:
            for start in range(0, self.count, self.per_request):
                ids = [f"e-{i}" for i in range(start, min(start + self.per_request, self.count))]
                body = self.body(ids)
                while True:
                    client = clients[turn % len(clients)]
                    turn += 1
                    try:
                        response = client.post("/v1/batch", content=body)
                    except httpx.TransportError:
                        self.transport_errors += 1
                        time.sleep(0.02)
                        continue
                    self.statuses[response.status_code] += 1
                    if response.status_code == 200:
                        self.acked.update(ids)
                        time.sleep(self.interval)
                        break
                    time.sleep(0.05)
        finally:
            for client in clients:
                client.close()


def received(x_url: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = httpx.get(f"{x_url}/_sandbox/conversions", timeout=60).json()[
        "data"
    ]
    return data


def wait_delivered(x_url: str, acked: set[str], *, timeout: float) -> list[dict[str, Any]]:
    """X's conversions once every acked event is among them (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        got = received(x_url)
        if acked <= {c["conversion_id"] for c in got} or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def too_many_requests(x_url: str) -> int:
    log = httpx.get(f"{x_url}/_sandbox/requests", timeout=60).json()["data"]
    return sum(1 for entry in log if entry.get("status") == 429)


def busiest_window(conversions: Sequence[dict[str, Any]], window: float) -> int:
    """Most conversions X received in any `window` seconds. X stamps whole seconds, so the
    conversions stamped s … s+window-1 arrived inside [s, s+window): one real window."""
    per_second = Counter(
        int(datetime.fromisoformat(c["received_at"].replace("Z", "+00:00")).timestamp())
        for c in conversions
    )
    span = int(window)
    return max((sum(per_second.get(s + k, 0) for k in range(span)) for s in per_second), default=0)


def duplicates(conversions: Sequence[dict[str, Any]]) -> int:
    counts = Counter(c["conversion_id"] for c in conversions)
    return sum(n - 1 for n in counts.values() if n > 1)
