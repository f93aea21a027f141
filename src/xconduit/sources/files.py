"""Files (CSV, Parquet, JSON lines) read through DuckDB, in streaming Arrow batches.

The files are the view `source` inside an in-memory DuckDB; the query runs there (DuckDB filters
and projects, Python sees only the rows asked for). Only readers built into the duckdb wheel are
used (parquet, json, csv): nothing is downloaded.
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import pyarrow as pa

from xconduit.errors import SourceError
from xconduit.sources.params import redact, render

_READERS = {
    ".csv": "read_csv({path}, header = true)",
    ".parquet": "read_parquet({path})",
    ".jsonl": "read_json({path}, format = 'newline_delimited')",
    ".ndjson": "read_json({path}, format = 'newline_delimited')",
    ".json": "read_json({path}, format = 'auto')",
}
FILE_SUFFIXES = tuple(_READERS)
READ_THREADS = 1
"""DuckDB threads per file source. A sync maps rows far slower than DuckDB reads them (1M
Parquet rows: ~0.4 s to read, ~20 s to map and commit), so more threads only buffer more row
groups ahead: a second one added ~45 MB to the peak RSS of a 1M-row sync and no speed."""


def is_file_source(source: str) -> bool:
    """Whether `source` names files (by their suffix) rather than a database URL."""
    return "://" not in source and source.lower().endswith(FILE_SUFFIXES)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class FileSource:
    """One query over the files matching a path or glob."""

    def __init__(
        self,
        source: str,
        *,
        query: str,
        params: Mapping[str, object] | None,
        batch_rows: int,
        base_dir: Path | None,
    ) -> None:
        path = Path(source).expanduser()
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        suffix = path.suffix.lower()
        if suffix not in _READERS:
            raise SourceError(f"{source}: not a .csv, .parquet, .jsonl, .ndjson or .json file")
        if not glob.glob(str(path)):
            raise SourceError(f"{source}: no such file (looked in {path.parent})")
        self._known = f"{source}\n{path}\n{query}"
        self._batch_rows = batch_rows
        self._conn = duckdb.connect(":memory:", config={"threads": READ_THREADS})
        try:
            reader = _READERS[suffix].format(path=_literal(str(path)))
            self._conn.execute(f"CREATE VIEW source AS SELECT * FROM {reader}")
            sql, values = render(query or "select * from source", params, style=lambda n: f"${n}")
            relation = self._conn.sql(sql, params=values or None)
            if relation is None:
                raise SourceError("the query returns no rows (it is not a SELECT)")
            self._relation = relation
            self.columns: list[str] = list(relation.columns)
        except duckdb.Error as error:
            self.close()
            raise SourceError(f"{source}: {redact(str(error), known=self._known)}") from None
        except BaseException:
            self.close()
            raise

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            reader = self._relation.to_arrow_reader(self._batch_rows)
            for batch in reader:
                if batch.num_rows:
                    yield batch
        except duckdb.Error as error:
            raise SourceError(f"reading failed: {redact(str(error), known=self._known)}") from None

    def close(self) -> None:
        self._conn.close()
