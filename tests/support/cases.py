"""Case tables shared by the unit and browser suites (tests/cases/*.json).

The tag (in the browser) and the server (xconduit.mapping) must read consent and money the same
way; one file per table keeps both suites on the same rows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

CASES = Path(__file__).parents[1] / "cases"


def cases(name: str, *fields: str) -> list[Any]:
    """The rows of tests/cases/<name>.json as `pytest.param`s of `fields`, each row's `why` as its
    id when it has one."""
    rows = json.loads((CASES / f"{name}.json").read_text())["cases"]
    return [pytest.param(*(row[field] for field in fields), id=row.get("why")) for row in rows]
