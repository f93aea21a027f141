"""The website tag: the JavaScript the gateway serves and the public settings it reads.

The gateway serves `tag_js()` at `GET /tag.js` and `public_tag_settings(...)` as JSON at
`GET /v1/tag-config?key=<write key>`. Both are public (a browser key is public by nature), so the
settings hold only what the pixel needs: pixel ids, event ids, and consent rules. Rules:
docs/reference/mapping.md §4.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any

import rjsmin

from xconduit.config import TagSettings
from xconduit.errors import ConfigError
from xconduit.normalize.phone import dialling

__all__ = [
    "STUB_JS",
    "plugin_js",
    "public_tag_settings",
    "snippet",
    "tag_js",
]

STUB_JS = (
    "!function(){var x=window.xconduit=window.xconduit||[];if(x.core||x.init)return;"
    '["init","consent","page","track","identify"].forEach(function(m){x[m]=function(){'
    "x.push([m].concat([].slice.call(arguments)));return x}})}();"
)
"""Queues `xconduit.*` calls made before `tag.js` has loaded (the tag replays them)."""

SYNTAXES = ("event", "legacy")
PRODUCT_IDENTIFIERS = ("product_id", "sku")
MISSING_CONSENT = ("allow", "deny")


@functools.cache
def _read(name: str) -> bytes:
    """The file as served: minified by rjsmin (comments and whitespace out, the `/*! */` header
    kept), which halves the gzipped size of the commented source."""
    source = files(__package__).joinpath(name).read_text(encoding="utf-8")
    minified: str = rjsmin.jsmin(source, keep_bang_comments=True)
    return minified.encode() + b"\n"


def tag_js() -> bytes:
    """The tag, served as `application/javascript` at `GET /tag.js`."""
    return _read("tag.js")


def plugin_js() -> bytes:
    """The analytics-next destination plugin, with the tag core it needs, as one script."""
    return _read("tag.js") + b"\n" + _read("plugin.js")


def public_tag_settings(
    tag: TagSettings | Mapping[str, Any],
    *,
    pixel_id: str = "",
    events: Mapping[str, str] | None = None,
    product_identifier: str = "product_id",
    default_currency: str = "USD",
    consent_category: str = "Advertising",
    missing_consent: str = "allow",
    value_on_pre_purchase: bool = False,
    phone_region: str = "US",
) -> dict[str, Any]:
    """The JSON body of `GET /v1/tag-config`: one tag plus its destination's settings.

    `tag` is a `[[conversions.tag]]` table (`TagSettings` or a mapping of its keys); the
    keyword arguments are the conversion destination's values of the same names. `events` maps
    event names to `tw-<pixel>-<event>` or to a bare event id, which becomes
    `tw-<pixel_id>-<id>`. Names are trimmed and lower-cased, as the tag matches them. An empty
    `consent_category` turns the consent check off. Raises `ConfigError` for values the tag
    cannot use. `phone_region` gives the tag the country code and national prefix it needs to
    write `phone_number` in E.164, as the server normalises phones.
    """
    t = _from_mapping(tag) if isinstance(tag, Mapping) else tag
    _choice("product_identifier", product_identifier, PRODUCT_IDENTIFIERS)
    _choice("missing_consent", missing_consent, MISSING_CONSENT)
    pixel = (pixel_id or t.universal_pixel_id).strip()
    country_code, national_prefix = dialling(phone_region)
    return {
        "syntax": t.syntax,
        "universal_pixel_id": t.universal_pixel_id.strip(),
        "page_pixel": t.page_pixel.strip(),
        "single_event_tags": {
            _name(name): [str(i).strip() for i in ids if str(i).strip()]
            for name, ids in t.single_event_tags.items()
        },
        "events": {_name(name): _event_id(eid, pixel) for name, eid in (events or {}).items()},
        "product_identifier": product_identifier,
        "send_pii_to_pixel": t.send_pii_to_pixel,
        "default_currency": default_currency.strip().upper() or "USD",
        "consent_category": consent_category.strip(),
        "missing_consent": missing_consent,
        "value_on_pre_purchase": value_on_pre_purchase,
        "phone_country_code": country_code,
        "phone_national_prefix": national_prefix,
    }


def snippet(*, gateway_url: str, write_key: str) -> str:
    """The HTML a site pastes into every page: the queue stub, a page view, the async tag."""
    base = gateway_url.rstrip("/")
    return (
        f"<script>\n{STUB_JS}\n"
        f"xconduit.init({{collector: {json.dumps(base)}, key: {json.dumps(write_key)}}});\n"
        "xconduit.page();\n"
        "</script>\n"
        f'<script async src="{base}/tag.js"></script>\n'
    )


def _from_mapping(raw: Mapping[str, Any]) -> TagSettings:
    known = {"syntax", "universal_pixel_id", "page_pixel", "single_event_tags", "send_pii_to_pixel"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"conversions.tag: unknown key(s) {', '.join(unknown)}")
    tags = raw.get("single_event_tags") or {}
    if not isinstance(tags, Mapping):
        raise ConfigError("conversions.tag.single_event_tags must be a table of name = [ids]")
    syntax = str(raw.get("syntax") or "event")
    _choice("syntax", syntax, SYNTAXES)
    # Checked above, not by the model, so that a bad table is a `ConfigError` naming its key.
    return TagSettings.model_validate(
        {
            "syntax": syntax,
            "universal_pixel_id": str(raw.get("universal_pixel_id") or ""),
            "page_pixel": str(raw.get("page_pixel") or ""),
            "single_event_tags": {str(k): [str(i) for i in _ids(v)] for k, v in tags.items()},
            "send_pii_to_pixel": bool(raw.get("send_pii_to_pixel", False)),
        }
    )


def _choice(key: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key} = {value!r}: use one of {', '.join(allowed)}")


def _name(name: str) -> str:
    return name.strip().lower()


def _ids(ids: Sequence[str] | str) -> Sequence[str]:
    return [ids] if isinstance(ids, str) else ids


def _event_id(event_id: str, pixel: str) -> str:
    eid = event_id.strip()
    if eid.startswith("tw-") or not eid:
        return eid
    if not pixel:
        raise ConfigError(f"event id {eid!r} needs a pixel id to become tw-<pixel>-{eid}")
    return f"tw-{pixel}-{eid}"
