"""A batch of rows → outbox events, one way: each row becomes the collector's parsed event
(`rows.read_event`), the mapping core maps it (`Router`) and its jobs get the collector's bytes
(`jobs_of`), as `EventAcceptor` does, so a row and the equivalent Segment event give
byte-identical conversions; and the rows that cannot be sent.

A sync's events carry no debugger copy (building it cost a third of the mapping time), but they
are counted as the collector's are, under their own source (`sync:<name>`): a row through the
core carries its `outcome_counts` unless they are a plain row's; a plain row carries none, and
the commit adds `fast_counts` once per batch times its new plain rows (per row, the counts cost
~10 % of a sync)."""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from xconduit.config import ConversionDestination, Settings, SyncSettings
from xconduit.config.identity import owner_keys
from xconduit.config.priority import SYNC, fold
from xconduit.errors import ConfigError
from xconduit.mapping import MappingResult, Router
from xconduit.observability.event_names import EventNames
from xconduit.observability.tally import outcome_counts
from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.counts import Count
from xconduit.routing import jobs_of
from xconduit.sync.columns import pylist
from xconduit.sync.fast import FastRows, Template
from xconduit.sync.report import Rejection
from xconduit.sync.rows import (
    UNREADABLE,
    RowProblem,
    RowShape,
    field_of,
    problem_of,
    read_event,
    row_key,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from xconduit.events import Event

IDENTIFIER_FIELDS = ("twclid", "email", "phone", "ip_address", "user_agent")

DROPPED = "sent without this field"
"""How a report line about a field left out of a sent row begins (other lines are rows not sent)."""


@dataclass(kw_only=True)
class MappedBatch:
    """What one batch of rows became."""

    events: list[IncomingEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    dropped: list[Rejection] = field(default_factory=list)
    """Fields left out of rows that were sent (a count that is not one, an invalid phone beside
    a valid email): one report line each, not counted as rejected rows."""
    skipped: int = 0
    """Rows filtered by the destination's consent or suppression rules."""
    fast: int = 0
    """Rows whose job came from the template (`sync.fast`), not from the mapping core."""
    fast_counts: tuple[Count, ...] = ()
    """The counts of one plain row (those rows carry none: see the module's doc)."""


def destination_of(settings: Settings, sync: SyncSettings) -> ConversionDestination:
    dest = next((d for d in settings.conversions if d.name == sync.destination), None)
    if dest is None:
        raise ConfigError(f'syncs "{sync.name}": no conversion destination is "{sync.destination}"')
    return dest


class RowMapper:
    """Maps the rows of one sync for its destination."""

    def __init__(
        self, settings: Settings, sync: SyncSettings, *, received_at: str, fast: bool = True
    ) -> None:
        """`fast`: plain rows take `sync.fast`'s template (False: every row goes through the
        core, as the tests compare)."""
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
        self._router = Router(only)
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
        # Suppression lists filter by hashed email or user id, row by row: the core decides.
        suppressing = settings.suppression.hashed_identifiers or settings.suppression.user_ids
        self._fast = (
            FastRows.of(self.shape, self.needed, received_at) if fast and not suppressing else None
        )
        self._template: Template | None = None
        self._job = (dest.name, dest.account_id, dest.pixel_id)
        # The gateway started from the same configuration delivers these jobs: same keys.
        self._owners = {dest.name: owner_keys(settings)[dest.name]}
        # A sync's rows wait behind live traffic unless the sync says otherwise.
        self._priority = SYNC if sync.priority is None else sync.priority
        self._names = EventNames([dest])
        # A plain row's counts: one event, queued (the template serves no event column).
        self._counts = tuple(
            outcome_counts(
                self.source,
                sync.event,
                [MappingResult("conversion", dest.name, dest.pixel_id, dest.account_id, None)],
                self._names,
            )
        )

    def missing(self, columns: Sequence[str]) -> list[str]:
        return [name for name in self.needed if name not in columns]

    def map(
        self,
        batch: pa.RecordBatch,
        *,
        first_row: int,
        generation: int,
        refused: Mapping[int, str] | None = None,
    ) -> MappedBatch:
        """Map one batch; `first_row` is the run-wide number of its first row (from 1);
        `refused`: rows (index in the batch) rejected for their cursor value, and why."""
        # A batch builds tens of thousands of objects that all stay alive until it is committed:
        # the cyclic collector would walk them again and again (10–35 % of the time) and find
        # nothing, as mapping makes no cycles. Reference counting still frees everything.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._map(batch, first_row=first_row, generation=generation, refused=refused)
        finally:
            if enabled:
                gc.enable()

    def _map(
        self,
        batch: pa.RecordBatch,
        *,
        first_row: int,
        generation: int,
        refused: Mapping[int, str] | None,
    ) -> MappedBatch:
        needed = self.needed
        cells_of = list(zip(*(pylist(batch.column(name)) for name in needed), strict=True))
        out = MappedBatch(fast_counts=self._counts)
        events = out.events
        sync, source, fast = self.shape.sync, self.source, self._fast
        destination, account_id, pixel_id = self._job
        owner = self._owners[destination]
        checked = False  # the template compared with the core on one plain row of this batch
        for index, cells in enumerate(cells_of):
            if refused and index in refused:
                rejection = self._cursor_rejection(first_row + index, cells, refused[index])
                out.rejections.append(rejection)
                continue
            message_id, digest = row_key(sync, generation, cells)
            strings = None if fast is None else fast.strings(cells, digest)
            if strings is not None and checked and self._template is not None:
                job = NewJob(
                    destination=destination,
                    account_id=account_id,
                    pixel_id=pixel_id,
                    message_id=message_id,
                    conversion_id=strings[2],
                    payload=self._template.fill(strings),
                    owner=owner,
                    priority=self._priority,
                    conversion_time=strings[0],
                )
                events.append(IncomingEvent(source=source, message_id=message_id, jobs=(job,)))
                out.fast += 1
                continue
            event = self._map_row(out, first_row + index, cells, message_id, digest)
            if strings is not None and not checked and event is not None:
                checked = self._check(strings, event)
        return out

    def _check(self, strings: tuple[str, ...], event: IncomingEvent) -> bool:
        """Whether the template gives the core's bytes for this plain row (learnt from the first
        one); a mismatch turns the fast path off for good: the core alone is the reference."""
        jobs = event.jobs
        if len(jobs) != 1 or jobs[0].conversion_id != strings[2]:
            self._fast = None
            return False
        if self._template is None:
            self._template = Template.learn(strings, jobs[0].payload)
        if self._template is None or self._template.fill(strings) != jobs[0].payload:
            self._fast = None
            return False
        return True

    def _map_row(
        self, out: MappedBatch, number: int, cells: tuple[Any, ...], message_id: str, digest: str
    ) -> IncomingEvent | None:
        """One row through the mapping core; its event (also in `out`), None if rejected."""
        row = dict(zip(self.needed, cells, strict=True))
        try:
            parsed = read_event(
                self.shape,
                row,
                message_id=message_id,
                digest=digest,
                received_at=self._received_at,
                events=self._events,
                plan=self._plan,
            )
            results = self._conversions(parsed)
        except RowProblem as problem:
            out.rejections.append(self._rejection(number, row, problem.field, problem.rule))
            return None
        jobs = jobs_of(results, message_id, self._owners, priority=self._priority)
        unsendable = [
            result.reason or "invalid" for result in results if result.outcome == "invalid"
        ]
        for reason in unsendable:
            out.rejections.append(self._rejection(number, row, field_of(reason), reason))
        for result in results:
            if result.outcome == "conversion":
                out.dropped += [
                    self._rejection(number, row, field_of(name), f"{DROPPED}: {name}: {rule}")
                    for name, rule in result.dropped
                ]
        if not jobs and not unsendable:
            out.skipped += 1
        counts = tuple(
            outcome_counts(self.source, parsed.event or parsed.type, results, self._names)
        )
        if counts == self._counts:  # a plain row's: added by the commit, as the template's
            counts = ()
        event = IncomingEvent(source=self.source, message_id=message_id, jobs=jobs, counts=counts)
        out.events.append(event)
        return event

    def _conversions(self, event: Event) -> list[MappingResult]:
        """The event through the collector's mapping core; a refusal is a `RowProblem`."""
        try:
            return self._router.map(event)
        except UNREADABLE as exc:
            raise problem_of(exc) from None

    def _cursor_rejection(self, number: int, cells: tuple[Any, ...], rule: str) -> Rejection:
        row = dict(zip(self.needed, cells, strict=True))
        conversion_id = self.shape.columns.get("conversion_id")
        return Rejection(
            row=number,
            cursor=row[self._cursor],
            conversion_id="" if conversion_id is None else str(row[conversion_id] or ""),
            field="cursor",
            column=self._cursor,
            rule=rule,
            value=row[self._cursor],
        )

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
