"""Batches mapped in order, in this process or in worker processes (`workers > 1`).

Mapping is pure and CPU-bound (parsing, normalising, hashing), so a big backfill on a machine
with spare cores maps batches in parallel processes while this one reads the source and commits
in read order. At most two batches per worker are in flight, so memory stays flat. Workers are
spawned (not forked: the reading thread and DuckDB's own threads must not be copied).
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from xconduit.config import Settings
from xconduit.sync.mapper import MappedBatch, RowMapper

if TYPE_CHECKING:
    import pyarrow as pa

_worker_mapper: RowMapper | None = None


def _start_worker(settings: Settings, name: str, received_at: str) -> None:
    global _worker_mapper  # one mapper per worker process, built once
    sync = next(s for s in settings.syncs if s.name == name)
    _worker_mapper = RowMapper(settings, sync, received_at=received_at)


def _map_in_worker(
    batch: pa.RecordBatch, first_row: int, generation: int, refused: dict[int, str]
) -> MappedBatch:
    assert _worker_mapper is not None
    return _worker_mapper.map(batch, first_row=first_row, generation=generation, refused=refused)


def map_batches(
    batches: Iterable[tuple[pa.RecordBatch, dict[int, str]]],
    mapper: RowMapper,
    *,
    generation: int,
    workers: int,
    settings: Settings,
    name: str,
    received_at: str,
) -> Generator[tuple[pa.RecordBatch, dict[int, str], int, MappedBatch], None, None]:
    """(batch, its rows refused for their cursor, number of its first row, what it maps to), in
    read order, from (batch, rows refused for their cursor)."""
    first_row = 1
    if workers <= 1:
        for batch, refused in batches:
            mapped = mapper.map(batch, first_row=first_row, generation=generation, refused=refused)
            yield batch, refused, first_row, mapped
            first_row += batch.num_rows
        return
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(settings, name, received_at),
    )
    waiting: deque[tuple[pa.RecordBatch, dict[int, str], int, Future[MappedBatch]]] = deque()
    try:
        for batch, refused in batches:
            future = pool.submit(_map_in_worker, batch, first_row, generation, refused)
            waiting.append((batch, refused, first_row, future))
            first_row += batch.num_rows
            if len(waiting) >= 2 * workers:
                done, why, start, oldest = waiting.popleft()
                yield done, why, start, oldest.result()
        while waiting:
            done, why, start, oldest = waiting.popleft()
            yield done, why, start, oldest.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
