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
from xconduit.errors import ConfigError, DeliveryError, FatalDeliveryError
from xconduit.outbox.audience_jobs import AudienceRecord
from xconduit.outbox.audience_store import AudienceStore
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


NOT_FOUND_CODES = frozenset({"TAILORED_AUDIENCE_NOT_FOUND"})


def unknown_audience(error: DeliveryError) -> bool:
    """X answered 404 about the custom audience itself (not a wrong route, not an account the
    token's user cannot see): X no longer knows it (deleted, or another X or sandbox)."""
    if error.status != 404:
        return False
    return any(
        e.code in NOT_FOUND_CODES or (e.code == "NOT_FOUND" and e.parameter == "custom_audience_id")
        for e in error.errors
    )


def gone_problem(name: str, audience_id: str) -> str:
    """The one line that says an audience is gone at X, and the way out."""
    return (
        f"X does not know custom audience {audience_id} any more (404: deleted at X, or another "
        f"X account or sandbox); nothing is sent to it. Run `xconduit audiences sync {name} "
        f"--recreate` to create a new audience and send every member to it (or set "
        f'audience "{name}": audience_id to another audience, then sync with --recreate)'
    )


def recreate_audience(
    audience: AudienceSettings,
    *,
    client: AudienceDirectory,
    store: AudienceStore,
    clock: Callable[[], float],
) -> AudienceRecord:
    """Point `audience` at a new X audience (the configured `audience_id` when it is another
    one, else a new one created like on first use): the jobs not yet delivered go to it, the
    problem is cleared. The caller queues every member to be sent again."""
    record = store.audience_record(audience.name)
    if record is None:
        return ensure_audience(audience, client=client, store=store, clock=clock)
    now = clock()
    if audience.audience_id:
        if audience.audience_id == record.audience_id:
            raise ConfigError(
                f"audiences.{audience.name}.audience_id is {audience.audience_id}, the audience "
                "to replace: set another audience's id, or empty it to create one"
            )
        try:
            found = client.get_audience(audience.account_id, audience.audience_id)
        except FatalDeliveryError as exc:
            raise ConfigError(
                f"audiences.{audience.name}.audience_id: X has no custom audience "
                f"{audience.audience_id} in account {audience.account_id} ({exc})"
            ) from exc
    else:
        # Adopt one created by an interrupted --recreate (named after the old one), else create.
        newer = [
            a
            for a in client.iter_audiences(
                audience.account_id, name_prefix=f"{audience.prefix} {audience.name}", count=1000
            )
            if not a.deleted
            and a.id != record.audience_id
            and a.name > record.x_name
            and is_our_audience(a.name, audience.prefix, audience.name)
        ]
        if newer:
            found = min(newer, key=lambda a: (a.name, a.id))
        else:
            found = _create(audience, client, now)
    log.warning(
        "audience %s: X audience %s (%s) replaces %s; every member is sent again",
        audience.name,
        found.id,
        found.name,
        record.audience_id,
    )
    return store.move_audience(audience.name, audience_id=found.id, x_name=found.name, now=now)


def _create(audience: AudienceSettings, client: AudienceDirectory, now: float) -> Audience:
    stamp = datetime.fromtimestamp(now, UTC).strftime("%Y%m%d_%H%M%S")
    name = x_audience_name(audience.prefix, audience.name, stamp)
    created = client.create_audience(
        audience.account_id, name, description=f"Kept by xconduit from audience {audience.name}"
    )
    log.info("audience %s: created X audience %s (%s)", audience.name, created.id, created.name)
    return created


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
                f"outbox already syncs {record.audience_id} ({record.x_name}); run `xconduit "
                f"audiences sync {audience.name} --recreate` to move to it and send every member "
                "to it"
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
    return _record(store, audience, _create(audience, client, now), now)


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
