"""A snapshot's diff against the delivered members, in DuckDB, never both sides in Python.

The snapshot arrives as Arrow record batches (from `xconduit.sources`). Each batch is hashed
in DuckDB (`sqlnorm`) into a table of `(user_key, payload)`; the delivered member keys are
streamed page by page from the outbox into another; two anti-joins give who enters and who
exits. DuckDB works in a database file in a temporary folder with a memory limit, so a large
segment spills to disk instead of growing the process. The result goes to the outbox as the
audience's pending changes, streamed too.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xconduit.audiences import sqlnorm
from xconduit.config import AudienceSettings
from xconduit.errors import ConfigError, SourceError, XconduitError
from xconduit.outbox.audience_jobs import ChangeOp
from xconduit.outbox.audience_store import AudienceStore

MEMORY_LIMIT = "1100MB"
FETCH_ROWS = 50_000


class EmptySnapshot(XconduitError):
    """The snapshot has no member but the audience has: refused without --allow-empty."""


@dataclass(kw_only=True)
class SnapshotDiff:
    rows: int = 0
    members: int = 0
    """Distinct usable users in the snapshot (after suppression)."""
    delivered: int = 0
    entering: int = 0
    exiting: int = 0
    suppressed: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def unchanged(self) -> int:
        return self.members - self.entering


def _columns(audience: AudienceSettings, available: list[str]) -> dict[str, str]:
    """X key → snapshot column, each checked to exist."""
    for key, column in audience.identifiers.items():
        if column not in available:
            raise ConfigError(
                f"audiences.{audience.name}.identifiers.{key}: the snapshot has no column "
                f"{column!r} (it has: {', '.join(available) or 'no columns'})"
            )
    return dict(audience.identifiers)


class SnapshotDiffer:
    """One diff: `load(batches)`, `compare(store)`, then `changes()` to queue them."""

    def __init__(
        self,
        audience: AudienceSettings,
        *,
        suppressed_hashes: Iterable[str] = (),
        workdir: Path | None = None,
    ) -> None:
        import duckdb

        self.audience = audience
        self.result = SnapshotDiff()
        self._tmp = Path(tempfile.mkdtemp(prefix="xconduit-audience-", dir=workdir))
        self._con = duckdb.connect(
            ":memory:",
            config={
                "memory_limit": MEMORY_LIMIT,
                "threads": 2,
                "temp_directory": str(self._tmp / "spill"),
                "preserve_insertion_order": False,
            },
        )
        sqlnorm.register(self._con)
        self._con.execute("CREATE TABLE snap_raw (user_key VARCHAR, payload VARCHAR)")
        self._con.execute("CREATE TABLE delivered (user_key VARCHAR)")
        self._con.execute("CREATE TABLE supp (h VARCHAR)")
        hashes = sorted({h.lower() for h in suppressed_hashes})
        if hashes:
            self._con.executemany("INSERT INTO supp VALUES (?)", [[h] for h in hashes])
        self._select: str | None = None
        self._reason = ""
        self._copier: threading.Thread | None = None

    def close(self) -> None:
        if self._copier is not None:
            self._copier.join()
        self._con.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> SnapshotDiffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def load(
        self, batches: Iterable[Any], *, progress: Callable[[int], None] | None = None
    ) -> None:
        """Hash every batch of the snapshot into DuckDB."""
        import duckdb

        try:
            self._load(batches, progress)
        except duckdb.Error as exc:
            # DuckDB's message may quote a value of the snapshot: name the kind of error only.
            raise SourceError(
                f"audience {self.audience.name}: the snapshot could not be hashed "
                f"({type(exc).__name__}); check the identifier columns' types"
            ) from None

    def _load(self, batches: Iterable[Any], progress: Callable[[int], None] | None) -> None:
        import pyarrow as pa

        for batch in batches:
            if self._select is None:
                columns = _columns(self.audience, list(batch.schema.names))
                self._select = sqlnorm.select_sql(columns, self.audience.phone_region, "batch")
                self._reason = sqlnorm.reason_sql(list(columns))
            con = self._con
            con.register("batch", pa.Table.from_batches([batch]))
            try:
                inserted = _count(
                    con,
                    "INSERT INTO snap_raw SELECT md5(payload), payload "
                    f"FROM ({self._select}) WHERE payload IS NOT NULL",
                )
                if inserted < batch.num_rows:  # rare: hash again, only to say why
                    for reason, count in con.execute(
                        f"SELECT {self._reason} AS reason, count(*) FROM ({self._select}) "
                        "WHERE payload IS NULL GROUP BY reason"
                    ).fetchall():
                        self.result.rejected[reason] += count
            finally:
                con.unregister("batch")
            self.result.rows += batch.num_rows
            if progress is not None:
                progress(batch.num_rows)

    def start_delivered(self, store: AudienceStore) -> None:
        """Start copying the delivered keys in, in a thread of its own with its own DuckDB
        cursor: the outbox is read while the snapshot is hashed (`compare` waits for it)."""
        self._copy_error: BaseException | None = None

        def copy() -> None:
            try:
                self._copy_delivered(store, self._con.cursor())
            except BaseException as exc:  # raised again in compare()
                self._copy_error = exc

        self._copier = threading.Thread(target=copy, name="audience-delivered-keys")
        self._copier.start()

    def _copy_delivered(self, store: AudienceStore, con: Any) -> None:
        import pyarrow as pa

        try:
            for keys in store.audience_member_keys(self.audience.name):
                con.register("page", pa.table({"user_key": pa.array(keys, pa.string())}))
                try:
                    con.execute("INSERT INTO delivered SELECT user_key FROM page")
                finally:
                    con.unregister("page")
        finally:
            con.close()

    def compare(self, store: AudienceStore) -> SnapshotDiff:
        """Take in the delivered keys (unless `start_delivered` did) and count who enters and
        who exits."""
        con = self._con
        if self._copier is None:
            self._copy_delivered(store, con.cursor())
        else:
            self._copier.join()
            if self._copy_error is not None:
                raise self._copy_error
        if _count(con, "SELECT count(*) FROM supp"):
            self.result.suppressed = _count(
                con,
                "DELETE FROM snap_raw WHERE EXISTS "
                "(SELECT 1 FROM supp WHERE contains(snap_raw.payload, supp.h))",
            )
        # One outer join finds both sides; a user twice in the snapshot is one user (DISTINCT
        # on the few changed rows, not on the whole snapshot).
        con.execute(
            "CREATE TABLE diff AS SELECT DISTINCT "
            "coalesce(s.user_key, d.user_key) AS user_key, "
            "CASE WHEN s.user_key IS NULL THEN 'remove' ELSE 'add' END AS op, "
            "coalesce(s.payload, '{}') AS payload "
            "FROM snap_raw s FULL OUTER JOIN delivered d ON s.user_key = d.user_key "
            "WHERE s.user_key IS NULL OR d.user_key IS NULL"
        )
        r = self.result
        r.delivered = _count(con, "SELECT count(*) FROM delivered")
        r.entering = _count(con, "SELECT count(*) FROM diff WHERE op = 'add'")
        r.exiting = _count(con, "SELECT count(*) FROM diff WHERE op = 'remove'")
        r.members = r.delivered - r.exiting + r.entering  # every member left is in the snapshot
        return r

    def changes(self) -> Iterator[tuple[str, ChangeOp, bytes]]:
        """Exits (payload filled from the members when flushed), then entries, streamed."""
        reader = self._con.sql(
            "SELECT user_key, op, payload FROM diff ORDER BY op DESC, user_key"
        ).to_arrow_reader(FETCH_ROWS)
        for batch in reader:
            keys, ops, payloads = (batch.column(i).to_pylist() for i in range(3))
            for key, op, payload in zip(keys, ops, payloads, strict=True):
                yield key, op, payload.encode()


def _count(con: Any, sql: str) -> int:
    rows = con.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


class ShrinkingSnapshot(XconduitError):
    """The snapshot would remove more than `max_shrink` of the members: refused without
    --allow-shrink (a broken upstream table must not wipe the audience)."""


def check_not_emptying(diff: SnapshotDiff, *, name: str, allow_empty: bool) -> None:
    if diff.members == 0 and diff.delivered > 0 and not allow_empty:
        raise EmptySnapshot(
            f"audience {name}: the snapshot has no usable member but X has {diff.delivered} from "
            "us; nothing was changed (check the query, or pass --allow-empty to empty it)"
        )


def check_not_shrinking(
    diff: SnapshotDiff, *, name: str, max_shrink: float, allow_shrink: bool
) -> None:
    """Refuse a diff removing more than `max_shrink` of the members X has from us."""
    if allow_shrink or diff.delivered == 0 or diff.exiting <= max_shrink * diff.delivered:
        return
    share = diff.exiting / diff.delivered
    raise ShrinkingSnapshot(
        f"audience {name}: the snapshot would remove {diff.exiting:,} of the {diff.delivered:,} "
        f"members X has from us ({share:.0%}, more than audiences.max_shrink = "
        f"{max_shrink:.0%}; the snapshot has {diff.rows:,} row(s)); nothing was sent. Check the "
        f"source and query; if the shrink is right, run `xconduit audiences sync {name} "
        "--allow-shrink` once, or raise max_shrink in the audience's configuration"
    )
