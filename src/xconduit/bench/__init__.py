"""The benchmark suite (`xconduit bench [NAME ...]`): named benchmarks that print measured figures.

A benchmark is a function returning `Row`s; targets are shown next to the figures, never asserted
in unit tests (timing on shared machines is not a test).
"""

from __future__ import annotations

from xconduit.bench.registry import BENCHMARKS, Row, benchmark

__all__ = ["BENCHMARKS", "Row", "benchmark"]
