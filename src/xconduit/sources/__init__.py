"""Warehouse sources: rows from files and databases, read in streaming Arrow batches.

    from xconduit.sources import open_source, SourceError
    with open_source("exports/orders-*.parquet", query="select * from source where id > :cursor",
                     params={"cursor": 41}) as src:
        src.columns                      # list[str]
        for batch in src.batches():      # pyarrow.RecordBatch, at most `batch_rows` rows each
            ...

`source` is a path or glob of `.csv` / `.parquet` / `.jsonl` / `.ndjson` / `.json` files (read by
DuckDB, where the query calls them `source`; no query means every row), `sqlite:///path`,
`postgresql://…` (psycopg, server-side cursor) or any other SQLAlchemy URL. Relative paths are
under `base_dir`. The query runs where the data lives. `:name` placeholders are bound by the
database from `params`, never written into the SQL. Anything that stops the read raises
`SourceError` with a one-line cause that never quotes a value read from the data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from xconduit.errors import SourceError
from xconduit.extras import install_command

if TYPE_CHECKING:
    import pyarrow as pa

    from xconduit.sources.lines import LineProblem

__all__ = ["BadLines", "Source", "SourceError", "check_source", "open_source"]

BadLines = Literal["fail", "report"]


class Source(Protocol):
    """An open query over one source."""

    columns: list[str]
    """The query's column names, in order."""
    problems: list[LineProblem]
    """Lines of a file that are no rows (not UTF-8, a NUL byte, an unclosed quote…), found
    while opening or reading; the other rows are read."""
    notes: list[str]
    """What the reader did that the person running the sync should know."""

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows, in the query's order, a batch at a time (iterate once)."""
        ...

    def __init__(
        self,
        source: str,
        *,
        query: str,
        params: Mapping[str, object] | None,
        batch_rows: int,
        base_dir: Path | None,
        bad_lines: BadLines = "fail",
    ) -> None: ...

    def close(self) -> None: ...


def _kind(source: str) -> type[Source]:
    """The class that reads `source` (imported lazily: each needs its own optional package)."""
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if not scheme:
        from xconduit.sources.files import FileSource, is_file_source

        if not is_file_source(source):
            raise SourceError(
                f"{source!r} is neither a database URL nor a .csv, .parquet, .jsonl, .ndjson or "
                ".json file"
            )
        return FileSource
    if scheme == "sqlite":
        from xconduit.sources.sqlite import SqliteSource

        return SqliteSource
    if scheme in ("postgresql", "postgres"):
        from xconduit.sources.postgres import PostgresSource

        return PostgresSource
    from xconduit.sources.alchemy import AlchemySource

    return AlchemySource


def check_source(source: str) -> type[Source]:
    """The reader of `source`, or `SourceError` naming the package it needs and the command
    that installs it (checked before anything is done with the source's rows)."""
    try:
        return _kind(source)
    except ModuleNotFoundError as error:
        extra = "postgres" if error.name == "psycopg" else "warehouse"
        raise SourceError(
            f"reading this source needs the {error.name} package; install it with: "
            f"{install_command(extra)}"
        ) from None


@contextmanager
def open_source(
    source: str,
    *,
    query: str = "",
    params: Mapping[str, object] | None = None,
    batch_rows: int = 50_000,
    base_dir: Path | None = None,
    bad_lines: BadLines = "fail",
) -> Iterator[Source]:
    """Run `query` on `source` and hand back the open result; closed on leaving the block.

    `bad_lines` (files): "fail" stops the read at a line that is no row, as DuckDB does;
    "report" reads the other rows and lists such lines in `problems` (a sync reports them; an
    audience snapshot must not lose a member silently, so it fails)."""
    if batch_rows < 1:
        raise SourceError("batch_rows must be at least 1")
    opened = check_source(source)(
        source,
        query=query,
        params=params,
        batch_rows=batch_rows,
        base_dir=base_dir,
        bad_lines=bad_lines,
    )
    try:
        yield opened
    finally:
        opened.close()
