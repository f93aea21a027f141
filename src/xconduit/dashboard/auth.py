"""Who may open the dashboard and `/metrics`.

Every request must name a host the gateway answers to (`xconduit.hosts`): the listen address,
`localhost`, `127.0.0.1` or `[::1]` with the listening port, or one of `dashboard.allowed_hosts`
(the public name behind a reverse proxy). A page under another name re-pointed at 127.0.0.1 (DNS
rebinding) is refused before anything else.

With `dashboard.admin_token` set: requests carrying it (HTTP Basic password, any user name, or
`Authorization: Bearer <token>`). A client that sends `FAILED_LIMIT` wrong tokens within
`FAILED_WINDOW` seconds is refused (429 with `Retry-After`) until the oldest of them is that old,
even with the right token (else a guess would still be checked); each wrong one is logged without
the token. Requests through a proxy share a larger limit, `PROXY_LIMIT`, as well.

Without a token: only when the gateway listens on a loopback address and the request comes from
one, not through a proxy; on any other address the dashboard refuses everyone. A reverse proxy
on the same host makes every visitor look local: a request carrying a proxy's forwarding header
is not taken as local.

A write (POST) must come from the dashboard's own pages: a browser's `Sec-Fetch-Site` other than
same-origin, or an `Origin`/`Referer` of another host, is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.requests import Request

from xconduit.hosts import allowed_host, cross_site

log = logging.getLogger("xconduit.dashboard")

FORWARDING_HEADERS = (
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-real-ip",
)
"""What reverse proxies add (nginx's example in the deployment how-to sets X-Forwarded-Proto)."""

NO_TOKEN = (
    "the dashboard needs dashboard.admin_token when the gateway listens on a non-loopback "
    "address: set XCONDUIT_DASHBOARD__ADMIN_TOKEN (or _FILE) and restart"
)
FAILED_LIMIT = 10
FAILED_WINDOW = 300.0
PROXY_LIMIT = 10 * FAILED_LIMIT
"""Wrong tokens through proxies, whichever clients they name: a proxy that passes a client's own
`X-Forwarded-For` on lets the client name itself anew for each try."""
PROXIED = "clients through a proxy (X-Forwarded-For)"
MAX_CLIENTS = 10_000
"""Clients with recent wrong tokens kept in memory; past it, the oldest are forgotten."""
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, kw_only=True)
class Refusal:
    status: int
    reason: str
    retry_after: int | None = None


def is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def presented_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def same_token(given: str, token: str) -> bool:
    """Compared in constant time, whatever their lengths (digests of equal length)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(token.encode()).digest())


def client_of(request: Request) -> str:
    """The client's address: the peer's, or, from a proxy on the same host, the last one in its
    `X-Forwarded-For` that is not the proxy's (uvicorn resolves it, trusting 127.0.0.1)."""
    return request.client.host if request.client is not None else ""


@dataclass(kw_only=True)
class FailedTokens:
    """Recent wrong tokens per client; the client is held off once it has `limit` of them."""

    limit: int = FAILED_LIMIT
    window: float = FAILED_WINDOW
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, list[float]] = field(default_factory=dict)

    def _recent(self, client: str, now: float) -> list[float]:
        times = [t for t in self._seen.get(client, ()) if t > now - self.window]
        if times:
            self._seen[client] = times
        else:
            self._seen.pop(client, None)
        return times

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it may now."""
        now = self.clock()
        times = self._recent(client, now)
        if len(times) < self.limit:
            return None
        return max(1, math.ceil(times[-self.limit] + self.window - now))

    def failed(self, client: str) -> int:
        """Counts a wrong token; returns how many `client` sent within the window."""
        now = self.clock()
        times = [*self._recent(client, now), now]
        self._seen.pop(client, None)
        self._seen[client] = times  # last in the dict's order: the most recent client
        if len(self._seen) > MAX_CLIENTS:
            del self._seen[next(iter(self._seen))]
        return len(times)


@dataclass(kw_only=True)
class Access:
    """The dashboard's access rule (see the module doc)."""

    token: str | None
    allowed_hosts: Sequence[str] = ()
    failures: FailedTokens = field(default_factory=FailedTokens)
    """Per client."""
    proxied: FailedTokens = field(default_factory=lambda: FailedTokens(limit=PROXY_LIMIT))
    """Of every request that names its client in `X-Forwarded-For`."""

    def refusal(self, request: Request, *, listen_host: str) -> Refusal | None:
        """None when the request may pass; else why not."""
        host = request.headers.get("host", "")
        server = request.scope.get("server")
        port = server[1] if server else None
        scheme = request.scope.get("scheme", "http")
        if not allowed_host(
            host, listen_host=listen_host, port=port, scheme=scheme, extra=self.allowed_hosts
        ):
            return Refusal(
                status=403,
                reason=f"the dashboard does not answer to the host name {host!r}; behind a "
                "reverse proxy, add its public name to dashboard.allowed_hosts",
            )
        why = (
            self._token_refusal(request, self.token)
            if self.token
            else self._local_refusal(request, listen_host)
        )
        if why is not None:
            return why
        if request.method not in READ_METHODS:
            crossed = cross_site(request.headers, host)
            if crossed is not None:
                return Refusal(status=403, reason=f"cross-site request refused ({crossed})")
        return None

    def _token_refusal(self, request: Request, token: str) -> Refusal | None:
        client = client_of(request)
        counts = [(self.failures, client)]
        proxied = "x-forwarded-for" in request.headers
        if proxied:
            counts.append((self.proxied, PROXIED))
        for failures, who in counts:
            wait = failures.retry_after(who)
            if wait is not None:
                reason = f"too many wrong admin tokens from {who}: try again in {wait} s"
                return Refusal(status=429, reason=reason, retry_after=wait)
        authorization = request.headers.get("authorization")
        given = presented_token(authorization)
        if given is not None and same_token(given, token):
            return None
        if authorization:  # a browser's first request, without credentials, is no attempt
            counted = [(failures, who, failures.failed(who)) for failures, who in counts]
            via = " via a proxy" if proxied else ""
            log.warning(
                "dashboard: wrong admin token from %s%s for %s %s (%d of %d allowed in %d s)",
                client,
                via,
                request.method,
                request.url.path,
                counted[0][2],
                self.failures.limit,
                self.failures.window,
            )
            for failures, who, count in counted:
                if count >= failures.limit:
                    log.warning(
                        "dashboard: %s held off for up to %d s after %d wrong admin tokens",
                        who,
                        failures.window,
                        count,
                    )
        return Refusal(
            status=401, reason="the dashboard's admin token is required (dashboard.admin_token)"
        )

    def _local_refusal(self, request: Request, listen_host: str) -> Refusal | None:
        reason = None
        if not is_loopback(listen_host):
            reason = NO_TOKEN
        else:
            client = request.client
            forwarded = any(name in request.headers for name in FORWARDING_HEADERS)
            if client is None or not is_loopback(client.host) or forwarded:
                reason = "the dashboard answers only local requests (set dashboard.admin_token)"
        return None if reason is None else Refusal(status=401, reason=reason)
