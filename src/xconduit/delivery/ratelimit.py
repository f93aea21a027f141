"""A per-account rate budget in events and requests per window (pure: the clock is passed in).

X counts conversions per ad account in fixed 15-minute windows whose start we cannot see. A
*sliding* log is safe whatever the alignment: if no `window`-long interval of our own sends ever
holds more than the limit, none of X's windows can either. A send is logged when it is
**settled** (X has answered), not when it starts: X opens its window when the request arrives,
which is after we start it, so settling later keeps our window from freeing before X's does.
While a send is in flight it always counts.

X's answers tighten the budget, never loosen it:

* `observe(limit=, remaining=, reset=)` from `x-rate-limit-*` headers: a `limit` below ours
  becomes our limit; a `remaining` below what we think is left (someone else spends on this
  account) caps us at `remaining` until `reset`.
* `block_until(t)` after a 429: nothing is sent before X's reset time.

Not thread-safe on its own: `BudgetBook` hands out budgets and the lock that guards them. For
every process on one store to share a budget, `SharedBudgets` (delivery/shared_budget.py) keeps
it in the store and rebuilds a `RateBudget` from the store's ledger in each transaction
(`RateBudget.from_ledger`).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, replace

from xconduit.outbox.budget import Ledger, spend_end


@dataclass(frozen=True, kw_only=True)
class Allowance:
    """What may be sent now."""

    events: int
    requests: int


@dataclass(kw_only=True)
class _Send:
    id: int
    events: int
    requests: int
    at: float | None  # None while in flight


class RateBudget:
    """The budget of one ad account."""

    def __init__(self, *, events: int, requests: int, window: float) -> None:
        if events < 1 or requests < 1 or window <= 0:
            raise ValueError("a rate budget needs positive events, requests and window")
        self.events_limit = events
        self.requests_limit = requests
        self.window = window
        self.held = 0
        """Events claimed into batches not yet sent (they will be)."""
        self._log: list[_Send] = []
        self._ids = itertools.count(1)
        self._blocked_until = 0.0
        self._cap: tuple[int, float] | None = None  # (events X says are left, until)
        self._cap_spent = 0

    @classmethod
    def from_ledger(
        cls, ledger: Ledger, *, events: int, requests: int, window: float, now: float
    ) -> RateBudget:
        """The budget a store's ledger describes (its spends already the live ones)."""
        budget = cls(events=events, requests=requests, window=window)
        if ledger.events_limit is not None:
            budget.events_limit = min(budget.events_limit, ledger.events_limit)
        budget._blocked_until = ledger.blocked_until
        cap_since = ledger.cap_since
        if ledger.cap_events is not None and ledger.cap_until is not None and cap_since is not None:
            budget._cap = (ledger.cap_events, ledger.cap_until)
        for spend in ledger.spends:
            if spend.held:
                budget.held += spend.events
                continue
            end = spend_end(spend)
            at = None if spend.settled_at is None and end > now else end
            send = _Send(id=spend.id, events=spend.events, requests=spend.requests, at=at)
            budget._log.append(send)
            if cap_since is not None and spend.started_at >= cap_since:
                budget._cap_spent += spend.events
        return budget

    def tightened(self, ledger: Ledger, *, now: float) -> Ledger:
        """`ledger` with this budget's limit, block and cap (after `observe`/`block_until`)."""
        cap_events, cap_until, cap_since = None, None, None
        if self._cap is not None:
            cap_events, cap_until = self._cap
            same = (ledger.cap_events, ledger.cap_until) == self._cap and self._cap_spent
            cap_since = ledger.cap_since if same else now
        return replace(
            ledger,
            events_limit=self.events_limit,
            blocked_until=self._blocked_until,
            cap_events=cap_events,
            cap_until=cap_until,
            cap_since=cap_since,
        )

    # -- reading -------------------------------------------------------------------------------

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        self._log = [s for s in self._log if s.at is None or s.at > horizon]
        if self._cap is not None and now >= self._cap[1]:
            self._cap = None

    def _used(self) -> tuple[int, int]:
        return sum(s.events for s in self._log), sum(s.requests for s in self._log)

    def available(self, now: float) -> Allowance:
        """Events and requests that may be sent (or claimed) now without passing any limit."""
        self._prune(now)
        if now < self._blocked_until:
            return Allowance(events=0, requests=0)
        events, requests = self._used()
        free_events = self.events_limit - events - self.held
        if self._cap is not None:
            free_events = min(free_events, self._cap[0] - self._cap_spent - self.held)
        return Allowance(
            events=max(free_events, 0), requests=max(self.requests_limit - requests, 0)
        )

    def free_at(self, *, events: int, requests: int, now: float) -> float | None:
        """The earliest time `events` and `requests` fit; None if only an in-flight send can
        make room (ask again once it settles)."""
        self._prune(now)
        at = max(now, self._blocked_until)
        if self._cap is not None and self._cap[0] - self._cap_spent - self.held < events:
            at = max(at, self._cap[1])
        used_events, used_requests = self._used()
        need_events = used_events + self.held + events - self.events_limit
        need_requests = used_requests + requests - self.requests_limit
        settled = sorted((s for s in self._log if s.at is not None), key=lambda s: s.at or 0.0)
        for send in settled:
            if need_events <= 0 and need_requests <= 0:
                break
            assert send.at is not None
            at = max(at, send.at + self.window)
            need_events -= send.events
            need_requests -= send.requests
        if need_events > 0 or need_requests > 0:
            return None
        return at

    # -- changing ------------------------------------------------------------------------------

    def hold(self, events: int) -> None:
        """Reserve events for a batch being filled (claimed jobs not yet sent)."""
        self.held += events

    def unhold(self, events: int) -> None:
        self.held = max(self.held - events, 0)

    def spend(self, *, events: int, requests: int = 1, held: int = 0) -> int:
        """Start a send of `events` (of which `held` were held); returns its id for `settle`."""
        self.unhold(held)
        send = _Send(id=next(self._ids), events=events, requests=requests, at=None)
        self._log.append(send)
        if self._cap is not None:
            self._cap_spent += events
        return send.id

    def settle(self, send_id: int, now: float) -> None:
        """X answered the send: from now on it counts for one window."""
        for send in self._log:
            if send.id == send_id:
                send.at = now

    def observe(
        self, *, limit: int | None, remaining: int | None, reset: float | None, now: float
    ) -> None:
        """Tighten from X's `x-rate-limit-*` headers (read as events, the strictest reading)."""
        if limit is not None and 0 < limit < self.events_limit:
            self.events_limit = limit
        if remaining is None or reset is None or reset <= now:
            return
        self._prune(now)
        events, _ = self._used()
        if remaining < self.events_limit - events:
            self._cap = (max(remaining, 0), reset)
            self._cap_spent = 0

    def block_until(self, until: float) -> None:
        """X answered 429: send nothing before `until`."""
        self._blocked_until = max(self._blocked_until, until)


class BudgetBook:
    """One `RateBudget` per ad account, shared by every destination of that account, and the
    lock every caller holds while using one."""

    def __init__(self, *, events: int, requests: int, window: float) -> None:
        self._limits = (events, requests, window)
        self._budgets: dict[str, RateBudget] = {}
        self.lock = threading.Lock()

    def __getitem__(self, account_id: str) -> RateBudget:
        budget = self._budgets.get(account_id)
        if budget is None:
            events, requests, window = self._limits
            budget = RateBudget(events=events, requests=requests, window=window)
            self._budgets[account_id] = budget
        return budget
