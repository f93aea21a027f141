"""The data-contract report: one CSV line per row a sync did not send, and why, and one per
field left out of a row that was sent (its rule begins "sent without this field").

`<reports>/<sync>-rejected-<UTC time>.csv`, columns `row, line, cursor, conversion_id, column,
rule, value`: the row's number in the run (from 1) or, for a line of a file that is no row, its
`file:line`; its cursor value and its conversion id (to find it in the warehouse; one that
contains an email address or a phone number is its SHA-256, the conversion id as X receives it),
the source column at fault, the rule it breaks, and the value — masked for identifiers and free
text (`j***@e***`), with emails and phone numbers redacted elsewhere (`[email]`), never a raw
email, phone or user agent. Lines are flushed to disk before the batch they belong to is
committed, so a crash never loses one.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from xconduit.normalize.redact import has_personal_data, private_id, redact

HEADER = ("row", "line", "cursor", "conversion_id", "column", "rule", "value")
SHOWN_FIELDS = frozenset(("value", "currency", "conversion_time", "number_items", "event"))
"""Fields whose values are not personal: shown as read. Any other field's value is masked."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejection:
    """One row not sent."""

    row: int
    cursor: Any
    conversion_id: str
    field: str
    column: str
    rule: str
    value: Any = None
    line: str = ""
    """`file:line` of a line of a file that is no row (`row` is then 0: it never was one)."""


def mask(value: Any) -> str:
    """An identifier or free text, unreadable but recognisable by its shape."""
    if value is None:
        return ""
    text = str(value).strip()
    if "@" in text:
        local, _, domain = text.partition("@")
        return f"{local[:1]}***@{domain[:1]}***"
    return f"{text[:1]}***" if len(text) > 3 else "***"


def _time_like(value: Any) -> str:
    """A time or cursor value: as read, unless it is an email address or phone number."""
    if value is None:
        return ""
    text = str(value)
    # A time's digits would read as a phone number: hide only a value that holds personal data.
    return mask(text) if has_personal_data(text.strip()) else text[:40]


def shown(rejection: Rejection) -> str:
    if rejection.value is None:
        return ""
    text = str(rejection.value)
    if rejection.field in ("conversion_time", "cursor"):
        return _time_like(text)
    if rejection.field in SHOWN_FIELDS:
        return redact(text)[:40]  # an email in a money column (`revenue: "jane@…"`)
    return mask(rejection.value)


class RejectedReport:
    """The report of one run, created on its first line (a clean run leaves no file)."""

    def __init__(self, folder: Path, sync: str, *, started: datetime) -> None:
        stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.path = folder / f"{sync}-rejected-{stamp}.csv"
        self.lines = 0
        self._file: IO[str] | None = None
        self._writer: Any = None

    def write(self, rejections: list[Rejection]) -> None:
        """Append lines and make them durable (before the batch's commit)."""
        if not rejections:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self._create()
            self._writer = csv.writer(self._file)
            self._writer.writerow(HEADER)
        for item in rejections:
            cursor = "" if item.cursor is None else private_id(str(item.cursor).strip())
            conversion_id = private_id(item.conversion_id.strip())  # as X receives it
            self._writer.writerow(
                (
                    item.row or "",
                    item.line,
                    cursor,
                    conversion_id,
                    item.column,
                    item.rule,
                    shown(item),
                )
            )
        self._file.flush()
        os.fsync(self._file.fileno())
        self.lines += len(rejections)

    def _create(self) -> IO[str]:
        """A new file: a rerun in the same second (after a crash, say) gets `-2`, `-3`, … rather
        than appending a second header to the first run's report."""
        base, n = self.path, 1
        while True:
            try:
                return self.path.open("x", newline="", encoding="utf-8")
            except FileExistsError:
                n += 1
                self.path = base.with_name(f"{base.stem}-{n}{base.suffix}")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
