"""Paused accounts: when X refuses the credentials, hold the account's jobs instead of killing them.

A 401/403 (or X's 404 "User … does not have access to account …") says nothing about the
conversions: every request to that account would get the same answer until someone fixes the
token or the role. So the jobs of such a request are released (pending again, the attempt not
counted), the account is paused, and the alarm goes up (log, `/readyz`, metric, dashboard).

The pause ends by itself: when the setup checks pass again (`resume`, called by the monitor that
runs them every few minutes), or at the latest after `probe_after` seconds, when one batch is
sent as a probe (a new refusal pauses the account again, still without losing a job).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from xconduit.errors import AuthError, DeliveryError, FatalDeliveryError

log = logging.getLogger("xconduit.delivery")

T = TypeVar("T")

DEFAULT_PROBE_AFTER = 300.0


def refuses_credentials(error: DeliveryError) -> bool:
    """True when X refused the token or its user's access, not a conversion."""
    if isinstance(error, AuthError):
        return True
    return (
        isinstance(error, FatalDeliveryError)
        and error.status == 404
        and any("does not have access to account" in d.message for d in error.errors)
    )


def held_back(dead: list[tuple[T, DeliveryError]]) -> tuple[list[T], DeliveryError | None]:
    """Take out of `dead` (in place) the items X refused for credentials; them and the error."""
    refused = [(item, error) for item, error in dead if refuses_credentials(error)]
    if not refused:
        return [], None
    dead[:] = [(item, error) for item, error in dead if not refuses_credentials(error)]
    return [item for item, _ in refused], refused[0][1]


@dataclass(frozen=True, kw_only=True)
class Pause:
    account_id: str
    reason: str
    since: float
    probe_at: float
    """When delivery tries one batch again, unless a passing check resumes it before."""


class AccountPauses:
    """The paused ad accounts of this process (thread-safe)."""

    def __init__(self, *, probe_after: float = DEFAULT_PROBE_AFTER) -> None:
        self.probe_after = probe_after
        self._lock = threading.Lock()
        self._paused: dict[str, Pause] = {}
        self.on_change: Callable[[], None] = lambda: None
        """Called when an account is paused or resumed (the heartbeat reports it at once)."""

    def pause(self, account_id: str, reason: str, *, now: float) -> None:
        with self._lock:
            before = self._paused.get(account_id)
            since = before.since if before else now
            self._paused[account_id] = Pause(
                account_id=account_id, reason=reason, since=since, probe_at=now + self.probe_after
            )
        if before is None:
            self.on_change()
            log.error(
                "delivery to account %s paused: X refused the credentials (%s); jobs stay "
                "pending. Run `xconduit check`; delivery resumes once it passes.",
                account_id,
                reason,
            )

    def resume(self, account_id: str) -> None:
        with self._lock:
            gone = self._paused.pop(account_id, None)
        if gone is not None:
            self.on_change()
            log.warning("delivery to account %s resumed", account_id)

    def until(self, account_id: str | None, *, now: float) -> float | None:
        """While `account_id` is paused, when to look again; None: deliver (maybe a probe)."""
        if account_id is None:
            return None
        with self._lock:
            pause = self._paused.get(account_id)
        if pause is None or now >= pause.probe_at:
            return None
        return pause.probe_at

    def paused(self) -> Sequence[Pause]:
        with self._lock:
            return sorted(self._paused.values(), key=lambda p: p.account_id)
