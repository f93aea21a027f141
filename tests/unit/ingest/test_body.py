"""Reading a request body within the limits (`read_body`, no HTTP): what a client is answered."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Iterable

import pytest

from xconduit.ingest.body import RequestRejected, read_body

LIMIT = 2048
TEXT = b'{"batch": [' + b'{"type": "track", "event": "x"},' * 20 + b"{}]}"


def deflated(data: bytes) -> bytes:
    return zlib.compress(data)


def in_chunks(data: bytes, size: int = 100) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


async def _stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def read(chunks: Iterable[bytes], encoding: str = "", limit: int = LIMIT) -> bytes:
    return asyncio.run(
        read_body(_stream(chunks), content_encoding=encoding, limit=limit, what="the request")
    )


@pytest.mark.parametrize(
    ("encoding", "wire"),
    [
        ("", TEXT),
        ("identity", TEXT),
        ("gzip", gzip.compress(TEXT, mtime=0)),
        (" GZIP ", gzip.compress(TEXT, mtime=0)),
        ("x-gzip", gzip.compress(TEXT, mtime=0)),
        ("deflate", deflated(TEXT)),
    ],
)
def test_a_body_is_read_whole_in_any_supported_encoding(encoding: str, wire: bytes) -> None:
    assert read([b"", *in_chunks(wire, 7)], encoding) == TEXT


BOMB = gzip.compress(b"0" * 1_000_000, mtime=0)  # about 1 KB on the wire


@pytest.mark.parametrize(
    ("encoding", "wire", "status", "words"),
    [
        ("br", TEXT, 400, "Content-Encoding 'br' is not supported (send gzip, deflate or none)"),
        ("gzip", b"not gzip at all", 400, "the body is not valid gzip"),
        ("gzip", gzip.compress(TEXT, mtime=0)[:-12], 400, "the gzip body is truncated"),
        ("", b"x" * (LIMIT + 1), 413, "the request is larger than the 2 KB limit (2048 bytes)"),
        ("gzip", BOMB, 413, "the request (after decompression) is larger than the 2 KB limit"),
    ],
)
def test_a_bad_body_is_refused_with_the_status_and_the_rule(
    encoding: str, wire: bytes, status: int, words: str
) -> None:
    with pytest.raises(RequestRejected) as caught:
        read(in_chunks(wire), encoding)
    assert caught.value.status == status
    assert words in str(caught.value)
    assert b"x" * 20 not in str(caught.value).encode()


def test_an_endless_body_is_cut_off_once_past_the_limit() -> None:
    pulled = 0

    def endless() -> Iterable[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield b"y" * 100

    with pytest.raises(RequestRejected):
        read(endless())
    assert pulled == LIMIT // 100 + 1  # nothing read past the chunk that crossed the limit
