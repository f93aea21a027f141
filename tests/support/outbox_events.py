"""Events for the outbox integration tests: `count` events, one job each, for destination `shop`."""

from __future__ import annotations

from xconduit.outbox import IncomingEvent, NewJob


def one_job_events(count: int, *, source: str = "web") -> list[IncomingEvent]:
    return [
        IncomingEvent(
            source=source,
            message_id=f"m{n}",
            jobs=(
                NewJob(
                    destination="shop",
                    account_id="a",
                    pixel_id="p",
                    message_id=f"m{n}",
                    conversion_id=f"c{n}",
                    payload=b"{}",
                ),
            ),
        )
        for n in range(count)
    ]
