"""The first minutes with the CLI, run as a user runs it (a subprocess of the installed command):
`--version`, a port already in use, and help texts that read whole at 80 columns."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xconduit import __name__ as package
from xconduit.cli import app

XCONDUIT = [sys.executable, "-m", package]


def run(*args: str, columns: int = 80, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XCONDUIT_")}
    env.update(COLUMNS=str(columns), NO_COLOR="1", TERM="dumb")
    env.pop("TERMINAL_WIDTH", None)
    return subprocess.run(
        [*XCONDUIT, *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd
    )


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    done = run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"xconduit {version('xconduit')}"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "choose"),
    [
        (["serve", "--listen", "127.0.0.1:{port}"], "--listen HOST:PORT"),
        (["sandbox", "--port", "{port}"], "--port N"),
    ],
)
def test_a_port_in_use_is_one_line_naming_it_and_the_way_out(
    args: list[str], choose: str, busy_port: int, tmp_path: Path
) -> None:
    done = run(*(a.format(port=busy_port) for a in args), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"127.0.0.1:{busy_port} is already in use" in lines[0]
    assert choose in lines[0]
    assert "X sandbox" not in done.stdout  # no banner promising a server that is not there


def _commands() -> list[list[str]]:
    """Every command path (`[]` is the root, `["dlq", "list"]` a subcommand)."""
    import typer.main

    root = typer.main.get_command(app)
    paths: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(root, [])
    return paths


def _envvars(path: list[str]) -> list[str]:
    import typer.main

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return [
        p.envvar
        for p in command.params
        if isinstance(p.envvar, str) and getattr(p, "show_envvar", False)
    ]


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "xconduit")
def test_help_shows_every_environment_variable_whole_at_80_columns(path: list[str]) -> None:
    done = run(*path, "--help")
    assert done.returncode == 0, done.stderr
    assert "…" not in done.stdout, "help text cut short:\n" + done.stdout
    for name in _envvars(path):
        assert re.search(rf"\b{name}\b", done.stdout), f"{name} not shown whole:\n{done.stdout}"


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in text.split("\n\n") if p.strip()]


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "xconduit")
def test_help_breaks_lines_only_where_the_terminal_ends(path: list[str]) -> None:
    # On a terminal wide enough for any paragraph, each one must be one line: a break inside it
    # would come from the source's line breaks, not from the width.
    wide = run(*path, "--help", columns=400).stdout
    lines = [line.strip(" │") for line in wide.splitlines()]
    import typer.main

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    for paragraph in _paragraphs(command.help or ""):
        plain = paragraph.replace("`", "")
        assert any(plain in line for line in lines), f"{plain!r} is broken:\n{wide}"
    for name, sub in getattr(command, "commands", {}).items():
        first = _paragraphs(sub.help or "")[0].replace("`", "")
        assert any(line.startswith(name) and first in line for line in lines), (
            f"{name}: {first!r} is broken:\n{wide}"
        )


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "xconduit")
def test_flags_read_as_flags(path: list[str]) -> None:
    # typer 0.29.0–0.29.2 print `--help <bool>`, as if a flag took a value (excluded in pyproject).
    from typer.testing import CliRunner

    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.output
    assert "--help" in done.output
    assert "<bool>" not in done.output, done.output
