"""Which destination a delivery job belongs to, beyond its name.

Several configurations may share one outbox (three gateways in one folder on
`.xconduit/xconduit.db`, staging and production on one database): a job must be delivered only
by a process whose configuration has the same destination, meaning the same X (API base),
account and pixel, not just a destination of the same name. Each job carries the short key of
its destination (`owner_keys`), computed when the job is made; a process claims only jobs whose
key is one of its own.

`xconduit sync -c <file>` reads the same file, so its jobs carry the keys of the gateway (or
worker) started from that file. The built-in sandbox is one X as far as keys go (`x.api =
"sandbox"`): two sandbox configurations on one store keep their jobs apart by destination name,
account or pixel, not by the sandbox they run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from xconduit.config.model import Settings

KEY_LENGTH = 16
"""Hex digits kept of the SHA-256 (64 bits: a collision between two destinations of the
configurations sharing one store is not a practical concern)."""


def destination_key(*, x: str, account_id: str, target_id: str, name: str) -> str:
    """The key of one destination: `x` (the X API base URL, or "sandbox"), the ad account, the
    pixel (or audience) id and the destination's name."""
    text = "\x1f".join((x, account_id, target_id, name))
    return hashlib.sha256(text.encode()).hexdigest()[:KEY_LENGTH]


def owner_keys(settings: Settings) -> dict[str, str]:
    """The key of each conversion destination of the configuration, by name."""
    x = settings.x.api
    return {
        d.name: destination_key(x=x, account_id=d.account_id, target_id=d.pixel_id, name=d.name)
        for d in settings.conversions
    }


AUDIENCE_PREFIX = "audience:"
"""Audience jobs' destinations are `audience:<name>` (`xconduit.outbox.audience_jobs`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Ownership:
    """Which jobs of a shared outbox are this configuration's.

    A conversion job is ours when its destination and key are one of `keys`. An untagged one
    (made before the outbox kept keys) is not, until a delivering process adopts it (same name,
    account and pixel, see `Store.adopt_jobs`): one no destination here matches is never sent
    from here, and is counted with the other configurations' jobs, not hidden among ours. An
    audience job is ours when its audience is configured here (an audience's members and
    pending changes are kept by its name, so two configurations sharing a store must not reuse
    an audience name)."""

    keys: Mapping[str, str] = field(default_factory=dict)
    """Conversion destination name → key (`owner_keys`)."""
    audiences: frozenset[str] = frozenset()
    """Audience names."""

    def owns(self, destination: str, owner: str) -> bool:
        if destination.startswith(AUDIENCE_PREFIX):
            return destination[len(AUDIENCE_PREFIX) :] in self.audiences
        key = self.keys.get(destination)
        return key is not None and key == owner


def ownership(settings: Settings) -> Ownership:
    """The jobs `settings` may deliver and show."""
    return Ownership(
        keys=owner_keys(settings), audiences=frozenset(a.name for a in settings.audiences)
    )
