"""Serve the gateway's ASGI app in a background thread, for benchmarks and tests."""

from __future__ import annotations

from xconduit.serving import serve_in_thread

__all__ = ["serve_in_thread"]
