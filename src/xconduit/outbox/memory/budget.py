"""The rate ledger in memory, for `MemoryStore` (same behaviour as the SQL stores)."""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Mapping

from xconduit.outbox.budget import Ledger, Spend, live
from xconduit.outbox.jobs import DeliveryJob


class MemoryLedger:
    """Ledger methods of `MemoryStore`; the store's lock makes each one a transaction."""

    _lock: threading.Lock

    def _ledger_init(self) -> None:
        self._spends: dict[int, tuple[str, Spend]] = {}
        self._accounts: dict[str, Ledger] = {}
        self._spend_ids = itertools.count(1)

    def _claim_locked(
        self,
        destination: str,
        *,
        limit: int,
        now: float,
        lease_seconds: float,
        owner: str = "",
    ) -> list[DeliveryJob]:
        raise NotImplementedError

    def _ledger(self, account_id: str, now: float, window: float) -> Ledger:
        mine = [spend for owner, spend in self._spends.values() if owner == account_id]
        keep = {spend.id for spend in live(mine, now=now, window=window)}
        for spend in mine:
            if spend.id not in keep:
                del self._spends[spend.id]
        spends = tuple(spend for owner, spend in self._spends.values() if owner == account_id)
        base = self._accounts.get(account_id, Ledger(account_id=account_id, spends=()))
        return dataclasses.replace(base, spends=spends)

    def _add_spend(self, account_id: str, **values: float | int | bool | None) -> int:
        spend = Spend(id=next(self._spend_ids), settled_at=None, **values)  # type: ignore[arg-type]
        self._spends[spend.id] = (account_id, spend)
        return spend.id

    def _unhold(self, unhold: Mapping[int, int]) -> None:
        for hold_id, events in unhold.items():
            found = self._spends.get(hold_id)
            if found is None:
                continue
            owner, spend = found
            left = spend.events - events
            if left <= 0:
                del self._spends[hold_id]
            else:
                self._spends[hold_id] = (owner, dataclasses.replace(spend, events=left))

    def claim_within_budget(
        self,
        destination: str,
        *,
        account_id: str,
        limit: int,
        now: float,
        lease_seconds: float,
        window: float,
        allow: Callable[[Ledger], int],
        owner: str = "",
    ) -> tuple[list[DeliveryJob], int | None]:
        with self._lock:
            allowed = min(limit, allow(self._ledger(account_id, now, window)))
            jobs = self._claim_locked(
                destination, limit=allowed, now=now, lease_seconds=lease_seconds, owner=owner
            )
            if not jobs:
                return [], None
            hold = self._add_spend(
                account_id,
                events=len(jobs),
                requests=0,
                held=True,
                started_at=now,
                expires_at=now + lease_seconds,
            )
            return jobs, hold

    def spend_budget(
        self,
        account_id: str,
        *,
        events: int,
        requests: int,
        now: float,
        until: float,
        window: float,
        unhold: Mapping[int, int],
        free_at: Callable[[Ledger], float | None],
    ) -> tuple[int | None, float | None]:
        with self._lock:
            self._unhold(unhold)
            free = free_at(self._ledger(account_id, now, window))
            if free is None or free > now:
                return None, free
            spend = self._add_spend(
                account_id,
                events=events,
                requests=requests,
                held=False,
                started_at=now,
                expires_at=until,
            )
            return spend, free

    def settle_budget(self, spend_id: int, *, now: float) -> None:
        with self._lock:
            found = self._spends.get(spend_id)
            if found is not None:
                owner, spend = found
                self._spends[spend_id] = (owner, dataclasses.replace(spend, settled_at=now))

    def unhold_budget(self, unhold: Mapping[int, int]) -> None:
        with self._lock:
            self._unhold(unhold)

    def read_budget(self, account_id: str, *, now: float, window: float) -> Ledger:
        with self._lock:
            return self._ledger(account_id, now, window)

    def tighten_budget(
        self,
        account_id: str,
        *,
        now: float,
        window: float,
        tighten: Callable[[Ledger], Ledger],
    ) -> None:
        with self._lock:
            changed = tighten(self._ledger(account_id, now, window))
            self._accounts[account_id] = dataclasses.replace(changed, spends=())
