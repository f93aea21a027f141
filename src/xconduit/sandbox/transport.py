"""A synchronous httpx transport that calls the sandbox in-process (no socket).

For unit tests with a plain `httpx.Client`: `httpx.Client(transport=InProcessTransport(sb.app),
base_url="http://sandbox")`. Each request runs the ASGI app in its own short event loop; when the
calling thread already runs a loop (inside async code, or next to Playwright's sync API), that short
loop runs on a helper thread instead, so the call still works.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
from starlette.types import ASGIApp


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def run() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(run())
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, run()).result()
