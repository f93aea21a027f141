"""Connections as real clients use them: keep-alive, half-closed, dropped mid-body.

Servers run the way `xconduit serve` and `xconduit sandbox` run them (`serving.listen` +
`serving.server`), on loopback, with uvicorn's logs captured.
"""

from __future__ import annotations

import base64
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.gateway_live import SERVER_KEY, gateway_settings
from xconduit import serving
from xconduit.app import Gateway, build_gateway
from xconduit.sandbox import Sandbox
from xconduit.serving import HttpProtocol


@contextmanager
def served_gateway(workdir: Path) -> Iterator[tuple[Gateway, str, object]]:
    gateway = build_gateway(gateway_settings(), workdir=workdir, delivery=False)
    gateway.start()
    http = serving.server(gateway.app)
    try:
        with serving.running(http, serving.listen("127.0.0.1", 0), name="test-gateway") as url:
            yield gateway, url, http
    finally:
        gateway.stop()


def _accepted_sockets(http: object) -> list[socket.socket]:
    connections: set[HttpProtocol] = http.server_state.connections  # type: ignore[attr-defined]
    return [c.transport.get_extra_info("socket") for c in connections]


@pytest.mark.parametrize("which", ["gateway", "sandbox"])
def test_keep_alive_connections_send_without_nagle_delay(which: str, tmp_path: Path) -> None:
    # With Nagle on, each answer on a reused connection waits ~40 ms for the client's delayed
    # ACK (head and body are written separately). Accepted sockets must have TCP_NODELAY.
    with contextmanager_for(which, tmp_path) as (url, http), httpx.Client(base_url=url) as client:
        for _ in range(20):
            assert client.get("/healthz" if which == "gateway" else "/_sandbox/requests").is_success
        accepted = _accepted_sockets(http)
        assert len(accepted) == 1  # every request rode one keep-alive connection
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@contextmanager
def contextmanager_for(which: str, tmp_path: Path) -> Iterator[tuple[str, object]]:
    if which == "gateway":
        with served_gateway(tmp_path) as (_, url, http):
            yield url, http
    else:
        http = serving.server(Sandbox().app)
        with serving.running(http, serving.listen("127.0.0.1", 0), name="test-sandbox") as url:
            yield url, http


def _request(body: bytes, *, length: int | None = None) -> bytes:
    auth = base64.b64encode(f"{SERVER_KEY}:".encode()).decode()
    head = (
        "POST /v1/track HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
        f"Authorization: Basic {auth}\r\nContent-Length: {length or len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _read_all(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


EVENT = orjson.dumps(
    {
        "type": "track",
        "userId": "u-1",
        "event": "Order Completed",
        "messageId": "half-closed-1",
        "properties": {"order_id": "o-1", "revenue": 10, "email": "jane@example.com"},
    }
)


def test_a_half_closed_client_gets_the_answer_for_its_committed_event(tmp_path: Path) -> None:
    with served_gateway(tmp_path) as (gateway, url, _):
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_request(EVENT))
            sock.shutdown(socket.SHUT_WR)  # "that is all I will send"
            answer = _read_all(sock)  # the server closes once it has answered
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert orjson.loads(answer.split(b"\r\n\r\n", 1)[1])["accepted"] == 1
        assert sum(gateway.store.counts()["shop"].values()) == 1


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record of uvicorn (which does not propagate to the root) and of xconduit."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in ("uvicorn.error", "uvicorn", "xconduit")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@pytest.mark.parametrize("how", ["fin", "reset"])
def test_a_client_gone_mid_body_is_dropped_quietly(how: str, tmp_path: Path) -> None:
    with served_gateway(tmp_path) as (gateway, url, _), captured_logs() as records:
        port = int(url.rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(_request(EVENT[:40], length=len(EVENT)))  # announces more than it sends
        if how == "reset":
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        else:
            sock.shutdown(socket.SHUT_WR)
            assert _read_all(sock) == b""  # closed without an answer, never a 500
        sock.close()
        # The gateway still serves, and a whole request afterwards is committed.
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(3):
                assert client.get("/healthz").is_success
        assert gateway.store.counts() == {}
    loud = [r for r in records if r.levelno >= logging.WARNING or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
