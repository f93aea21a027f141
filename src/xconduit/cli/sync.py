"""`xconduit sync NAME`: run a warehouse sync (rows of a file or a query → X conversions).

Progress on stderr while reading, then a summary table; `--dry-run` prints the first conversions
as JSON lines, the way `xconduit map` does. Exit 0 when the sync ran (rejected rows included), 1
with a one-line cause when it could not (configuration, source, query, outbox).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from xconduit.cli._common import ConfigOption
from xconduit.config import Settings, load_settings
from xconduit.config.identity import ownership
from xconduit.errors import XconduitError
from xconduit.outbox.jobs import ACTIVE_STATUSES, JobStatus
from xconduit.outbox.owners import split_owned
from xconduit.outbox.syncs import SyncStore
from xconduit.sync.cursor import shown
from xconduit.sync.eta import delivery_seconds, spoken
from xconduit.sync.run import SyncResult, find_sync, run_sync
from xconduit.sync.wait import StartDelivery, needs_own_delivery, wait_for_delivery

WATCH_DEFAULT = 900.0
"""`--watch` interval of a sync without a `schedule`."""

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("sync")(sync_command)


def _flag(name: str, text: str) -> object:
    env = "XCONDUIT_SYNC_" + name.strip("-").replace("-", "_").upper()
    return typer.Option(name, envvar=env, show_envvar=True, help=text)


def sync_command(
    name: Annotated[str, typer.Argument(help="The sync to run (`[[syncs]]` name).")],
    config: ConfigOption = None,
    full: Annotated[
        bool, _flag("--full", "Resend every row from the start (cursor reset).")
    ] = False,
    dry_run: Annotated[
        bool, _flag("--dry-run", "Map and validate; enqueue nothing; print the first conversions.")
    ] = False,
    wait: Annotated[
        bool, _flag("--wait", "Return when every enqueued row is delivered or dead.")
    ] = False,
    watch: Annotated[
        bool, _flag("--watch", "Run again on the sync's schedule (15m without one) until Ctrl-C.")
    ] = False,
) -> None:
    """Run a warehouse sync: read the rows, map them with the destination's rules, enqueue the
    conversions and write the rows X would refuse to a CSV report."""
    try:
        settings = load_settings(config)
        sync = find_sync(settings, name)
    except XconduitError as exc:
        _fail(exc)
    stop = threading.Event()
    if watch:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    every = float(sync.schedule) or WATCH_DEFAULT
    while True:
        began = time.time()
        code = _run_once(settings, name, full=full, dry_run=dry_run, wait=wait, stop=stop)
        if not watch:
            raise typer.Exit(code)
        full = False
        nxt = datetime.fromtimestamp(began + every, UTC).strftime("%H:%M:%S UTC")
        err.print(f"next run at {nxt} (Ctrl-C stops)")
        if stop.wait(max(began + every - time.time(), 0)):
            raise typer.Exit(0)


def _say(exc: Exception) -> int:
    """The one-line cause on stderr; the exit code."""
    err.print(f"xconduit sync: {exc}", markup=False, soft_wrap=True)
    return 1


def _fail(exc: Exception) -> NoReturn:
    raise typer.Exit(_say(exc))


def _run_once(
    settings: Settings, name: str, *, full: bool, dry_run: bool, wait: bool, stop: threading.Event
) -> int:
    from xconduit.outbox.memory import MemoryStore
    from xconduit.outbox.open import open_store, store_exists, sync_reports

    try:
        store: SyncStore
        if dry_run and not store_exists(settings.server.store):
            store = MemoryStore()
        else:
            opened = open_store(
                settings.server.store, busy_timeout=settings.server.busy_timeout, bulk=True
            )
            assert isinstance(opened, SyncStore)
            store = opened
    except XconduitError as exc:
        return _say(exc)
    try:
        own_delivery = (
            wait and not dry_run and needs_own_delivery(settings, store, now=time.time(), sync=name)
        )
        result = _with_progress(
            lambda progress: run_sync(
                settings,
                name,
                store,
                reports=sync_reports(settings.server.store),
                full=full,
                dry_run=dry_run,
                on_progress=progress,
                should_stop=stop.is_set,
            )
        )
        for line in result.preview:
            out.print(orjson.dumps(line).decode(), markup=False, soft_wrap=True)
        backlog = _backlog(settings, store, result.account_id)
        out.print(summary(result, settings, backlog=backlog))
        if result.error:
            err.print(f"xconduit sync: {result.error}", markup=False, soft_wrap=True)
            return 1
        if wait and not dry_run and result.enqueued:
            _wait(settings, store, result, own_delivery=own_delivery)
        return 0
    except XconduitError as exc:
        return _say(exc)
    finally:
        store.close()


def _with_progress(run: Callable[[Callable[[SyncResult], None]], SyncResult]) -> SyncResult:
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("reading", stats="connecting…")

        def progress(result: SyncResult) -> None:
            rate = result.rows / max(time.monotonic() - started, 1e-6)
            bar.update(
                task,
                stats=(
                    f"{result.rows:,} rows read · {rate:,.0f} rows/s · "
                    f"{result.enqueued:,} enqueued · {result.rejected:,} rejected"
                ),
            )

        return run(progress)


def _backlog(settings: Settings, store: SyncStore, account_id: str) -> int:
    """Conversions not yet delivered for every destination of the account (this
    configuration's jobs only: another's sharing the store are not sent from this account)."""
    names = {d.name for d in settings.conversions if d.account_id == account_id}
    counts = split_owned(store.job_owners(), ownership(settings).owns).own
    return sum(
        count
        for name in names
        for status, count in counts.get(name, {}).items()
        if status in ACTIVE_STATUSES
    )


def summary(result: SyncResult, settings: Settings, *, backlog: int) -> Table:
    """The table printed after a run."""
    title = f"sync {result.name} → {result.destination}" + (" (dry run)" if result.dry_run else "")
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rate = result.rows / result.seconds if result.seconds > 0 else 0.0
    table.add_row("rows read", f"{result.rows:,} in {result.seconds:.1f} s ({rate:,.0f} rows/s)")
    label = "conversions (not enqueued)" if result.dry_run else "conversions enqueued"
    table.add_row(label, f"{result.enqueued:,}")
    if result.already_sent:
        table.add_row("already sent", f"{result.already_sent:,} (committed by an earlier run)")
    if result.repeated:
        table.add_row("repeated", f"{result.repeated:,} (equal to an earlier row of this run)")
    rejected = f"{result.rejected:,}"
    if result.report:
        rejected += f" — {result.report}"
    table.add_row("rejected", rejected)
    if result.dropped:
        where = f" — {result.report}" if result.report else ""
        table.add_row("fields dropped", f"{result.dropped:,} (rows sent without them){where}")
    if result.skipped:
        table.add_row("skipped", f"{result.skipped:,} (consent or suppression)")
    table.add_row("cursor", f"{shown(result.cursor_before)} → {shown(result.cursor_after)}")
    if not result.dry_run and backlog:
        delivery = settings.delivery
        seconds = delivery_seconds(backlog, delivery)
        at = datetime.now(UTC).timestamp() + seconds
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        budget = f"{delivery.events_per_window:,} per {spoken(float(delivery.window))}"
        table.add_row(
            "reaches X",
            f"about {when} (in {spoken(seconds)}): {backlog:,} waiting for account "
            f"{result.account_id} at {budget}",
        )
    for note in result.notes:
        table.add_row("note", note)
    return table


def _wait(settings: Settings, store: SyncStore, result: SyncResult, *, own_delivery: bool) -> None:
    start = None
    if own_delivery:
        err.print("no serve/worker is running on this outbox: delivering from this command")
        start = _own_delivery(settings)
    total = result.enqueued
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]delivering"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("delivering", stats="")

        def progress(counts: dict[JobStatus, int]) -> None:
            delivered = counts.get(JobStatus.DELIVERED, 0)
            dead = counts.get(JobStatus.DEAD, 0)
            bar.update(task, stats=f"{delivered:,} delivered · {dead:,} dead · of {total:,}")

        counts = wait_for_delivery(result, store, start_delivery=start, on_progress=progress)
    delivered, dead = counts.get(JobStatus.DELIVERED, 0), counts.get(JobStatus.DEAD, 0)
    out.print(
        f"delivered {delivered:,}, dead {dead:,}" + (" (see `xconduit dlq list`)" if dead else "")
    )


def _own_delivery(settings: Settings) -> StartDelivery:
    from xconduit.app import build_worker

    def start() -> Callable[[], None]:
        worker = build_worker(settings)
        worker.start()
        return worker.stop

    return start
