from __future__ import annotations

from typing import Any

import pytest

from xconduit.errors import ConfigError
from xconduit.events import parse_event
from xconduit.normalize import DEFAULT_PATHS, IdentifierPaths
from xconduit.normalize.paths import compile_paths, first_present


def test_defaults_are_mapping_md_2_1() -> None:
    assert DEFAULT_PATHS.email == ("properties.email", "context.traits.email", "traits.email")
    assert DEFAULT_PATHS.phone == ("properties.phone", "context.traits.phone", "traits.phone")
    assert DEFAULT_PATHS.twclid == ("properties.twclid", "context.twclid")
    assert DEFAULT_PATHS.twclid_urls == ("context.page.url", "context.page.search")
    assert DEFAULT_PATHS.twclid_cookies == ("context.cookies._twclid",)
    assert DEFAULT_PATHS.ip_address == ("properties.ip_address", "context.ip")
    assert DEFAULT_PATHS.user_agent == ("properties.user_agent", "context.userAgent")
    assert DEFAULT_PATHS.handle == ("traits.twitter_handle",)
    assert DEFAULT_PATHS.twitter_id == ("traits.twitter_id",)
    assert DEFAULT_PATHS.device_id == ("context.device.advertisingId",)
    assert DEFAULT_PATHS.partner_user_id == ("userId",)


@pytest.mark.parametrize(
    "bad",
    [
        {"email": ("email",)},  # no root
        {"email": ("payload.email",)},
        {"email": ("properties..email",)},
        {"email": ("",)},
        {"partner_user_id": ("userId.id",)},
        {"email": "properties.email"},  # a string, not a tuple of paths
    ],
)
def test_bad_paths_are_config_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="identifier paths"):
        IdentifierPaths(**bad)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("userId", "u-1"),
        ("user_id", "u-1"),
        ("anonymousId", "anon-1"),
        ("messageId", "m-1"),
        ("properties.a.b.c", "deep"),
        ("properties.a.b", {"c": "deep"}),  # returned as is; the identifier rule rejects it
        ("properties.a.x.c", None),
        ("properties.list.0", None),  # no indexing into arrays
        ("context.ip", None),
    ],
)
def test_first_present_follows_paths(path: str, expected: Any) -> None:
    event = parse_event(
        {
            "type": "track",
            "event": "E",
            "userId": "u-1",
            "anonymousId": "anon-1",
            "messageId": "m-1",
            "properties": {"a": {"b": {"c": "deep"}}, "list": ["x"]},
        }
    )
    assert first_present(event, compile_paths((path,))) == expected


@pytest.mark.parametrize(
    ("value", "present"),
    [("x", True), ("", False), ("  ", False), ({}, False), ([], False), (0, True), (False, True)],
)
def test_empty_values_do_not_count_as_present(value: Any, present: bool) -> None:
    event = parse_event({"type": "track", "event": "E", "userId": "u", "properties": {"v": value}})
    found = first_present(event, compile_paths(("properties.v",)))
    assert (found is not None) is present
