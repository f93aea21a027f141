"""Shedding: a bound on the requests the collector holds at once, checked before a body is read.

A request is *held* from its admission (before its body is read) until it is answered: while it
is read, parsed, mapped and waits for its commit. Past `max_requests` held, or `max_bytes` of
their bodies, a new request is refused at once with 503 and `Retry-After`: nothing of it was read
or committed, and Segment's libraries retry 5xx answers with backoff. Without the bound an
overloaded collector queues everything: every answer gets late, memory grows, and the clients'
timeouts decide what is lost.

A body's size is its `Content-Length`; a compressed or chunked body counts as the most it may
inflate to (the endpoint's limit), since that is what it may cost once read.

Everything here runs on the server's event loop (one thread), so the counts need no lock.
A burst of shedding is logged twice (when it starts and when it ends, with the number shed), and
the number shed is added to the `requests_shed` counter once a second while it lasts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from xconduit.outbox.counts import Count

log = logging.getLogger("xconduit.ingest")

SHED_RETRY_AFTER = "2"
"""Seconds a shed client is asked to wait (as for a busy store). With 1 s, under 1,500 clients the
refused ones came back so soon that refusing them took much of the time the collector had for
the admitted ones (`xconduit bench overload`: p99 1.4–2.2 s with 1 s, 0.4–0.9 s with 2 s)."""
COUNT_EVERY = 1.0
"""Seconds between additions to the `requests_shed` counter during a burst; a burst is over
when that long passed without a request shed."""


class Admission:
    """The requests held (admitted, not yet answered) and their body bytes, within bounds."""

    def __init__(
        self,
        *,
        max_requests: int,
        max_bytes: int,
        count: Callable[[Sequence[Count]], None] = lambda counts: None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`count`: where the shed counter goes (the store's counters); called in a thread."""
        self.max_requests = max_requests
        self.max_bytes = max_bytes
        self.requests = 0
        self.bytes = 0
        self.shed_total = 0
        """Requests shed by this process (the store's counter adds every process's)."""
        self._count = count
        self._monotonic = monotonic
        self._uncounted = 0
        self._burst = 0
        self._burst_began = 0.0

    def admit(self, size: int) -> bool:
        """Hold a request of `size` body bytes, or False (shed it) past a bound. A request is
        always admitted when none is held, however large (its own limit is checked later)."""
        full = self.requests >= self.max_requests or (
            self.requests > 0 and self.bytes + size > self.max_bytes
        )
        if full:
            self._shed()
            return False
        self.requests += 1
        self.bytes += size
        return True

    def release(self, size: int) -> None:
        """The request admitted with `size` is answered."""
        self.requests -= 1
        self.bytes -= size

    def _shed(self) -> None:
        self.shed_total += 1
        self._uncounted += 1
        self._burst += 1
        if self._burst == 1:
            self._burst_began = self._monotonic()
            log.warning(
                "overloaded: %d requests (%d body bytes) held, the bound is %d requests or %d "
                "bytes (server.max_in_flight, server.max_in_flight_bytes); answering 503 with "
                "Retry-After until load drops",
                self.requests,
                self.bytes,
                self.max_requests,
                self.max_bytes,
            )
            asyncio.get_running_loop().call_later(COUNT_EVERY, self._tick)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        if self._uncounted:
            counts = [Count("requests_shed", (), float(self._uncounted))]
            self._uncounted = 0
            loop.run_in_executor(None, self._count, counts)
            loop.call_later(COUNT_EVERY, self._tick)
            return
        seconds = self._monotonic() - self._burst_began
        log.warning(
            "overload over: %d requests shed (503) in %.1f s; every request is answered again",
            self._burst,
            seconds,
        )
        self._burst = 0
