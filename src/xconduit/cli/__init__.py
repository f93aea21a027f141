"""The `xconduit` command line: thin commands that build the app and call one method.

Each module in this package defines `register(app)` and adds its own command(s); they are found
here by name, so a new command is one new module. Every option has an `XCONDUIT_...` environment
variable, shown by `--help`. Help texts are Markdown: a docstring's lines join into paragraphs,
so they wrap at the terminal's width, not where the source breaks its lines.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import version
from typing import Annotated

import typer

app = typer.Typer(
    name="xconduit",
    help="Send your own customer data to X Ads: conversions, pixel, audiences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"xconduit {version('xconduit')}")
        raise typer.Exit()


@app.callback()
def _root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Send your own customer data to X Ads: conversions, pixel, audiences."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(app)


_register_commands()


def main() -> None:
    """Console-script entry point."""
    app()
