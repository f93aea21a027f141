"""Which Host a local server answers to, and which browser requests come from another site
(`xconduit.hosts`, shared by the dashboard and the sandbox's `/_sandbox/` writes)."""

from __future__ import annotations

import pytest

from xconduit.hosts import allowed_host, cross_site, split_host

PORT = 8088


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1:8088", ("127.0.0.1", 8088)),
        ("LocalHost", ("localhost", None)),
        ("[::1]:8088", ("::1", 8088)),
        ("[::1]", ("::1", None)),
        ("example.com:http", ("example.com", -1)),
        ("", ("", None)),
    ],
)
def test_split_host(host: str, expected: tuple[str, int | None]) -> None:
    assert split_host(host) == expected


@pytest.mark.parametrize(
    ("host", "listen", "extra", "allowed"),
    [
        ("127.0.0.1:8088", "127.0.0.1", (), True),
        ("localhost:8088", "127.0.0.1", (), True),
        ("[::1]:8088", "127.0.0.1", (), True),
        ("[::1]:8088", "[::1]", (), True),
        ("gateway.lan:8088", "gateway.lan", (), True),  # the listen address, as a name
        ("127.0.0.1:9999", "127.0.0.1", (), False),  # another port is another server
        ("127.0.0.1", "127.0.0.1", (), False),  # port 80 implied
        ("attacker-rebind.example:8088", "127.0.0.1", (), False),  # DNS rebinding
        ("localhost.attacker.example:8088", "127.0.0.1", (), False),
        ("", "127.0.0.1", (), False),
        ("10.0.0.5:8088", "0.0.0.0", (), True),  # all addresses: any IP address
        ("[2001:db8::1]:8088", "::", (), True),
        ("gateway.lan:8088", "0.0.0.0", (), False),  # a name must be listed
        ("collect.example.com", "127.0.0.1", ("collect.example.com",), True),  # behind a proxy
        ("Collect.Example.com:443", "127.0.0.1", ("collect.example.com",), True),
        ("collect.example.com:8443", "127.0.0.1", ("collect.example.com:8443",), True),
        ("collect.example.com:9000", "127.0.0.1", ("collect.example.com:8443",), False),
        ("other.example.com", "127.0.0.1", ("collect.example.com",), False),
    ],
)
def test_allowed_host(host: str, listen: str, extra: tuple[str, ...], allowed: bool) -> None:
    assert allowed_host(host, listen_host=listen, port=PORT, extra=extra) is allowed


HOST = "127.0.0.1:8088"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, None),  # not a browser
        ({"sec-fetch-site": "same-origin", "origin": "http://127.0.0.1:8088"}, None),
        ({"sec-fetch-site": "none"}, None),  # typed in the address bar
        ({"referer": "http://127.0.0.1:8088/dashboard/dead"}, None),
        ({"origin": "https://127.0.0.1:8088"}, None),  # same host and port: the same server
        ({"sec-fetch-site": "cross-site"}, "a cross-site request"),  # Origin/Referer stripped
        ({"sec-fetch-site": "same-site"}, "a same-site request"),  # another port of localhost
        ({"origin": "http://127.0.0.1:9999"}, "a request from http://127.0.0.1:9999"),
        ({"origin": "null"}, "a request from null"),
        ({"referer": "https://evil.example/x"}, "a request from https://evil.example/x"),
    ],
)
def test_cross_site(headers: dict[str, str], refused: str | None) -> None:
    assert cross_site(headers, HOST) == refused
