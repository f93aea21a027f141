"""Rate budgets kept in the store, so every worker process on it shares each account's budget.

Each call is one store transaction that reads the account's ledger, rebuilds the `RateBudget` it
describes and applies the same rules as a budget in memory: claims take no more events than may
be sent (in the same transaction as the claim), a send starts only when it fits, X's headers and
429s tighten the budget for every process.
"""

from __future__ import annotations

from collections.abc import Mapping

from xconduit.delivery.ratelimit import RateBudget
from xconduit.outbox.budget import BudgetStore, Ledger
from xconduit.outbox.jobs import DeliveryJob


class SharedBudgets:
    """The per-account budgets of a store (`events`/`requests` per `window` seconds)."""

    def __init__(self, store: BudgetStore, *, events: int, requests: int, window: float) -> None:
        self._store = store
        self.events = events
        self.requests = requests
        self.window = window

    def budget(self, ledger: Ledger, now: float) -> RateBudget:
        return RateBudget.from_ledger(
            ledger, events=self.events, requests=self.requests, window=self.window, now=now
        )

    def claim(
        self,
        destination: str,
        *,
        account_id: str,
        limit: int,
        now: float,
        lease_seconds: float,
        owner: str = "",
    ) -> tuple[list[DeliveryJob], int | None, bool]:
        """Claim what the budget allows of `owner`'s jobs: (jobs, their hold's id, whether the
        budget is out)."""
        allowed = [0]

        def allow(ledger: Ledger) -> int:
            allowance = self.budget(ledger, now).available(now)
            allowed[0] = allowance.events if allowance.requests >= 1 else 0
            return allowed[0]

        jobs, hold = self._store.claim_within_budget(
            destination,
            account_id=account_id,
            limit=limit,
            now=now,
            lease_seconds=lease_seconds,
            window=self.window,
            allow=allow,
            owner=owner,
        )
        return jobs, hold, allowed[0] == 0

    def free_at(self, account_id: str, *, events: int, now: float) -> float | None:
        """When `events` in one request fit (None: when an in-flight send settles)."""
        ledger = self._store.read_budget(account_id, now=now, window=self.window)
        return self.budget(ledger, now).free_at(events=events, requests=1, now=now)

    def spend(
        self, account_id: str, *, events: int, now: float, until: float, unhold: Mapping[int, int]
    ) -> tuple[int | None, float | None]:
        """Give back `unhold`, then start a send of `events` if it fits now."""
        return self._store.spend_budget(
            account_id,
            events=events,
            requests=1,
            now=now,
            until=until,
            window=self.window,
            unhold=unhold,
            free_at=lambda ledger: self.budget(ledger, now).free_at(
                events=events, requests=1, now=now
            ),
        )

    def settle(self, send_id: int, *, now: float) -> None:
        self._store.settle_budget(send_id, now=now)

    def unhold(self, unhold: Mapping[int, int]) -> None:
        if unhold:
            self._store.unhold_budget(unhold)

    def observe(
        self,
        account_id: str,
        *,
        limit: int | None,
        remaining: int | None,
        reset: float | None,
        now: float,
    ) -> None:
        """Tighten from X's `x-rate-limit-*` headers, for every process."""

        def tighten(ledger: Ledger) -> Ledger:
            budget = self.budget(ledger, now)
            budget.observe(limit=limit, remaining=remaining, reset=reset, now=now)
            return budget.tightened(ledger, now=now)

        self._store.tighten_budget(account_id, now=now, window=self.window, tighten=tighten)

    def block_until(self, account_id: str, until: float, *, now: float) -> None:
        """X answered 429: no process sends for this account before `until`."""

        def tighten(ledger: Ledger) -> Ledger:
            budget = self.budget(ledger, now)
            budget.block_until(until)
            return budget.tightened(ledger, now=now)

        self._store.tighten_budget(account_id, now=now, window=self.window, tighten=tighten)
