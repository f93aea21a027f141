"""`overload`: far more clients than the collector can answer in time, against `xconduit serve`.

`xconduit serve --no-delivery` (demo configuration, SQLite) runs in a process of its own, so its
memory is measured alone (`/proc/<pid>/status`). `CONNECTIONS` keep-alive connections from
`PROCESSES` generator processes each send one `/v1/track` after another as fast as they are
answered. A 503 is a shed request: the client waits its `Retry-After` plus a random part of it
(Segment's libraries back off with jitter; clients that all retry on the same tick would come
back as one wave) and goes on. Reported: requests answered 200 and shed 503, p50/p99 of the answered
ones, the server's RSS before, at its peak and after, and the latency of one request once the
burst is over (recovery).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.progress import Progress

from xconduit.bench.ingest import AUTH, _body
from xconduit.bench.keepalive import percentile
from xconduit.bench.registry import Row, benchmark

CONNECTIONS = 1500
PROCESSES = 3
SECONDS = 15.0
"""Length of the burst at scale 1 (the whole case takes about twice that)."""
P99_TARGET_MS = 250.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Burst:
    answered: list[float]
    """Latency (seconds) of every request answered 200."""
    shed: int
    other: int
    """Answers neither 200 nor 503, and connections that failed."""


def _request(body: bytes) -> bytes:
    head = (
        f"POST /v1/track HTTP/1.1\r\nHost: bench\r\nAuthorization: {AUTH}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def _connection(
    host: str, port: int, tag: str, start: float, until: float, out: dict[str, list[float]]
) -> None:
    loop = asyncio.get_running_loop()
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        out["other"].append(0.0)
        return
    await asyncio.sleep(max(0.0, start - loop.time()))
    n = 0
    try:
        while loop.time() < until:
            n += 1
            began = time.perf_counter()
            writer.write(_request(_body(tag, n, 1)))
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
            await reader.readexactly(int(_header(head, b"content-length") or b"0"))
            elapsed = time.perf_counter() - began
            if head.startswith(b"HTTP/1.1 200"):
                out["answered"].append(elapsed)
            elif head.startswith(b"HTTP/1.1 503"):
                out["shed"].append(elapsed)
                wait = float(_header(head, b"retry-after") or b"1")
                await asyncio.sleep(wait * random.uniform(1.0, 2.0))
            else:
                out["other"].append(elapsed)
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        out["other"].append(0.0)
    finally:
        writer.close()


def _load(url: str, connections: int, start: float, seconds: float) -> dict[str, list[float]]:
    """Run in a generator process; `start` is a `time.time()` shared by every process."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    out: dict[str, list[float]] = {"answered": [], "shed": [], "other": []}
    tag = f"{time.time_ns():x}-{os.getpid()}"

    async def run() -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time() + (start - time.time())
        await asyncio.gather(
            *(
                _connection(host, int(port), tag, begin, begin + seconds, out)
                for _ in range(connections)
            )
        )

    asyncio.run(run())
    return out


def burst(url: str, *, connections: int, processes: int, seconds: float) -> Burst:
    """`connections` keep-alive clients spread over `processes` processes for `seconds`."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(processes) as pool:
        start = time.time() + 3.0  # every process connected (and imported) by then
        share = [connections // processes + (i < connections % processes) for i in range(processes)]
        results = pool.starmap(_load, [(url, n, start, seconds) for n in share])
    return Burst(
        answered=[x for r in results for x in r["answered"]],
        shed=sum(len(r["shed"]) for r in results),
        other=sum(len(r["other"]) for r in results),
    )


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of process `pid`, in MB (Linux)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _track(client: httpx.Client) -> tuple[int, float]:
    began = time.perf_counter()
    response = client.post(
        "/v1/track",
        content=_body(f"recovery-{time.time_ns():x}", 0, 1),
        headers={"Authorization": AUTH, "Content-Type": "application/json"},
    )
    return response.status_code, (time.perf_counter() - began) * 1000


def _serve(folder: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "xconduit", "serve", "--no-delivery"]
    command += ["--listen", f"127.0.0.1:{port}", "--log-level", "warning"]
    process = subprocess.Popen(
        command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("xconduit serve did not start within 60 s")


@benchmark("overload")
def run_overload(progress: Progress, scale: float) -> list[Row]:
    seconds = max(5.0, SECONDS * scale)
    task = progress.add_task(
        f"overload: {CONNECTIONS} connections from {PROCESSES} processes, {seconds:g} s", total=1
    )
    with tempfile.TemporaryDirectory(prefix="xconduit-bench-") as folder:
        port = _free_port()
        server = _serve(folder, port)
        try:
            url = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=url, timeout=30) as client:
                for _ in range(50):  # warm up: imports, the store, the first commits
                    _track(client)
            rss_before, _ = memory_mb(server.pid)
            result = burst(url, connections=CONNECTIONS, processes=PROCESSES, seconds=seconds)
            with httpx.Client(base_url=url, timeout=30) as client:
                status, recovery_ms = _track(client)
            rss_after, rss_peak = memory_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    progress.advance(task)
    load = os.getloadavg()[0]
    name = "overload"
    p50 = percentile(result.answered, 0.50)
    p99 = percentile(result.answered, 0.99)
    note = f"{CONNECTIONS} connections, {seconds:g} s, load average {load:.1f}"
    return [
        Row(
            benchmark=name,
            case="answered 200",
            value=len(result.answered),
            unit="requests",
            note=note,
        ),
        Row(
            benchmark=name,
            case="shed 503 (Retry-After honoured)",
            value=result.shed,
            unit="requests",
            note=f"{result.other} other answers or failed connections",
        ),
        Row(benchmark=name, case="answered: p50", value=p50, unit="ms"),
        Row(
            benchmark=name,
            case="answered: p99",
            value=p99,
            unit="ms",
            target=f"≤ {P99_TARGET_MS:g}",
            ok=p99 <= P99_TARGET_MS,
        ),
        Row(
            benchmark=name,
            case="server RSS before → after",
            value=rss_after - rss_before,
            unit="MB",
            note=f"{rss_before:.0f} → {rss_after:.0f} MB, peak {rss_peak:.0f} MB",
        ),
        Row(
            benchmark=name,
            case=f"first request after the burst ({status})",
            value=recovery_ms,
            unit="ms",
            target="200 at once",
            ok=status == 200 and recovery_ms <= P99_TARGET_MS,
        ),
    ]
