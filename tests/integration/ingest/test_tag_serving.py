"""`/tag.js` and `/tag/plugin.js` as a browser gets them over real HTTP: compressed (brotli when
asked, else gzip), within the 8 KB gzipped budget on the bytes actually sent, with an ETag that
turns a repeat visit into a 304, and a cache policy."""

from __future__ import annotations

import gzip

import brotli
import httpx
import pytest

from xconduit.ingest.assets import choose_encoding
from xconduit.tag import plugin_js, tag_js

BUDGET = 8 * 1024  # gzipped bytes on the wire, as the website-tag how-to promises
FILES = [("/tag.js", tag_js), ("/tag/plugin.js", plugin_js)]
ENCODINGS = ["br", "gzip", "identity"]


def _raw(http: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent (not decoded by the client)."""
    with http.stream("GET", path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


@pytest.mark.parametrize(("path", "source"), FILES)
def test_gzip_is_sent_within_the_budget_and_is_the_file(
    http: httpx.Client, path: str, source: object
) -> None:
    response, sent = _raw(http, path, **{"Accept-Encoding": "gzip, deflate"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(sent) <= BUDGET, f"{path}: {len(sent)} gzipped bytes sent"
    assert gzip.decompress(sent) == source()  # type: ignore[operator]
    assert "accept-encoding" in response.headers["vary"].lower()


@pytest.mark.parametrize(("path", "source"), FILES)
def test_brotli_where_asked_and_smaller_than_gzip(
    http: httpx.Client, path: str, source: object
) -> None:
    response, sent = _raw(http, path, **{"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert response.headers["content-encoding"] == "br"
    assert brotli.decompress(sent) == source()  # type: ignore[operator]
    _, gzipped = _raw(http, path, **{"Accept-Encoding": "gzip"})
    assert len(sent) < len(gzipped)


def test_plain_when_nothing_is_accepted(http: httpx.Client) -> None:
    response, sent = _raw(http, "/tag.js", **{"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert sent == tag_js()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_repeat_visit_is_a_304_without_a_body(http: httpx.Client, encoding: str) -> None:
    first, _ = _raw(http, "/tag.js", **{"Accept-Encoding": encoding})
    etag = first.headers["etag"]
    assert "max-age=" in first.headers["cache-control"]
    again, body = _raw(http, "/tag.js", **{"Accept-Encoding": encoding, "If-None-Match": etag})
    assert again.status_code == 304
    assert body == b""
    assert again.headers["etag"] == etag
    other, body = _raw(http, "/tag.js", **{"Accept-Encoding": encoding, "If-None-Match": '"old"'})
    assert other.status_code == 200
    assert body


def test_each_encoding_has_its_own_etag(http: httpx.Client) -> None:
    tags = {_raw(http, "/tag.js", **{"Accept-Encoding": e})[0].headers["etag"] for e in ENCODINGS}
    assert len(tags) == len(ENCODINGS)


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("", "identity"),
        ("gzip", "gzip"),
        ("br;q=1.0, gzip;q=0.8", "br"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0, identity", "identity"),
        ("GZIP", "gzip"),
        ("br;q=nonsense, gzip", "gzip"),
    ],
)
def test_accept_encoding_is_read_with_its_weights(header: str, chosen: str) -> None:
    assert choose_encoding(header) == chosen
