"""Events and jobs for outbox tests."""

from __future__ import annotations

from xconduit.outbox import IncomingEvent, NewJob


def job(message_id: str, *, destination: str = "shop", payload: bytes | None = None) -> NewJob:
    return NewJob(
        destination=destination,
        account_id="18ce552mlaq",
        pixel_id="oka17",
        message_id=message_id,
        conversion_id=f"order-{message_id}",
        payload=payload
        if payload is not None
        else b'{"conversion_id":"order-%s"}' % message_id.encode(),
    )


def event(
    message_id: str, *, source: str = "website", destinations: tuple[str, ...] = ("shop",)
) -> IncomingEvent:
    return IncomingEvent(
        source=source,
        message_id=message_id,
        jobs=tuple(job(message_id, destination=d) for d in destinations),
    )
