"""The banner's problems grouped by root cause, in the words of the configuration."""

from __future__ import annotations

import pytest

from xconduit.accounts.check import Check, Status
from xconduit.config import Settings
from xconduit.dashboard.problems import RootCause, in_config_words, root_causes
from xconduit.delivery.pause import Pause

ACCOUNT = "18ce552mlaq"
SETTINGS = Settings.model_validate(
    {
        "conversions": [
            {"name": "shop", "account_id": ACCOUNT, "pixel_id": "okz99"},
            {"name": "blog", "account_id": "other", "pixel_id": "oka18"},
        ]
    }
)
SHOP = "conversions.shop"


def fail(subject: str, item: str, detail: str, fix: str = "") -> Check:
    return Check(
        subject=subject, account_id=ACCOUNT, item=item, status=Status.FAIL, detail=detail, fix=fix
    )


WRONG_PIXEL = fail(
    SHOP,
    "pixel okz99",
    "account 18ce552mlaq has no pixel okz99",
    "set conversions[0].pixel_id to the pixel id of Events Manager's base code",
)
ITS_EVENT = fail(
    SHOP,
    "event Purchase (ol288)",
    "event ol288 belongs to pixel oka17, not okz99",
    'fix conversions[0].events["Purchase"] or conversions[0].pixel_id so that they match',
)
NO_SUCH_EVENT = fail(
    SHOP,
    "event Broken Thing (ol999)",
    "no event ol999 in web_event_tags of account 18ce552mlaq",
    'create the event in Events Manager, or fix conversions[0].events["Broken Thing"]',
)
PAUSED = Pause(
    account_id=ACCOUNT,
    reason="X 404 NOT_FOUND: pixel_id (okz99) was not found",
    since=1.0,
    probe_at=2.0,
    destination="shop",
    fix="conversions.shop.pixel_id must be the pixel id of Events Manager's base code",
)
ACCOUNT_PAUSED = Pause(account_id=ACCOUNT, reason="X 401", since=1.0, probe_at=2.0)
BAD_TOKEN = fail(f"account {ACCOUNT}", "credentials", "X 401: the token is not valid", "connect")


def reported(checks: list[Check], pauses: list[Pause]) -> list[tuple[str, str]]:
    lines = [f"{c.subject} {c.item}: {c.detail}" for c in checks] + [p.problem for p in pauses]
    return [(line, "serve on vm pid 1") for line in lines]


def causes(checks: list[Check], pauses: list[Pause], extra: tuple[str, ...] = ()) -> list[str]:
    found = root_causes(
        settings=SETTINGS,
        checks=checks,
        pauses=pauses,
        problems=[*reported(checks, pauses), *((e, "worker on b pid 2") for e in extra)],
        waiting={"shop": 4, "blog": 2},
    )
    return [f"{c.what} | {c.waiting}" for c in found]


@pytest.mark.parametrize(
    ("checks", "pauses", "extra", "expected"),
    [
        pytest.param(
            [WRONG_PIXEL, ITS_EVENT],
            [PAUSED],
            (),
            ['conversion destination "shop": pixel_id | 4'],
            id="a wrong pixel: its check, its events' checks and the pause are one",
        ),
        pytest.param(
            [WRONG_PIXEL, ITS_EVENT, NO_SUCH_EVENT],
            [PAUSED],
            (),
            [
                'conversion destination "shop": pixel_id | 4',
                'conversion destination "shop": events["Broken Thing"] | 4',
            ],
            id="an event id that exists nowhere is a cause of its own",
        ),
        pytest.param(
            [NO_SUCH_EVENT],
            [PAUSED],
            (),
            ['conversion destination "shop": events["Broken Thing"] | 4'],
            id="a wrong event id and the pause it caused",
        ),
        pytest.param(
            [],
            [PAUSED],
            (),
            ['conversion destination "shop" | 4'],
            id="a pause no check explains",
        ),
        pytest.param(
            [BAD_TOKEN],
            [ACCOUNT_PAUSED],
            (),
            [f"account {ACCOUNT}: credentials | 4"],
            id="an account's token: the account's pause is the same cause",
        ),
        pytest.param(
            [NO_SUCH_EVENT],
            [ACCOUNT_PAUSED],
            (),
            [
                'conversion destination "shop": events["Broken Thing"] | 4',
                f"account {ACCOUNT} | 4",
            ],
            id="a destination's cause does not explain its account's pause",
        ),
        pytest.param(
            [],
            [],
            ("the disk is full",),
            ["the disk is full | 0"],
            id="anything else a process reports is shown as it is",
        ),
    ],
)
def test_one_line_per_root_cause(
    checks: list[Check], pauses: list[Pause], extra: tuple[str, ...], expected: list[str]
) -> None:
    assert causes(checks, pauses, extra) == expected


def test_the_fix_names_the_destination_and_key_and_links_to_the_check() -> None:
    (cause,) = root_causes(
        settings=SETTINGS,
        checks=[WRONG_PIXEL, ITS_EVENT],
        pauses=[PAUSED],
        problems=reported([WRONG_PIXEL, ITS_EVENT], [PAUSED]),
        waiting={"shop": 4},
    )
    assert cause == RootCause(
        what='conversion destination "shop": pixel_id',
        why="account 18ce552mlaq has no pixel okz99",
        fix="set it to the pixel id of Events Manager's base code",
        anchor="check-conversions-shop-pixel-okz99",
        waiting=4,
        reported_by=("serve on vm pid 1",),
        destinations=("shop",),
    )
    assert cause.link == "/dashboard/connection#check-conversions-shop-pixel-okz99"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set conversions[1].pixel_id", 'set conversion destination "blog": pixel_id'),
        ("conversions.shop.pixel_id must", 'conversion destination "shop": pixel_id must'),
        ("conversions[7].pixel_id", "conversions[7].pixel_id"),  # no such destination: as is
        ("conversions.gone.events", "conversions.gone.events"),
        (
            "event ids of conversions.shop (`events`)",
            'event ids of conversion destination "shop" (`events`)',
        ),
        ("conversions.gone (`events`)", "conversions.gone (`events`)"),
    ],
)
def test_config_words(text: str, expected: str) -> None:
    assert in_config_words(text, SETTINGS) == expected
