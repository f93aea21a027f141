"""`xconduit audiences sync` and the audience loop of `xconduit serve`.

    runner = AudienceRunner(settings=..., store=..., client=...)   # built by xconduit.app
    report = runner.sync("vip")        # find/create the X audience, diff, flush, deliver, report
    runner.tick()                      # serve: snapshots on schedule, due flushes, one send each

A sync ends when every job of the audience is delivered or dead (retries wait their time).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from xconduit.audiences import flush as flushing
from xconduit.audiences.identity import event_key
from xconduit.audiences.lifecycle import (
    ensure_audience,
    gone_problem,
    recreate_audience,
    unknown_audience,
)
from xconduit.audiences.listing import waiting_changes
from xconduit.audiences.packages import require_snapshot_packages
from xconduit.audiences.sender import AudienceSender, SendStats, audience_budgets
from xconduit.audiences.snapshot import (
    EmptySnapshot,
    ShrinkingSnapshot,
    SnapshotDiff,
    SnapshotDiffer,
    check_not_emptying,
    check_not_shrinking,
)
from xconduit.config import AudienceSettings, Settings
from xconduit.delivery.pause import AccountPauses
from xconduit.delivery.retry import RetryPolicy
from xconduit.errors import ConfigError, DeliveryError, XconduitError
from xconduit.outbox.audience_jobs import AudienceChange, AudienceRecord, audience_destination
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.budget import BudgetStore

log = logging.getLogger("xconduit.audiences")

RETRY_FAILED_SNAPSHOT = 300.0
"""Seconds `serve` waits before comparing again a snapshot that could not be compared."""
REFRESH_AFTER = 365 * 86_400.0
"""Members last sent this long ago are sent again. X forgets a member 13 months after the
request that added it; a month of margin covers X's processing delay and a stopped gateway."""
REFRESH_EVERY = 3600.0
"""How often `serve` looks for members to send again (besides after each snapshot)."""

SnapshotOpener = Callable[[AudienceSettings], AbstractContextManager[Iterable[Any]]]
"""Opens an audience's source; the context gives the snapshot's Arrow record batches."""


@dataclass(kw_only=True)
class SyncReport:
    """What one `audiences sync` did (the summary table)."""

    record: AudienceRecord
    diff: SnapshotDiff | None
    suppressed: int
    jobs: int
    sent: SendStats
    pending: int
    """Changes still waiting (flushed by serve later, or held while X refuses the
    credentials): pending changes and the users of requests not yet accepted."""
    members: int
    refreshed: int = 0
    """Members sent again before X forgets them (or never recorded as sent)."""


@contextlib.contextmanager
def open_snapshot(
    audience: AudienceSettings, *, base_dir: Path | None = None
) -> Iterator[Iterable[Any]]:
    """The snapshot's batches through `xconduit.sources` (files, SQLite, PostgreSQL, SQLAlchemy)."""
    from xconduit.sources import SourceError, open_source

    try:
        with open_source(
            audience.source, query=audience.query, base_dir=base_dir, batch_rows=100_000
        ) as src:
            yield src.batches()
    except SourceError as exc:
        raise ConfigError(f"audiences.{audience.name}.source: {exc}") from exc


@dataclass(kw_only=True)
class AudienceRunner:
    settings: Settings
    store: AudienceStore
    client: Any
    """An `XAdsClient` (audience endpoints)."""
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    snapshots: SnapshotOpener | None = None
    workdir: Path | None = None
    pauses: AccountPauses | None = None
    """Paused accounts shared with conversion delivery (`serve`); None: the sender's own."""
    sender: AudienceSender = field(init=False)
    _failed_until: dict[str, float] = field(init=False, default_factory=dict)
    _suppressed: set[str] = field(init=False, default_factory=set)
    """Audiences whose members were checked against the suppression list by this process."""
    _refresh_at: dict[str, float] = field(init=False, default_factory=dict)
    """When `serve` next looks for members to send again, per audience."""

    def __post_init__(self) -> None:
        delivery = self.settings.delivery
        self.sender = AudienceSender(
            store=self.store,
            client=self.client,
            policy=RetryPolicy(
                retry_min=float(delivery.retry_min),
                retry_max=float(delivery.retry_max),
                retry_window=float(delivery.retry_window),
            ),
            budgets=audience_budgets(
                cast(BudgetStore, self.store),
                requests=delivery.audience_requests_per_window,
                window=float(delivery.audience_window),
            ),
            clock=self.clock,
            pauses=self.pauses or AccountPauses(),
        )

    def audience(self, name: str) -> AudienceSettings:
        for audience in self.settings.audiences:
            if audience.name == name:
                return audience
        names = ", ".join(a.name for a in self.settings.audiences) or "none is configured"
        raise ConfigError(f"no audience is named {name!r} in [[audiences]] ({names})")

    def ensure(self, audience: AudienceSettings) -> AudienceRecord:
        return ensure_audience(audience, client=self.client, store=self.store, clock=self.clock)

    # -- the parts ------------------------------------------------------------------------------

    def snapshot(
        self,
        audience: AudienceSettings,
        *,
        allow_empty: bool = False,
        allow_shrink: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> SnapshotDiff:
        """Diff the snapshot against the delivered members; queue the changes (not yet sent).
        A refused snapshot (emptying, or shrinking past `max_shrink`) changes nothing and is
        kept as the audience's problem (the dashboard and `audiences list` show it)."""
        opener = self.snapshots or (lambda a: open_snapshot(a, base_dir=self.workdir))
        hashes = self.settings.suppression.hashed_identifiers
        with SnapshotDiffer(audience, suppressed_hashes=hashes, workdir=self.workdir) as differ:
            differ.start_delivered(self.store)
            with opener(audience) as batches:
                differ.load(batches, progress=progress)
            diff = differ.compare(self.store)
            try:
                check_not_emptying(diff, name=audience.name, allow_empty=allow_empty)
                check_not_shrinking(
                    diff,
                    name=audience.name,
                    max_shrink=audience.max_shrink,
                    allow_shrink=allow_shrink or (allow_empty and diff.members == 0),
                )
            except (EmptySnapshot, ShrinkingSnapshot) as refused:
                self.store.note_audience_problem(audience.name, " ".join(str(refused).split()))
                raise
            self.store.replace_audience_changes(audience.name, differ.changes(), now=self.clock())
        self.store.note_audience_run(audience.name, now=self.clock())
        self.store.note_audience_problem(audience.name, None)
        return diff

    def refresh(self, audience: AudienceSettings, *, everyone: bool = False) -> int:
        """Queue members last sent `REFRESH_AFTER` ago (or never recorded as sent: members from
        before this was kept, whom an older removal may have taken from X) to be sent again;
        `everyone`: every member (a recreated audience is empty at X)."""
        now = self.clock()
        self._refresh_at[audience.name] = now + REFRESH_EVERY
        before = now + 1.0 if everyone else now - REFRESH_AFTER
        queued = self.store.queue_audience_refresh(audience.name, before=before, now=now)
        if queued:
            log.info("audience %s: %d members queued to be sent again", audience.name, queued)
        return queued

    def suppress(self, audience: AudienceSettings) -> int:
        """Queue the removal of suppressed users who are members; how many."""
        suppression = self.settings.suppression
        if not suppression.user_ids and not suppression.hashed_identifiers:
            return 0
        keys = [event_key(uid, None, b"") for uid in suppression.user_ids]
        found = self.store.suppressed_audience_members(
            audience.name,
            user_keys=keys,
            hashes=[h.lower() for h in suppression.hashed_identifiers],
        )
        changes = [
            AudienceChange(audience=audience.name, user_key=key, op="remove", payload=payload)
            for key, payload in found
        ]
        self.store.enqueue_audience_changes(changes, now=self.clock())
        return len(changes)

    def deliver(self, name: str, *, until: float | None = None) -> bool:
        """Send the audience's jobs until none is left (True), `until` passes or X refuses the
        credentials (False: the jobs wait, pending)."""
        while True:
            wake = self.sender.step(name)
            if wake is None:
                return name not in self.sender.gone
            stats = self.sender.stats.get(name, SendStats())
            if stats.refused or stats.gone:
                return False
            now = self.clock()
            if until is not None and now >= until:
                return False
            if wake > now:
                self.sleep(min(wake - now, 5.0))

    # -- the command ----------------------------------------------------------------------------

    def sync(
        self,
        name: str,
        *,
        allow_empty: bool = False,
        allow_shrink: bool = False,
        progress: Callable[[int], None] | None = None,
        timeout: float | None = None,
        recreate: bool = False,
    ) -> SyncReport:
        """`recreate`: X no longer knows the recorded audience; make a new one (or move to the
        configured `audience_id`) and send every member to it."""
        audience = self.audience(name)
        require_snapshot_packages(
            audience, reader=self.snapshots is None
        )  # before X is asked to create anything
        known = self.store.audience_record(name) is not None
        if recreate:
            record = recreate_audience(
                audience, client=self.client, store=self.store, clock=self.clock
            )
            self.sender.gone.pop(name, None)
            self.sender.stats.setdefault(name, SendStats()).gone = None
        else:
            record = self.ensure(audience)
        until = None if timeout is None else self.clock() + timeout
        diff, suppressed, jobs, refreshed = None, 0, 0, 0
        # Requests an earlier run left (X refused the credentials) go first: the snapshot is
        # compared with what X accepted, so comparing before they are accepted would queue the
        # same changes again.
        if (recreate or not known or self._still_at_x(name, record)) and (
            not self.store.active_audience_jobs(audience_destination(name))
            or self.deliver(name, until=until)
        ):
            if audience.source:
                diff = self.snapshot(
                    audience, allow_empty=allow_empty, allow_shrink=allow_shrink, progress=progress
                )
            suppressed = self.suppress(audience)
            refreshed = self.refresh(audience, everyone=recreate)
            jobs = flushing.flush(self.store, audience, record, now=self.clock())
            self.deliver(name, until=until)
        return SyncReport(
            record=self.store.audience_record(name) or record,
            diff=diff,
            suppressed=suppressed,
            jobs=jobs,
            sent=self.sender.stats.get(name, SendStats()),
            pending=waiting_changes(self.store, name),
            members=self.store.audience_member_count(name),
            refreshed=refreshed,
        )

    # -- serve ----------------------------------------------------------------------------------

    def tick(self, names: Iterable[str] | None = None) -> float:
        """One round over the audiences: snapshots on schedule, due flushes, one send each.
        Returns when to tick again."""
        now = self.clock()
        wake = now + 1.0
        chosen = set(names) if names is not None else None
        for audience in self.settings.audiences:
            if chosen is not None and audience.name not in chosen:
                continue
            try:
                wake = min(wake, self._tick_one(audience, now))
            except XconduitError as exc:
                log.error("audience %s: %s", audience.name, exc)
        return wake

    def _still_at_x(self, name: str, record: AudienceRecord) -> bool:
        """Whether X still knows the recorded audience; if not (404, or deleted), the problem
        is noted and said once, and nothing is sent to it."""
        try:
            found = self.client.get_audience(record.account_id, record.audience_id)
        except DeliveryError as exc:
            if not unknown_audience(exc):
                return True  # not an answer about the audience: the sends will say more
            found = None
        if found is not None and not found.deleted:
            return True
        problem = gone_problem(name, record.audience_id)
        self.sender.gone[name] = record.audience_id
        self.sender.stats.setdefault(name, SendStats()).gone = problem
        self.store.note_audience_problem(name, problem)  # the command says it (SyncReport)
        return False

    def _tick_one(self, audience: AudienceSettings, now: float) -> float:
        if self.sender.is_gone(audience.name):
            return now + 5.0  # X no longer knows it: waits for `audiences sync --recreate`
        record = self.store.audience_record(audience.name)
        schedule = float(audience.schedule)
        waiting = self.store.active_audience_jobs(audience_destination(audience.name))
        if audience.source and schedule > 0 and not waiting:
            # While requests wait for X (held by refused credentials, or still going out) the
            # comparison waits too: it would queue their changes a second time.
            last = None if record is None else record.last_run_at
            due = last is None or now >= last + schedule
            if due and now >= self._failed_until.get(audience.name, 0.0):
                # A failed comparison (source down, emptying snapshot) waits before the next
                # try instead of reading the source every round.
                self._failed_until[audience.name] = now + min(schedule, RETRY_FAILED_SNAPSHOT)
                require_snapshot_packages(audience, reader=self.snapshots is None)
                record = self.ensure(audience)
                diff = self.snapshot(audience)
                self._failed_until.pop(audience.name, None)
                self.suppress(audience)
                self._suppressed.add(audience.name)
                self.refresh(audience)
                log.info(
                    "audience %s: snapshot compared: %d entering, %d exiting",
                    audience.name,
                    diff.entering,
                    diff.exiting,
                )
        if now >= self._refresh_at.get(audience.name, 0.0):
            self.refresh(audience)
        if audience.name not in self._suppressed:
            # The list is read at start: members already in the audience (event-fed ones too,
            # which no snapshot revisits) are removed once per process.
            self.suppress(audience)
            self._suppressed.add(audience.name)
        if flushing.is_due(self.store, audience, now=now):
            record = record or self.ensure(audience)
            flushing.flush(self.store, audience, record, now=now)
        wake = self.sender.step(audience.name)
        gone = self.sender.stats.get(audience.name, SendStats()).gone
        if gone:
            log.error("audience %s: %s", audience.name, gone)  # once: it then waits (above)
        return now + 1.0 if wake is None else wake


class AudienceScheduler:
    """A thread running `AudienceRunner.tick` (what `xconduit serve` starts)."""

    def __init__(self, runner: AudienceRunner) -> None:
        self._runner = runner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wake = self._runner.tick()
            except Exception:
                log.exception("audiences: round failed")
                wake = self._runner.clock() + 5.0
            self._stop.wait(max(0.05, min(wake - self._runner.clock(), 5.0)))

    def start(self) -> None:
        if not self._runner.settings.audiences:
            return
        self._thread = threading.Thread(target=self._run, name="xconduit-audiences", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
