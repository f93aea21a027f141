"""`xconduit check`: are the credentials, the role, the pixel, the events and the audiences right?

Prints one table (✓ / ✗ with the fix / – skipped) and exits 1 when any check fails, 2 when the
configuration itself cannot be used.
"""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.console import Console
from rich.table import Table

from xconduit.accounts.check import Check, Status, failed, run_checks
from xconduit.cli._common import ConfigOption, settings_or_exit
from xconduit.errors import XconduitError

_STYLE = {Status.OK: "green", Status.FAIL: "bold red", Status.SKIP: "dim"}


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
    console = Console(width=max(Console().width, 140))
    console.print(check_table(checks))
    bad = failed(checks)
    if not checks:
        console.print("Nothing to check: the configuration has no destination or audience.")
    elif bad:
        console.print(f"[bold red]{len(bad)} check(s) failed[/]: fix them, then run it again.")
        raise typer.Exit(1)
    else:
        console.print(f"[green]All {len(checks)} checks passed.[/]")


def check_table(checks: Sequence[Check]) -> Table:
    table = Table(title="xconduit check", show_lines=False)
    for column in ("", "Subject", "Check", "Result", "Fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        style = _STYLE[check.status]
        table.add_row(
            f"[{style}]{check.mark}[/]", check.subject, check.item, check.detail, check.fix
        )
    return table
