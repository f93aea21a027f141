"""The banner's problems, one per root cause, in the words of the configuration the user wrote.

One wrong pixel id fails the pixel's check, fails every event id of the destination (they belong
to another pixel) and pauses the destination: one cause, one line. A line names the setting to
change as the user wrote it (`conversion destination "shop": pixel_id`, never `conversions[0]`),
says what to do, links to the check that found it and counts the events waiting on it.

Grouping (pure, over the fleet's merged check table and pauses):
  * a failed credentials or role check of an account: the account; it takes in its pauses
  * a failed check of a conversion destination: the destination and the setting (`pixel_id`,
    `events["Purchase"]`, `page_event_id`); an event id that belongs to another pixel is the
    pixel's doing when the pixel's own check failed too
  * a failed audience check: the audience and `audience_id`
  * a pause: taken in by a cause of its destination (or account) if there is one, else its own
  * any other problem a process reports: a line of its own, as reported (nothing is hidden)
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from xconduit.accounts.check import Check, Status
from xconduit.config import Settings
from xconduit.delivery.pause import Pause, destination_words

_INDEXED = re.compile(r"\b(conversions|audiences)\[(\d+)\]\.")
_DOTTED = re.compile(r"\b(conversions|audiences)\.([A-Za-z0-9_-]+)\.")
_NAMED = re.compile(r"\b(conversions|audiences)\.([A-Za-z0-9_-]+)(?![A-Za-z0-9_.-])")
_EVENT_ITEM = re.compile(r"event (?P<name>.+) \((?P<id>[^()]*)\)")
_KIND = {"conversions": "conversion destination", "audiences": "audience"}


@dataclass(frozen=True, kw_only=True)
class RootCause:
    what: str
    """The setting to change, as the user wrote it: `conversion destination "shop": pixel_id`."""
    why: str
    fix: str
    anchor: str
    """The id of the check (or pause) on the connection page that found it."""
    waiting: int
    """Events of its destinations waiting to be sent (held until it is fixed)."""
    reported_by: tuple[str, ...] = ()
    destinations: tuple[str, ...] = ()
    """The conversion destinations it holds."""

    @property
    def link(self) -> str:
        return f"/dashboard/connection#{self.anchor}"


@dataclass(kw_only=True)
class _Cause:
    what: str
    why: str
    fix: str
    anchor: str
    destinations: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    """The reported problems it accounts for (to name who reports them)."""


def slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", " ".join(parts).lower()).strip("-")


def check_anchor(check: Check) -> str:
    return "check-" + slug(check.subject, check.item)


def pause_anchor(pause: Pause) -> str:
    return "paused-" + slug(pause.account_id, pause.destination or "")


def in_config_words(text: str, settings: Settings) -> str:
    """`conversions[0].pixel_id` and `conversions.shop.pixel_id` as the user wrote the
    destination: `conversion destination "shop": pixel_id`; `conversions.shop` alone:
    `conversion destination "shop"`."""
    names = {
        "conversions": [d.name for d in settings.conversions],
        "audiences": [a.name for a in settings.audiences],
    }

    def indexed(m: re.Match[str]) -> str:
        listed = names[m[1]]
        i = int(m[2])
        return f'{_KIND[m[1]]} "{listed[i]}": ' if i < len(listed) else m[0]

    def dotted(m: re.Match[str]) -> str:
        return f'{_KIND[m[1]]} "{m[2]}": ' if m[2] in names[m[1]] else m[0]

    def named(m: re.Match[str]) -> str:
        return f'{_KIND[m[1]]} "{m[2]}"' if m[2] in names[m[1]] else m[0]

    return _NAMED.sub(named, _DOTTED.sub(dotted, _INDEXED.sub(indexed, text)))


def _setting(check: Check) -> str:
    """The setting of a destination's or audience's check: pixel_id, events["…"], …."""
    if check.item.startswith("pixel"):
        return "pixel_id"
    if check.item.startswith("audience"):
        return "audience_id"
    event = _EVENT_ITEM.fullmatch(check.item)
    if event is None:
        return check.item
    if event["name"].endswith("(page_event_id)"):
        return "page_event_id"
    return f'events["{event["name"]}"]'


def root_causes(
    *,
    settings: Settings,
    checks: Sequence[Check],
    pauses: Sequence[Pause],
    problems: Sequence[tuple[str, str]],
    waiting: Mapping[str, int],
) -> list[RootCause]:
    """`problems` are the lines the processes report, each with the reporting process's name;
    `waiting` is the events waiting per destination."""
    who: dict[str, list[str]] = {}
    for problem, name in problems:
        who.setdefault(problem, []).append(name)
    accounts = {d.name: d.account_id for d in settings.conversions}
    causes: dict[tuple[str, str], _Cause] = {}
    failed = [c for c in checks if c.status is Status.FAIL]
    wrong_pixel = {c.subject for c in failed if c.item.startswith("pixel")}
    for c in failed:
        kind, _, name = c.subject.partition(".")
        if c.subject.startswith("account "):
            key = (c.subject, c.item)
            what = f"{c.subject}: {c.item}"
            mine = {d for d, a in accounts.items() if a == c.account_id}
        elif kind in _KIND and name:
            setting = _setting(c)
            if c.subject in wrong_pixel and "belongs to pixel" in c.detail:
                setting = "pixel_id"  # the event is fine; the pixel is not
            key = (c.subject, setting)
            what = f'{_KIND[kind]} "{name}": {setting}'
            mine = {name} if kind == "conversions" else set()
        else:
            key = (c.subject, c.item)
            what, mine = f"{c.subject}: {c.item}", set()
        if key not in causes:
            fix = in_config_words(c.fix, settings)
            causes[key] = _Cause(
                what=what,
                why=c.detail,
                fix=fix.replace(what, "it") if ": " in what else fix,
                anchor=check_anchor(c),
                destinations=mine,
            )
        causes[key].problems.append(f"{c.subject} {c.item}: {c.detail}")
    for pause in pauses:
        held = (
            {pause.destination}
            if pause.destination
            else {d for d, a in accounts.items() if a == pause.account_id}
        )
        owner = next(
            (
                cause
                for cause in causes.values()
                if cause.what.startswith(f"account {pause.account_id}:")
                # a destination's own cause explains its pause, not the whole account's
                or (pause.destination and pause.destination in cause.destinations)
            ),
            None,
        )
        if owner is None:
            what = (
                destination_words(pause.destination)
                if pause.destination
                else f"account {pause.account_id}"
            )
            owner = causes[(what, "paused")] = _Cause(
                what=what,
                why=f"delivery paused: {pause.reason}",
                fix=in_config_words(pause.fix, settings),
                anchor=pause_anchor(pause),
                destinations=held,
            )
        owner.destinations |= held
        owner.problems.append(pause.problem)
    accounted = {problem for cause in causes.values() for problem in cause.problems}
    for problem in who:
        if problem not in accounted:
            causes[(problem, "")] = _Cause(
                what=in_config_words(problem, settings),
                why="",
                fix="",
                anchor="checks",
                problems=[problem],
            )
    return [
        RootCause(
            what=c.what,
            why=c.why,
            fix=c.fix,
            anchor=c.anchor,
            waiting=sum(waiting.get(d, 0) for d in c.destinations),
            reported_by=tuple(dict.fromkeys(n for p in c.problems for n in who.get(p, ()))),
            destinations=tuple(sorted(c.destinations)),
        )
        for c in causes.values()
    ]
