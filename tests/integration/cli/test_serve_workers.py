"""`xconduit serve --workers 2`: two collector processes answer on one port; one killed with
`kill -9` is started again, and every acknowledged event still reaches X."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fleet import Generator, environment, sandbox, wait_delivered, write_config
from tests.support.net import free_port, wait_ready

pytestmark = pytest.mark.slow


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def wait_children(pid: int, count: int, *, other_than: frozenset[int] = frozenset()) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = children(pid)
        if len(found) == count and not other_than & set(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"expected {count} collector processes, found {children(pid)}")


def test_two_collector_processes_share_a_port_and_come_back_after_kill_9(tmp_path: Path) -> None:
    with sandbox(events=10**6, window=60.0) as x_url:
        config = write_config(
            tmp_path,
            store=f"sqlite:///{tmp_path / 'outbox.db'}",
            x_url=x_url,
            events=10**6,
            window=60,
        )
        port = free_port()
        parent = subprocess.Popen(
            [
                *(sys.executable, "-m", "xconduit", "serve", "--config", str(config)),
                *("--listen", f"127.0.0.1:{port}", "--workers", "2"),
            ],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, parent, "/readyz")
            first = wait_children(parent.pid, 2)
            generator = Generator([url], 3000, per_request=50)
            generator.thread.start()
            while len(generator.acked) < 1000:
                time.sleep(0.02)
            subprocess.run(["kill", "-9", str(first[0])], check=True)
            generator.thread.join(timeout=120)
            replaced = wait_children(parent.pid, 2, other_than=frozenset({first[0]}))
            got = wait_delivered(x_url, generator.acked, timeout=60)
            still_serving = parent.poll() is None
        finally:
            parent.send_signal(signal.SIGTERM)
            parent.wait(60)

        assert first[1] in replaced
        assert still_serving
        assert len(generator.acked) == 3000
        assert generator.acked <= {c["conversion_id"] for c in got}
        assert parent.returncode == 0  # SIGTERM: the children stopped cleanly, then the parent
