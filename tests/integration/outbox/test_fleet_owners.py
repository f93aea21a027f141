"""Configurations sharing one outbox never deliver each other's jobs.

Real `xconduit serve`, `worker` and `sync` processes, started from different configuration
files in one folder, on one SQLite file (the default `./.xconduit/xconduit.db`) or one
PostgreSQL schema. Each configuration has its own X (the gateway's built-in sandbox, or a
standalone `xconduit sandbox`): an event reaches only the X of the configuration it was sent
to, a sync's rows only the X of the configuration the sync ran with, and a process that sees
jobs it cannot own says so (log, `/readyz`, dashboard) without listing their destinations.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.fleet import ACCOUNT, environment, received, sandbox
from tests.support.net import free_port, wait_ready

pytestmark = pytest.mark.slow

TOKEN = "admin-token-owners"
FOREIGN = "belong to destinations not in this config"
SYNC_ROWS = 4


def config_text(
    *, key: str, destination: str, x_api: str, store: str, listen: str, extra: str = ""
) -> str:
    return f"""
[server]
listen = "{listen}"
store = "{store}"

[x]
api = "{x_api}"
timeout = "5s"

[delivery]
batch_age = "50ms"

[dashboard]
admin_token = "{TOKEN}"

[[sources]]
name = "site"
write_keys = ["{key}"]

[[conversions]]
name = "{destination}"
account_id = "{ACCOUNT}"
pixel_id = "oka17"
events = {{ "Order Completed" = "tw-oka17-ol288" }}
{extra}"""


class Gateways:
    """`xconduit` processes run in one folder (so `./.xconduit` is shared); killed at the end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = environment()
        self.running: list[subprocess.Popen[bytes]] = []
        self.logs: dict[str, Path] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "xconduit", *args],
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.running.append(proc)
        self.logs[name] = log
        return proc

    def serve(self, name: str, config: str, listen: str, *extra: str) -> str:
        proc = self.start(name, "serve", "--config", config, *extra)
        url = f"http://{listen}"
        wait_ready(url, proc, "/readyz")
        return url

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "xconduit", *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def logged(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def logged_has(self, name: str, text: str) -> bool:
        return text in self.logged(name)

    def stop_all(self) -> None:
        for proc in self.running:
            proc.kill()
            proc.wait()


@contextmanager
def gateways(folder: Path) -> Iterator[Gateways]:
    running = Gateways(folder)
    try:
        yield running
    finally:
        running.stop_all()


def post(url: str, key: str, ids: list[str]) -> None:
    batch = [
        {
            "type": "track",
            "event": "Order Completed",
            "userId": f"u-{i}",
            "messageId": i,
            "properties": {"order_id": i, "email": f"{i}@example.com", "revenue": 2.5},
        }
        for i in ids
    ]
    response = httpx.post(
        f"{url}/v1/batch", content=orjson.dumps({"batch": batch}), auth=(key, ""), timeout=30
    )
    assert response.status_code == 200, response.text


def ids_in(conversions: list[dict[str, Any]]) -> set[str]:
    return {c["conversion_id"] for c in conversions}


def until(check: Callable[[], Any], *, timeout: float = 90, what: str) -> Any:
    """`check()`'s value once truthy; fails naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def readyz(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/readyz", timeout=30).json()
    return body


def counting_foreign(url: str, count: int) -> dict[str, Any] | None:
    """`/readyz`'s body once it counts `count` foreign jobs."""
    body = readyz(url)
    return body if body.get("foreign_jobs") == count else None


def dashboard(url: str, path: str = "/") -> str:
    response = httpx.get(url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.text


def sandbox_of(url: str) -> list[dict[str, Any]]:
    return received(url)  # the gateway's own sandbox answers under /_sandbox/ as X does


def test_gateways_of_three_configs_in_one_folder_keep_to_their_own_sandbox(
    tmp_path: Path,
) -> None:
    """The issue's folder: gateways of different configs on the default SQLite outbox, each with
    its built-in sandbox, and a sync run with a third config while they run."""
    store = "sqlite:///.xconduit/xconduit.db"
    listen = {name: f"127.0.0.1:{free_port()}" for name in ("a", "b", "c")}
    # The days before today: the gateway dead-letters a conversion more than 90 days old.
    days = [datetime.now(UTC) - timedelta(days=n + 1) for n in range(SYNC_ROWS)]
    (tmp_path / "orders.csv").write_text(
        "order_id,email,total,created_at\n"
        + "".join(
            f"o-{n},o{n}@example.com,{n}.50,{day:%Y-%m-%dT%H:%M:%SZ}\n"
            for n, day in enumerate(days)
        )
    )
    sync = """
[[syncs]]
name = "orders"
destination = "crm"
source = "orders.csv"
event = "Order Completed"
columns = { email = "email", value = "total", conversion_id = "order_id", conversion_time = "created_at" }
"""
    for name, destination, extra in (("a", "shop", ""), ("b", "demo", ""), ("c", "crm", sync)):
        text = config_text(
            key=f"wk_{name}",
            destination=destination,
            x_api="sandbox",
            store=store,
            listen=listen[name],
            extra=extra,
        )
        (tmp_path / f"{name}.toml").write_text(text)
    synced = {f"o-{n}" for n in range(SYNC_ROWS)}
    a_ids = [f"a-{n}" for n in range(5)]
    b_ids = [f"b-{n}" for n in range(5)]

    with gateways(tmp_path) as run:
        # The sync's jobs wait for a gateway of config c; none runs yet.
        done = run.run("sync", "orders", "-c", "c.toml")
        assert done.returncode == 0, done.stderr
        a = run.serve("a", "a.toml", listen["a"])
        b = run.serve("b", "b.toml", listen["b"])
        post(a, "wk_a", a_ids)
        post(b, "wk_b", b_ids)

        until(lambda: set(a_ids) <= ids_in(sandbox_of(a)), what="a's events in a's sandbox")
        until(lambda: set(b_ids) <= ids_in(sandbox_of(b)), what="b's events in b's sandbox")
        assert ids_in(sandbox_of(a)) == set(a_ids)  # not b's, not the sync's
        assert ids_in(sandbox_of(b)) == set(b_ids)

        # Each process says once that the sync's jobs are not its own, and keeps them waiting.
        for name, url in (("a", a), ("b", b)):
            until(partial(run.logged_has, name, FOREIGN), what=f"{name}'s log line")
            assert run.logged(name).count(FOREIGN) == 1
            body = until(
                partial(counting_foreign, url, SYNC_ROWS),
                what=f"{name}'s /readyz counting the sync's jobs",
            )
            assert body["status"] == "ready"
            assert f"{SYNC_ROWS} jobs in this store {FOREIGN}" in body["foreign_note"]
        page = dashboard(a)
        # The overview says it in a marketer's words; the delivery engine page in its own.
        assert f"{SYNC_ROWS} events in this store belong to other configurations" in page
        assert f"{SYNC_ROWS} jobs in this store {FOREIGN}" in dashboard(a, "/dashboard/engine")
        assert "Destination shop" in page
        assert "Destination crm" not in page
        assert "Destination demo" not in page

        # The gateway of the sync's config delivers them, into its own sandbox.
        c = run.serve("c", "c.toml", listen["c"])
        until(lambda: synced <= ids_in(sandbox_of(c)), what="the sync's rows in c's sandbox")
        until(lambda: "foreign_jobs" not in readyz(a), what="a's /readyz with no foreign jobs")
        got = {name: ids_in(sandbox_of(url)) for name, url in (("a", a), ("b", b), ("c", c))}

    assert got["a"] == set(a_ids)
    assert got["b"] == set(b_ids)
    assert got["c"] == synced


@pytest.mark.postgres
def test_two_configs_on_one_postgresql_schema_deliver_only_to_their_own_x(
    tmp_path: Path, pg_url: str
) -> None:
    """Same destination name, account and pixel; two X's (two API base URLs): the destination
    identity is more than its name."""
    listen = {name: f"127.0.0.1:{free_port()}" for name in ("a", "b")}
    a_ids = [f"a-{n}" for n in range(6)]
    b_ids = [f"b-{n}" for n in range(6)]
    with (
        sandbox(events=100_000, window=60) as x_a,
        sandbox(events=100_000, window=60) as x_b,
        gateways(tmp_path) as run,
    ):
        for name, x_api in (("a", x_a), ("b", x_b)):
            text = config_text(
                key=f"wk_{name}", destination="shop", x_api=x_api, store=pg_url, listen=listen[name]
            )
            (tmp_path / f"{name}.toml").write_text(text)
        # b collects but nothing of config b delivers yet: its jobs wait in the shared schema.
        b = run.serve("b", "b.toml", listen["b"], "--no-delivery")
        post(b, "wk_b", b_ids)
        a = run.serve("a", "a.toml", listen["a"])
        post(a, "wk_a", a_ids)

        until(lambda: set(a_ids) <= ids_in(received(x_a)), what="a's events at a's X")
        assert ids_in(received(x_a)) == set(a_ids)  # a never took b's jobs
        until(lambda: FOREIGN in run.logged("a"), what="a's log line about b's jobs")
        body = until(partial(counting_foreign, a, len(b_ids)), what="a's /readyz counting b's jobs")
        assert f"{len(b_ids)} jobs in this store {FOREIGN}" in body["foreign_note"]

        run.start("worker-b", "worker", "--config", "b.toml")
        until(lambda: set(b_ids) <= ids_in(received(x_b)), what="b's events at b's X")
        until(lambda: "foreign_jobs" not in readyz(a), what="a's /readyz with no foreign jobs")
        got_a, got_b = ids_in(received(x_a)), ids_in(received(x_b))

    assert got_a == set(a_ids)
    assert got_b == set(b_ids)
