"""Who may open the dashboard: loopback only without an admin token; no anonymous access at all
when the gateway listens on a non-loopback address; the token as HTTP Basic password or Bearer.
Cross-site form posts are refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from xconduit.app import build_gateway
from xconduit.config import Settings
from xconduit.queue.memory import MemoryStore
from xconduit.serving import serve_in_thread

TOKEN = "s3cret-admin-token"


def served(listen: str, token: str | None = None) -> Iterator[str]:
    settings = Settings.model_validate(
        {"server": {"listen": listen}, "dashboard": {"admin_token": token}}
    )
    gateway = build_gateway(settings, delivery=False, store=MemoryStore())
    host = listen.rpartition(":")[0]
    with serve_in_thread(gateway.app, host=host) as url:
        yield url.replace("0.0.0.0", "127.0.0.1")


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
