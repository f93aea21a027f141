"""A SQLite database (`sqlite:///path`) read with the standard library, read-only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from xconduit.errors import SourceError
from xconduit.sources.arrow import rows_to_batch
from xconduit.sources.lines import LineProblem
from xconduit.sources.params import redact, render


def _bindable(value: object) -> Any:
    # sqlite3's own date adapters are deprecated; SQLite keeps times as ISO text anyway.
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class SqliteSource:
    """One query over a SQLite file opened read-only (`mode=ro`): a sync never writes there."""

    def __init__(
        self,
        source: str,
        *,
        query: str,
        params: Mapping[str, object] | None,
        batch_rows: int,
        base_dir: Path | None,
        bad_lines: str = "fail",
    ) -> None:
        self.problems: list[LineProblem] = []  # a database hands rows, not lines
        self.notes: list[str] = []
        path = Path(source.removeprefix("sqlite:///")).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        if not query.strip():
            raise SourceError(f"{source}: a database source needs a query")
        if not path.is_file():
            raise SourceError(f"{source}: no such database file ({path})")
        self._known = f"{source}\n{path}\n{query}"
        self._batch_rows = batch_rows
        sql, values = render(query, params, style=lambda name: f":{name}")
        try:
            self._conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise SourceError(f"{source}: cannot open it ({error})") from None
        try:
            self._cursor = self._conn.execute(sql, {k: _bindable(v) for k, v in values.items()})
            self.columns: list[str] = [column[0] for column in self._cursor.description or ()]
        except sqlite3.Error as error:
            self.close()
            raise SourceError(f"{source}: {redact(str(error), known=self._known)}") from None
        if not self.columns:
            self.close()
            raise SourceError(f"{source}: the query returns no rows (it is not a SELECT)")

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            while rows := self._cursor.fetchmany(self._batch_rows):
                yield rows_to_batch(self.columns, rows)
        except sqlite3.Error as error:
            raise SourceError(f"reading failed: {redact(str(error), known=self._known)}") from None

    def close(self) -> None:
        self._conn.close()
