"""`xconduit map` (a subprocess) and a live gateway (real uvicorn, SQLite) read the same lines
the same way: same outcome, same reason, same conversion (its time taken when the line is read)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from xconduit.app import Gateway, build_gateway
from xconduit.config import load_settings
from xconduit.config.identity import owner_keys
from xconduit.serving import serve_in_thread

KEY = "wk_server_1"
# One configuration file for both: a server-side source (no caller IP) and the demo pixel.
CONFIG = f"""
[[sources]]
name = "backend"
write_keys = ["{KEY}"]

[[conversions]]
name = "shop"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = {{ "Order Completed" = "ol288", "Signed Up" = "ol289" }}
"""

LINES: list[dict[str, Any]] = [
    # No `type`, an `event`, no `timestamp`: a track, converted at the time it is read.
    {
        "messageId": "agree-1",
        "userId": "u1",
        "event": "Order Completed",
        "properties": {"order_id": "o-1", "revenue": 42.5, "email": "jane@example.com"},
    },
    {
        "type": "track",
        "messageId": "agree-2",
        "userId": "u2",
        "event": "Signed Up",
        "timestamp": "2026-01-02T03:04:05.678Z",
        "properties": {"email": "sam@example.com"},
    },
    {  # an IP alone is not enough for X: invalid, with the same reason on both sides
        "messageId": "agree-3",
        "userId": "u3",
        "event": "Order Completed",
        "context": {"ip": "203.0.113.7"},
    },
    {"messageId": "agree-4", "userId": "u4", "event": "Newsletter Opened"},  # not mapped
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "xconduit.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def gateway(config: Path, tmp_path: Path) -> Iterator[tuple[Gateway, str]]:
    gw = build_gateway(load_settings(config, environ={}), workdir=tmp_path, delivery=False)
    gw.start()
    try:
        with serve_in_thread(gw.app, name="agree-gateway") as url:
            yield gw, url
    finally:
        gw.stop()


def _map(lines: list[dict[str, Any]], config: Path) -> list[dict[str, Any]]:
    stdin = b"".join(orjson.dumps(x) + b"\n" for x in lines)
    done = subprocess.run(
        [sys.executable, "-m", "xconduit", "map", "--config", str(config), "-"],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    return [json.loads(x) for x in done.stdout.splitlines()]


def _now() -> datetime:
    return datetime.now(UTC)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_map_and_the_gateway_give_the_same_outcome_for_the_same_lines(
    gateway: tuple[Gateway, str], config: Path
) -> None:
    gw, url = gateway
    before = _now().replace(microsecond=0)
    mapped = {m["message_id"]: m for m in _map(LINES, config)}
    answers = {}
    for line in LINES:
        response = httpx.post(f"{url}/v1/track", json=line, auth=(KEY, ""))
        assert response.status_code == 200, response.text
        answers[line["messageId"]] = response.json()
    after = _now()
    owner = owner_keys(gw.settings)["shop"]
    jobs = gw.store.claim_batch("shop", limit=100, now=1e10, lease_seconds=600, owner=owner)
    stored = {job.message_id: orjson.loads(job.payload) for job in jobs}

    assert {m: r["outcome"] for m, r in mapped.items()} == {
        "agree-1": "conversion",
        "agree-2": "conversion",
        "agree-3": "invalid",
        "agree-4": "filtered",
    }
    for message_id, result in mapped.items():
        answer = answers[message_id]
        assert answer["accepted"] == 1
        assert answer["rejected"] == []
        if result["outcome"] == "conversion":
            mine, theirs = dict(result["conversion"]), dict(stored[message_id])
            mine_time, their_time = mine.pop("conversion_time"), theirs.pop("conversion_time")
            assert mine == theirs
            if message_id == "agree-1":  # no timestamp: both use the time the line was read
                assert before <= _time(mine_time) <= after
                assert before <= _time(their_time) <= after
            else:
                assert mine_time == their_time == "2026-01-02T03:04:05.678Z"
        elif result["outcome"] == "invalid":
            [unsendable] = answer["invalid"]
            assert unsendable["reason"] == result["reason"]
            assert message_id not in stored
        else:
            assert answer["invalid"] == []
            assert message_id not in stored
