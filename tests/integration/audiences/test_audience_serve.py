"""`xconduit serve` runs the audiences: event-fed changes reach the in-process sandbox."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.serving import serve_in_thread

KEY = "wk_serve_audiences"


def test_serve_flushes_event_fed_changes_to_x(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "server": {"store": f"sqlite:///{tmp_path / 'outbox.db'}"},
            "sources": [{"name": "app", "write_keys": [KEY]}],
            "audiences": [
                {
                    "name": "vip",
                    "account_id": "18ce552mlaq",
                    "identifiers": {"email": "email"},
                    "trait": "vip",
                    "flush_users": 2,
                }
            ],
        }
    )
    gateway = build_gateway(settings, workdir=tmp_path)
    assert gateway.sandbox is not None
    gateway.start()
    try:
        with serve_in_thread(gateway.app, name="serve-audiences") as url:
            batch = [
                {
                    "type": "identify",
                    "userId": f"u{n}",
                    "traits": {"email": f"u{n}@ex.com", "vip": True},
                }
                for n in range(2)
            ]
            response = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(KEY, ""))
            assert response.status_code == 200
            members: list[dict[str, list[str]]] = []
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and len(members) < 2:
                ours = [
                    a for a in gateway.sandbox.audiences() if a["name"].startswith("xconduit vip ")
                ]
                members = (gateway.sandbox.audience_members(ours[0]["id"]) or []) if ours else []
                time.sleep(0.1)
            assert len(members) == 2
    finally:
        gateway.stop()
