"""Small value types of the configuration: durations and X ids, with messages a user can act on."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}

# X ids are base-36; every documented pixel and event id has 5 or more characters ("ol288").
_BASE36_ID = re.compile(r"^[0-9a-z]{5,}$")
_TW_EVENT_ID = re.compile(r"^tw-([0-9a-z]{5,})-([0-9a-z]{5,})$")


def parse_duration(value: object) -> float:
    """ "500ms", "1s", "5m", "4h", "7d" or a number of seconds → seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        raise ValueError(
            f'{value!r} is not a duration (expected e.g. "500ms", "1s", "5m", "4h", "7d")'
        )
    if seconds < 0:
        raise ValueError(f"{value!r}: a duration cannot be negative")
    return seconds


def format_duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds * 1000)}ms"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


def check_base36_id(value: str, *, what: str) -> str:
    if not _BASE36_ID.match(value):
        raise ValueError(
            f'{what} "{value}" is not an X id (expected lowercase base-36 like "oka17")'
        )
    return value


def check_event_id(value: str, *, pixel_id: str | None) -> str:
    """An X event id, as `tw-<pixel>-<event>` naming this destination's pixel.

    The bare `<event>` ("ol288") is accepted and written out in full: X's pixel takes only the
    full form, its Conversion API takes both, and X deduplicates the two legs per event, so
    both legs carry the one spelling both accept.
    """
    tw = _TW_EVENT_ID.match(value)
    if tw:
        if pixel_id and tw.group(1) != pixel_id:
            raise ValueError(
                f'event id "{value}" belongs to pixel "{tw.group(1)}", not this destination\'s '
                f'pixel "{pixel_id}"'
            )
        return value
    if _BASE36_ID.match(value):
        # Without a valid pixel id the destination fails on `pixel_id` anyway.
        return f"tw-{pixel_id}-{value}" if pixel_id else value
    raise ValueError(
        f'event id "{value}" is not an X event id (expected "tw-<pixel>-<event>" or "<event>")'
    )
