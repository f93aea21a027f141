"""Options and helpers shared by the commands."""

from __future__ import annotations

import errno
from typing import Annotated

import typer

from xconduit.config import Settings, demo_settings, load_settings
from xconduit.errors import ConfigError

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        envvar="XCONDUIT_CONFIG",
        help="TOML configuration file; without one the built-in demo configuration is used.",
        show_envvar=True,
    ),
]


def settings_or_exit(config: str | None) -> Settings:
    """The configuration, or a readable error on stderr and exit code 2."""
    try:
        if config is None:
            base = load_settings(None)
            return base if base.conversions or base.sources else _demo_with(base)
        return load_settings(config)
    except ConfigError as exc:
        typer.echo(f"xconduit: configuration error\n{exc}", err=True)
        raise typer.Exit(2) from None


def _demo_with(base: Settings) -> Settings:
    demo = demo_settings()
    return base.model_copy(update={"sources": demo.sources, "conversions": demo.conversions})


def listen_failure(exc: BaseException, host: str, port: int | str, *, choose: str) -> str:
    """One line for a server that could not start: a taken or unknown address is named, with
    the option that picks another; any other error is shown as it is."""
    if isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
        shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            reason = "is already in use (another xconduit, or another program)"
        else:
            reason = "is not an address of this machine"
        return f"{shown} {reason}; choose another with {choose}"
    return str(exc)
