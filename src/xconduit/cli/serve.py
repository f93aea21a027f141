"""`xconduit serve` (collector + delivery workers) and `xconduit worker` (delivery only)."""

from __future__ import annotations

import json
import multiprocessing
import shlex
import signal
import socket
import threading
from typing import Annotated

import typer

from xconduit.cli._common import ConfigOption, listen_failure, settings_or_exit
from xconduit.config import Settings
from xconduit.errors import XconduitError

ListenOption = Annotated[
    str | None,
    typer.Option(
        "--listen",
        envvar="XCONDUIT_SERVER__LISTEN",
        help="host:port to listen on (port 0: any free port); default: server.listen.",
        show_envvar=True,
    ),
]

LISTEN = "--listen HOST:PORT (or XCONDUIT_SERVER__LISTEN)"
LogFormatOption = Annotated[
    str,
    typer.Option(
        "--log-format",
        envvar="XCONDUIT_LOG_FORMAT",
        help="json (one object per line: event ids, outcome, X requests) or text.",
        show_envvar=True,
    ),
]
LogLevelOption = Annotated[
    str,
    typer.Option(
        "--log-level",
        envvar="XCONDUIT_LOG_LEVEL",
        help="debug, info, warning or error.",
        show_envvar=True,
    ),
]

DEMO_EVENT = {
    "userId": "demo-user-1",
    "event": "Order Completed",
    "properties": {
        "order_id": "demo-order-1",
        "revenue": 42.5,
        "currency": "USD",
        "email": "jane.doe@example.com",
    },
}


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)


WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers",
        envvar="XCONDUIT_SERVE_WORKERS",
        min=1,
        help="Collector processes sharing the listening socket and the store (one per core).",
        show_envvar=True,
    ),
]
NoDeliveryOption = Annotated[
    bool,
    typer.Option(
        "--no-delivery",
        envvar="XCONDUIT_SERVE_NO_DELIVERY",
        help="Collect only; leave delivery to `xconduit worker` processes on the same store.",
        show_envvar=True,
    ),
]


def serve_command(
    config: ConfigOption = None,
    listen: ListenOption = None,
    log_format: LogFormatOption = "text",
    log_level: LogLevelOption = "info",
    workers: WorkersOption = 1,
    no_delivery: NoDeliveryOption = False,
) -> None:
    """Run the gateway: the Segment-compatible collector, the website tag and the delivery
    workers, in one process (or `--workers N` processes). With no configuration: SQLite in
    ./.xconduit/, the built-in X sandbox, and a demo write key (printed with a curl to try)."""
    from xconduit import serving
    from xconduit.cli._processes import run_processes

    settings = settings_or_exit(config)
    host, _, port = (listen or settings.server.listen).rpartition(":")
    host = host.strip("[]")
    _logging(log_format, log_level)
    if workers > 1 and settings.x.api == "sandbox":
        typer.echo(
            "xconduit serve: --workers needs x.api set to a URL: each process would have its own "
            "built-in sandbox. Run `xconduit sandbox` and set x.api to its URL.",
            err=True,
        )
        raise typer.Exit(2)
    try:
        # Bound (and listening) before the banner is printed, so its curl works at once.
        sock = serving.listen(host, int(port))
    except OSError as exc:
        typer.echo(f"xconduit serve: {listen_failure(exc, host, port, choose=LISTEN)}", err=True)
        raise typer.Exit(2) from None
    url = serving.base_url(sock)
    if workers == 1:
        _serve_one(settings, sock, host, url, demo=config is None, delivery=not no_delivery)
        return
    typer.echo(banner(settings, url, demo=config is None, sandbox=None))
    typer.echo(f"  processes {workers} collectors" + ("" if no_delivery else " (with delivery)"))
    run_processes(
        workers,
        sock,
        lambda inherited, number: _serve_one(
            settings,
            inherited,
            host,
            url,
            demo=False,
            delivery=not no_delivery,
            schedules=number == 0,  # one sync and audience loop per host, not one per process
        ),
    )
    typer.echo("xconduit serve: stopped")


def _serve_one(
    settings: Settings,
    sock: socket.socket,
    host: str,
    url: str,
    *,
    demo: bool,
    delivery: bool,
    schedules: bool = True,
) -> None:
    """One collector process serving `sock` until SIGINT/SIGTERM (the banner only when it is
    the only one)."""
    from xconduit import serving
    from xconduit.app import build_gateway

    alone = multiprocessing.parent_process() is None
    try:
        gateway = build_gateway(settings, delivery=delivery, schedules=schedules)
    except XconduitError as exc:
        typer.echo(f"xconduit serve: {exc}", err=True)
        raise typer.Exit(2) from None
    if gateway.ops is not None:  # the dashboard's access rule depends on the address
        gateway.ops.listen_host = host
    server = serving.server(gateway.app)
    # A signal before uvicorn installs its own handlers still means "stop cleanly".
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: setattr(server, "should_exit", True))
    gateway.start()
    token = gateway.sandbox_token if gateway.sandbox is not None else None
    if alone:
        typer.echo(banner(settings, url, demo=demo, sandbox=token))
    try:
        server.run(sockets=[sock])
    finally:
        gateway.stop()
        if alone:
            typer.echo("xconduit serve: stopped")


def worker_command(
    config: ConfigOption = None,
    log_format: LogFormatOption = "text",
    log_level: LogLevelOption = "info",
) -> None:
    """Run delivery workers only (scale-out: several processes sharing one store)."""
    from xconduit.app import build_worker

    settings = settings_or_exit(config)
    _logging(log_format, log_level)
    try:
        worker = build_worker(settings)
    except XconduitError as exc:
        typer.echo(f"xconduit worker: {exc}", err=True)
        raise typer.Exit(2) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker.start()
    where = "the in-process X sandbox" if worker.sandbox is not None else settings.x.api
    typer.echo(f"xconduit worker: delivering from {settings.server.store} to {where}")
    stop.wait()
    worker.stop()
    typer.echo("xconduit worker: stopped")


def _logging(log_format: str, level: str) -> None:
    from xconduit.observability.logs import LEVELS, configure

    if log_format not in ("json", "text") or level.lower() not in LEVELS:
        typer.echo(
            f"xconduit: --log-format must be json or text and --log-level one of "
            f"{', '.join(LEVELS)}",
            err=True,
        )
        raise typer.Exit(2)
    configure("json" if log_format == "json" else "text", level)


def banner(settings: Settings, url: str, *, demo: bool, sandbox: str | bool | None) -> str:
    """What `xconduit serve` prints at start (the demo key and event are not customer data).
    `sandbox`: the built-in sandbox's write token (True: in use, token not shown)."""
    lines = [f"xconduit gateway listening on {url}"]
    lines.append(f"  store     {settings.server.store}")
    if sandbox:
        lines.append(
            f"  X         built-in sandbox (in-process); what it received: {url}/_sandbox/"
        )
    else:
        lines.append(f"  X         {settings.x.api}")
    lines.append(f"  dashboard {url}/   (metrics: {url}/metrics)")
    lines.append(f"  tag       {url}/tag.js")
    lines.append(f"  API       {url}/openapi.json")
    token_line = []
    if isinstance(sandbox, str):
        token_line = [f"Sandbox write token (header X-Sandbox-Token, see /_sandbox/): {sandbox}"]
    if demo and settings.sources:
        key = settings.sources[0].write_keys[0].get_secret_value()
        lines += [
            "",
            f"Demo write key: {key}",
            *token_line,
            "Send a conversion:",
            "  " + demo_curl(url, key),
        ]
        if sandbox:
            lines.append(f"Then see it arrive at X: curl -s {url}/_sandbox/conversions")
    elif token_line:
        lines += ["", *token_line]
    return "\n".join(lines)


def demo_curl(url: str, write_key: str) -> str:
    body = json.dumps(DEMO_EVENT, separators=(",", ":"))
    return (
        f"curl -sS -u {shlex.quote(write_key + ':')} -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)} {url}/v1/track"
    )
