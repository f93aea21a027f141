"""`xconduit audiences sync|list`: keep X custom audiences equal to segments."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xconduit.cli._common import ConfigOption
from xconduit.config import Settings, load_settings
from xconduit.errors import ConfigError, XconduitError
from xconduit.outbox.audience_store import AudienceStore

if TYPE_CHECKING:
    from xconduit.audiences.runner import AudienceRunner, SyncReport

audiences = typer.Typer(
    name="audiences",
    help="Custom audiences: sync one from its snapshot and events, or list them.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(audiences)


def _fail(cause: str) -> typer.Exit:
    typer.echo(f"xconduit audiences: {cause}", err=True)
    return typer.Exit(1)


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise _fail(" ".join(str(exc).split())) from None


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@audiences.command("sync")
def sync_command(
    name: Annotated[str, typer.Argument(help="The audience's name in [[audiences]].")],
    config: ConfigOption = None,
    allow_empty: Annotated[
        bool,
        typer.Option(
            "--allow-empty",
            envvar="XCONDUIT_AUDIENCES_ALLOW_EMPTY",
            show_envvar=True,
            help="Accept a snapshot that empties the audience (refused by default).",
        ),
    ] = False,
    allow_shrink: Annotated[
        bool,
        typer.Option(
            "--allow-shrink",
            envvar="XCONDUIT_AUDIENCES_ALLOW_SHRINK",
            show_envvar=True,
            help="Accept a snapshot that removes more than the audience's max_shrink share of "
            "its members (refused by default).",
        ),
    ] = False,
    recreate: Annotated[
        bool,
        typer.Option(
            "--recreate",
            help="X no longer knows the audience (404): create a new one (or move to the "
            "configured audience_id) and send every member to it.",
        ),
    ] = False,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            envvar="XCONDUIT_AUDIENCES_WATCH",
            show_envvar=True,
            help="Keep running: compare on the audience's schedule, flush event-fed changes.",
        ),
    ] = False,
) -> None:
    """Compare the snapshot with what X has, send the difference, wait for X to accept it."""
    from xconduit.app import build_audiences, x_client
    from xconduit.outbox.open import open_store

    settings = _settings(config)
    if settings.x.api == "sandbox":
        raise _fail(
            'x.api = "sandbox": the built-in sandbox lives inside `xconduit serve`; run '
            "`xconduit sandbox` and set x.api to its URL, or use X"
        )
    console = Console(stderr=True)
    try:
        store = open_store(settings.server.store, busy_timeout=settings.server.busy_timeout)
        runner = build_audiences(
            settings, store=store, client=x_client(settings, sandbox=None), workdir=Path.cwd()
        )
        audience = runner.audience(name)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,.0f} rows"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(f"reading the snapshot of {name}", total=None)
            report = runner.sync(
                name,
                allow_empty=allow_empty,
                allow_shrink=allow_shrink,
                progress=lambda rows: progress.advance(task, rows),
                recreate=recreate,
            )
        if report.sent.gone:
            raise _fail(f"audience {name}: {report.sent.gone}")
        _summary(report)
        if report.sent.refused:
            raise _fail(
                f"X refused the credentials ({report.sent.refused}); {report.pending:,} "
                "change(s) wait in the outbox, to be sent once (`xconduit audiences list` counts "
                "them as pending): run `xconduit check`, fix what it names, then sync again"
            )
        if report.sent.dead:
            raise _fail(
                f"{report.sent.dead} request(s) to X are dead ({report.sent.last_error}); "
                f"see `xconduit dlq list --destination audience:{name}`"
            )
        if watch:
            if not _watch(runner, audience.name):  # not closed: the cut round may hold the lock
                typer.echo(f"stopped watching {name}; the round under way was cut short", err=True)
                raise typer.Exit(130)
            runner.client.close()
            store.close()
            typer.echo(f"stopped watching {name}", err=True)
    except XconduitError as exc:
        raise _fail(" ".join(str(exc).split())) from None


def _watch(runner: AudienceRunner, name: str) -> bool:
    """A round on the audience's schedule until SIGINT or SIGTERM; whether the last round ended
    (False: a second signal cut it short). A signal during a round lets the round end: a
    KeyboardInterrupt there could leave DuckDB's RuntimeError ("Query interrupted") and a
    traceback, or the store's lock taken. Between rounds it ends the wait at once."""
    stopping = waiting = False

    def stop(*_: object) -> None:
        nonlocal stopping
        if waiting or stopping:
            raise KeyboardInterrupt
        stopping = True

    # Handlers of our own, as `sync --watch` and `serve` have: Python installs none when SIGINT
    # was ignored at start (a background job of a script), and Ctrl-C would be lost.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    # Said once the handlers are in place: a Ctrl-C right after it is never lost.
    typer.echo(f"watching {name}; Ctrl-C to stop", err=True)
    try:
        while not stopping:
            wake = runner.tick([name])
            waiting = True
            if stopping:  # signalled during the round
                break
            time.sleep(max(0.2, min(wake - time.time(), 5.0)))
            waiting = False
    except KeyboardInterrupt:
        return waiting
    except RuntimeError:
        if not stopping:
            raise
        return False  # the second signal, as DuckDB raises it in a query ("Query interrupted")
    return True


def _summary(report: SyncReport) -> None:
    record, diff, sent = report.record, report.diff, report.sent
    table = Table(title=f"audience {record.name}: {record.x_name} ({record.audience_id})")
    table.add_column("", style="bold")
    table.add_column("users", justify="right")
    rows: list[tuple[str, str]] = []
    if diff is not None:
        rows += [
            ("snapshot rows", f"{diff.rows:,}"),
            ("entering", f"{diff.entering:,}"),
            ("exiting", f"{diff.exiting:,}"),
            ("unchanged", f"{diff.unchanged:,}"),
            ("rejected", f"{sum(diff.rejected.values()):,}"),
        ]
        rows += [(f"  {reason}", f"{count:,}") for reason, count in diff.rejected.most_common()]
        if diff.suppressed:
            rows.append(("suppressed (not added)", f"{diff.suppressed:,}"))
    if report.suppressed:
        rows.append(("suppressed members removed", f"{report.suppressed:,}"))
    if report.refreshed:
        rows.append(("members sent again (X keeps them 13 months)", f"{report.refreshed:,}"))
    if sent.unsent:
        rows.append(("exits not sent (other members hold their identifiers)", f"{sent.unsent:,}"))
    rows += [
        (
            "requests sent",
            f"{sent.requests:,} ({sent.accepted:,} accepted, {sent.retried:,} retried)",
        ),
        (
            "X's counts",
            f"{sent.success_count:,} of {sent.total_count:,} ({sent.users_sent:,} sent)",
        ),
        ("dead requests", f"{sent.dead:,}"),
        ("members at X from us", f"{report.members:,}"),
    ]
    if report.pending:
        rows.append(("changes still waiting", f"{report.pending:,}"))
    for label, value in rows:
        table.add_row(label, value)
    Console(width=120).print(table)


@audiences.command("list")
def list_command(config: ConfigOption = None) -> None:
    """Each configured audience: its X id and name, members sent, pending changes, last flush."""
    from xconduit.audiences.listing import audience_lines, problem_line
    from xconduit.outbox.open import open_store, store_exists

    settings = _settings(config)
    try:
        if store_exists(settings.server.store):
            store = cast(
                AudienceStore,
                open_store(settings.server.store, busy_timeout=settings.server.busy_timeout),
            )
            try:
                lines = audience_lines(settings, store)
            finally:
                store.close()
        else:
            lines = audience_lines(settings, None)
    except XconduitError as exc:
        raise _fail(" ".join(str(exc).split())) from None
    table = Table(title=f"custom audiences ({len(settings.audiences)} configured)")
    for column in (
        "name",
        "X id",
        "X name",
        "members sent",
        "pending",
        "last flush (UTC)",
        "last snapshot (UTC)",
        "problem",
    ):
        table.add_column(column, overflow="fold")
    for line in lines:
        table.add_row(
            line.name,
            line.audience_id or "(created on first sync)",
            line.x_name or "-",
            f"{line.members:,}",
            f"{line.pending:,}",
            _when(line.last_flush_at),
            _when(line.last_run_at),
            line.problem or "-",
        )
    Console(width=200).print(table)
    for line in lines:
        if line.problem:
            typer.echo(problem_line(line.name, line.problem), err=True)
