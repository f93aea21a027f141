"""One event's delivery job of a given priority, for the tests of waiting per priority."""

from __future__ import annotations

from xconduit.outbox import IncomingEvent, NewJob


def priority_job(
    message_id: str,
    *,
    priority: int,
    destination: str = "shop",
    owner: str = "",
    account_id: str = "18ce552mlaq",
    pixel_id: str = "oka17",
) -> IncomingEvent:
    new = NewJob(
        destination=destination,
        account_id=account_id,
        pixel_id=pixel_id,
        message_id=message_id,
        conversion_id=message_id,
        payload=b"{}",
        owner=owner,
        priority=priority,
    )
    return IncomingEvent(source="web", message_id=message_id, jobs=(new,))
