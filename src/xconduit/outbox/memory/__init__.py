"""The outbox in memory: the test fake and the dry runs' store (see `store.py`)."""

from __future__ import annotations

from xconduit.outbox.memory.store import MemoryStore

__all__ = ["MemoryStore"]
