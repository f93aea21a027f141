"""How every xconduit HTTP server runs: `xconduit serve`, `xconduit sandbox`, tests, benchmarks.

    sock = listen("127.0.0.1", 0)          # bound and listening (port 0: any free port)
    server(app).run(sockets=[sock])        # uvicorn with xconduit's HTTP/1.1 protocol

or, in a background thread, `with serve_in_thread(app) as url: ...`.

Two things uvicorn's default HTTP/1.1 protocol gets wrong for us, fixed in `HttpProtocol`:

* Nagle's algorithm. asyncio sets `TCP_NODELAY` only on sockets whose `proto` is
  `IPPROTO_TCP`; a socket accepted from a listening socket made with proto 0 (what `socket.socket`
  makes by default) keeps Nagle on. A response is written in two pieces (head, body); on a
  keep-alive connection the body then waits for the client's delayed ACK, ~40 ms per request.
  We set `TCP_NODELAY` on every accepted connection, whoever made the listening socket.
* Half-closed clients. A client that sends its whole request and then shuts down its write side
  (`shutdown(SHUT_WR)`) still reads the answer; uvicorn closed the connection on that EOF and the
  answer to a committed request was lost. We keep writing until the answer is sent, then close.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

BACKLOG = 2048


class HttpProtocol(H11Protocol):
    """uvicorn's h11 protocol with `TCP_NODELAY` and half-close support (see the module doc)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)

    def eof_received(self) -> bool | None:  # type: ignore[override]
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete and self.conn.their_state is h11.DONE:
            # The whole request arrived: answer it, then close (the client sends nothing more).
            cycle.keep_alive = False
            return True  # keep the transport open for writing
        return None  # idle or mid-request: close; a half-sent request is a disconnect


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` and listening (`OSError` when the port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def server(app: ASGIApp, *, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for `app`; run it with `.run(sockets=[listen(host, port)])`."""
    config = uvicorn.Config(
        app,
        http=HttpProtocol,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        ws="none",
        backlog=BACKLOG,
    )
    return uvicorn.Server(config)


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@contextmanager
def running(http: uvicorn.Server, sock: socket.socket, *, name: str) -> Iterator[str]:
    """Run `http` on `sock` in a background thread until the block ends; yields its base URL."""
    url = base_url(sock)
    thread = threading.Thread(target=http.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not http.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"{name} did not start on {url}")
        time.sleep(0.01)
    try:
        yield url
    finally:
        http.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_in_thread(
    app: ASGIApp,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    name: str = "xconduit-http",
    log_level: str = "warning",
) -> Iterator[str]:
    """Serve `app` until the block ends, as `xconduit serve` does; yields its base URL."""
    with running(server(app, log_level=log_level), listen(host, port), name=name) as url:
        yield url
