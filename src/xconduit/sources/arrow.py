"""Rows from a DB-API cursor as Arrow record batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import orjson
import pyarrow as pa


def _plain(value: Any) -> Any:
    # JSON columns come back as dicts/lists: keep them as JSON text, one type per column.
    if isinstance(value, dict | list):
        return orjson.dumps(value, default=str).decode()
    if isinstance(value, UUID):  # ids as text, as a file export would hold them
        return str(value)
    return value


def _column(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        # Mixed types (SQLite columns may hold any) or types Arrow has no place for (UUID,
        # inet): their text form.
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def rows_to_batch(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.RecordBatch:
    """One record batch of `rows`, column by column; types are inferred per batch."""
    arrays = [_column([_plain(row[i]) for row in rows]) for i in range(len(columns))]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))
