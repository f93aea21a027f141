"""The rate ledger (see `xconduit.outbox.budget`) in SQL, for SQLite and PostgreSQL.

Both dialects name the same queries (sql/<dialect>/budget.sql). Every transaction locks the
account first (PostgreSQL: its `rate_accounts` row; SQLite: the write lock already held).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xconduit.outbox.budget import Ledger, spend_of
from xconduit.outbox.jobs import Claim, DeliveryJob


@dataclass(frozen=True, slots=True)
class SqlLedgerTx:
    """The ledger in one SQL transaction (`xconduit.outbox.budget.LedgerTx`)."""

    conn: Any
    queries: Mapping[str, str]
    claim_in: Callable[[Any, Claim], list[DeliveryJob]]

    def ledger(self, account_id: str, now: float, window: float) -> Ledger:
        q, params = self.queries, {"account_id": account_id}
        self.conn.execute(q["lock_account"], params)
        self.conn.execute(q["prune_spends"], {**params, "now": now, "horizon": now - window})
        rows = self.conn.execute(q["ledger_spends"], params).fetchall()
        spends = tuple(spend_of(row) for row in rows)
        account = self.conn.execute(q["ledger_account"], params).fetchone()
        if account is None:
            return Ledger(account_id=account_id, spends=spends)
        limit, blocked, cap_events, cap_until, cap_since = tuple(account)
        return Ledger(
            account_id=account_id,
            spends=spends,
            events_limit=limit,
            blocked_until=blocked,
            cap_events=cap_events,
            cap_until=cap_until,
            cap_since=cap_since,
        )

    def add_spend(
        self, account_id: str, events: int, requests: int, start: float, end: float, *, held: bool
    ) -> int:
        values = {"held": held, "events": events, "requests": requests}
        times = {"started_at": start, "expires_at": end}
        row = self.conn.execute(
            self.queries["add_spend"], {"account_id": account_id, **values, **times}
        ).fetchone()
        return int(row[0])

    def unhold(self, unhold: Mapping[int, int]) -> None:
        for hold_id, events in unhold.items():
            self.conn.execute(self.queries["unhold"], {"id": hold_id, "events": events})
        if unhold:
            self.conn.execute(self.queries["drop_empty_holds"], {})

    def settle(self, spend_id: int, now: float) -> None:
        self.conn.execute(self.queries["settle_spend"], {"id": spend_id, "now": now})

    def save_account(self, account_id: str, ledger: Ledger) -> None:
        self.conn.execute(
            self.queries["save_account"],
            {
                "account_id": account_id,
                "events_limit": ledger.events_limit,
                "blocked_until": ledger.blocked_until,
                "cap_events": ledger.cap_events,
                "cap_until": ledger.cap_until,
                "cap_since": ledger.cap_since,
            },
        )

    def claim(self, claim: Claim) -> list[DeliveryJob]:
        return self.claim_in(self.conn, claim)
