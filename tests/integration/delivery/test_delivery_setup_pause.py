"""A setup X refuses (an unknown pixel, an event id it does not know, an account the token cannot
reach) is not the conversions' fault: a real gateway on loopback keeps their jobs pending (no dead
letter) and `/readyz` names what to fix; once fixed, `xconduit check` (another process, same
SQLite or PostgreSQL store) makes the running gateway deliver them within seconds, not at its
next periodic check (an hour here)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.delivery_helpers import ACCOUNT, PIXEL
from tests.support.gateway_live import SERVER_KEY, post, running_gateway
from tests.support.pgtemp import temp_schema
from xconduit.config import load_settings
from xconduit.outbox import JobStatus
from xconduit.sandbox import Sandbox, Seed, SeedAccount, SeedEvent, SeedPixel, serve_sandbox
from xconduit.sandbox.seed import DEFAULT_USER_ID, DEMO_SEED

EVENTS = 6
OTHER_PIXEL, OTHER_EVENT = "okb22", "ob100"
"""A pixel and its event in another ad account of the same user."""


@pytest.fixture
def served() -> Iterator[tuple[Sandbox, str]]:
    """A sandbox per test: a test creates an event in it (`reset` keeps created events)."""
    other = SeedAccount(
        id="18ce55b0r2x",
        name="Another account",
        pixels=(SeedPixel(id=OTHER_PIXEL, events=(SeedEvent(id=OTHER_EVENT, name="Buy"),)),),
    )
    sb = Sandbox(seed=Seed(accounts=(*DEMO_SEED.accounts, other)))
    with serve_sandbox(sb) as url:
        yield sb, url


@pytest.fixture
def sandbox(served: tuple[Sandbox, str]) -> Sandbox:
    return served[0]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/outbox.db"
    else:
        with temp_schema() as url:
            yield url


def write_config(
    folder: Path, x_url: str, sb: Sandbox, *, pixel: str, event: str, store: str = ""
) -> Path:
    c = sb.credentials
    config = folder / "xconduit.toml"
    config.write_text(
        f"""
[server]
store = "{store or f"sqlite:///{folder}/outbox.db"}"

[x]
api = "{x_url}"
consumer_key = "{c.consumer_key}"
consumer_secret = "{c.consumer_secret}"
access_token = "{c.access_token}"
access_token_secret = "{c.access_token_secret}"
timeout = "5s"

[checks]
interval = "1h"

[delivery]
batch_age = "50ms"
retry_min = "1s"
retry_max = "2s"

[[sources]]
name = "server"
write_keys = ["{SERVER_KEY}"]

[[conversions]]
name = "shop"
account_id = "{ACCOUNT}"
pixel_id = "{pixel}"
events = {{ "Order Completed" = "{event}" }}
"""
    )
    return config


def check(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xconduit", "check", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"},
        check=False,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30) -> float:
    """Seconds it took for `condition` to hold (fails after `timeout`)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


def send_orders(url: str) -> None:
    batch = [
        {
            "type": "track",
            "event": "Order Completed",
            "messageId": f"m-{n}",
            "userId": f"u-{n}",
            "properties": {"order_id": f"order-{n}", "email": f"user{n}@example.com"},
        }
        for n in range(EVENTS)
    ]
    with httpx.Client(base_url=url, timeout=10) as http:
        assert post(http, "/v1/batch", {"batch": batch}).status_code == 200


def readyz_problems(url: str) -> list[str]:
    answer = httpx.get(url + "/readyz", timeout=10)
    if answer.status_code != 503:
        return []
    problems: list[str] = answer.json()["problems"]
    return problems


# (what is wrong, pixel, event id, what `/readyz` must name, how X's side gets fixed)
SETUPS = [
    pytest.param(
        "unknown event id",
        PIXEL,
        f"tw-{PIXEL}-zz999",
        'event ids of conversion destination "shop"',
        lambda sb: sb.create_event(PIXEL, SeedEvent(id="zz999", name="Order", type="PURCHASE")),
        id="event-id-unknown",
    ),
    pytest.param(
        "account out of reach",
        PIXEL,
        f"tw-{PIXEL}-ol288",
        f"delivery to account {ACCOUNT} paused",
        lambda sb: sb.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("AD_MANAGER",)),
        id="account-out-of-reach",
    ),
]


@pytest.mark.parametrize(("wrong", "pixel", "event", "named", "fix"), SETUPS)
def test_a_refused_setup_holds_the_events_until_a_check_passes_anywhere(
    served: tuple[Sandbox, str],
    sandbox: Sandbox,
    tmp_path: Path,
    store_url: str,
    wrong: str,
    pixel: str,
    event: str,
    named: str,
    fix: Callable[[Sandbox], None],
) -> None:
    if wrong == "account out of reach":
        sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, None)
    config = write_config(tmp_path, served[1], sandbox, pixel=pixel, event=event, store=store_url)
    settings = load_settings(config)
    with running_gateway(settings, tmp_path, delivery=True) as (gateway, url):
        send_orders(url)
        wait_until(lambda: any(named in p for p in readyz_problems(url)), "/readyz to name the fix")

        def counts() -> dict[JobStatus, int]:
            return gateway.store.counts().get("shop", {})

        wait_until(lambda: counts().get(JobStatus.PENDING) == EVENTS, "the jobs back to pending")
        assert counts() == {JobStatus.PENDING: EVENTS}
        assert gateway.store.list_dead() == []
        assert sandbox.conversions() == []

        failing = check(config)
        assert failing.returncode == 1, failing.stdout  # not fixed yet: still paused
        assert counts() == {JobStatus.PENDING: EVENTS}

        fix(sandbox)  # as fixing it in Events Manager / Ads Manager
        passing = check(config)
        assert passing.returncode == 0, passing.stdout
        took = wait_until(
            lambda: counts() == {JobStatus.DELIVERED: EVENTS}, "the gateway to deliver"
        )
        assert took < 20  # the gateway's own next check is an hour away
        assert sorted(c["conversion_id"] for c in sandbox.conversions()) == sorted(
            f"order-{n}" for n in range(EVENTS)
        )
        wait_until(lambda: readyz_problems(url) == [], "/readyz to clear")


@pytest.mark.parametrize(
    ("pixel", "event"),
    [("zzzzz", "tw-zzzzz-ol288"), (PIXEL, OTHER_EVENT)],
    ids=["pixel-unknown", "event-id-of-another-pixel"],
)
def test_x_refusing_the_pixel_or_its_event_ids_dead_letters_nothing(
    served: tuple[Sandbox, str], sandbox: Sandbox, tmp_path: Path, pixel: str, event: str
) -> None:
    config = write_config(tmp_path, served[1], sandbox, pixel=pixel, event=event)
    with running_gateway(load_settings(config), tmp_path, delivery=True) as (gateway, url):
        send_orders(url)
        wait_until(
            lambda: any(
                'delivery to conversion destination "shop"' in p and "fix:" in p
                for p in readyz_problems(url)
            ),
            "/readyz to name the paused destination and its fix",
        )
        wait_until(
            lambda: gateway.store.counts().get("shop") == {JobStatus.PENDING: EVENTS},
            "the jobs back to pending",
        )
        assert gateway.store.list_dead() == []
        assert any(r["status"] == 404 for r in sandbox.requests())
        page = httpx.get(url + "/dashboard/connection", timeout=10).text
        assert "conversion destination &quot;shop&quot; (account" in page


def test_the_check_button_of_a_collector_resumes_the_delivering_gateway(
    served: tuple[Sandbox, str], sandbox: Sandbox, tmp_path: Path
) -> None:
    # Two app instances on one SQLite store: a collector (no delivery, no X client) takes the
    # events and shows the gateway's pause; its button has the gateway run its checks.
    config = write_config(tmp_path, served[1], sandbox, pixel=PIXEL, event=f"tw-{PIXEL}-zz999")
    settings = load_settings(config)
    with (
        running_gateway(settings, tmp_path, delivery=True) as (gateway, _),
        running_gateway(settings, tmp_path) as (_, collector),
    ):
        send_orders(collector)
        wait_until(
            lambda: any(
                'delivery to conversion destination "shop"' in p for p in readyz_problems(collector)
            ),
            "the collector's /readyz to name the gateway's pause",
        )
        page = httpx.get(collector + "/dashboard/connection", timeout=10).text
        assert "Run the checks now" in page
        sandbox.create_event(PIXEL, SeedEvent(id="zz999", name="Order", type="PURCHASE"))
        pressed = httpx.post(collector + "/dashboard/checks", timeout=10)
        assert pressed.status_code == 303
        wait_until(
            lambda: gateway.store.counts().get("shop") == {JobStatus.DELIVERED: EVENTS},
            "the gateway to deliver",
            timeout=20,
        )
        assert gateway.store.list_dead() == []
