"""A batch of rows → outbox events, through the collector's own `EventAcceptor` (so a row and the
equivalent Segment event give byte-identical conversions), and the rows that cannot be sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xconduit.config import ConversionDestination, Settings, SyncSettings
from xconduit.errors import ConfigError
from xconduit.ingest.accept import EventAcceptor
from xconduit.mapping import Router
from xconduit.mapping.conversions import fold
from xconduit.normalize import MISSING_IDENTIFIER
from xconduit.queue import IncomingEvent
from xconduit.sync.report import Rejection
from xconduit.sync.rows import RowProblem, RowShape, row_key, to_event

if TYPE_CHECKING:
    import pyarrow as pa

IDENTIFIER_FIELDS = ("twclid", "email", "phone", "ip_address", "user_agent")

# A field as the collector names it in a reason → the conversion field of `columns`.
_FIELD_NAMES = {
    "timestamp": "conversion_time",
    "quantity": "number_items",
    "products": "contents",
    "price_currency": "currency",
    "userId": "user_id",
}


@dataclass(kw_only=True)
class MappedBatch:
    """What one batch of rows became."""

    events: list[IncomingEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    skipped: int = 0
    """Rows filtered by the destination's consent or suppression rules."""


def destination_of(settings: Settings, sync: SyncSettings) -> ConversionDestination:
    dest = next((d for d in settings.conversions if d.name == sync.destination), None)
    if dest is None:
        raise ConfigError(f'syncs "{sync.name}": no conversion destination is "{sync.destination}"')
    return dest


class RowMapper:
    """Maps the rows of one sync for its destination."""

    def __init__(self, settings: Settings, sync: SyncSettings, *, received_at: str) -> None:
        dest = destination_of(settings, sync)
        self._events = {fold(name) for name in dest.events}
        if sync.event and fold(sync.event) not in self._events:
            raise ConfigError(
                f'syncs "{sync.name}": event "{sync.event}" is not one of destination '
                f'"{dest.name}"\'s events ({", ".join(dest.events) or "none"})'
            )
        # The destination alone, for every source: a sync is not one of the collector's sources.
        only = settings.model_copy(
            update={"conversions": [dest.model_copy(update={"sources": []})]}
        )
        self._acceptor = EventAcceptor(Router(only))
        self.shape = RowShape(
            sync=sync.name,
            columns=dict(sync.columns),
            event=sync.event,
            event_column=sync.event_column,
            hashing=sync.hashing,
            product_identifier=dest.product_identifier,
        )
        self._plan = self.shape.plan()
        self.source = f"sync:{sync.name}"
        self._cursor = sync.cursor
        self._received_at = received_at
        self._by_column = {column: name for name, column in sync.columns.items()}
        used = [*sync.columns.values(), sync.event_column, sync.cursor]
        self.needed = list(dict.fromkeys(c for c in used if c))
        """Columns the query must return (each read once)."""

    def missing(self, columns: Sequence[str]) -> list[str]:
        return [name for name in self.needed if name not in columns]

    def map(self, batch: pa.RecordBatch, *, first_row: int, generation: int) -> MappedBatch:
        """Map one batch; `first_row` is the run-wide number of its first row (from 1)."""
        values = {name: batch.column(name).to_pylist() for name in self.needed}
        ordered = [values[name] for name in self.needed]
        cells_of = list(zip(*ordered, strict=True))
        needed = self.needed
        rows = [dict(zip(needed, cells, strict=True)) for cells in cells_of]
        out = MappedBatch()
        raws: list[dict[str, Any]] = []
        kept: list[int] = []
        for index, row in enumerate(rows):
            message_id, digest = row_key(self.shape.sync, generation, cells_of[index])
            try:
                raw = to_event(
                    self.shape, row, message_id=message_id, digest=digest, plan=self._plan
                )
                if self.shape.event_column and fold(raw["event"]) not in self._events:
                    raise RowProblem("event", "not one of the destination's events")
            except RowProblem as problem:
                out.rejections.append(
                    self._rejection(first_row + index, row, problem.field, problem.rule)
                )
                continue
            raws.append(raw)
            kept.append(index)
        accepted = self._acceptor.accept(
            raws, source=self.source, default_type="track", received_at=self._received_at
        )
        refused = {item.index: item for item in accepted.rejected}
        invalid = {item.index: item for item in accepted.invalid}
        events = iter(accepted.events)
        for position, index in enumerate(kept):
            row = rows[index]
            if position in refused:
                item = refused[position]
                field_name = _field(item.field or item.error)
                out.rejections.append(
                    self._rejection(first_row + index, row, field_name, item.error)
                )
                continue
            event = next(events)
            if position in invalid:
                reason = invalid[position].reason
                out.rejections.append(
                    self._rejection(first_row + index, row, _field(reason), reason)
                )
            elif not event.jobs:
                out.skipped += 1
            out.events.append(event)
        out.rejections.sort(key=lambda rejection: rejection.row)
        return out

    def _rejection(self, number: int, row: dict[str, Any], field_name: str, rule: str) -> Rejection:
        columns = self.shape.columns
        if field_name == "identifiers":
            column = "|".join(columns[f] for f in IDENTIFIER_FIELDS if f in columns)
        elif field_name == "event":
            column = self.shape.event_column
        else:
            column = columns.get(field_name, "")
        conversion_id = columns.get("conversion_id")
        return Rejection(
            row=number,
            cursor=row.get(self._cursor) if self._cursor else None,
            conversion_id="" if conversion_id is None else str(row[conversion_id] or ""),
            field=field_name,
            column=column,
            rule=rule,
            value=row.get(column) if column and "|" not in column else None,
        )


def _field(text: str) -> str:
    """The conversion field a collector's reason or field name is about."""
    if text == MISSING_IDENTIFIER:
        return "identifiers"
    name = text.split(":", 1)[0].strip().removeprefix("properties.").split(".")[0].split("[")[0]
    return _FIELD_NAMES.get(name, name)
