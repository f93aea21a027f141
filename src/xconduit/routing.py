"""An event's mapping results → what the outbox keeps: delivery jobs, and the audience changes and
problems (pure). The collector and warehouse syncs both build their jobs here, so a row and its
Segment event give the same bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson

from xconduit.audiences.events import AudienceEvents
from xconduit.events import Event
from xconduit.mapping import MappingResult
from xconduit.outbox import NewJob
from xconduit.outbox.audience_jobs import AudienceChange


def jobs_of(
    results: Sequence[MappingResult],
    message_id: str,
    owners: Mapping[str, str],
    *,
    priority: int | None = None,
) -> tuple[NewJob, ...]:
    """The delivery jobs of an event's mapping results, one per conversion (its exact bytes),
    each tagged with its destination's key in `owners` (`xconduit.config.identity.owner_keys`)
    and claimed in its priority (`priority`: every job's, instead of the mapping's)."""
    return tuple(
        NewJob(
            destination=result.destination,
            account_id=result.account_id,
            pixel_id=result.pixel_id,
            message_id=message_id,
            conversion_id=str(result.conversion.get("conversion_id") or message_id),
            payload=orjson.dumps(result.conversion),
            owner=owners.get(result.destination, ""),
            priority=result.priority if priority is None else priority,
            conversion_time=str(result.conversion.get("conversion_time", "")),
        )
        for result in results
        if result.outcome == "conversion" and result.conversion is not None
    )


def audience_changes(
    audiences: AudienceEvents | None, event: Event, message_id: str
) -> tuple[tuple[AudienceChange, ...], list[MappingResult]]:
    """The audience changes of `event`, and an `invalid` result per audience it cannot join
    (destination `audience:<name>`)."""
    if audiences is None:
        return (), []
    changes, problems = audiences.read(event)
    return changes, [
        MappingResult("invalid", f"audience:{name}", "", "", message_id, reason=reason)
        for name, reason in problems
    ]
