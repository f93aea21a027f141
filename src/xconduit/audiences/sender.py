"""One audience's delivery: its jobs go to X one at a time, in the order they were made.

Order matters (a user removed then added again must end added), so an audience has one job in
flight at most. A request counts only when X's `success_count == total_count ==` users sent;
otherwise it is retried like a 5xx (X asks for the whole payload again; resending is safe:
operations are idempotent). Errors, retries, the retry window and dead letters are those of
conversions (`RetryPolicy`). The rate budget is X's audience limit per ad account, kept in the
store like the conversions' (`SharedBudgets`, a ledger of its own per account): every process
syncing audiences of one account shares it, and X's 429 stops them all. A 401/403
(X refused the token or its user's role) is not the changes' fault: the job goes back to
pending and the account is paused, as for conversions (`xconduit.delivery.pause`).

Each outcome is counted in the store (so `/metrics` and the dashboard of any process show it):

    audience_users_added{audience}, audience_users_removed{audience}   users X accepted
    audience_retried{audience}                                         requests to send again
    audience_dead{audience,reason}                                     dead letters
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from xconduit.audiences.flush import JobBody
from xconduit.audiences.lifecycle import gone_problem, unknown_audience
from xconduit.delivery.pause import AccountPauses, refuses_credentials
from xconduit.delivery.retry import RetryPolicy, describe
from xconduit.delivery.shared_budget import SharedBudgets
from xconduit.errors import DeliveryError, RateLimited, RetriableDeliveryError
from xconduit.observability.metered import dead_reason
from xconduit.outbox.audience_jobs import audience_destination
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.budget import BudgetStore
from xconduit.outbox.counts import Count
from xconduit.outbox.jobs import DeliveryJob
from xconduit.xads import AudienceUsersResult

log = logging.getLogger("xconduit.audiences")
x_log = logging.getLogger("xconduit.x")


class AudienceUsersSender(Protocol):
    """What delivery needs from `XAdsClient`."""

    def audience_users(
        self, account_id: str, audience_id: str, operations: Any
    ) -> AudienceUsersResult: ...


def audience_budgets(store: BudgetStore, *, requests: int, window: float) -> SharedBudgets:
    """X's audience budget per account, in the store. X counts requests only (not users), so
    each request spends one "event" too: X's `x-rate-limit-*` headers, which count requests,
    then tighten the same number."""
    return SharedBudgets(store, events=requests, requests=requests, window=window)


def budget_key(account_id: str) -> str:
    """The ledger of an account's audience requests (apart from its conversions' ledger)."""
    return f"audiences:{account_id}"


@dataclass(kw_only=True)
class SendStats:
    """What was sent for one audience since the start (for the summary)."""

    requests: int = 0
    accepted: int = 0
    users_sent: int = 0
    success_count: int = 0
    total_count: int = 0
    retried: int = 0
    dead: int = 0
    last_error: str | None = None
    refused: str | None = None
    """Why X refused the credentials, while the account is paused (the changes wait)."""
    gone: str | None = None
    """X no longer knows the audience (404): why, and the way out (`--recreate`)."""
    unsent: int = 0
    """Members removed without a Delete: other members hold every identifier they have, and X
    would delete those members too."""


@dataclass(kw_only=True)
class AudienceSender:
    store: AudienceStore
    client: AudienceUsersSender
    policy: RetryPolicy
    budgets: SharedBudgets
    clock: Callable[[], float]
    lease_seconds: float = 120.0
    poll: float = 0.5
    pauses: AccountPauses = field(default_factory=AccountPauses)
    """Accounts whose credentials X refused (in `serve`, shared with conversion delivery and
    resumed by the setup checks)."""
    stats: dict[str, SendStats] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)
    """Audience name → the X audience id X answered 404 for: nothing is sent to it (its jobs
    wait) until the audience is recreated (`move_audience`, maybe by another process)."""

    def step(self, name: str) -> float | None:
        """Send the audience's next due job, if any; when to step again, None when no job (or
        X no longer knows the audience)."""
        if self.is_gone(name):
            return None
        destination = audience_destination(name)
        now = self.clock()
        job = self.store.claim_audience_job(destination, now=now, lease_seconds=self.lease_seconds)
        if job is None:
            return now + self.poll if self.store.active_audience_jobs(destination) else None
        held = self.pauses.until(job.account_id, now=now)
        if held is not None:
            self.store.release([job.id], now=now)
            return held
        body = JobBody.decode(job.payload)
        users = body.users
        stats = self.stats.setdefault(name, SendStats())
        if users == 0:  # only members whose every identifier another member holds: nothing to X
            stats.unsent += len(body.unsent)
            log.info(
                "audience %s: %d exit(s) not sent: other members hold every identifier (X would "
                "remove them too)",
                name,
                len(body.unsent),
            )
            self.store.audience_delivered(
                job.id, audience=name, added=[], removed=body.unsent, now=now
            )
            return self.clock()
        key = budget_key(job.account_id)
        # Until X answers or the claim's lease ends (the latest X can have received it).
        send_id, free = self.budgets.spend(
            key, events=1, now=now, until=job.lease_until or now + self.lease_seconds, unhold={}
        )
        if send_id is None:
            self.store.release([job.id], now=now)
            return now + self.poll if free is None else free
        stats.requests += 1
        stats.users_sent += users
        started = time.monotonic()
        try:
            result = self.client.audience_users(job.account_id, job.pixel_id, body.operations())
        except DeliveryError as error:
            _request_line(job, name, str(error.status or "none"), users, started)
            settled = self.clock()
            self.budgets.settle(send_id, now=settled)
            if isinstance(error, RateLimited) and error.status == 429:
                self.budgets.block_until(key, error.retry_at, now=settled)
            if refuses_credentials(error):
                self._held(name, job, error)
            elif unknown_audience(error):
                self._gone(name, job)
            else:
                self._failed(name, job, error)
            return self.clock()
        except BaseException:
            self.budgets.settle(send_id, now=self.clock())
            self.store.release([job.id], now=self.clock())
            raise
        _request_line(job, name, "200", users, started)
        settled = self.clock()
        self.budgets.settle(send_id, now=settled)
        if result.rate_limit is not None:
            limits = result.rate_limit
            self.budgets.observe(
                key, limit=limits.limit, remaining=limits.remaining, reset=limits.reset, now=settled
            )
        stats.success_count += result.success_count
        stats.total_count += result.total_count
        if not result.matched:
            self._failed(
                name,
                job,
                RetriableDeliveryError(
                    f"audience_users: X counted {result.success_count} of {result.total_count} "
                    f"users, {result.sent_users} sent; the whole request is sent again"
                ),
            )
            return self.clock()
        stats.accepted += 1
        if body.unsent:
            stats.unsent += len(body.unsent)
            log.info(
                "audience %s: %d exit(s) not sent: other members hold every identifier (X would "
                "remove them too)",
                name,
                len(body.unsent),
            )
        stats.refused = None
        self.pauses.resume(job.account_id)
        self.store.audience_delivered(
            job.id,
            audience=name,
            added=body.add,
            removed=[key for key, _ in body.remove] + body.unsent,
            now=self.clock(),
            deleted_ids=body.deleted_ids(),
        )
        labels = (("audience", name),)
        self._count(
            [
                Count("audience_users_added", labels, len(body.add)),
                Count("audience_users_removed", labels, len(body.remove)),
            ]
        )
        return self.clock()

    def _count(self, counts: Sequence[Count]) -> None:
        add = getattr(self.store, "add_counts", None)
        if add is None:
            return
        try:
            add([c for c in counts if c.value], now=self.clock())
        except Exception:  # a counter must never cost a delivery
            log.exception("cannot store audience counters")

    def _held(self, name: str, job: DeliveryJob, error: DeliveryError) -> None:
        now = self.clock()
        self.store.release([job.id], now=now)
        reason = describe(error)
        self.pauses.pause(job.account_id, reason, now=now)
        stats = self.stats.setdefault(name, SendStats())
        stats.refused = stats.last_error = reason

    def is_gone(self, name: str) -> bool:
        """X answered 404 for the audience, and it was not recreated since (by any process)."""
        if name not in self.gone:
            return False
        record = self.store.audience_record(name)
        if record is None or record.audience_id == self.gone[name]:
            return True
        del self.gone[name]
        self.stats.setdefault(name, SendStats()).gone = None
        return False

    def _gone(self, name: str, job: DeliveryJob) -> None:
        """X answered 404 for the audience: its jobs wait (a dead letter per run would lose
        nothing but help nobody) and the problem is said once, with the way out."""
        self.store.release([job.id], now=self.clock())
        problem = gone_problem(name, job.pixel_id)
        self.gone[name] = job.pixel_id
        self.stats.setdefault(name, SendStats()).gone = problem
        self.store.note_audience_problem(name, problem)  # said by the caller (CLI, serve's log)

    def _failed(self, name: str, job: DeliveryJob, error: DeliveryError) -> None:
        now = self.clock()
        stats = self.stats.setdefault(name, SendStats())
        decision = self.policy.decide(
            error, attempts=job.attempts, created_at=job.created_at, now=now
        )
        if decision is None:
            reason = self.policy.dead_reason(error)
            self.store.dead_letter([(job.id, reason)], now=now)
            self._count(
                [Count("audience_dead", (("audience", name), ("reason", dead_reason(reason))))]
            )
            stats.dead += 1
            stats.last_error = reason
            log.warning("audience %s: job %d dead: %s", name, job.id, reason)
            return
        self.store.schedule_retry([job.id], at=decision.retry_at, error=decision.reason, now=now)
        self._count([Count("audience_retried", (("audience", name),))])
        stats.retried += 1
        stats.last_error = decision.reason
        log.info(
            "audience %s: job %d retried at %.0f: %s",
            name,
            job.id,
            decision.retry_at,
            decision.reason,
        )


def _request_line(job: DeliveryJob, name: str, status: str, users: int, started: float) -> None:
    """The one log line per audience request to X, like a Conversion API request's."""
    x_log.info(
        "x audience_users %s %s",
        status,
        name,
        extra={
            "x_request": {
                "endpoint": "audience_users",
                "account_id": job.account_id,
                "audience": name,
                "status": status,
                "users": users,
                "latency_ms": round((time.monotonic() - started) * 1000, 1),
            }
        },
    )
