"""Ingest: events in. The Segment-compatible HTTP collector (`Collector`), its limits and checks.

collector = Collector(settings=settings, committer=group_committer)
serving.server(collector.app).run(sockets=[serving.listen(host, port)])  # not uvicorn.run: Nagle
"""

from __future__ import annotations

from xconduit.ingest.accept import Accepted, EventAcceptor, Rejected
from xconduit.ingest.body import MAX_EVENT_BYTES, MAX_REQUEST_BYTES, RequestRejected, read_body
from xconduit.ingest.http import ENDPOINTS, Collector, Committer
from xconduit.ingest.openapi import openapi_document

__all__ = [
    "ENDPOINTS",
    "MAX_EVENT_BYTES",
    "MAX_REQUEST_BYTES",
    "Accepted",
    "Collector",
    "Committer",
    "EventAcceptor",
    "Rejected",
    "RequestRejected",
    "openapi_document",
    "read_body",
]
