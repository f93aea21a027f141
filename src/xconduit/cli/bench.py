"""`xconduit bench`: run the benchmark suite and print a table of measured figures."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from xconduit.bench.run import run


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)


def bench_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Benchmarks to run; all when none.")
    ] = None,
    scale: Annotated[
        float,
        typer.Option(
            envvar="XCONDUIT_BENCH_SCALE",
            show_envvar=True,
            help="Fraction of the full workload (1.0 = the documented sizes).",
        ),
    ] = 1.0,
    json_out: Annotated[
        bool, typer.Option("--json", help="Also print the rows as JSON lines.")
    ] = False,
) -> None:
    """Run named benchmarks (e.g. `map`) and print what was measured against the targets."""
    try:
        rows = run(names or [], scale=scale)
    except KeyError as exc:
        typer.echo(f"xconduit bench: {exc.args[0]}", err=True)
        raise typer.Exit(2) from None
    if json_out:
        for row in rows:
            typer.echo(
                json.dumps(
                    {
                        "benchmark": row.benchmark,
                        "case": row.case,
                        "value": row.value,
                        "unit": row.unit,
                        "target": row.target,
                        "ok": row.ok,
                    }
                )
            )
