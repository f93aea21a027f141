"""Paused delivery: when X refuses the setup, hold the jobs instead of killing them.

Some answers say nothing about the conversions: every request with the same setup would get the
same answer until someone fixes it. The jobs of such a request are released (pending again, the
attempt not counted), delivery is paused, and the alarm goes up (log, `/readyz`, metric,
dashboard) with what to fix:

    X's answer                                               pauses
    401, 403; 404 "User … does not have access to account"   the account (credentials, role)
    404 on the pixel ("pixel_id (…) was not found", no       the destination (its pixel_id,
      route); 404/400 about the `event_id` ("does not          its event ids)
      belong to provided account", "not a single event tag")

Everything else X refuses (a bad hash, a bad time, no identifier) is about one conversion and
is dead-lettered by the worker as before.

The pause ends when the setup checks pass (`resume`, called by the monitor that runs them every
few minutes, and within seconds of a passing `xconduit check` or the dashboard's button in any
process on the store), or at the latest after `probe_after` seconds, when one batch is sent as a
probe (a new refusal pauses again, still without losing a job).
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
_SETUP_EVENT_ID = ("does not belong to provided account", "is not a single event tag")


def refuses_credentials(error: DeliveryError) -> bool:
    """True when X refused the token or its user's access, not a conversion."""
    if isinstance(error, AuthError):
        return True
    return (
        isinstance(error, FatalDeliveryError)
        and error.status == 404
        and any("does not have access to account" in d.message for d in error.errors)
    )


def refuses_destination(error: DeliveryError) -> bool:
    """True when X refused the destination's pixel or an event id of its configuration (a
    Conversion API answer): no conversion of it can be accepted until the setup changes."""
    if not isinstance(error, FatalDeliveryError) or refuses_credentials(error):
        return False
    about_event = [d for d in error.errors if d.parameter == "event_id"]
    if any(any(text in d.message for text in _SETUP_EVENT_ID) for d in about_event):
        return True
    # A 404 that names no conversion field: the pixel (or the route) does not exist.
    return error.status == 404 and not any(d.parameter for d in error.errors)


def destination_words(name: str) -> str:
    """A destination as the user wrote it in the config (the dashboard's problems say the
    same), never the engine's `conversions.shop`."""
    return f'conversion destination "{name}"'


def destination_fix(error: DeliveryError, *, destination: str) -> str:
    """What to change for a destination X refused (`refuses_destination`)."""
    words = destination_words(destination)
    if any(d.parameter == "event_id" for d in error.errors):
        return (
            f"the event ids of {words} (`events`, `page_event_id`) must be events of its pixel "
            "in Events Manager: fix them, or create the event"
        )
    return (
        f"{words}: pixel_id must be the pixel id of Events Manager's base code "
        "(and x.api / x.version the Ads API)"
    )


def held_back(dead: list[tuple[T, DeliveryError]]) -> tuple[list[T], DeliveryError | None]:
    """Take out of `dead` (in place) the items X refused for credentials; them and the error."""
    return _take(dead, refuses_credentials)


def held_for_setup(
    dead: list[tuple[T, DeliveryError]],
) -> tuple[list[T], DeliveryError | None, list[T], DeliveryError | None]:
    """Take out of `dead` (in place) the items X refused for the account (credentials, role)
    and those it refused for the destination's setup (pixel, event id), each with an error."""
    account, account_error = _take(dead, refuses_credentials)
    destination, destination_error = _take(dead, refuses_destination)
    return account, account_error, destination, destination_error


def _take(
    dead: list[tuple[T, DeliveryError]], test: Callable[[DeliveryError], bool]
) -> tuple[list[T], DeliveryError | None]:
    refused = [(item, error) for item, error in dead if test(error)]
    if not refused:
        return [], None
    dead[:] = [(item, error) for item, error in dead if not test(error)]
    return [item for item, _ in refused], refused[0][1]


@dataclass(frozen=True, kw_only=True)
class Pause:
    account_id: str
    reason: str
    since: float
    probe_at: float
    """When delivery tries one batch again, unless a passing check resumes it before."""
    destination: str | None = None
    """The conversion destination held (its pixel or event ids); None: the whole account."""
    fix: str = ""
    """What to change, when the refusal says (a destination's pixel or event ids)."""

    @property
    def subject(self) -> str:
        if self.destination is None:
            return f"account {self.account_id}"
        return f"{destination_words(self.destination)} (account {self.account_id})"

    @property
    def problem(self) -> str:
        """One line for `/readyz`, the dashboard and the log."""
        text = f"delivery to {self.subject} paused: {self.reason}"
        return f"{text}; fix: {self.fix}" if self.fix else text


class AccountPauses:
    """The paused ad accounts and conversion destinations of this process (thread-safe)."""

    def __init__(self, *, probe_after: float = DEFAULT_PROBE_AFTER) -> None:
        self.probe_after = probe_after
        self._lock = threading.Lock()
        self._paused: dict[tuple[str, str | None], Pause] = {}
        self.on_change: Callable[[], None] = lambda: None
        """Called when an account is paused or resumed (the heartbeat reports it at once)."""

    def pause(
        self,
        account_id: str,
        reason: str,
        *,
        now: float,
        destination: str | None = None,
        fix: str = "",
    ) -> None:
        key = (account_id, destination)
        with self._lock:
            before = self._paused.get(key)
            pause = Pause(
                account_id=account_id,
                reason=reason,
                since=before.since if before else now,
                probe_at=now + self.probe_after,
                destination=destination,
                fix=fix,
            )
            self._paused[key] = pause
        if before is None:
            self.on_change()
            what = "X refused the credentials" if destination is None else "X refused the setup"
            log.error(
                "%s (%s); jobs stay pending. Once it is fixed, run `xconduit check`: delivery "
                "resumes within seconds of a passing check.",
                pause.problem,
                what,
            )

    def resume(self, account_id: str, *, destination: str | None = None) -> None:
        """End the account's pause (and, with `destination`, that destination's pause too)."""
        keys = [(account_id, None)] + ([(account_id, destination)] if destination else [])
        with self._lock:
            gone = [p for key in keys if (p := self._paused.pop(key, None)) is not None]
        if gone:
            self.on_change()
            for pause in gone:
                log.warning("delivery to %s resumed", pause.subject)

    def resume_destination(self, destination: str) -> None:
        """End the pause of `destination` (whatever its account), not its account's."""
        with self._lock:
            keys = [k for k in self._paused if k[1] == destination]
            gone = [self._paused.pop(k) for k in keys]
        if gone:
            self.on_change()
            for pause in gone:
                log.warning("delivery to %s resumed", pause.subject)

    def until(
        self, account_id: str | None, *, now: float, destination: str | None = None
    ) -> float | None:
        """While the account or `destination` is paused, when to look again; None: deliver
        (maybe a probe)."""
        with self._lock:
            pauses = [
                p
                for (account, dest), p in self._paused.items()
                if (account == account_id and dest is None)
                or (destination is not None and dest == destination)
            ]
        waiting = [p.probe_at for p in pauses if now < p.probe_at]
        return max(waiting) if waiting else None

    def paused(self) -> Sequence[Pause]:
        with self._lock:
            return sorted(self._paused.values(), key=lambda p: (p.account_id, p.destination or ""))
