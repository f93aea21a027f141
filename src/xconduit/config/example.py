"""The commented example configuration that `xconduit init` writes."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def example_toml() -> str:
    """`xconduit.example.toml`: inside the wheel as `xconduit/config/example.toml`; at the
    repository's root when xconduit runs from a clone (an editable install)."""
    packaged = files("xconduit.config").joinpath("example.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).parents[3] / "xconduit.example.toml").read_text(encoding="utf-8")
