"""The rate ledger: every process on one store shares each X account's rate budget.

The store keeps, per ad account, the sends in the current window and the events held by claims
(claimed jobs not sent yet), and what X's answers told us (a lower limit, a cap until a reset, a
429 block). Each change happens in one store transaction that first reads the account's `Ledger`
and asks a pure function of the caller (`xconduit.delivery.ratelimit`) what is allowed, so two
processes can never both spend the last of a budget. A claim takes its budget in the same
transaction as the jobs (`claim_within_budget`).

A hold lives until its claim's lease ends (a worker that died stops holding); a send not settled
(its worker died mid-request) counts as if settled when its lease ended, the latest X can have
received it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from xconduit.outbox.jobs import Claim, DeliveryJob


@dataclass(frozen=True, kw_only=True, slots=True)
class Spend:
    """A row of the ledger: a hold (claimed, not sent) or a send (a request to X)."""

    id: int
    events: int
    requests: int
    held: bool
    started_at: float
    expires_at: float
    """A hold: its lease end. A send: when it counts as settled if never settled."""
    settled_at: float | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Ledger:
    """What counts against one account now, and the tightening X asked for."""

    account_id: str
    spends: tuple[Spend, ...]
    events_limit: int | None = None
    """X's `x-rate-limit-limit` when it was below ours."""
    blocked_until: float = 0.0
    cap_events: int | None = None
    """X's `x-rate-limit-remaining` when it was below what we thought was left…"""
    cap_until: float | None = None
    """…until X's reset…"""
    cap_since: float | None = None
    """…counting sends started from this time."""


def spend_of(row: Sequence[Any]) -> Spend:
    """A spend from its values in field order (a row of `ledger_spends`)."""
    id_, events, requests, held, started_at, expires_at, settled_at = row
    return Spend(
        id=id_,
        events=events,
        requests=requests,
        held=bool(held),
        started_at=started_at,
        expires_at=expires_at,
        settled_at=settled_at,
    )


def live(spends: Sequence[Spend], *, now: float, window: float) -> list[Spend]:
    """The spends that still count at `now` (the others can be deleted)."""
    horizon = now - window
    return [
        spend
        for spend in spends
        if (spend.expires_at > now if spend.held else spend_end(spend) > horizon)
    ]


def spend_end(spend: Spend) -> float:
    """When a send stopped being in flight (settled, or its lease ended)."""
    return spend.expires_at if spend.settled_at is None else spend.settled_at


class BudgetStore(Protocol):
    """The ledger operations of a store; each is one transaction."""

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
        """Claim up to `min(limit, allow(ledger))` jobs of `destination` made by `owner` (see
        `Store.claim_batch`) and hold that many events on the account until their lease ends;
        the jobs and the hold's id (None if none claimed)."""
        ...

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
        """First give back `unhold` (hold id → events), then start a send if
        `free_at(ledger) <= now`: (the send's id or None, what `free_at` said)."""
        ...

    def settle_budget(self, spend_id: int, *, now: float) -> None:
        """X answered the send: it counts for one window from `now`."""
        ...

    def unhold_budget(self, unhold: Mapping[int, int]) -> None:
        """Give back held events (hold id → events) of jobs not sent."""
        ...

    def read_budget(self, account_id: str, *, now: float, window: float) -> Ledger:
        """The account's ledger now."""
        ...

    def tighten_budget(
        self,
        account_id: str,
        *,
        now: float,
        window: float,
        tighten: Callable[[Ledger], Ledger],
    ) -> None:
        """Store the limit, cap and block of `tighten(ledger)` (its spends are ignored)."""
        ...


class LedgerTx(Protocol):
    """The ledger inside one store transaction: what `SharedLedger` asks of a store."""

    def ledger(self, account_id: str, now: float, window: float) -> Ledger:
        """The account's ledger, spends that no longer count dropped (the account locked)."""
        ...

    def add_spend(
        self, account_id: str, events: int, requests: int, start: float, end: float, *, held: bool
    ) -> int:
        """A new hold (`held`) or send from `start`, expiring at `end`; its id."""
        ...

    def unhold(self, unhold: Mapping[int, int]) -> None: ...

    def settle(self, spend_id: int, now: float) -> None: ...

    def save_account(self, account_id: str, ledger: Ledger) -> None:
        """Keep the limit, cap and block of `ledger`."""
        ...

    def claim(self, claim: Claim) -> list[DeliveryJob]:
        """`Store.claim_batch` inside this transaction."""
        ...


class LedgerStore(Protocol):
    def _ledger_tx(self) -> AbstractContextManager[LedgerTx]: ...


class SharedLedger:
    """`BudgetStore` for every store, over the store's `_ledger_tx` (one transaction each)."""

    def claim_within_budget(
        self: LedgerStore,
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
        with self._ledger_tx() as tx:
            allowed = min(limit, allow(tx.ledger(account_id, now, window)))
            jobs = tx.claim(Claim(destination, allowed, now, lease_seconds, owner))
            if not jobs:
                return [], None
            hold = tx.add_spend(account_id, len(jobs), 0, now, now + lease_seconds, held=True)
        return jobs, hold

    def spend_budget(
        self: LedgerStore,
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
        with self._ledger_tx() as tx:
            tx.unhold(unhold)
            free = free_at(tx.ledger(account_id, now, window))
            if free is None or free > now:
                return None, free
            spend = tx.add_spend(account_id, events, requests, now, until, held=False)
        return spend, free

    def settle_budget(self: LedgerStore, spend_id: int, *, now: float) -> None:
        with self._ledger_tx() as tx:
            tx.settle(spend_id, now)

    def unhold_budget(self: LedgerStore, unhold: Mapping[int, int]) -> None:
        with self._ledger_tx() as tx:
            tx.unhold(unhold)

    def read_budget(self: LedgerStore, account_id: str, *, now: float, window: float) -> Ledger:
        with self._ledger_tx() as tx:
            return tx.ledger(account_id, now, window)

    def tighten_budget(
        self: LedgerStore,
        account_id: str,
        *,
        now: float,
        window: float,
        tighten: Callable[[Ledger], Ledger],
    ) -> None:
        with self._ledger_tx() as tx:
            tx.save_account(account_id, tighten(tx.ledger(account_id, now, window)))
