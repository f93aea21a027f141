"""A fake gateway for the browser tests, and a page driver that watches what the tag does.

The fake gateway (Starlette on 127.0.0.1) serves the tag files, `/v1/tag-config`, the test pages,
and records every event the page POSTs. X's hosts never see a request: the browser context routes
`static.ads-twitter.com` to a do-nothing uwt.js and records every `analytics.twitter.com` image.
Each test uses its own write key, so the shared server's records never mix.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from playwright.sync_api import BrowserContext, Page, Route
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route as Path_

from xconduit.tag import STUB_JS, plugin_js, tag_js

HERE = Path(__file__).parents[1] / "browser"  # the npm project that builds analytics.js
CHROMIUM = os.environ.get("XCONDUIT_CHROMIUM", "/usr/bin/chromium")
# Playwright's own browser download does not work here; Debian's chromium with these flags does.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def build_ajs_bundle() -> Path:
    """analytics-next as one script for a page (window.AnalyticsBrowser), from npm + esbuild.

    `npm ci` (committed lockfile) when node_modules is missing; rebuilt when the lockfile or the
    entry changes. Nothing is fetched from Segment's CDN.
    """
    # Test workers start at once: one installs and builds while the others wait on the lock
    # (two `npm ci` in one folder delete each other's files).
    with (HERE / ".bundle.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        return _build_ajs_bundle()


def _build_ajs_bundle() -> Path:
    modules = HERE / "node_modules"
    if not (modules / "@segment" / "analytics-next").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed for the analytics-next tests (scripts/test-env)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    out = modules / ".xconduit" / "ajs.js"
    lock = HERE / "package-lock.json"
    entry = HERE / "ajs_entry.js"
    if not out.exists() or out.stat().st_mtime < max(lock.stat().st_mtime, entry.stat().st_mtime):
        esbuild = modules / ".bin" / "esbuild"
        cmd = [
            str(esbuild),
            str(entry),
            "--bundle",
            "--format=iife",
            "--minify",
            f"--outfile={out}",
        ]
        subprocess.run(cmd, cwd=HERE, check=True, capture_output=True)
    return out


# Records every call to window.twq, whoever defines it (the tag's stub or uwt.js).
TWQ_SPY = """
window.__twq = [];
(function () {
  var wrapped;
  Object.defineProperty(window, 'twq', {
    configurable: true,
    get: function () { return wrapped; },
    set: function (real) {
      wrapped = function () {
        window.__twq.push(JSON.parse(JSON.stringify(Array.prototype.slice.call(arguments))));
        return real.apply(this, arguments);
      };
    },
  });
})();
"""
# Records what the tag prints with `debug: true` (each console.info call as one JSON array).
CONSOLE_SPY = """
window.__console = [];
(function () {
  var info = console.info;
  console.info = function () {
    window.__console.push(JSON.stringify(Array.prototype.slice.call(arguments)));
    return info.apply(console, arguments);
  };
})();
"""
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
ANALYTICS_SHORT = {"t": "track", "p": "page", "i": "identify"}  # analytics-next's paths


@dataclass
class FakeGateway:
    """What the fake gateway was asked, keyed by write key."""

    ajs_bundle: Path | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_requests: list[str] = field(default_factory=list)
    config_failures: dict[str, int] = field(default_factory=dict)
    """Write key → how many `/v1/tag-config` requests answer 503 before the real answer."""
    pages: dict[str, str] = field(default_factory=dict)
    base_url: str = ""

    def app(self) -> Starlette:
        async def tag(_: Request) -> Response:
            return Response(tag_js(), media_type="application/javascript")

        async def plugin(_: Request) -> Response:
            return Response(plugin_js(), media_type="application/javascript")

        async def ajs(_: Request) -> Response:
            assert self.ajs_bundle is not None
            return FileResponse(self.ajs_bundle, media_type="application/javascript")

        async def tag_config(request: Request) -> Response:
            key = request.query_params.get("key", "")
            self.config_requests.append(key)
            if self.config_failures.get(key, 0) > 0:
                self.config_failures[key] -= 1
                return JSONResponse({"error": "try later"}, status_code=503)
            if key not in self.configs:
                return JSONResponse({"error": "unknown write key"}, status_code=401)
            return JSONResponse(self.configs[key])

        async def collect(request: Request) -> Response:
            kind = request.path_params["kind"]
            body = json.loads(await request.body())
            self.events.append((ANALYTICS_SHORT.get(kind, kind), body))
            return JSONResponse({"success": True})

        async def page(request: Request) -> Response:
            return HTMLResponse(self.pages[request.path_params["name"]])

        return Starlette(
            routes=[
                Path_("/tag.js", tag),
                Path_("/plugin.js", plugin),
                Path_("/ajs.js", ajs),
                Path_("/v1/tag-config", tag_config),
                Path_("/v1/{kind}", collect, methods=["POST"]),
                Path_("/p/{name}", page),
            ]
        )

    def for_key(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        return [(kind, body) for kind, body in list(self.events) if body.get("writeKey") == key]


def serve(gateway: FakeGateway) -> Callable[[], None]:
    """Start the fake gateway on a free loopback port; returns the function that stops it."""
    config = uvicorn.Config(
        gateway.app(), host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("fake gateway did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    gateway.base_url = f"http://127.0.0.1:{port}"

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def wait_for(
    check: Callable[[], bool],
    what: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 5.0,
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        sleep(0.02)


RESET = "__reset"
RESET_HTML = (
    "<!doctype html><html><head><title>reset</title>"
    "<script>localStorage.clear(); sessionStorage.clear();</script></head><body></body></html>"
)


class TagBrowser:
    """The browser context and page that the tag tests of one worker share.

    A new context with its page cost Chromium about 0.7 CPU-s per test (measured as the
    machine's busy time); a navigation costs about 0.07. So each test gets the same page, emptied first by `fresh()`: the old
    document is left, the origin's local and session storage and every cookie are cleared, and
    X's hosts answer for the new test's TagPage only (a request of the old document that
    Playwright hands over late is answered, not recorded).
    """

    def __init__(self, context: BrowserContext, gateway: FakeGateway) -> None:
        self.context = context
        self.gateway = gateway
        self.current: TagPage | None = None
        gateway.pages[RESET] = RESET_HTML
        context.add_init_script(TWQ_SPY)
        context.add_init_script(CONSOLE_SPY)
        context.route("**/static.ads-twitter.com/**", self._uwt)
        context.route("**/analytics.twitter.com/**", self._image)
        self.page: Page = context.new_page()

    def _uwt(self, route: Route) -> None:
        if self.current is not None:
            self.current.uwt_loads += 1
        route.fulfill(status=200, content_type="application/javascript", body="/* fake uwt */")

    def _image(self, route: Route) -> None:
        if self.current is not None:
            self.current.adsct_urls.append(route.request.url)
        # X answers its image tags with no-store, so a repeated tag is requested again.
        route.fulfill(
            status=200, content_type="image/gif", body=GIF, headers={"Cache-Control": "no-store"}
        )

    def fresh(self, driver: str) -> TagPage:
        """The shared page, emptied, driven by `driver` for one test."""
        self.current = None
        if self.page.is_closed():
            self.page = self.context.new_page()
        self.page.goto(f"{self.gateway.base_url}/p/{RESET}")
        self.context.clear_cookies()
        self.current = TagPage(self.context, self.page, self.gateway, driver)
        return self.current


class TagPage:
    """One test's page running the tag through a driver: `tag` (window.xconduit) or `plugin`
    (analytics-next with the xconduit destination plugin). Made by `TagBrowser.fresh()`."""

    def __init__(
        self, context: BrowserContext, page: Page, gateway: FakeGateway, driver: str
    ) -> None:
        self.context = context
        self.page = page
        self.gateway = gateway
        self.driver = driver
        self.key = "wk_" + uuid.uuid4().hex[:12]
        self.adsct_urls: list[str] = []
        self.uwt_loads = 0
        self.sent = 0  # events the test asked for, to wait on

    # ---- opening a page ----
    def open(
        self,
        tag: dict[str, Any] | None,
        *,
        consent: dict[str, Any] | None = None,
        query: str = "",
        name: str | None = None,
        html: str | None = None,
        debug: bool = False,
    ) -> None:
        """Open a page running the tag with `tag` settings (None: fetched from /v1/tag-config);
        `debug` turns on the tag's console output (init option, or the plugin's option)."""
        name = name or uuid.uuid4().hex
        if html is None:
            html = (
                self._plugin_html(tag, debug)
                if self.driver == "plugin"
                else self._tag_html(tag, consent, debug)
            )
        self.gateway.pages[name] = html
        self.page.goto(f"{self.gateway.base_url}/p/{name}{query}")
        if self.driver == "plugin":
            self.page.evaluate("() => window.ready")

    def _tag_html(
        self, tag: dict[str, Any] | None, consent: dict[str, Any] | None, debug: bool
    ) -> str:
        init: dict[str, Any] = {"collector": self.gateway.base_url, "key": self.key}
        if debug:
            init["debug"] = True
        if tag is not None:
            init["tag"] = tag
        if consent is not None:
            init["consent"] = consent
        return (
            "<!doctype html><html><head><title>Shop</title>"
            f"<script>{STUB_JS}\nxconduit.init({json.dumps(init)});</script>"
            '<script src="/tag.js"></script></head><body>shop</body></html>'
        )

    def _plugin_html(self, tag: dict[str, Any] | None, debug: bool) -> str:
        host = self.gateway.base_url.removeprefix("http://")
        cdn = {
            "integrations": {
                "Segment.io": {"apiKey": self.key, "apiHost": f"{host}/v1", "protocol": "http"}
            }
        }
        load = {"writeKey": self.key, "cdnSettings": cdn}
        plugin = tag if tag is not None else {"collector": self.gateway.base_url, "key": self.key}
        if debug:
            plugin = {**plugin, "debug": True}
        return (
            "<!doctype html><html><head><title>Shop</title>"
            '<script src="/ajs.js"></script><script src="/plugin.js"></script>'
            "<script>window.ready = (async () => {"
            f"  const [analytics] = await AnalyticsBrowser.load({json.dumps(load)});"
            f"  await analytics.register(xconduitPlugin({json.dumps(plugin)}));"
            "  window.analytics = analytics;"
            "})();</script></head><body>shop</body></html>"
        )

    # ---- calls ----
    def _call(self, method: str, *args: Any) -> None:
        target = "analytics" if self.driver == "plugin" else "xconduit"
        self.sent += 1
        self.page.evaluate(
            f"async (args) => {{ await window.ready; await window.{target}.{method}(...args); }}",
            list(args),
        )

    def page_view(self, options: dict[str, Any] | None = None) -> None:
        self._call("page", None, None, {}, options or {})

    def track(
        self, name: str, props: dict[str, Any] | None = None, options: dict[str, Any] | None = None
    ) -> None:
        self._call("track", name, props or {}, options or {})

    def identify(self, user_id: str | None, traits: dict[str, Any]) -> None:
        self._call("identify", user_id, traits)

    # ---- what happened ----
    def events(self, count: int | None = None) -> list[dict[str, Any]]:
        """The events the gateway received from this page (waits for `count`, default: all sent)."""
        want = self.sent if count is None else count
        wait_for(
            lambda: len(self._mine()) >= want, f"{want} events at the gateway", sleep=self._pump
        )
        return [body for _, body in self._mine()]

    def uwt_count(self, expected: int) -> int:
        """How often uwt.js was loaded, once `expected` loads have happened: the pixel's script
        tag loads it asynchronously, and the route handler only runs while Playwright waits."""
        if expected:
            wait_for(lambda: self.uwt_loads >= expected, "uwt.js", sleep=self._pump)
        return self.uwt_loads

    def _pump(self, seconds: float) -> None:
        # Route handlers (the image recorder) only run while Playwright's sync API is waiting.
        self.page.wait_for_timeout(seconds * 1000)

    def _mine(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (k, b) for k, b in self.gateway.for_key(self.key) if k in ("track", "page", "identify")
        ]

    def twq(self) -> list[list[Any]]:
        self.events()  # the pixel runs before (tag) or beside (plugin) the send
        calls: list[list[Any]] = self.page.evaluate("() => window.__twq")
        return calls

    def console(self) -> list[str]:
        """Every console.info call of the page so far, each as a JSON array of its arguments."""
        self.events()
        lines: list[str] = self.page.evaluate("() => window.__console")
        return lines

    def adsct(self, count: int) -> list[dict[str, str]]:
        """The single-event image tags requested; waits for `count`, then checks no more come."""
        self.events()
        wait_for(lambda: len(self.adsct_urls) >= count, f"{count} adsct images", sleep=self._pump)
        self._pump(0.15)
        assert len(self.adsct_urls) == count, self.adsct_urls
        return [adsct_params(url) for url in self.adsct_urls]

    def cookie(self, name: str) -> dict[str, Any] | None:
        for c in self.context.cookies():
            if c["name"] == name:
                return dict(c)
        return None


def adsct_params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://analytics.twitter.com/i/adsct"
    return dict(parse_qsl(parts.query, keep_blank_values=True))
