"""`xconduit map`: the dry run. Segment events (JSON lines) in, X conversions out, nothing sent."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from xconduit.cli._common import ConfigOption, settings_or_exit
from xconduit.mapping import Router, map_lines


def register(app: typer.Typer) -> None:
    app.command("map")(map_command)


def map_command(
    file: Annotated[
        str, typer.Argument(help="JSON-lines file of Segment events; `-` or nothing reads stdin.")
    ] = "-",
    config: ConfigOption = None,
) -> None:
    """Show what X would receive for each event × conversion destination, without sending.

    Prints one JSON line per event × destination: message_id, destination, outcome
    (conversion | filtered | invalid), pixel_id, conversion (the exact object for X's
    conversions[]) and reason. With no --config, the built-in demo destination is used.

    Lines are read as the gateway reads a POST to /v1/track: without `type`, an object with an
    `event` is a track; without `timestamp`, the conversion time is when the line is read.
    """
    router = Router(settings_or_exit(config))
    stream = sys.stdin.buffer if file == "-" else _open(file)
    out = sys.stdout.buffer
    with stream:
        for line in map_lines(stream, router, received_at=_now):
            out.write(orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE))
    out.flush()


def _now() -> str:
    # The collector's receivedAt: the time the event arrives, in UTC with milliseconds.
    return datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")


def _open(file: str):  # type: ignore[no-untyped-def]
    try:
        return Path(file).open("rb")
    except OSError as exc:
        typer.echo(f"xconduit map: cannot read {file}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
