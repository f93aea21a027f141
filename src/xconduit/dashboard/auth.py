"""Who may open the dashboard and `/metrics`.

With `dashboard.admin_token` set: requests carrying it (HTTP Basic password, any user name, or
`Authorization: Bearer <token>`). Without one: only when the gateway listens on a loopback
address and the request comes from one, not through a proxy; on any other address the dashboard
refuses everyone. A reverse proxy on the same host makes every visitor look local: a request
carrying a proxy's forwarding header is not taken as local.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress

from starlette.requests import Request

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


def refusal(request: Request, *, token: str | None, listen_host: str) -> str | None:
    """None when the request may pass; else why not (for the 401 page)."""
    if token:
        given = presented_token(request.headers.get("authorization"))
        if given is not None and hmac.compare_digest(given.encode(), token.encode()):
            return None
        return "the dashboard's admin token is required (dashboard.admin_token)"
    if not is_loopback(listen_host):
        return NO_TOKEN
    client = request.client
    forwarded = any(name in request.headers for name in FORWARDING_HEADERS)
    if client is None or not is_loopback(client.host) or forwarded:
        return "the dashboard answers only local requests (set dashboard.admin_token)"
    return None
