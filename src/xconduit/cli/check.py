"""`xconduit check`: are the credentials, the role, the pixel, the events and the audiences right?

Prints one table (✓ / ✗ with the fix / – skipped / ◐ not checked against X) and exits 1 when
any check fails, 2 when the configuration itself cannot be used. Each run is counted in the
store, so the running `serve` and `worker` processes run their checks within seconds (and resume
what a passing check clears).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import typer
from rich.console import Console
from rich.table import Table

from xconduit.accounts.check import (
    SEEDED,
    Check,
    Status,
    failed,
    run_checks,
    seeded_from_config,
    shown_subject,
)
from xconduit.cli._common import ConfigOption, settings_or_exit
from xconduit.config import Settings
from xconduit.errors import XconduitError

_STYLE = {
    Status.OK: "green",
    Status.FAIL: "bold red",
    Status.SKIP: "dim",
    Status.UNCHECKED: "yellow",
}


def register(app: typer.Typer) -> None:
    app.command("check")(check_command)


def check_command(config: ConfigOption = None) -> None:
    """Check the setup against X: the token works, its user has ACCOUNT_ADMIN or AD_MANAGER on
    each ad account, each pixel and mapped event id exists, each audience exists."""
    from xconduit.app import checks_client

    settings = settings_or_exit(config)
    try:
        checks = run_checks(settings, checks_client(settings))
    except XconduitError as exc:
        typer.echo(f"xconduit check: {exc}", err=True)
        raise typer.Exit(2) from None
    sandbox = settings.x.api == "sandbox"
    if sandbox:
        checks = seeded_from_config(checks)
    console = Console(width=max(Console().width, 140))
    console.print(check_table(checks))
    bad = failed(checks)
    told = _tell_running_processes(settings) if checks else None
    if not checks:
        console.print("Nothing to check: the configuration has no destination or audience.")
    elif bad:
        console.print(f"[bold red]{len(bad)} check(s) failed[/]: fix them, then run it again.")
    elif sandbox:
        console.print(
            f'[yellow]◐ x.api = "sandbox": nothing was checked against X[/] ({SEEDED}). '
            "Set x.api to the Ads API to check your real token, role, pixel and event ids."
        )
    else:
        console.print(f"[green]All {len(checks)} checks passed.[/]")
    if told:
        console.print(told)
    if bad:
        raise typer.Exit(1)


def _tell_running_processes(settings: Settings) -> str | None:
    """Count the run in the store, so every delivery process on it runs its checks within
    seconds (a paused account or destination resumes once they pass); a line to print when the
    store cannot be told."""
    from xconduit.outbox.check_runs import CheckRuns
    from xconduit.outbox.open import open_store, store_exists

    server = settings.server
    if not store_exists(server.store):
        return None  # no outbox yet: nothing runs on it
    try:
        store = open_store(server.store, busy_timeout=server.busy_timeout)
        try:
            if isinstance(store, CheckRuns):
                store.note_check_run(now=time.time())
        finally:
            store.close()
    except XconduitError as exc:
        return (
            f"The running gateway could not be told ({exc}): it runs the checks again within "
            f"checks.interval ({int(settings.checks.interval)} s)."
        )
    return None


def check_table(checks: Sequence[Check]) -> Table:
    table = Table(title="xconduit check", show_lines=False)
    for column in ("", "Subject", "Check", "Result", "Fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        style = _STYLE[check.status]
        table.add_row(
            f"[{style}]{check.mark}[/]",
            shown_subject(check.subject),
            check.item,
            check.detail,
            check.fix,
        )
    return table
