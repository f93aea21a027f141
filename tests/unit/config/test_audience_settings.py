"""`[[audiences]]`: what a marketer gets told when an audience cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from xconduit.config import Settings
from xconduit.config.load import load_settings
from xconduit.errors import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(body)
    return path


def test_an_audience_with_no_identifier_is_refused_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, '[[audiences]]\nname = "vip"\naccount_id = "18ce552mlaq"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert "audiences" in message
    assert "identifiers" in message
    assert 'identifiers = { email = "email" }' in message


def test_an_unknown_identifier_names_x_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[audiences]]\nname = "vip"\naccount_id = "18ce552mlaq"\nidentifiers = { ip = "ip" }\n',
    )
    with pytest.raises(ConfigError, match="not an X audience identifier"):
        load_settings(path, environ={})


def test_durations_and_the_trait_are_read() -> None:
    settings = Settings.model_validate(
        {
            "audiences": [
                {
                    "name": "vip",
                    "account_id": "18ce552mlaq",
                    "identifiers": {"email": "email"},
                    "trait": "vip",
                    "schedule": "6h",
                    "flush_interval": "10m",
                }
            ]
        }
    )
    (audience,) = settings.audiences
    assert (audience.schedule, audience.flush_interval, audience.trait) == (21600.0, 600.0, "vip")
