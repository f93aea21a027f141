"""`xconduit init`: a configuration file to start from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from xconduit.config.example import example_toml


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)


def init_command(
    path: Annotated[
        Path, typer.Argument(help="Where to write it; an existing file is never overwritten.")
    ] = Path("xconduit.toml"),
) -> None:
    """Write the commented example configuration to start from: every section and key, valid as
    it is (the built-in X sandbox, a demo source and pixel).

    Edit it, then run `xconduit check --config xconduit.toml` and `xconduit serve --config
    xconduit.toml`.
    """
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(example_toml())
    except FileExistsError:
        typer.echo(f"xconduit init: {path} already exists; nothing was written", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"xconduit init: cannot write {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"wrote {path}: every section and key of the configuration, commented.\n"
        f"Next: edit it, then `xconduit check --config {path}` and "
        f"`xconduit serve --config {path}`."
    )
