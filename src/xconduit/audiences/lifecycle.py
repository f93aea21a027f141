"""Which X audience a configured audience is: the configured id, the recorded one, or a new one.

Created audiences are named `<prefix> <name> <YYYYMMDD_hhmmss>` (UTC). Before creating one, X is
asked for audiences whose name starts with `<prefix> <name> `: if xconduit crashed after X
created the audience but before the id was recorded, that audience is adopted, never a second
one created. The record is written once; later runs read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Protocol

from xconduit.audiences.identity import is_our_audience, x_audience_name
from xconduit.config import AudienceSettings
from xconduit.errors import ConfigError, FatalDeliveryError
from xconduit.queue.audience_jobs import AudienceRecord
from xconduit.queue.audience_store import AudienceStore
from xconduit.xads import Audience

log = logging.getLogger("xconduit.audiences")


class AudienceDirectory(Protocol):
    """What the lifecycle needs from `XAdsClient`."""

    def create_audience(
        self, account_id: str, name: str, description: str | None = None
    ) -> Audience: ...

    def iter_audiences(
        self, account_id: str, *, name_prefix: str | None = None, count: int | None = None
    ) -> Iterator[Audience]: ...

    def get_audience(self, account_id: str, audience_id: str) -> Audience: ...


def ensure_audience(
    audience: AudienceSettings,
    *,
    client: AudienceDirectory,
    store: AudienceStore,
    clock: Callable[[], float],
) -> AudienceRecord:
    """The recorded X audience of `audience`, found or created (and recorded) when needed."""
    record = store.audience_record(audience.name)
    if record is not None:
        if audience.audience_id and audience.audience_id != record.audience_id:
            raise ConfigError(
                f"audiences.{audience.name}.audience_id is {audience.audience_id}, but this "
                f"outbox already syncs {record.audience_id} ({record.x_name}); a new audience "
                "needs a new audience name"
            )
        return record
    now = clock()
    if audience.audience_id:
        try:
            found = client.get_audience(audience.account_id, audience.audience_id)
        except FatalDeliveryError as exc:
            raise ConfigError(
                f"audiences.{audience.name}.audience_id: X has no custom audience "
                f"{audience.audience_id} in account {audience.account_id} ({exc})"
            ) from exc
        return _record(store, audience, found, now)
    ours = [
        a
        for a in client.iter_audiences(
            audience.account_id, name_prefix=f"{audience.prefix} {audience.name}", count=1000
        )
        if not a.deleted and is_our_audience(a.name, audience.prefix, audience.name)
    ]
    if ours:
        # The oldest one: the first run created it; a later one could only come from a race.
        found = min(ours, key=lambda a: (a.name, a.id))
        log.warning(
            "audience %s: adopting X audience %s (%s), created earlier but not recorded",
            audience.name,
            found.id,
            found.name,
        )
        return _record(store, audience, found, now)
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d_%H%M%S")
    name = x_audience_name(audience.prefix, audience.name, stamp)
    created = client.create_audience(
        audience.account_id, name, description=f"Kept by xconduit from audience {audience.name}"
    )
    log.info("audience %s: created X audience %s (%s)", audience.name, created.id, created.name)
    return _record(store, audience, created, now)


def _record(
    store: AudienceStore, audience: AudienceSettings, found: Audience, now: float
) -> AudienceRecord:
    return store.record_audience(
        name=audience.name,
        account_id=audience.account_id,
        audience_id=found.id,
        x_name=found.name,
        now=now,
    )
