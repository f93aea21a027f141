"""`xconduit dlq list|replay|purge`: dead letters (jobs X rejected, or out of retries)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from xconduit.cli._common import ConfigOption, settings_or_exit
from xconduit.config import Settings
from xconduit.errors import XconduitError
from xconduit.outbox import Store

dlq = typer.Typer(
    name="dlq",
    help="Dead letters: list them with X's reason, replay them, or purge them.",
    no_args_is_help=True,
)

DestinationOption = Annotated[
    str | None,
    typer.Option(
        "--destination",
        "-d",
        envvar="XCONDUIT_DLQ_DESTINATION",
        show_envvar=True,
        help="Only dead letters of this conversion destination.",
    ),
]
IdOption = Annotated[
    list[int] | None,
    typer.Option(
        "--id",
        envvar="XCONDUIT_DLQ_ID",
        show_envvar=True,
        help="Only this job id (repeatable).",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(dlq)


def open_store(settings: Settings) -> Store:
    """The existing outbox named by `server.store` (never creates an empty one)."""
    from xconduit.outbox.open import open_store as open_outbox
    from xconduit.outbox.open import store_exists, store_path

    url = settings.server.store
    try:
        if not store_exists(url):
            typer.echo(f"xconduit dlq: no outbox at {store_path(url)}", err=True)
            raise typer.Exit(2)
        return open_outbox(url, busy_timeout=settings.server.busy_timeout)
    except XconduitError as exc:
        typer.echo(f"xconduit dlq: {exc}", err=True)
        raise typer.Exit(1) from None


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@dlq.command("list")
def list_command(
    config: ConfigOption = None,
    destination: DestinationOption = None,
    limit: Annotated[
        int,
        typer.Option(envvar="XCONDUIT_DLQ_LIMIT", show_envvar=True, help="Show at most this many."),
    ] = 100,
) -> None:
    """Show dead letters, oldest first, with X's error code and message."""
    store = open_store(settings_or_exit(config))
    try:
        jobs = store.list_dead(destination=destination, limit=limit)
    finally:
        store.close()
    table = Table(title=f"dead letters ({len(jobs)} shown)")
    for column in ("id", "destination", "conversion_id", "attempts", "created (UTC)", "reason"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(
            str(job.id),
            job.destination,
            job.conversion_id,
            str(job.attempts),
            _when(job.created_at),
            job.last_error or "",
        )
    Console(width=200).print(table)


@dlq.command("replay")
def replay_command(
    config: ConfigOption = None, destination: DestinationOption = None, ids: IdOption = None
) -> None:
    """Make dead letters pending again (attempts reset); with no filter, all of them."""
    store = open_store(settings_or_exit(config))
    try:
        count = store.replay_dead(ids=ids or None, destination=destination, now=time.time())
    finally:
        store.close()
    typer.echo(f"replayed {count} dead letter(s)")


@dlq.command("purge")
def purge_command(
    config: ConfigOption = None,
    destination: DestinationOption = None,
    ids: IdOption = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes", envvar="XCONDUIT_DLQ_YES", show_envvar=True, help="Do not ask to confirm."
        ),
    ] = False,
) -> None:
    """Delete dead letters for good; with no filter, all of them."""
    if not yes:
        typer.confirm("Delete these dead letters for good?", abort=True)
    store = open_store(settings_or_exit(config))
    try:
        count = store.purge_dead(ids=ids or None, destination=destination)
    finally:
        store.close()
    typer.echo(f"purged {count} dead letter(s)")
