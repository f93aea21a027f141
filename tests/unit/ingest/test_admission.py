"""The bound on the requests the collector holds (pure counts; the shed path needs a loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from xconduit.ingest.admission import Admission
from xconduit.outbox.counts import Count


@pytest.mark.parametrize(
    ("held", "held_bytes", "size", "admitted"),
    [
        ([], 0, 10_000, True),  # nothing held: admitted however large
        ([100], 100, 100, True),
        ([100, 100], 200, 1, False),  # max_requests reached
        ([100], 100, 901, False),  # max_bytes exceeded
        ([100], 100, 900, True),  # exactly max_bytes
    ],
)
def test_a_request_is_admitted_within_both_bounds(
    held: list[int], held_bytes: int, size: int, admitted: bool
) -> None:
    async def run() -> bool:
        admission = Admission(max_requests=2, max_bytes=1_000)
        for held_size in held:
            assert admission.admit(held_size)
        assert admission.bytes == held_bytes
        return admission.admit(size)

    assert asyncio.run(run()) is admitted


def test_release_frees_the_room_and_sheds_are_counted_once_a_second() -> None:
    counted: list[Sequence[Count]] = []

    async def run() -> Admission:
        admission = Admission(max_requests=1, max_bytes=1_000, count=counted.append)
        assert admission.admit(10)
        assert not admission.admit(10)
        assert not admission.admit(10)
        admission.release(10)
        assert admission.admit(10)  # recovery: the next request is admitted at once
        admission.release(10)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not counted and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return admission

    admission = asyncio.run(run())
    assert (admission.requests, admission.bytes, admission.shed_total) == (0, 0, 2)
    assert counted == [[Count("requests_shed", (), 2.0)]]
