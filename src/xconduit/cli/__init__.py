"""The `xconduit` command line: thin commands that build the app and call one method.

Each module in this package defines `register(app)` and adds its own command(s); they are found
here by name, so a new command is one new module. Every option has an `XCONDUIT_...` environment
variable, shown by `--help`.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

app = typer.Typer(
    name="xconduit",
    help="Send your own customer data to X Ads: conversions, pixel, audiences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
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
