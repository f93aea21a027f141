"""How the sandbox echoes query parameters in `request.params` (X's examples' types)."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.sandbox.envelope import typed_params


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ({"count": "5"}, {"count": 5}),
        ({"count": "abc"}, {"count": "abc"}),  # not a number: as sent (the endpoint refuses it)
        (
            {"with_deleted": "true", "with_total_count": "False"},
            {"with_deleted": True, "with_total_count": False},
        ),
        ({"with_deleted": "yes"}, {"with_deleted": "yes"}),
        ({"custom_audience_ids": "1nmth"}, {"custom_audience_ids": ["1nmth"]}),
        ({"account_ids": "a,b,,c"}, {"account_ids": ["a", "b", "c"]}),
        (
            {"q": "vip", "cursor": "8x7v00oow", "name": "5"},
            {"q": "vip", "cursor": "8x7v00oow", "name": "5"},
        ),
    ],
)
def test_query_values_are_echoed_with_their_documented_types(
    sent: dict[str, str], echoed: dict[str, Any]
) -> None:
    assert typed_params(sent) == echoed
