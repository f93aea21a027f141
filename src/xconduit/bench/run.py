"""Run benchmarks by name and print one table."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

import xconduit.bench
from xconduit.bench.registry import BENCHMARKS, Row


def load_all() -> None:
    for info in pkgutil.iter_modules(xconduit.bench.__path__):
        if info.name not in {"registry", "run", "synthetic"} and not info.name.startswith("_"):
            importlib.import_module(f"xconduit.bench.{info.name}")


def run(names: Sequence[str], *, scale: float = 1.0, console: Console | None = None) -> list[Row]:
    load_all()
    console = console or Console()
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise KeyError(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(sorted(BENCHMARKS))}"
        )
    rows: list[Row] = []
    with Progress(console=console, transient=True) as progress:
        for name in names or sorted(BENCHMARKS):
            rows.extend(BENCHMARKS[name](progress, scale))
    console.print(table(rows))
    return rows


def table(rows: Sequence[Row]) -> Table:
    out = Table(title="xconduit bench")
    for column in ("benchmark", "case", "measured", "target", ""):
        out.add_column(column, justify="right" if column == "measured" else "left")
    for row in rows:
        value = f"{row.value:,.2f}" if row.value < 100 else f"{row.value:,.0f}"
        mark = "" if row.ok is None else ("[green]met[/]" if row.ok else "[red]missed[/]")
        out.add_row(row.benchmark, row.case, f"{value} {row.unit}", row.target, mark or row.note)
    return out
