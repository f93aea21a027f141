"""One spelling of an event id on both legs: a configuration written with the bare id (`ol288`,
as X's Events Manager lists it) sends X's pixel form `tw-<pixel>-<event>` to the Conversion API
(a sandbox over loopback) and gives the same to the website tag, so X deduplicates the pixel's
and the server's conversion as one event."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.gateway_live import post, running_gateway
from tests.support.ops_sandbox import GOOD_ACCOUNT, GOOD_PIXEL, config_text, seeded_sandbox
from xconduit.config import load_settings
from xconduit.sandbox import Sandbox, serve_sandbox

KEY = "wk-ops-test"  # the source of `config_text`


def received(sb: Sandbox, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(got := sb.conversions()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


@pytest.mark.parametrize("written", ["ol288", f"tw-{GOOD_PIXEL}-ol288"])
def test_both_legs_carry_the_pixel_s_form_of_the_event_id(tmp_path: Path, written: str) -> None:
    sb = seeded_sandbox()
    with serve_sandbox(sb) as x_url:
        conversions = (
            f'[[conversions]]\nname = "shop"\naccount_id = "{GOOD_ACCOUNT}"\n'
            f'pixel_id = "{GOOD_PIXEL}"\nevents = {{ "Order Completed" = "{written}" }}\n\n'
            f'[[conversions.tag]]\nuniversal_pixel_id = "{GOOD_PIXEL}"\n'
        )
        config = tmp_path / "xconduit.toml"
        config.write_text(
            config_text(x_url, tmp_path / "outbox.db", sb.credentials, conversions=conversions)
        )
        settings = load_settings(config, environ={})
        with running_gateway(settings, tmp_path / "gw", delivery=True) as (_, url):
            with httpx.Client(base_url=url) as http:
                tag = http.get("/v1/tag-config", params={"key": KEY}).json()
                event = {
                    "userId": "u1",
                    "event": "Order Completed",
                    "properties": {"order_id": "o-1", "revenue": 5, "email": "a@example.com"},
                }
                assert post(http, "/v1/track", event, key=KEY).status_code == 200
            got = received(sb, 1)
    assert [c["event_id"] for c in got] == [f"tw-{GOOD_PIXEL}-ol288"]
    assert tag["events"] == {"order completed": f"tw-{GOOD_PIXEL}-ol288"}
