"""Files DuckDB cannot read whole: checked line by line, so a bad line costs that line only.

DuckDB refuses a whole CSV file for one line longer than its limit (a 10 MB cell), and reads a
NUL byte or an unclosed quote into values that would be hashed and sent (with an unclosed quote
it even guesses the file has no quoting at all); one malformed JSON line refuses a whole JSON-
lines file. `suspicious` finds the CSV cases cheaply (a search for NUL, a count of quotes: an
odd count leaves one open, a megabyte without a line break) before DuckDB reads the file;
`scan` (CSV) and `scan_json_lines` then read it here instead: each line or quoted record that
breaks a rule becomes a `LineProblem` with its line number, the others a table.

The scan holds the good rows in memory (about the file's size): the price of a broken file only.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pyarrow as pa

from xconduit.errors import SourceError

MAX_LINE = 2_000_000
"""Bytes a line may hold (DuckDB's own limit)."""
MAX_RECORD_LINES = 1_000
"""Lines a quoted value may span; past them (or at the end of the file) its quote is unclosed."""
_CHUNK = 1 << 22
_WINDOW = 1 << 20
_BATCH = 50_000


@dataclass(frozen=True, kw_only=True, slots=True)
class LineProblem:
    """A line of a file that is not a row: where, and the rule it breaks (never its text)."""

    file: str
    line: int
    rule: str
    column: str = ""


def suspicious(path: Path) -> bool:
    """Whether the file holds a NUL byte, an odd number of double quotes, or a stretch of
    `_WINDOW` bytes without a line break (a line DuckDB may take minutes to refuse)."""
    quotes = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if b"\x00" in chunk:
                return True
            windows = range(0, len(chunk) - _WINDOW + 1, _WINDOW)
            if any(chunk.find(b"\n", at, at + _WINDOW) < 0 for at in windows):
                return True
            quotes += chunk.count(b'"')
    return quotes % 2 == 1


def _line_rule(raw: bytes) -> str | None:
    if len(raw) > MAX_LINE:
        return f"the line is longer than {MAX_LINE:,} bytes"
    if b"\x00" in raw:
        return "the line holds a NUL byte"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the line is not UTF-8 text"
    return None


def _opens(raw: bytes) -> bool:
    """Whether a line leaves a quoted value open (an odd count of quotes toggles it)."""
    return raw.count(b'"') % 2 == 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Scanned:
    """The good rows of one or more files, as text columns, and the lines that were not rows."""

    table: pa.Table
    problems: list[LineProblem]


def _records(path: Path, name: str, problems: list[LineProblem]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each record whose lines are readable; a record whose quote
    never closes is its first line alone, reported, and the lines after it are read again."""
    with path.open("rb") as handle:
        lines = enumerate(handle, start=1)
        again: deque[tuple[int, bytes]] = deque()

        def take() -> tuple[int, bytes] | None:
            return again.popleft() if again else next(lines, None)

        while (item := take()) is not None:
            number, raw = item
            if rule := _line_rule(raw):
                problems.append(LineProblem(file=name, line=number, rule=rule))
                continue
            if not _opens(raw):
                yield number, raw.decode("utf-8")
                continue
            record = [raw]
            size = len(raw)
            while (following := take()) is not None:
                record.append(following[1])
                size += len(following[1])
                bad = _line_rule(following[1]) is not None
                if bad or _opens(following[1]) or len(record) > MAX_RECORD_LINES:
                    break
            closed = (
                following is not None
                and _opens(record[-1])
                and _line_rule(record[-1]) is None
                and len(record) <= MAX_RECORD_LINES
                and size <= MAX_LINE
            )
            if closed:
                yield number, b"".join(record).decode("utf-8")
                continue
            problems.append(LineProblem(file=name, line=number, rule="a quote is not closed"))
            again.extendleft(
                reversed([(number + i, line) for i, line in enumerate(record[1:], start=1)])
            )


def scan(paths: list[Path], *, delimiter: str = ",") -> Scanned:
    """Read `paths` (each with the same header line) line by line."""
    problems: list[LineProblem] = []
    header: list[str] | None = None
    batches: list[pa.RecordBatch] = []
    for path in paths:
        columns: list[list[str | None]] | None = None
        for number, text in _records(path, path.name, problems):
            if not text.strip():
                continue  # a blank line is no row
            try:
                fields = next(
                    csv.reader(text.splitlines(keepends=True), delimiter=delimiter, strict=True)
                )
            except (csv.Error, StopIteration) as error:  # the csv module's words quote no value
                rule = f"not CSV: {error}" if isinstance(error, csv.Error) else "not CSV"
                problems.append(LineProblem(file=path.name, line=number, rule=rule))
                continue
            if columns is None:  # the header line
                if number != 1:
                    raise SourceError(f"{path.name}: its header (line 1) cannot be read")
                if header is not None and fields != header:
                    raise SourceError(f"{path.name}: its header differs from the first file's")
                header = fields
                columns = [[] for _ in header]
                continue
            if len(fields) != len(columns):
                rule = f"{len(fields)} columns where the header has {len(columns)}"
                problems.append(LineProblem(file=path.name, line=number, rule=rule))
                continue
            for values, value in zip(columns, fields, strict=True):
                values.append(value if value != "" else None)
            if len(columns[0]) >= _BATCH:
                batches.append(_batch(fields if header is None else header, columns))
                columns = [[] for _ in columns]
        if header is not None and columns and columns[0]:
            batches.append(_batch(header, columns))
    if header is None:
        raise SourceError(f"{paths[0].name}: no header line could be read")
    schema = pa.schema([(name, pa.string()) for name in header])
    return Scanned(table=pa.Table.from_batches(batches, schema=schema), problems=problems)


def _batch(header: list[str], columns: list[list[str | None]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in columns], names=header)


def scan_json_lines(paths: list[Path]) -> Scanned:
    """The JSON objects of `paths`, one a line, as the text column `line`; any other line
    (not UTF-8, not JSON, not an object, too long) a problem."""
    problems: list[LineProblem] = []
    batches: list[pa.RecordBatch] = []
    for path in paths:
        good: list[str] = []
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                rule = _line_rule(raw)
                if rule is None:
                    try:
                        item = orjson.loads(raw)
                    except orjson.JSONDecodeError:
                        rule = "the line is not JSON"
                    else:
                        rule = None if isinstance(item, dict) else "the line is no JSON object"
                if rule is not None:
                    problems.append(LineProblem(file=path.name, line=number, rule=rule))
                    continue
                good.append(raw.decode("utf-8"))
                if len(good) >= _BATCH:
                    batches.append(pa.RecordBatch.from_arrays([pa.array(good)], names=["line"]))
                    good = []
        if good:
            batches.append(pa.RecordBatch.from_arrays([pa.array(good)], names=["line"]))
    schema = pa.schema([("line", pa.string())])
    return Scanned(table=pa.Table.from_batches(batches, schema=schema), problems=problems)
