"""The rate ledger in memory, for `MemoryStore` (same behaviour as the SQL stores)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Mapping

from xconduit.outbox.budget import Ledger, Spend, live, spend_of
from xconduit.outbox.jobs import Claim, DeliveryJob


class MemoryBook:
    """The ledger's spends and accounts; `MemoryStore` holds one and its lock."""

    def __init__(self) -> None:
        self.spends: dict[int, tuple[str, Spend]] = {}
        self.accounts: dict[str, Ledger] = {}
        self.ids = itertools.count(1)


@dataclasses.dataclass(frozen=True, slots=True)
class MemoryLedgerTx:
    """The ledger under the store's lock (`xconduit.outbox.budget.LedgerTx`)."""

    book: MemoryBook
    claim: Callable[[Claim], list[DeliveryJob]]
    """`MemoryStore._claim_locked`."""

    def ledger(self, account_id: str, now: float, window: float) -> Ledger:
        spends = self.book.spends
        mine = [spend for owner, spend in spends.values() if owner == account_id]
        keep = {spend.id for spend in live(mine, now=now, window=window)}
        for spend in mine:
            if spend.id not in keep:
                del spends[spend.id]
        kept = tuple(spend for owner, spend in spends.values() if owner == account_id)
        base = self.book.accounts.get(account_id, Ledger(account_id=account_id, spends=()))
        return dataclasses.replace(base, spends=kept)

    def add_spend(
        self, account_id: str, events: int, requests: int, start: float, end: float, *, held: bool
    ) -> int:
        spend = spend_of((next(self.book.ids), events, requests, held, start, end, None))
        self.book.spends[spend.id] = (account_id, spend)
        return spend.id

    def unhold(self, unhold: Mapping[int, int]) -> None:
        for hold_id, events in unhold.items():
            found = self.book.spends.get(hold_id)
            if found is None:
                continue
            owner, spend = found
            left = spend.events - events
            if left <= 0:
                del self.book.spends[hold_id]
            else:
                self.book.spends[hold_id] = (owner, dataclasses.replace(spend, events=left))

    def settle(self, spend_id: int, now: float) -> None:
        found = self.book.spends.get(spend_id)
        if found is not None:
            owner, spend = found
            self.book.spends[spend_id] = (owner, dataclasses.replace(spend, settled_at=now))

    def save_account(self, account_id: str, ledger: Ledger) -> None:
        self.book.accounts[account_id] = dataclasses.replace(ledger, spends=())
