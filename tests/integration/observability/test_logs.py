"""`xconduit serve --log-format json`: every line is a JSON object; one line per X request with
status, conversions, latency and debug_id; event lines carry ids and outcome; no raw email or
phone number appears anywhere, even for events that are invalid, filtered or dead."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.support.ops_traffic import EMAILS, PHONE, config_text, send_known_traffic, wait_for
from xconduit.outbox import JobStatus
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox, serve_sandbox


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve_sandbox(Sandbox()) as url:
        yield url


def run_serve(config: Path, log: IO[str], *flags: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xconduit",
            "serve",
            "--config",
            str(config),
            "--listen",
            "127.0.0.1:0",
            *flags,
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        env={**os.environ, "XCONDUIT_CONFIG": ""},
    )


def serve_and_send(config: Path, log: Path, store_path: Path, *flags: str) -> list[str]:
    with log.open("w") as stderr:
        server = run_serve(config, stderr, *flags)
        _send_and_stop(server, store_path)
    return log.read_text().splitlines()


def _send_and_stop(server: subprocess.Popen[bytes], store_path: Path) -> None:
    try:
        assert server.stdout is not None
        first = server.stdout.readline().decode()
        url = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert url, first
        send_known_traffic(url.group(0))
        store = SqliteStore(store_path)
        wait_for(
            lambda: store.counts().get("shop") == {JobStatus.DELIVERED: 3, JobStatus.PENDING: 1},
            "delivery (ops-7 held: its event id is unknown to X)",
        )
        store.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        assert server.stdout is not None
        server.stdout.close()


def assert_no_personal_data(text: str) -> None:
    for email in (*EMAILS, "not-an-email"):
        assert email not in text
    digits = re.sub(r"\D", "", PHONE)
    assert PHONE not in text
    assert digits not in re.sub(r"[ ()+-]", "", text)


def test_json_lines_with_x_requests_and_no_personal_data(sandbox_url: str, tmp_path: Path) -> None:
    config = tmp_path / "x.toml"
    config.write_text(config_text(sandbox_url, tmp_path / "o.db"))
    lines = serve_and_send(
        config,
        tmp_path / "serve.log",
        tmp_path / "o.db",
        "--log-format",
        "json",
        "--log-level",
        "debug",
    )
    records = [json.loads(line) for line in lines]  # every line is JSON
    requests = [r["x_request"] for r in records if "x_request" in r]
    conversions = [r for r in requests if r["endpoint"] == "conversions"]
    assert {r["status"] for r in conversions} == {"200", "404"}
    for r in conversions:
        assert r["conversions"] >= 1
        assert r["latency_ms"] >= 0
        assert "debug_id" in r
    assert any(r["debug_id"] for r in conversions if r["status"] == "200")
    events = [r["event"] for r in records if "event" in r]
    assert not [e for e in events if e["outcome"] == "dead"]
    paused = [
        r for r in records if 'delivery to conversion destination "shop"' in r.get("message", "")
    ]
    assert paused
    assert paused[0]["level"] == "error"
    assert "ol999" in paused[0]["message"]
    assert "fix:" in paused[0]["message"]
    assert {e["message_id"] for e in events if e["outcome"] == "delivered"} == {
        "ops-1",
        "ops-2",
        "ops-3",
    }
    assert_no_personal_data("\n".join(lines))


def test_text_format_and_level(sandbox_url: str, tmp_path: Path) -> None:
    config = tmp_path / "x.toml"
    config.write_text(config_text(sandbox_url, tmp_path / "o.db"))
    lines = serve_and_send(
        config, tmp_path / "serve.log", tmp_path / "o.db", "--log-level", "warning"
    )
    text = "\n".join(lines)
    assert " INFO " not in text
    assert "conversion ops-7 dead" not in text  # held, not dead: X refused the setup
    assert (
        'delivery to conversion destination "shop" (account 18ce552mlaq) paused' in text
    )  # an error line
    assert_no_personal_data(text)
