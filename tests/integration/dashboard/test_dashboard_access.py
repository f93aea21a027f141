"""Who may open the dashboard: loopback only without an admin token; no anonymous access at all
when the gateway listens on a non-loopback address; the token as HTTP Basic password or Bearer,
with a client that sends wrong ones held off. Only the gateway's own host names are answered (a
DNS-rebinding page gets nothing); cross-site form posts are refused."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.delivery_helpers import ACCOUNT, DESTINATION, PIXEL, conversion, enqueue
from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.dashboard.auth import FAILED_LIMIT, PROXY_LIMIT
from xconduit.outbox import JobStatus
from xconduit.outbox.memory import MemoryStore
from xconduit.serving import serve_in_thread

TOKEN = "s3cret-admin-token"
REBIND = "attacker-rebind.example"
CONVERSIONS = {"name": DESTINATION, "account_id": ACCOUNT, "pixel_id": PIXEL}
KEY = owner_keys(Settings.model_validate({"conversions": [CONVERSIONS]}))[DESTINATION]


def served(
    listen: str,
    token: str | None = None,
    *,
    store: MemoryStore | None = None,
    allowed_hosts: tuple[str, ...] = (),
) -> Iterator[str]:
    dashboard: dict[str, object] = {"admin_token": token}
    if allowed_hosts:
        dashboard["allowed_hosts"] = list(allowed_hosts)
    settings = Settings.model_validate(
        {"server": {"listen": listen}, "dashboard": dashboard, "conversions": [CONVERSIONS]}
    )
    gateway = build_gateway(settings, delivery=False, store=store or MemoryStore())
    host = listen.rpartition(":")[0]
    with serve_in_thread(gateway.app, host=host) as url:
        yield url.replace("0.0.0.0", "127.0.0.1")


serving = contextmanager(served)


@pytest.fixture
def loopback() -> Iterator[str]:
    yield from served("127.0.0.1:0")


@pytest.fixture
def everywhere() -> Iterator[str]:
    yield from served("0.0.0.0:0")


@pytest.fixture
def everywhere_with_token() -> Iterator[str]:
    yield from served("0.0.0.0:0", TOKEN)


PAGES = ["/", "/dashboard/debugger", "/dashboard/dead", "/dashboard/connection", "/metrics"]


def test_loopback_without_token_is_open_to_local_requests(loopback: str) -> None:
    for path in PAGES:
        assert httpx.get(loopback + path).status_code == 200, path


@pytest.mark.parametrize(
    "proxy",
    [
        {"X-Forwarded-For": "203.0.113.7"},  # Caddy, most proxies
        {"X-Forwarded-Proto": "https"},  # the nginx example of the deployment how-to
        {"Forwarded": "for=203.0.113.7;proto=https"},
        {"X-Real-IP": "203.0.113.7"},
    ],
)
def test_loopback_without_token_refuses_what_a_proxy_forwards(
    loopback: str, proxy: dict[str, str]
) -> None:
    """A reverse proxy on the same host makes every visitor's request come from loopback."""
    for path in PAGES:
        answer = httpx.get(loopback + path, headers=proxy)
        assert answer.status_code == 401, path
        assert "dashboard.admin_token" in answer.text
    purge = httpx.post(loopback + "/dashboard/dead/purge", data={"all": "1"}, headers=proxy)
    assert purge.status_code == 401
    assert httpx.get(loopback + "/readyz", headers=proxy).status_code != 401  # probes stay open


def test_non_loopback_without_token_refuses_everyone(everywhere: str) -> None:
    for path in PAGES:
        answer = httpx.get(everywhere + path)
        assert answer.status_code == 401, path
        assert "dashboard.admin_token" in answer.text
    probe = httpx.get(everywhere + "/readyz")  # probes stay open (not started yet: 503)
    assert probe.json()["status"] == "starting"
    assert httpx.post(everywhere + "/dashboard/dead/purge", data={"all": "1"}).status_code == 401


def test_the_admin_token_opens_it(everywhere_with_token: str) -> None:
    url = everywhere_with_token
    assert httpx.get(url + "/").status_code == 401
    assert httpx.get(url + "/", auth=("admin", "wrong")).status_code == 401
    assert httpx.get(url + "/", auth=("admin", TOKEN)).status_code == 200
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(url + "/metrics", headers=bearer).status_code == 200


def test_cross_site_form_posts_are_refused(loopback: str) -> None:
    evil = {"Origin": "https://evil.example"}
    answer = httpx.post(loopback + "/dashboard/dead/purge", data={"all": "1"}, headers=evil)
    assert answer.status_code == 403
    own = {"Origin": loopback}
    answer = httpx.post(loopback + "/dashboard/dead/purge", data={"all": "1"}, headers=own)
    assert answer.status_code == 303


@pytest.fixture
def dead_store() -> MemoryStore:
    """Three dead letters of the served configuration's destination."""
    store = MemoryStore()
    now = time.time()
    enqueue(store, [conversion(n) for n in range(3)], now=now)
    store.adopt_jobs(DESTINATION, owner=KEY, account_id=ACCOUNT, pixel_id=PIXEL)
    jobs = store.claim_batch(DESTINATION, limit=10, now=now, lease_seconds=60, owner=KEY)
    store.dead_letter([(job.id, "X 400 INVALID_PARAMETER") for job in jobs], now=now)
    return store


WRITES = ["/dashboard/dead/purge", "/dashboard/dead/replay", "/dashboard/checks"]


def test_a_dns_rebinding_page_reads_and_changes_nothing(dead_store: MemoryStore) -> None:
    """A page of attacker-rebind.example, its name re-pointed at 127.0.0.1: the browser sends
    its requests from loopback, with the page's name as Host and Origin."""
    with serving("127.0.0.1:0", store=dead_store) as url:
        port = urlsplit(url).port
        rebound = {"Host": f"{REBIND}:{port}", "Origin": f"http://{REBIND}:{port}"}
        for path in PAGES:
            answer = httpx.get(url + path, headers={"Host": rebound["Host"]})
            assert answer.status_code == 403, path
            assert "dashboard.allowed_hosts" in answer.text
            assert "dead letter" not in answer.text.lower()
        for path in WRITES:
            answer = httpx.post(url + path, data={"all": "1"}, headers=rebound)
            assert answer.status_code == 403, path
        assert dead_store.counts()[DESTINATION] == {JobStatus.DEAD: 3}
        # The gateway's own names still work, and so does a post from its own page.
        for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
            assert httpx.get(url + "/", headers={"Host": host}).status_code == 200, host
        own = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
        answer = httpx.post(url + "/dashboard/dead/purge", data={"all": "1"}, headers=own)
        assert answer.status_code == 303
        assert dead_store.counts().get(DESTINATION, {}) == {}


def test_behind_a_proxy_the_public_name_is_answered_once_allowed() -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    public = {**bearer, "Host": "collect.example.com", "X-Forwarded-Proto": "https"}
    with serving("127.0.0.1:0", TOKEN) as url:
        assert httpx.get(url + "/metrics", headers=public).status_code == 403
    with serving("127.0.0.1:0", TOKEN, allowed_hosts=("collect.example.com",)) as url:
        assert httpx.get(url + "/metrics", headers=public).status_code == 200
        other = {**public, "Host": "other.example.com"}
        assert httpx.get(url + "/metrics", headers=other).status_code == 403
        assert httpx.get(url + "/metrics", headers=bearer).status_code == 200  # 127.0.0.1:port


@pytest.mark.parametrize(
    "browser",
    [
        {"Sec-Fetch-Site": "cross-site"},  # a form post whose Origin and Referer were stripped
        {"Sec-Fetch-Site": "same-site"},  # a page on another port of localhost
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Referer": "http://127.0.0.1:1/evil"},
    ],
)
def test_posts_from_another_site_are_refused(
    dead_store: MemoryStore, browser: dict[str, str]
) -> None:
    with serving("127.0.0.1:0", store=dead_store) as url:
        for path in WRITES:
            answer = httpx.post(url + path, data={"all": "1"}, headers=browser)
            assert answer.status_code == 403, path
            assert "cross-site request refused" in answer.text
        assert dead_store.counts()[DESTINATION] == {JobStatus.DEAD: 3}


def test_wrong_tokens_hold_the_client_off_and_are_logged_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="xconduit.dashboard")
    guesses = [f"guess-{n:04d}" for n in range(FAILED_LIMIT + 5)]
    with serving("127.0.0.1:0", TOKEN) as url:
        statuses = []
        for guess in guesses:
            answer = httpx.get(url + "/metrics", headers={"Authorization": f"Bearer {guess}"})
            statuses.append(answer.status_code)
        assert statuses == [401] * FAILED_LIMIT + [429] * 5
        assert int(answer.headers["retry-after"]) > 0
        # Held off: even the right token is refused to this client for now (no free oracle).
        assert httpx.get(url + "/", auth=("admin", TOKEN)).status_code == 429
        # Another client (127.0.0.2) with the right token is not.
        other = httpx.HTTPTransport(local_address="127.0.0.2")
        with httpx.Client(transport=other) as client:
            assert client.get(url + "/", auth=("admin", TOKEN)).status_code == 200
            assert client.get(url + "/", auth=("admin", "nope")).status_code == 401
    lines = [r.getMessage() for r in caplog.records if r.name == "xconduit.dashboard"]
    wrong = [line for line in lines if "wrong admin token from 127.0.0.1 " in line]
    assert len(wrong) == FAILED_LIMIT  # each wrong one up to the limit, then one "held off"
    assert any("127.0.0.1 held off" in line for line in lines)
    assert any("wrong admin token from 127.0.0.2 " in line for line in lines)
    for text in (caplog.text, *lines):
        assert TOKEN not in text
        assert "guess-" not in text
        assert "nope" not in text


@pytest.mark.slow
def test_through_a_proxy_wrong_tokens_count_per_visitor_and_for_the_proxy() -> None:
    """A proxy on the same host names the visitor in X-Forwarded-For; one that passes a visitor's
    own header on lets it pick a new name for each try, so proxied requests have a limit too."""
    with serving("127.0.0.1:0", TOKEN) as url:

        def metrics(visitor: str, token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", "X-Forwarded-For": visitor}
            return httpx.get(url + "/metrics", headers=headers)

        statuses = [metrics("203.0.113.7", "wrong").status_code for _ in range(FAILED_LIMIT + 1)]
        assert statuses == [401] * FAILED_LIMIT + [429]
        assert metrics("203.0.113.7", TOKEN).status_code == 429
        assert metrics("203.0.113.8", TOKEN).status_code == 200  # another visitor

        names = (f"198.51.100.7, 10.9.{n // 250}.{n % 250}" for n in range(PROXY_LIMIT))
        statuses = [metrics(name, "wrong").status_code for name in names]
        assert 429 in statuses  # the proxy's own limit: new names do not buy new tries
        held = metrics("203.0.113.9", TOKEN)
        assert held.status_code == 429
        assert "clients through a proxy" in held.text
        assert int(held.headers["retry-after"]) > 0
