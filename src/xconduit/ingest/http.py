"""The collector: Segment's HTTP tracking API as an ASGI app (Starlette).

    POST /v1/{track,page,screen,identify,group,alias}   one event (and analytics-next's /v1/t, …)
    POST /v1/batch, /v1/b                                 `{"batch": [event, ...]}`
    GET  /tag.js, /v1/tag-config?key=…                    the website tag and its public settings
    GET  /healthz, /readyz, /openapi.json

A 200 is sent only after the request's events are committed: they go to the outbox through
`Committer.submit` (a `GroupCommitter`, so concurrent requests share one transaction). Every
answer is JSON; bad input gets a 4xx naming the problem, a store failure a 503 with
`Retry-After` (clients retry, and dedup on `messageId` makes the retry safe). So does a request
beyond the bound on the work held (`Admission`: `server.max_in_flight` requests or
`server.max_in_flight_bytes`), refused before its body is read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from xconduit.audiences.events import AudienceEvents
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.errors import InvalidEvent, StoreBusy, StoreError
from xconduit.events import MAX_DEPTH, loads, nests_deeper
from xconduit.ingest.accept import Accepted, EventAcceptor, new_message_id
from xconduit.ingest.admission import SHED_RETRY_AFTER, Admission
from xconduit.ingest.assets import StaticAsset
from xconduit.ingest.body import (
    MAX_EVENT_BYTES,
    MAX_REQUEST_BYTES,
    RequestRejected,
    read_body,
    too_large,
)
from xconduit.ingest.openapi import openapi_document
from xconduit.ingest.sources import KeyRing, RateLimiter, Source, basic_user, retry_after
from xconduit.ingest.tagconfig import TagConfigs
from xconduit.mapping import Router
from xconduit.outbox import IncomingEvent
from xconduit.outbox.counts import Count
from xconduit.tag import plugin_js, tag_js

log = logging.getLogger("xconduit.ingest")

# Path segment → event type; None is a batch. analytics-next posts to /v1/<first letter>.
ENDPOINTS: dict[str, str | None] = {
    "track": "track",
    "page": "page",
    "screen": "screen",
    "identify": "identify",
    "group": "group",
    "alias": "alias",
    "batch": None,
    "t": "track",
    "p": "page",
    "s": "screen",
    "i": "identify",
    "g": "group",
    "a": "alias",
    "b": None,
}
STORE_RETRY_AFTER = "2"


class Committer(Protocol):
    async def submit(
        self, events: Sequence[IncomingEvent], *, timeout: float | None = None
    ) -> list[bool]: ...


def json_response(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    return Response(orjson.dumps(body), status, headers or None, media_type="application/json")


def error(message: str, status: int, **extra: Any) -> Response:
    return json_response({"success": False, "error": message, **extra}, status)


class Collector:
    """The collector's ASGI app (`.app`) for one configuration."""

    def __init__(
        self,
        *,
        settings: Settings,
        committer: Committer,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        ready: Callable[[], bool] = lambda: True,
        new_id: Callable[[], str] = new_message_id,
        count: Callable[[Sequence[Count]], None] = lambda counts: None,
    ) -> None:
        """`count`: adds to the store's counters (the requests shed); called in a thread."""
        self.keys = KeyRing(settings.sources)
        self.acceptor = EventAcceptor(
            Router(settings),
            new_id=new_id,
            audiences=AudienceEvents(settings.audiences, settings.suppression),
            owners=owner_keys(settings),
        )
        self.tags = TagConfigs(settings)
        self.limiter = RateLimiter(clock=monotonic)
        self._committer = committer
        self._busy_timeout = settings.server.busy_timeout
        self.admission = Admission(
            max_requests=settings.server.max_in_flight,
            max_bytes=settings.server.max_in_flight_bytes,
            count=count,
            monotonic=monotonic,
        )
        self._clock = clock
        self._ready = ready
        self._openapi = orjson.dumps(openapi_document())
        self._tag_js, self._plugin_js = StaticAsset(tag_js()), StaticAsset(plugin_js())
        self.routes = Starlette(
            routes=[
                Route("/v1/{kind}", self.collect, methods=["POST", "OPTIONS"]),
                Route("/tag.js", self.tag, methods=["GET", "HEAD"]),
                Route("/tag/plugin.js", self.plugin, methods=["GET", "HEAD"]),
                Route("/v1/tag-config", self.tag_config, methods=["GET", "OPTIONS"]),
                Route("/healthz", self.healthz, methods=["GET", "HEAD"]),
                Route("/readyz", self.readyz, methods=["GET", "HEAD"]),
                Route("/openapi.json", self.openapi, methods=["GET", "HEAD"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    # ---- admission (shedding) ----------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: the routes, behind the bound on the requests held (`Admission`)."""
        kind = _posted_kind(scope)
        if kind is None:  # health, tag, preflights, errors: never shed, never counted
            await self.routes(scope, receive, send)
            return
        # Admitted before the body is read, and refused without Starlette: under overload a
        # refusal must cost as little as possible.
        headers = dict(scope["headers"])
        size = _held_size(headers, is_batch=ENDPOINTS[kind] is None)
        if not self.admission.admit(size):
            await self._shed(headers.get(b"origin"), send)
            return
        try:
            await self.routes(scope, receive, send)
        finally:
            self.admission.release(size)

    async def _shed(self, origin: bytes | None, send: Send) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(SHED_BODY)).encode()),
            (b"retry-after", SHED_RETRY_AFTER.encode()),
        ]
        if origin and self.keys.allows_somewhere(origin.decode("latin-1")):
            headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": SHED_BODY})

    # ---- the tracking API --------------------------------------------------------------------

    async def collect(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        origin = request.headers.get("origin")
        if kind not in ENDPOINTS:
            return self._cors(error(f"no such endpoint: /v1/{kind}", 404), origin, None)
        if request.method == "OPTIONS":
            return self._preflight(request, origin)
        is_batch = ENDPOINTS[kind] is None
        try:
            source, body, key, keys_in_events = await self._read(request, is_batch=is_batch)
            if origin and not source.allows(origin):
                return error(f"origin {origin} is not allowed for this write key's source", 403)
            wait = self.limiter.wait(source)
            if wait:
                response = error(f"rate limit of source {source.name} exceeded", 429)
                response.headers["Retry-After"] = retry_after(wait)
                return self._cors(response, origin, source)
            accepted = self._accept(
                request,
                source,
                body,
                ENDPOINTS[kind],
                key,
                batch=is_batch,
                keys_in_events=keys_in_events,
            )
        except RequestRejected as exc:
            return self._cors(error(str(exc), exc.status), origin, None)
        rejected = [r.as_json() for r in accepted.rejected]
        if not accepted.events:
            message = "no event in the request is valid" if rejected else "the batch is empty"
            response = error(message, 400, accepted=0, duplicates=0, rejected=rejected)
            return self._cors(response, origin, source)
        try:
            fresh = await self._committer.submit(accepted.events, timeout=self._busy_timeout)
        except StoreBusy:
            # Waited `busy_timeout` for the outbox (another writer holds it): not committed.
            log.warning("outbox busy for more than busy_timeout; answering 503")
            message = (
                f"the event store is busy (held by another writer for more than "
                f"server.busy_timeout = {self._busy_timeout:g} s); nothing was committed: retry"
            )
            response = error(message, 503)
            response.headers["Retry-After"] = STORE_RETRY_AFTER
            return self._cors(response, origin, source)
        except StoreError as exc:
            log.error("outbox commit failed; answering 503: %s", exc)
            response = error("the event store is unavailable; retry later", 503)
            response.headers["Retry-After"] = STORE_RETRY_AFTER
            return self._cors(response, origin, source)
        new = sum(fresh)
        body_out = {
            "success": True,
            "accepted": new,
            "duplicates": len(fresh) - new,
            "rejected": rejected,
            "invalid": [u.as_json() for u in accepted.invalid],
            "dropped": [d.as_json() for d in accepted.dropped],
        }
        return self._cors(json_response(body_out), origin, source)

    async def _read(self, request: Request, *, is_batch: bool) -> tuple[Source, Any, str, bool]:
        """The source, the decoded body, the request's write key, and whether that key came from
        the events themselves (analytics-next's batches carry it per event)."""
        limit = MAX_REQUEST_BYTES if is_batch else MAX_EVENT_BYTES
        what = "the request body" if is_batch else "the event"
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large(limit, what)
        key = basic_user(request.headers.get("authorization"))
        if key is not None and self.keys.source(key) is None:
            raise RequestRejected("write key: unknown (check the key of your source)", status=401)
        try:
            raw = await read_body(
                request.stream(),
                content_encoding=request.headers.get("content-encoding", ""),
                limit=limit,
                what=what,
            )
        except ClientDisconnect:
            # Nobody is left to answer and nothing was committed: not an error of ours.
            raise RequestRejected("the client went away before sending the whole body") from None
        if not raw.strip():
            raise RequestRejected("the body is empty; send a JSON object", field="body")
        try:
            # A batch is read as deep as the parser goes: an event nested too deep is then
            # rejected alone (`_accept`), not the whole batch.
            body = loads(raw, max_depth=None if is_batch else MAX_DEPTH)
        except InvalidEvent as exc:
            raise RequestRejected(f"the body is {exc}", field="body") from None
        if not isinstance(body, dict):
            raise RequestRejected("the body must be a JSON object", field="body")
        keys_in_events = False
        if key is None:
            key, keys_in_events = _body_key(body, is_batch=is_batch)
        if key is None:
            raise RequestRejected(
                "write key: missing (send it as the HTTP Basic user or as writeKey in the body)",
                status=401,
            )
        source = self.keys.source(key)
        if source is None:
            raise RequestRejected("write key: unknown (check the key of your source)", status=401)
        return source, body, key, keys_in_events

    def _accept(
        self,
        request: Request,
        source: Source,
        body: dict[str, Any],
        kind: str | None,
        key: str,
        *,
        batch: bool,
        keys_in_events: bool,
    ) -> Accepted:
        if batch:
            raws = body.get("batch")
            if not isinstance(raws, list):
                raise RequestRejected("batch: must be an array of events", field="batch")
            _check_batch_depth(body)
            # {"batch": [event]}: an event is two levels down. The walk costs what `loads`'s
            # own would; only when something is too deep are the events measured one by one.
            check_depth = nests_deeper(raws, MAX_DEPTH + 1)
        else:
            check_depth = False
            raws = [body]
        client = request.client
        return self.acceptor.accept(
            raws,
            source=source.name,
            default_type=kind,
            received_at=_iso(self._clock()),
            client_ip=client.host if client else None,
            any_library_ip=source.client_ip,
            batch=body if batch else None,
            check_size=batch and _body_size(request) > MAX_EVENT_BYTES,
            check_depth=check_depth,
            write_key=key,
            keys_in_events=keys_in_events,
        )

    # ---- CORS ----------------------------------------------------------------------------------

    def _preflight(self, request: Request, origin: str | None) -> Response:
        if not origin or not self.keys.allows_somewhere(origin):
            return error(f"origin {origin or '(none)'} is not allowed by any source", 403)
        asked = request.headers.get("access-control-request-headers", "")
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
            "Access-Control-Allow-Headers": asked or "Content-Type, Authorization",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        }
        return Response(status_code=204, headers=headers)

    def _cors(self, response: Response, origin: str | None, source: Source | None) -> Response:
        if not origin:
            return response
        allowed = source.allows(origin) if source else self.keys.allows_somewhere(origin)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    # ---- tag, health, documents ------------------------------------------------------------

    async def tag(self, request: Request) -> Response:
        return self._tag_js.response(request)

    async def plugin(self, request: Request) -> Response:
        """The analytics-next destination plugin (the tag's core followed by the plugin)."""
        return self._plugin_js.response(request)

    async def tag_config(self, request: Request) -> Response:
        origin = request.headers.get("origin")
        if request.method == "OPTIONS":
            return self._preflight(request, origin)
        key = request.query_params.get("key", "")
        source = self.keys.source(key) if key else None
        if source is None:
            message = "key: unknown write key" if key else "key: missing (?key=<write key>)"
            return self._cors(error(message, 401), origin, None)
        settings = self.tags.for_source(source.name)
        if settings is None:
            return self._cors(
                error(f"source {source.name} has no tag configured", 404), origin, source
            )
        response = json_response(settings)
        response.headers["Cache-Control"] = "public, max-age=60"
        return self._cors(response, origin, source)

    async def healthz(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        if self._ready():
            return json_response({"status": "ready"})
        return json_response({"status": "starting"}, 503)

    async def openapi(self, request: Request) -> Response:
        return Response(self._openapi, media_type="application/json")

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return error(f"no such endpoint: {request.method} {request.url.path}", 404)

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return error(f"{request.method} is not allowed on {request.url.path}", 405)


def _body_key(body: dict[str, Any], *, is_batch: bool) -> tuple[str | None, bool]:
    """The body's write key, and whether it is the first event's (then each event has its own)."""
    key = body.get("writeKey")
    if isinstance(key, str) and key:
        return key, False
    if is_batch and isinstance(body.get("batch"), list):
        for item in body["batch"]:  # analytics-next's batches carry the key in each event
            if (
                isinstance(item, dict)
                and isinstance(item.get("writeKey"), str)
                and item["writeKey"]
            ):
                return str(item["writeKey"]), True
    return None, False


def _check_batch_depth(body: dict[str, Any]) -> None:
    """RequestRejected when the batch's own keys (its `context`, which every event takes) nest
    deeper than an event may (they are level 2 in the batch as in an event): that concerns
    every event, so the whole request is refused."""
    for key, value in body.items():
        if key != "batch" and nests_deeper({key: value}):
            raise RequestRejected(
                f"{key}: nested deeper than {MAX_DEPTH} levels (the batch's own {key})",
                field=key,
            )


SHED_BODY = orjson.dumps(
    {
        "success": False,
        "error": "the collector is overloaded; nothing of this request was read or committed: "
        f"retry after {SHED_RETRY_AFTER} s",
    }
)


def _posted_kind(scope: Scope) -> str | None:
    """The endpoint of a POST to the tracking API (`track`, `batch`, ...), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    kind = path[4:] if path.startswith("/v1/") else ""
    return kind if kind in ENDPOINTS else None


def _held_size(headers: dict[bytes, bytes], *, is_batch: bool) -> int:
    """What the request's body may cost once read: its length, or its endpoint's limit when
    that length is unknown or the body compressed."""
    limit = MAX_REQUEST_BYTES if is_batch else MAX_EVENT_BYTES
    declared = headers.get(b"content-length", b"")
    compressed = headers.get(b"content-encoding", b"").strip().lower() not in (b"", b"identity")
    return min(int(declared), limit) if declared.isdigit() and not compressed else limit


def _body_size(request: Request) -> int:
    declared = request.headers.get("content-length", "")
    compressed = request.headers.get("content-encoding", "").strip().lower() not in ("", "identity")
    # Without a trustworthy length (chunked, compressed), measure every event.
    return int(declared) if declared.isdigit() and not compressed else MAX_REQUEST_BYTES


def _iso(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds")
