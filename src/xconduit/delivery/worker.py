"""One destination's delivery loop: claim → batch → wait for budget → send (bisecting) → ack.

`DestinationWorker.step()` does one round and says when to call it again; `DeliveryService`
calls it from a thread (or from `run_until_idle`). The worker only applies decisions: batches
close by `Batcher`, the budget is `RateBudget`, retries are `RetryPolicy`, rejected rows are
isolated by `send_bisecting`.

Claims never exceed the rate budget: the worker claims only as many jobs as the account may
send now and holds them in the budget until they are sent, so claimed jobs do not sit out a
rate-limit wait while their lease runs down. The budget is kept in the store (`SharedBudgets`),
so every worker process on one store shares it; a claim takes it in the claim's transaction.
Every claimed job ends the round acked: delivered, dead, retry_scheduled, or released (not sent:
stopping, lease too short, budget gone).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from xconduit.delivery.batching import Batcher, BatchRules
from xconduit.delivery.bisect import BisectResult, send_bisecting
from xconduit.delivery.expiry import EXPIRED_REASON, MAX_AGE_DAYS, expired
from xconduit.delivery.pause import AccountPauses, destination_fix, held_for_setup
from xconduit.delivery.retry import RetryPolicy, describe
from xconduit.delivery.shared_budget import SharedBudgets
from xconduit.errors import DeliveryError, RateLimited
from xconduit.outbox import DeliveryJob, Store
from xconduit.xads import ConversionsResult

log = logging.getLogger("xconduit.delivery")

PAUSED_POLL = 1.0
"""Seconds between two looks at a paused destination's pause (in memory, no store read)."""


class ConversionSender(Protocol):
    """What delivery needs from `XAdsClient`."""

    def send_conversions(
        self, pixel_id: str, conversions: Sequence[Mapping[str, Any]]
    ) -> ConversionsResult: ...


@dataclass(frozen=True, kw_only=True)
class WorkerOptions:
    rules: BatchRules
    policy: RetryPolicy
    lease_seconds: float = 60.0
    """How long a claim is ours; longer than a request's timeout (and a bisection's few)."""
    request_timeout: float = 30.0
    """The HTTP client's timeout: no request starts unless it can end inside the lease."""
    poll: float = 0.2
    """Longest sleep while waiting for new jobs or a batch to fill."""


@dataclass(kw_only=True)
class WorkerStats:
    """Counters since start (for logs, benchmarks and tests)."""

    requests: int = 0
    events_sent: int = 0
    delivered: int = 0
    dead: int = 0
    retried: int = 0
    released: int = 0
    rate_limited: int = 0
    """429 answers (the budget should keep this at zero)."""
    expired: int = 0
    """Conversions dead-lettered unsent: too old to be attributed (expiry.py)."""


class DestinationWorker:
    """Delivers the jobs of one conversion destination made by `owner` (its key, see
    `xconduit.config.identity`; another configuration's jobs of the same name are never taken)."""

    def __init__(
        self,
        *,
        destination: str,
        account_id: str | None,
        owner: str = "",
        store: Store,
        sender: ConversionSender,
        budgets: SharedBudgets,
        options: WorkerOptions,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        stopping: Callable[[], bool] = lambda: False,
        pauses: AccountPauses | None = None,
    ) -> None:
        self.destination = destination
        self.account_id = account_id
        self.owner = owner
        self.stats = WorkerStats()
        self._store = store
        self._sender = sender
        self._budgets = budgets
        self._options = options
        self._clock = clock
        self._sleep = sleep
        self._stopping = stopping
        self._batcher: Batcher[DeliveryJob] = Batcher(options.rules, born=_born)
        self._paused_until = 0.0
        self._holds: dict[int, int] = {}  # claimed job id -> the ledger hold counting it
        self._pauses = pauses or AccountPauses(probe_after=options.policy.retry_max)

    # -- the loop ------------------------------------------------------------------------------

    def step(self) -> float | None:
        """One round; when to step again (maybe now), or None when no job is waiting."""
        now = self._clock()
        if now < self._paused_until:
            return self._paused_until
        paused_until = self._pauses.until(self.account_id, now=now, destination=self.destination)
        if paused_until is not None:  # X refused the setup: hold the jobs (pause.py)
            self.release_held()
            # Look again soon: a passing check anywhere on the store resumes within seconds.
            return min(paused_until, now + PAUSED_POLL)
        budget_empty = self._fill(now)
        batch = self._batcher.take(now)
        if batch is not None:
            self._deliver(batch)
            return self._clock()
        poll_at = now + self._options.poll
        closes_at = self._batcher.closes_at()
        if closes_at is not None:
            return min(closes_at, poll_at)
        if budget_empty and self.account_id is not None:
            free = self._budgets.free_at(self.account_id, events=1, now=now)
            return poll_at if free is None else max(free, now)
        due = self._store.next_due_at(self.destination, owner=self.owner)
        return None if due is None else min(max(due, now), poll_at)

    def release_held(self) -> int:
        """Give back jobs claimed but not sent (at shutdown)."""
        jobs = self._batcher.drain()
        if not jobs:
            return 0
        self._budgets.unhold(self._unhold(jobs))
        released = self._store.release([job.id for job in jobs], now=self._clock())
        self.stats.released += released
        return released

    def _fill(self, now: float) -> bool:
        """Claim what the batch has room for and the budget allows; True if the budget is out."""
        room = self._batcher.room()
        if room == 0:
            return False
        account_id = self.account_id
        if account_id is None:
            if len(self._batcher):
                return False
            # Learn the account from one due job, given straight back (the claim that sends it
            # must take the account's budget).
            lease = self._options.lease_seconds
            peek = self._store.claim_batch(
                self.destination, limit=1, now=now, lease_seconds=lease, owner=self.owner
            )
            if not peek:
                return False
            self._store.release([peek[0].id], now=now)
            account_id = self.account_id = peek[0].account_id
        jobs, hold, empty = self._budgets.claim(
            self.destination,
            account_id=account_id,
            limit=room,
            now=now,
            lease_seconds=self._options.lease_seconds,
            owner=self.owner,
        )
        if hold is not None:
            for job in jobs:
                self._holds[job.id] = hold
        too_old = expired(jobs, now=now)
        if too_old:
            jobs = self._expire(jobs, too_old, now)
        self._batcher.add(jobs)
        return empty

    def _expire(
        self, jobs: list[DeliveryJob], too_old: list[DeliveryJob], now: float
    ) -> list[DeliveryJob]:
        """Dead-letter the conversions X can no longer attribute (expiry.py), giving their
        budget back; the jobs left to send."""
        self._budgets.unhold(self._unhold(too_old))
        self.stats.expired += self._store.dead_letter(
            [(job.id, EXPIRED_REASON) for job in too_old], now=now
        )
        log.warning(
            "delivery %s: %d conversion(s) older than %d days not sent (dead letters)",
            self.destination,
            len(too_old),
            MAX_AGE_DAYS,
        )
        gone = {job.id for job in too_old}
        return [job for job in jobs if job.id not in gone]

    def _unhold(self, jobs: Sequence[DeliveryJob]) -> dict[int, int]:
        """The ledger holds counting `jobs` (hold id -> events), forgotten here."""
        unhold: dict[int, int] = defaultdict(int)
        for job in jobs:
            hold = self._holds.pop(job.id, None)
            if hold is not None:
                unhold[hold] += 1
        return dict(unhold)

    # -- one batch -----------------------------------------------------------------------------

    def _deliver(self, batch: list[DeliveryJob]) -> None:
        groups: dict[tuple[str, str], list[DeliveryJob]] = defaultdict(list)
        for job in batch:
            groups[(job.account_id, job.pixel_id)].append(job)
        for (account_id, pixel_id), jobs in groups.items():
            held = self._unhold(jobs)  # given back as the first send of the group starts
            try:
                result = self._send_group(account_id, pixel_id, jobs, held)
            except Exception:
                # Not an answer from X (a bug, a bad base URL): give the jobs back and pause.
                log.exception("delivery %s: sending failed; pausing", self.destination)
                self._store.release([job.id for job in jobs], now=self._clock())
                self._paused_until = self._clock() + self._options.policy.retry_max
                continue
            self._apply(result)

    def _send_group(
        self, account_id: str, pixel_id: str, jobs: list[DeliveryJob], held: dict[int, int]
    ) -> BisectResult[DeliveryJob]:
        budgets = self._budgets
        lease_end = min((job.lease_until or 0.0) for job in jobs)
        pending_hold = [held]
        send_id = [0]

        def before_send(events: int) -> bool:
            while True:
                now = self._clock()
                spent, free = budgets.spend(
                    account_id, events=events, now=now, until=lease_end, unhold=pending_hold[0]
                )
                pending_hold[0] = {}
                if spent is not None:
                    send_id[0] = spent
                    return True
                wait_until = now + self._options.poll if free is None else free
                if self._stopping() or wait_until + self._options.request_timeout > lease_end:
                    return False
                self._sleep(wait_until - now)

        def send(part: Sequence[DeliveryJob]) -> None:
            conversions = [orjson.loads(job.payload) for job in part]
            try:
                result = self._sender.send_conversions(pixel_id, conversions)
            except DeliveryError as error:
                now = self._clock()
                budgets.settle(send_id[0], now=now)
                if isinstance(error, RateLimited) and error.status == 429:
                    budgets.block_until(account_id, error.retry_at, now=now)
                    self.stats.rate_limited += 1
                raise
            except BaseException:
                budgets.settle(send_id[0], now=self._clock())
                raise
            now = self._clock()
            budgets.settle(send_id[0], now=now)
            if result.rate_limit is not None:
                budgets.observe(
                    account_id,
                    limit=result.rate_limit.limit,
                    remaining=result.rate_limit.remaining,
                    reset=result.rate_limit.reset,
                    now=now,
                )
            if not result.complete:
                # X is all-or-nothing: a 200 means it took the request. Count it delivered,
                # but say so loudly; see docs/explanation/rate-limits.md.
                log.error(
                    "delivery %s: X answered 200 but processed %s of %s conversions "
                    "(debug_id=%s); treated as delivered",
                    self.destination,
                    result.processed,
                    result.sent,
                    result.debug_id,
                )

        try:
            return send_bisecting(jobs, send, before_send=before_send, event_id=_event_id)
        finally:
            budgets.unhold(pending_hold[0])

    def _apply(self, result: BisectResult[DeliveryJob]) -> None:
        now = self._clock()
        store, policy, stats = self._store, self._options.policy, self.stats
        stats.requests += result.requests
        stats.events_sent += result.events
        # Refusals of the setup (credentials, pixel, event ids) are not the conversions' fault:
        # their jobs wait, pending, until the check passes (pause.py).
        refused, refusal, held, holding = held_for_setup(result.dead)
        if refusal is not None:
            stats.released += store.release([job.id for job in refused], now=now)
            for account_id in {job.account_id for job in refused}:
                self._pauses.pause(account_id, describe(refusal), now=now)
        if holding is not None:
            stats.released += store.release([job.id for job in held], now=now)
            fix = destination_fix(holding, destination=self.destination)
            for account_id in {job.account_id for job in held}:
                self._pauses.pause(
                    account_id,
                    describe(holding),
                    now=now,
                    destination=self.destination,
                    fix=fix,
                )
        if result.delivered:
            stats.delivered += store.mark_delivered([job.id for job in result.delivered], now=now)
            # X took conversions: what it did not refuse in this round works again.
            destination = self.destination if holding is None else None
            for account_id in {job.account_id for job in result.delivered}:
                if refusal is None:
                    self._pauses.resume(account_id, destination=destination)
        dead = [(job.id, policy.dead_reason(error)) for job, error in result.dead]
        for part, error in result.retry:
            by_time: dict[tuple[float, str], list[int]] = defaultdict(list)
            decisions: dict[int, Any] = {}
            for job in part:
                if job.attempts not in decisions:
                    decisions[job.attempts] = policy.decide(
                        error, attempts=job.attempts, created_at=job.created_at, now=now
                    )
                decision = decisions[job.attempts]
                if decision is None or policy.exhausted(created_at=job.created_at, now=now):
                    dead.append((job.id, policy.dead_reason(error)))
                else:
                    by_time[(decision.retry_at, decision.reason)].append(job.id)
            for (at, reason), ids in by_time.items():
                stats.retried += store.schedule_retry(ids, at=at, error=reason, now=now)
        if dead:
            stats.dead += store.dead_letter(dead, now=now)
            log.warning("delivery %s: %d conversion(s) dead", self.destination, len(dead))
        if result.unsent:
            stats.released += store.release([job.id for job in result.unsent], now=now)


def _born(job: DeliveryJob) -> float:
    return job.created_at


def _event_id(job: DeliveryJob) -> str | None:
    event_id = orjson.loads(job.payload).get("event_id")
    return event_id if isinstance(event_id, str) else None
