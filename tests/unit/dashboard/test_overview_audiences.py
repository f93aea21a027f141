"""The overview has conversion rows for conversion destinations only: an audience's jobs are on
the audiences page, never a "Destination audience:…" section."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.ops_traffic import config_text
from xconduit.app import build_gateway
from xconduit.audiences.flush import JobBody
from xconduit.config import load_settings
from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.memory import MemoryStore
from xconduit.serving import serve_in_thread

AUDIENCE = """
[[audiences]]
name = "vip"
account_id = "18ce552mlaq"
source = "events"
identifiers = { email = "email" }
"""


def test_an_audience_gets_no_conversion_row(tmp_path: Path) -> None:
    config = tmp_path / "xconduit.toml"
    config.write_text(config_text("http://127.0.0.1:9", tmp_path / "outbox.db") + AUDIENCE)
    store = MemoryStore()
    job = NewJob(
        destination="audience:vip",
        account_id="18ce552mlaq",
        pixel_id="",
        message_id="a-1",
        conversion_id="a-1",
        payload=JobBody(remove=[], add=[("k", b'{"email":["e"]}')]).encode(),
    )
    store.commit_events([IncomingEvent(source="web", message_id="a-1", jobs=(job,))], now=1.0)
    gateway = build_gateway(load_settings(config), delivery=False, store=store)
    with serve_in_thread(gateway.app) as url:
        html = httpx.get(url + "/", timeout=10).text
    assert 'id="dest-shop"' in html
    assert "dest-audience" not in html
