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
from xconduit.sources.lines import MAX_LINE, LineProblem, scan, scan_json_lines, suspicious
from xconduit.sources.params import redact, render

_READERS = {
    ".csv": "read_csv({path}, header = true)",  # CSV: see FileSource._open_csv
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


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_REJECT_RULES = {
    "MISSING COLUMNS": "fewer columns than the header",
    "TOO MANY COLUMNS": "more columns than the header",
    "UNQUOTED VALUE": "a quote is not closed, or text follows a closing quote",
    "LINE SIZE OVER MAXIMUM": "the line is longer than 2,000,000 bytes",
    "INVALID ENCODING": "the line is not UTF-8 text",
    "INVALID UNICODE": "the line is not UTF-8 text",
    "CAST": "the value does not convert to the type of its column (or of the query's cast)",
}
"""DuckDB's `error_type` of a line it set aside → the rule, in the report's words."""

_FAMILIES = (
    (
        "BIGINT",
        "regexp_full_match(trim({c}), '[-+]?[0-9]+') AND try_cast({c} AS BIGINT) IS NOT NULL",
    ),
    ("DOUBLE", "try_cast({c} AS DOUBLE) IS NOT NULL"),
    (
        "DATE",
        "regexp_full_match(trim({c}), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
        "AND try_cast({c} AS DATE) IS NOT NULL",
    ),
    (
        "TIMESTAMP",
        "NOT regexp_matches(trim({c}), '([zZ]|[+-][0-9][0-9]:?[0-9][0-9])$') "
        "AND try_cast({c} AS TIMESTAMP) IS NOT NULL",
    ),
)
"""Column types a file read line by line may get, as DuckDB's sniffer would give them (a time
with a zone stays text: the mapping reads its zone)."""


def _types(conn: duckdb.DuckDBPyConnection, names: list[str]) -> list[tuple[str, str]]:
    """(column, the first type every value of it reads as) for a table of text columns."""
    parts = []
    for name in names:
        column = _quoted(name)
        parts.append(f"count({column})")
        for _, test in _FAMILIES:
            parts.append(
                f"count(*) FILTER (WHERE {column} IS NOT NULL AND {test.format(c=column)})"
            )
    row = conn.execute(f"SELECT {', '.join(parts)} FROM source_lines").fetchone() or ()
    width = len(_FAMILIES) + 1
    kinds = []
    for index, name in enumerate(names):
        total, *fits = row[index * width : (index + 1) * width]
        kind = next(
            (
                family
                for (family, _), fit in zip(_FAMILIES, fits, strict=True)
                if total and fit == total
            ),
            "VARCHAR",
        )
        kinds.append((name, kind))
    return kinds


def _delimiter(path: Path) -> str:
    """The character that splits the header line most often (the file's delimiter)."""
    with path.open("rb") as handle:
        header = handle.readline(MAX_LINE).decode("utf-8", "replace")
    return max(",;\t|", key=header.count)


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
        bad_lines: str = "fail",
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
        self.problems: list[LineProblem] = []
        self.notes: list[str] = []
        self._rejects = False
        self._conn = duckdb.connect(":memory:", config={"threads": READ_THREADS})
        try:
            if suffix == ".csv" and bad_lines == "report":
                self._open_csv(path)
            elif suffix in (".jsonl", ".ndjson") and bad_lines == "report":
                self._open_json_lines(path, _READERS[suffix].format(path=_literal(str(path))))
            else:
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
        except OSError as error:  # reading a CSV file to check it
            self.close()
            raise SourceError(f"{source}: cannot be read ({error.strerror or error})") from None
        except BaseException:
            self.close()
            raise

    def _open_csv(self, path: Path) -> None:
        """DuckDB reads the files, a line it cannot read becoming a problem (`store_rejects`),
        unless they hold what it would read wrong or it refuses them: then line by line."""
        files = sorted(Path(name) for name in glob.glob(str(path)))
        if not any(suspicious(file) for file in files):
            try:
                self._conn.execute(
                    f"CREATE VIEW source AS SELECT * FROM read_csv({_literal(str(path))}, "
                    "header = true, store_rejects = true)"
                )
                self._rejects = True
                return
            except duckdb.Error:
                pass  # a line its sniffer cannot read (longer than its limit): line by line
        scanned = scan(files, delimiter=_delimiter(files[0]))
        self.problems.extend(scanned.problems)
        self._conn.register("source_lines", scanned.table)
        casts = ", ".join(
            f"CAST({_quoted(name)} AS {kind}) AS {_quoted(name)}"
            for name, kind in _types(self._conn, scanned.table.column_names)
        )
        self._conn.execute(f"CREATE VIEW source AS SELECT {casts} FROM source_lines")
        self.notes.append(
            f"{path.name}: read line by line (DuckDB would have refused it or read a line wrong)"
        )

    def _open_json_lines(self, path: Path, reader: str) -> None:
        """DuckDB reads the files; when it refuses them (one malformed line does), line by line:
        the objects of the good lines, typed by the structure they share."""
        try:
            self._conn.execute(f"CREATE VIEW source AS SELECT * FROM {reader}")
            return
        except duckdb.Error:
            pass
        scanned = scan_json_lines(sorted(Path(name) for name in glob.glob(str(path))))
        self.problems.extend(scanned.problems)
        self._conn.register("source_lines", scanned.table)
        found = self._conn.execute("SELECT json_group_structure(line::JSON) FROM source_lines")
        structure = (found.fetchone() or (None,))[0]
        if structure is None or not scanned.table.num_rows:
            raise SourceError(f"{path.name}: no line holds a JSON object")
        self._conn.execute(
            "CREATE VIEW source AS SELECT unnest(json_transform(line, "
            f"{_literal(str(structure))})) FROM source_lines"
        )
        self.notes.append(f"{path.name}: read line by line (DuckDB refused it)")

    def batches(self) -> Iterator[pa.RecordBatch]:
        try:
            reader = self._relation.to_arrow_reader(self._batch_rows)
            for batch in reader:
                if batch.num_rows:
                    yield batch
            if self._rejects:
                self.problems.extend(self._rejected())
        except duckdb.Error as error:
            raise SourceError(f"reading failed: {redact(str(error), known=self._known)}") from None

    def _rejected(self) -> list[LineProblem]:
        """The lines DuckDB set aside while reading (never their text: it may be personal)."""
        try:
            found = self._conn.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'reject_errors'"
            ).fetchone()
        except duckdb.Error:
            found = None
        if not found or not found[0]:
            return []  # the query never read the files (`select 1`)
        rows = self._conn.execute(
            "SELECT s.file_path, e.line, coalesce(e.column_name, ''), e.error_type "
            "FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
            "ORDER BY s.file_path, e.line"
        ).fetchall()
        problems = []
        for file, line, column, kind in rows:
            rule = _REJECT_RULES.get(str(kind), str(kind).lower())
            problems.append(
                LineProblem(file=Path(file).name, line=int(line), rule=rule, column=column)
            )
        return problems

    def close(self) -> None:
        self._conn.close()
