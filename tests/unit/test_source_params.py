"""Placeholders are found outside quotes, casts and comments; errors hide quoted data."""

from __future__ import annotations

import pytest

from xconduit.errors import SourceError
from xconduit.sources.params import placeholders, redact, render


def test_placeholders_skip_casts_strings_and_comments() -> None:
    sql = "select a::text, ':no' from t -- :nope\n where b > :cursor and c = :x /* :no */ and d = $$:no$$"
    assert [p.name for p in placeholders(sql)] == ["cursor", "x"]


def test_render_in_each_style() -> None:
    sql, values = render(
        "select '5%' where a > :cursor",
        {"cursor": 1, "other": 2},
        style=lambda n: f"%({n})s",
        literal=lambda t: t.replace("%", "%%"),
    )
    assert sql == "select '5%%' where a > %(cursor)s"
    assert values == {"cursor": 1}
    with pytest.raises(SourceError, match=":cursor but no value"):
        render("select :cursor", {}, style=lambda n: f"${n}")


def test_redact_hides_quoted_text_not_in_the_query() -> None:
    message = 'Could not convert string "jane@example.com" to INT32 in column "email"\nLINE 1: ...'
    assert (
        redact(message, known="select email from x")
        == 'Could not convert string "…" to INT32 in column "email"'
    )
