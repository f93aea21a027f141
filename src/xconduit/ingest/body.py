"""Reading a request body within the collector's limits, while reading and after decompression.

The limit is checked on every chunk as it arrives, so an endless or oversized body is cut off
after `limit` bytes instead of being buffered. A compressed body is inflated chunk by chunk with
`zlib.decompressobj(...).decompress(chunk, max_length)`: the output never exceeds the limit by more
than one byte, so a gzip bomb costs at most `limit` bytes of memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from xconduit.errors import InvalidEvent

KB = 1024
MAX_EVENT_BYTES = 32 * KB
"""Segment's limit on one event."""
MAX_REQUEST_BYTES = 500 * KB
"""Segment's limit on one request (a batch)."""


class RequestRejected(InvalidEvent):
    """The request cannot be read as events."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.status = status


def too_large(limit: int, what: str) -> RequestRejected:
    return RequestRejected(
        f"{what} is larger than the {limit // KB} KB limit ({limit} bytes)", status=413
    )


def _decoder(content_encoding: str) -> zlib._Decompress | None:
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise RequestRejected(
        f"Content-Encoding {content_encoding!r} is not supported (send gzip, deflate or none)"
    )


async def read_body(
    chunks: AsyncIterator[bytes], *, content_encoding: str, limit: int, what: str
) -> bytes:
    """The whole (decompressed) body, or `RequestRejected` (413 past `limit`, 400 bad gzip)."""
    decoder = _decoder(content_encoding)
    received = 0
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if not chunk:
            continue
        received += len(chunk)
        if received > limit:  # compressed or not, more than `limit` on the wire is too much
            raise too_large(limit, what)
        if decoder is None:
            parts.append(chunk)
            size = received
            continue
        try:
            out = decoder.decompress(chunk, limit - size + 1)
        except zlib.error as exc:
            raise RequestRejected(f"the body is not valid {content_encoding}: {exc}") from None
        size += len(out)
        if size > limit:
            raise too_large(limit, f"{what} (after decompression)")
        parts.append(out)
    if decoder is not None and not decoder.eof:
        raise RequestRejected(f"the {content_encoding} body is truncated")
    return b"".join(parts)
