"""Named query parameters (`:cursor`) found outside quotes and comments, and rendered in the
style of each driver, so values are always bound by the database, never pasted into SQL text.

Also `redact`: a driver's error message with quoted fragments that are not in the query or the
source hidden, since a conversion error may quote a value read from the data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xconduit.errors import SourceError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOLLAR_TAG = re.compile(r"\$[A-Za-z_0-9]*\$")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


@dataclass(frozen=True, slots=True)
class Placeholder:
    start: int
    end: int
    name: str


def _skip_quoted(sql: str, i: int) -> int:
    """The index after the quoted text, comment or dollar-quoted string starting at `i`
    (or `i` itself when none starts there)."""
    char, rest = sql[i], sql[i : i + 2]
    if char in "'\"`":
        end = i + 1
        while end < len(sql):
            if sql[end] == char:
                if sql[end + 1 : end + 2] == char:  # doubled quote inside the string
                    end += 2
                    continue
                return end + 1
            end += 1
        return len(sql)
    if rest == "--":
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    if rest == "/*":
        end = sql.find("*/", i + 2)
        return len(sql) if end < 0 else end + 2
    if char == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
        end = sql.find(tag.group(), tag.end())
        return len(sql) if end < 0 else end + len(tag.group())
    return i


def placeholders(sql: str) -> list[Placeholder]:
    """The `:name` placeholders of `sql`; `::type` casts, quoted text and comments are skipped."""
    found: list[Placeholder] = []
    i = 0
    while i < len(sql):
        after = _skip_quoted(sql, i)
        if after != i:
            i = after
            continue
        if sql[i] == ":":
            if sql[i + 1 : i + 2] == ":":
                i += 2
                continue
            match = _NAME.match(sql, i + 1)
            if match and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                found.append(Placeholder(i, match.end(), match.group()))
                i = match.end()
                continue
        i += 1
    return found


def render(
    sql: str,
    params: Mapping[str, object] | None,
    *,
    style: Callable[[str], str],
    literal: Callable[[str], str] = lambda text: text,
) -> tuple[str, dict[str, object]]:
    """`sql` with each placeholder written by `style(name)` and every other stretch of text passed
    through `literal` (to escape the driver's own markers), and the values the query uses.

    A placeholder with no value is an error; a value the query does not use is left out (some
    drivers refuse unused values)."""
    params = params or {}
    out: list[str] = []
    used: dict[str, object] = {}
    last = 0
    for placeholder in placeholders(sql):
        if placeholder.name not in params:
            raise SourceError(f"the query uses :{placeholder.name} but no value is given for it")
        out.append(literal(sql[last : placeholder.start]))
        out.append(style(placeholder.name))
        used[placeholder.name] = params[placeholder.name]
        last = placeholder.end
    out.append(literal(sql[last:]))
    return "".join(out), used


def redact(message: str, *, known: str) -> str:
    """The first line of a driver's error, quoted fragments not found in `known` (the query and
    the source) replaced by `…`: a value read from a row must never reach a log or a terminal."""
    line = next((text.strip() for text in message.splitlines() if text.strip()), "unknown error")

    def hide(match: re.Match[str]) -> str:
        inner = match.group()[1:-1]
        return (
            match.group() if inner and inner in known else f"{match.group()[0]}…{match.group()[0]}"
        )

    return _QUOTED.sub(hide, line)
