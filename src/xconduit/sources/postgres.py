"""PostgreSQL (`postgresql://…`) read with psycopg 3 through a server-side cursor.

The rows stay on the server until fetched, `batch_rows` at a time, so memory is flat whatever the
table size; the session is read-only (a sync never writes to the warehouse).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pyarrow as pa

from xconduit.errors import SourceError
from xconduit.sources.arrow import rows_to_batch
from xconduit.sources.lines import LineProblem
from xconduit.sources.params import redact, render

CONNECT_TIMEOUT = 10  # seconds: an unreachable warehouse is an error, not a hang


def safe_url(url: str) -> str:
    """`url` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresSource:
    """One query in a read-only transaction, streamed with a named (server-side) cursor."""

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
        self._name = safe_url(source)
        if not query.strip():
            raise SourceError(f"{self._name}: a database source needs a query")
        self._known = f"{self._name}\n{query}"
        self._batch_rows = batch_rows
        # psycopg's own markers are %s / %(name)s: a literal % in the query is written %%.
        # A None value is written NULL: PostgreSQL cannot type an untyped NULL parameter of a
        # cursor (`:cursor IS NULL OR updated_at > :cursor` on the first run).
        given = params or {}
        sql, values = render(
            query,
            given,
            style=lambda name: "NULL" if given.get(name) is None else f"%({name})s",
            literal=lambda text: text.replace("%", "%%"),
        )
        try:
            self._conn = psycopg.connect(source, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as error:
            raise SourceError(f"{self._name}: cannot connect ({_first_line(error)})") from None
        try:
            self._conn.read_only = True
            self._cursor = self._conn.cursor(name="xconduit_source")
            self._cursor.itersize = batch_rows
            self._cursor.execute(sql, values)
            self.columns: list[str] = [column.name for column in self._cursor.description or ()]
        except psycopg.Error as error:
            self.close()
            raise SourceError(f"{self._name}: {redact(str(error), known=self._known)}") from None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            while rows := self._cursor.fetchmany(self._batch_rows):
                yield rows_to_batch(self.columns, rows)
        except psycopg.Error as error:
            raise SourceError(
                f"{self._name}: reading failed ({redact(str(error), known=self._known)})"
            ) from None

    def close(self) -> None:
        cursor = getattr(self, "_cursor", None)
        if cursor is not None:
            # The connection may be gone (terminated mid-read): closing is then a no-op for us.
            with contextlib.suppress(psycopg.Error):
                cursor.close()
        self._conn.close()


def _first_line(error: Exception) -> str:
    return next((line.strip() for line in str(error).splitlines() if line.strip()), "error")
