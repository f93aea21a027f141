"""A destination's key: what makes two configurations' destinations the same one."""

from __future__ import annotations

from typing import Any

import pytest

from xconduit.config import Settings
from xconduit.config.identity import Ownership, destination_key, owner_keys, ownership

SHOP = {"name": "shop", "account_id": "18ce552mlaq", "pixel_id": "oka17"}


def settings(api: str = "sandbox", **destination: Any) -> Settings:
    return Settings.model_validate(
        {
            "x": {"api": api},
            "conversions": [{**SHOP, **destination}],
            "audiences": [
                {"name": "vip", "account_id": "18ce552mlaq", "identifiers": {"email": "email"}}
            ],
        }
    )


def test_the_key_is_short_and_stable() -> None:
    key = owner_keys(settings())["shop"]
    assert len(key) == 16
    assert key == owner_keys(settings())["shop"]
    assert key == destination_key(
        x="sandbox", account_id="18ce552mlaq", target_id="oka17", name="shop"
    )


@pytest.mark.parametrize(
    "other",
    [
        settings(api="https://ads-api.x.com"),
        settings(account_id="18ce55aaaaa"),
        settings(pixel_id="oka18"),
        settings(name="shop2"),
    ],
    ids=["x api", "account", "pixel", "name"],
)
def test_any_part_of_the_identity_changes_the_key(other: Settings) -> None:
    assert set(owner_keys(other).values()).isdisjoint(owner_keys(settings()).values())


def test_settings_that_do_not_name_the_destination_leave_its_key_alone() -> None:
    a = Settings.model_validate({"conversions": [SHOP], "server": {"listen": "127.0.0.1:8098"}})
    b = Settings.model_validate({"conversions": [{**SHOP, "default_currency": "EUR"}]})
    assert owner_keys(a) == owner_keys(b)


MINE = owner_keys(settings())["shop"]


@pytest.mark.parametrize(
    ("destination", "owner", "ours"),
    [
        ("shop", MINE, True),
        ("shop", "ffeeddccbbaa9988", False),  # another configuration's "shop"
        ("shop", "", False),  # from before keys: ours once adopted (same account and pixel)
        ("crm", "", False),
        ("crm", MINE, False),
        ("audience:vip", "", True),  # audiences go by name
        ("audience:other", "", False),
    ],
)
def test_which_jobs_a_configuration_owns(destination: str, owner: str, ours: bool) -> None:
    assert ownership(settings()).owns(destination, owner) is ours


def test_an_empty_ownership_owns_nothing() -> None:
    assert not Ownership().owns("shop", "")
