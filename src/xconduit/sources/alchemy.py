"""Any other database through SQLAlchemy (Snowflake, BigQuery, MySQL… when their dialect is
installed), streamed with `stream_results` and `yield_per`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pyarrow as pa
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from xconduit.errors import SourceError
from xconduit.sources.arrow import rows_to_batch
from xconduit.sources.lines import LineProblem
from xconduit.sources.params import redact, render


def _escape_colons(text: str) -> str:
    # Text outside placeholders: a colon there (a time in a string literal) is not a parameter.
    return text.replace(":", "\\:").replace("\\:\\:", "::")


class AlchemySource:
    """One query through a SQLAlchemy engine made for this read and disposed after."""

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
        try:
            url = make_url(source)
        except ArgumentError:
            raise SourceError(f"{source!r} is not a database URL or a file path") from None
        self._name = url.render_as_string(hide_password=True)
        if not query.strip():
            raise SourceError(f"{self._name}: a database source needs a query")
        self._known = f"{self._name}\n{query}"
        self._batch_rows = batch_rows
        sql, values = render(query, params, style=lambda name: f":{name}", literal=_escape_colons)
        try:
            self._engine = sqlalchemy.create_engine(url)
        except (NoSuchModuleError, ImportError) as error:
            dialect = url.drivername
            raise SourceError(
                f"{self._name}: no SQLAlchemy dialect or driver for {dialect!r} is installed "
                f"({type(error).__name__}); pip install its package"
            ) from None
        try:
            self._conn = self._engine.connect().execution_options(
                stream_results=True, yield_per=batch_rows
            )
            self._result = self._conn.execute(sqlalchemy.text(sql), values)
            self.columns: list[str] = list(self._result.keys())
        except SQLAlchemyError as error:
            self.close()
            cause = redact(str(getattr(error, "orig", None) or error), known=self._known)
            raise SourceError(f"{self._name}: {cause}") from None

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for rows in self._result.partitions(self._batch_rows):
                yield rows_to_batch(self.columns, rows)
        except SQLAlchemyError as error:
            cause = redact(str(getattr(error, "orig", None) or error), known=self._known)
            raise SourceError(f"{self._name}: reading failed ({cause})") from None

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._engine.dispose()
