"""Delivery: claim jobs from the outbox, batch them, respect X's rate budget, send, ack.

    from xconduit.delivery import DeliveryService
    service = DeliveryService(store=store, client=client, settings=settings)
    service.start()          # worker threads
    ...
    service.stop(timeout=10) # claimed jobs are released
"""

from __future__ import annotations

from xconduit.delivery.service import DeliveryService

__all__ = ["DeliveryService"]
