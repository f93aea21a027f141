"""Sizes of the soak and kill tests: each states the claim its default size proves; an
environment variable can raise it for a longer run, never lower it below that claim."""

from __future__ import annotations

import os


def soak_size(variable: str, claim: int) -> int:
    """`claim`, or the larger number `variable` asks for (a smaller one is ignored)."""
    return max(claim, int(os.environ.get(variable, claim)))
