"""Delivery: claim jobs from the outbox, batch them, respect X's rate budget, send, ack.

    from xconduit.delivery import DeliveryService
    service = DeliveryService(store=store, client=client, delivery=settings.delivery)
    service.start()          # worker threads
    ...
    service.stop(timeout=10) # claimed jobs are released

The parts, each usable alone: `Batcher` (batching.py), `RateBudget` (ratelimit.py),
`RetryPolicy` (retry.py), `send_bisecting` (bisect.py), `DestinationWorker` (worker.py).
"""

from __future__ import annotations

from xconduit.delivery.batching import Batcher, BatchRules
from xconduit.delivery.bisect import BisectResult, blames_rows, send_bisecting
from xconduit.delivery.ratelimit import Allowance, BudgetBook, RateBudget
from xconduit.delivery.retry import WINDOW_EXHAUSTED, RetryDecision, RetryPolicy
from xconduit.delivery.service import DeliveryService
from xconduit.delivery.worker import (
    ConversionSender,
    DestinationWorker,
    WorkerOptions,
    WorkerStats,
)

__all__ = [
    "WINDOW_EXHAUSTED",
    "Allowance",
    "BatchRules",
    "Batcher",
    "BisectResult",
    "BudgetBook",
    "ConversionSender",
    "DeliveryService",
    "DestinationWorker",
    "RateBudget",
    "RetryDecision",
    "RetryPolicy",
    "WorkerOptions",
    "WorkerStats",
    "blames_rows",
    "send_bisecting",
]
