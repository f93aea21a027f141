"""Whom a local server answers: the `Host` a request names, and whether a browser sent it from
another site. Shared by the dashboard (with `/metrics`) and the sandbox's `/_sandbox/` writes.

A page under a DNS name can have that name re-pointed at 127.0.0.1 (DNS rebinding): the browser
then sends the page's requests to the local server with the page's own name as `Host` and
`Origin`, from the loopback address, and reads the answers as same-origin. Checking the peer
address, or comparing `Origin` with `Host`, lets it through; answering only to the names the
server is known by does not. An IP address or `localhost` cannot be re-pointed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"", "0.0.0.0", "::"})
DEFAULT_PORTS = {"http": 80, "https": 443}
SAME_SITE = frozenset({"same-origin", "none"})
"""`Sec-Fetch-Site` values of a request the user made on this origin (or typed in)."""


def split_host(host: str) -> tuple[str, int | None]:
    """A `Host` header's name (lower case, an IPv6 address without brackets) and its port
    (None when it has none; -1 when it is not a number)."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif host.count(":") == 1:
        name, _, port = host.partition(":")
    else:
        name, port = host, ""
    if not port:
        return name, None
    return name, int(port) if port.isdigit() else -1


def is_ip_or_localhost(name: str) -> bool:
    """`name` names this machine by address or as localhost, not by a DNS name."""
    name = name.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def names_this_machine(host: str) -> bool:
    """`host` (a Host header) names this machine by address or as localhost."""
    return is_ip_or_localhost(split_host(host)[0])


def allowed_host(
    host: str,
    *,
    listen_host: str,
    port: int | None,
    scheme: str = "http",
    extra: Iterable[str] = (),
) -> bool:
    """`host` (a Host header) is one this server answers to: an `extra` name (with its port, when
    given), or the listen address, `localhost`, `127.0.0.1` or `[::1]` with the listening `port`
    (any IP address when listening on all of them)."""
    name, given = split_host(host)
    for entry in extra:
        allowed, allowed_port = split_host(entry)
        if name == allowed and allowed_port in (None, given):
            return True
    if given is None:
        given = DEFAULT_PORTS.get(scheme)
    if port is not None and given != port:
        return False
    listen = listen_host.strip("[]").lower()
    if listen in WILDCARDS:
        return is_ip_or_localhost(name)
    return name == listen or name in LOCAL_NAMES


def cross_site(headers: Mapping[str, str], host: str) -> str | None:
    """Why a browser's request came from another site (or origin), or None when it did not: it
    sent `Sec-Fetch-Site` other than same-origin/none, or an `Origin` (else `Referer`) whose host
    is not `host`. A request with none of these headers did not come from a web page."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in SAME_SITE:
        return f"a {fetch_site} request"
    origin = headers.get("origin") or headers.get("referer")
    if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
        return f"a request from {origin}"
    return None
