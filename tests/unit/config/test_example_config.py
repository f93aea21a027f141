"""`xconduit.example.toml` loads with the real loader and shows every section and key; settings
that would configure something that does not run are refused at load time, with the reason."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from xconduit.config import Settings, load_settings
from xconduit.errors import ConfigError

EXAMPLE = Path(__file__).parents[3] / "xconduit.example.toml"
IN_PROGRESS: set[str] = set()  # sections named in a comment until they run


def test_the_example_loads_with_the_real_loader() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.x.api == "sandbox"  # runs as is, with no credentials
    assert [s.name for s in settings.sources] == ["backend", "website"]
    [shop] = settings.conversions
    assert shop.events["Order Completed"] == "tw-oka17-ol288"
    assert len(shop.tag) == 1


def _keys(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    out: dict[str, type[BaseModel] | None] = {}
    for name, field in model.model_fields.items():
        inner: Any = None
        for arg in (field.annotation, *getattr(field.annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                inner = arg
        out[name] = inner
    return out


def _shown(text: str, key: str) -> bool:
    return re.search(rf"^#? ?{re.escape(key)} = ", text, re.MULTILINE) is not None


def test_the_example_shows_every_section_and_key() -> None:
    text = EXAMPLE.read_text()
    missing = []
    for section, model in _keys(Settings).items():
        if section in IN_PROGRESS:
            if f"[[{section}]]" not in text:
                missing.append(f"[[{section}]] (in a comment)")
            continue
        if not re.search(rf"^\[\[?{section}\]\]?$", text, re.MULTILINE):
            missing.append(f"[{section}]")
        for key, sub in _keys(model).items() if model else ():
            if sub is not None:  # a nested table: [conversions.identifiers], [[conversions.tag]]
                if f"{section}.{key}]" not in text:
                    missing.append(f"[{section}.{key}]")
                missing += [f"{section}.{key}.{k}" for k in _keys(sub) if not _shown(text, k)]
            elif not _shown(text, key):
                missing.append(f"{section}.{key}")
    assert not missing, f"not in {EXAMPLE.name}: {missing}"


CONVERSION = '[[conversions]]\nname = "{name}"\naccount_id = "18ce552mlaq"\npixel_id = "{pixel}"\n'
TAG = '[[conversions.tag]]\nuniversal_pixel_id = "{pixel}"\n'
SOURCE = '[[sources]]\nname = "web"\nwrite_keys = ["wk_web"]\n'


@pytest.mark.parametrize(
    ("toml", "reason"),
    [
        (
            CONVERSION.format(name="shop", pixel="oka17")
            + TAG.format(pixel="oka17")
            + TAG.format(pixel="oka17"),
            "conversions[0].tag: 2 [[conversions.tag]] tables; the website tag runs one per "
            "destination",
        ),
        (
            SOURCE
            + CONVERSION.format(name="shop", pixel="oka17")
            + TAG.format(pixel="oka17")
            + CONVERSION.format(name="brand", pixel="okb22")
            + TAG.format(pixel="okb22"),
            'sources: "web" feeds 2 destinations with a website tag (shop, brand); the tag runs '
            "one per source",
        ),
    ],
    ids=["two tags on a destination", "two tagged destinations, one source"],
)
def test_settings_that_would_not_run_are_refused_with_the_reason(
    tmp_path: Path, toml: str, reason: str
) -> None:
    path = tmp_path / "xconduit.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={})
    assert reason in str(raised.value)


def test_two_tagged_destinations_with_their_own_sources_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "xconduit.toml"
    path.write_text(
        SOURCE
        + SOURCE.replace("web", "web2")
        + CONVERSION.format(name="shop", pixel="oka17")
        + 'sources = ["web"]\n'
        + TAG.format(pixel="oka17")
        + CONVERSION.format(name="brand", pixel="okb22")
        + 'sources = ["web2"]\n'
        + TAG.format(pixel="okb22")
    )
    assert len(load_settings(path, environ={}).conversions) == 2
