"""The tag files as the gateway serves them, and the public settings it builds (no browser)."""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from xconduit.config import TagSettings
from xconduit.errors import ConfigError
from xconduit.tag import plugin_js, public_tag_settings, snippet, tag_js

SIZE_LIMIT = 8 * 1024  # gzipped bytes


@pytest.mark.parametrize("read", [tag_js, plugin_js], ids=["tag.js", "plugin"])
def test_gzipped_size_is_within_the_limit(read: Any) -> None:
    assert len(gzip.compress(read(), 9)) <= SIZE_LIMIT


def test_plugin_file_carries_the_tag_core() -> None:
    assert plugin_js().startswith(tag_js())
    assert b"xconduitPlugin" in plugin_js()


def test_public_settings_from_a_config_table() -> None:
    tag = {
        "syntax": "legacy",
        "universal_pixel_id": " oka17 ",
        "page_pixel": "pp1",
        "single_event_tags": {"Signed Up": ["28j3fo"], " Lead ": "l1"},
    }
    events = {"Order Completed": "tw-oka17-ol288", "Signed Up": "ol289"}
    assert public_tag_settings(tag, pixel_id="oka17", events=events, product_identifier="sku") == {
        "syntax": "legacy",
        "universal_pixel_id": "oka17",
        "page_pixel": "pp1",
        "single_event_tags": {"signed up": ["28j3fo"], "lead": ["l1"]},
        "events": {"order completed": "tw-oka17-ol288", "signed up": "tw-oka17-ol289"},
        "product_identifier": "sku",
        "send_pii_to_pixel": False,
        "default_currency": "USD",
        "consent_category": "Advertising",
        "missing_consent": "allow",
        "value_on_pre_purchase": False,
        "phone_country_code": "1",
        "phone_national_prefix": "1",
    }


def test_public_settings_from_the_config_model_with_pii_and_currency() -> None:
    tag = TagSettings(universal_pixel_id="oka17", send_pii_to_pixel=True)
    out = public_tag_settings(tag, default_currency="eur", missing_consent="deny")
    assert (out["syntax"], out["send_pii_to_pixel"], out["default_currency"]) == (
        "event",
        True,
        "EUR",
    )
    assert out["missing_consent"] == "deny"


@pytest.mark.parametrize(
    ("tag", "kwargs", "message"),
    [
        ({"syntax": "new"}, {}, "syntax"),
        ({}, {"product_identifier": "id"}, "product_identifier"),
        ({}, {"missing_consent": "maybe"}, "missing_consent"),
        ({"pixel": "x"}, {}, "unknown key"),
        ({"single_event_tags": ["a"]}, {}, "single_event_tags"),
        ({}, {"events": {"Lead": "abc"}}, "needs a pixel id"),
    ],
)
def test_bad_settings_raise_config_error(
    tag: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        public_tag_settings(tag, **kwargs)


def test_snippet_names_the_gateway_and_key() -> None:
    html = snippet(gateway_url="https://gw.example/", write_key="wk_1")
    assert '<script async src="https://gw.example/tag.js"></script>' in html
    assert 'xconduit.init({collector: "https://gw.example", key: "wk_1"});' in html


def test_public_settings_from_the_config_model() -> None:
    tag = TagSettings(syntax="legacy", universal_pixel_id="oka17", page_pixel="pp1")
    out = public_tag_settings(tag, pixel_id="oka17", events={"Lead": "ol1"}, consent_category="")
    assert (out["syntax"], out["page_pixel"], out["events"]) == (
        "legacy",
        "pp1",
        {"lead": "tw-oka17-ol1"},
    )
    assert out["consent_category"] == ""
