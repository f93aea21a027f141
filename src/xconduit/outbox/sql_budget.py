"""The rate ledger (see `xconduit.outbox.budget`) for the SQL stores, SQLite and PostgreSQL.

Both dialects name the same queries (sql/<dialect>/budget.sql); the store gives a transaction
(`_write`), the claim inside it (`_claim_in`) and its queries (`_BQ`). Every method locks the
account first (PostgreSQL: its `rate_accounts` row; SQLite: the write lock already held).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from xconduit.outbox.budget import Ledger, Spend
from xconduit.outbox.jobs import DeliveryJob


class SqlLedger:
    """Ledger methods shared by `SqliteStore` and `PostgresStore`."""

    _BQ: dict[str, str]

    def _write(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _claim_in(
        self,
        conn: Any,
        destination: str,
        *,
        limit: int,
        now: float,
        lease_seconds: float,
        owner: str = "",
    ) -> list[DeliveryJob]:
        raise NotImplementedError

    def _ledger(self, conn: Any, account_id: str, now: float, window: float) -> Ledger:
        q, params = self._BQ, {"account_id": account_id}
        conn.execute(q["lock_account"], params)
        conn.execute(q["prune_spends"], {**params, "now": now, "horizon": now - window})
        spends = tuple(
            Spend(
                id=row[0],
                events=row[1],
                requests=row[2],
                held=bool(row[3]),
                started_at=row[4],
                expires_at=row[5],
                settled_at=row[6],
            )
            for row in conn.execute(q["ledger_spends"], params).fetchall()
        )
        account = conn.execute(q["ledger_account"], params).fetchone()
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

    def _add_spend(self, conn: Any, account_id: str, **values: Any) -> int:
        row = conn.execute(self._BQ["add_spend"], {"account_id": account_id, **values}).fetchone()
        return int(row[0])

    def _unhold_in(self, conn: Any, unhold: Mapping[int, int]) -> None:
        for hold_id, events in unhold.items():
            conn.execute(self._BQ["unhold"], {"id": hold_id, "events": events})
        if unhold:
            conn.execute(self._BQ["drop_empty_holds"], {})

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
        with self._write() as conn:
            allowed = min(limit, allow(self._ledger(conn, account_id, now, window)))
            jobs = self._claim_in(
                conn, destination, limit=allowed, now=now, lease_seconds=lease_seconds, owner=owner
            )
            if not jobs:
                return [], None
            hold = self._add_spend(
                conn,
                account_id,
                held=True,
                events=len(jobs),
                requests=0,
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
        with self._write() as conn:
            self._unhold_in(conn, unhold)
            free = free_at(self._ledger(conn, account_id, now, window))
            if free is None or free > now:
                return None, free
            spend = self._add_spend(
                conn,
                account_id,
                held=False,
                events=events,
                requests=requests,
                started_at=now,
                expires_at=until,
            )
        return spend, free

    def settle_budget(self, spend_id: int, *, now: float) -> None:
        with self._write() as conn:
            conn.execute(self._BQ["settle_spend"], {"id": spend_id, "now": now})

    def unhold_budget(self, unhold: Mapping[int, int]) -> None:
        with self._write() as conn:
            self._unhold_in(conn, unhold)

    def read_budget(self, account_id: str, *, now: float, window: float) -> Ledger:
        with self._write() as conn:
            return self._ledger(conn, account_id, now, window)

    def tighten_budget(
        self,
        account_id: str,
        *,
        now: float,
        window: float,
        tighten: Callable[[Ledger], Ledger],
    ) -> None:
        with self._write() as conn:
            new = tighten(self._ledger(conn, account_id, now, window))
            conn.execute(
                self._BQ["save_account"],
                {
                    "account_id": account_id,
                    "events_limit": new.events_limit,
                    "blocked_until": new.blocked_until,
                    "cap_events": new.cap_events,
                    "cap_until": new.cap_until,
                    "cap_since": new.cap_since,
                },
            )
