"""The server reads consent and money as the rows of tests/cases/*.json say.

The browser suite (tests/browser/test_tag_server_rules.py) runs the same rows through the tag, so
a row passing both means the two legs send the same thing to X.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cases import cases
from xconduit.mapping.policy import consent_refusal
from xconduit.mapping.values import BadValue, conversion_value, products_of


@pytest.mark.parametrize(
    ("category", "prefs", "fires"), cases("consent", "category", "prefs", "fires")
)
def test_consent_rows(category: str, prefs: Any, fires: bool) -> None:
    event = {"consent": {"categoryPreferences": prefs}}
    refusal = consent_refusal(event, category=category, missing="allow")
    assert (refusal is None) is fires


@pytest.mark.parametrize(("props", "value"), cases("money", "props", "value"))
def test_money_rows(props: dict[str, Any], value: float | None) -> None:
    try:
        read = conversion_value(props, products_of(props))
    except BadValue:
        read = None  # the server rejects the event: no value reaches X, as with the tag
    assert (None if read is None else float(read)) == value
