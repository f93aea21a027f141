"""Registry of named benchmarks and the row they report."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from rich.progress import Progress


@dataclass(frozen=True, kw_only=True, slots=True)
class Row:
    benchmark: str
    case: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    """True/False when a target applies; None when the row is context (e.g. the floor)."""
    note: str = ""


BenchFn = Callable[[Progress, float], list[Row]]
"""(progress bar host, scale) → rows. `scale` < 1 shortens the run (for smoke tests)."""

MIN_SECONDS = float(os.environ.get("XCONDUIT_BENCH_SECONDS", "3"))
"""Each measured case runs at least this long, whatever the scale: `scale` shrinks the data
and the extras, never the measuring time, so `--scale 0.01` gives figures comparable with a
full run (a case of a few milliseconds measures start-up and timer noise, not throughput).
`XCONDUIT_BENCH_SECONDS` shortens it where only the output's shape matters (the test suite)."""

BENCHMARKS: dict[str, BenchFn] = {}


def benchmark(name: str) -> Callable[[BenchFn], BenchFn]:
    def register(fn: BenchFn) -> BenchFn:
        BENCHMARKS[name] = fn
        return fn

    return register
