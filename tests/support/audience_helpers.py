"""Helpers for the audience tests: a runner wired to a sandbox served on loopback."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa

from xconduit.audiences.runner import AudienceRunner
from xconduit.config import Settings
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox
from xconduit.xads import XAdsClient, XCredentials
from xconduit.xads.auth import OAuth1Auth

ACCOUNT = "18ce552mlaq"


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def settings(**audience: Any) -> Settings:
    values: dict[str, Any] = {
        "name": "vip",
        "account_id": ACCOUNT,
        "source": "snapshot",
        "identifiers": {"email": "email"},
        "flush_users": 1000,
        "flush_interval": 300,
        **audience,
    }
    return Settings.model_validate(
        {
            "audiences": [values],
            "delivery": {"retry_min": 0.01, "retry_max": 0.02},
        }
    )


class Snapshots:
    """The snapshot each run reads: a list of rows, handed out as Arrow batches."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def set_emails(self, emails: Iterable[str]) -> None:
        self.rows = [{"email": e} for e in emails]

    @contextlib.contextmanager
    def __call__(self, audience: Any) -> Iterator[Iterable[Any]]:
        columns = sorted({k for row in self.rows for k in row}) or ["email"]
        table = pa.table(
            {c: pa.array([row.get(c) for row in self.rows], pa.string()) for c in columns}
        )
        yield table.to_batches(max_chunksize=700) or [
            pa.RecordBatch.from_pydict({c: pa.array([], pa.string()) for c in columns})
        ]


def client_for(
    sb: Sandbox, base_url: str, http: httpx.Client, *, clock: Callable[[], float] | None = None
) -> XAdsClient:
    """A client of the sandbox; with `clock`, requests are signed and read at that time."""
    c = sb.credentials
    credentials = XCredentials(
        consumer_key=c.consumer_key,
        consumer_secret=c.consumer_secret,
        access_token=c.access_token,
        access_token_secret=c.access_token_secret,
    )
    timed: dict[str, Any] = {}
    if clock is not None:
        timed = {"clock": clock, "auth": OAuth1Auth(credentials, clock=clock)}
    return XAdsClient(
        http=http,
        credentials=credentials,
        base_url=base_url,
        oauth_base_url=base_url,
        **timed,
    )


def runner(
    config: Settings,
    db: Path,
    client: XAdsClient,
    snapshots: Snapshots,
    **kwargs: Any,
) -> AudienceRunner:
    return AudienceRunner(
        settings=config,
        store=SqliteStore(db),
        client=client,
        snapshots=snapshots,
        workdir=db.parent,
        **kwargs,
    )


def members(sb: Sandbox, audience_id: str) -> set[tuple[tuple[str, tuple[str, ...]], ...]]:
    """The sandbox audience's members, each as sorted (key, values) pairs."""
    found = sb.audience_members(audience_id)
    assert found is not None
    return {tuple(sorted((k, tuple(v)) for k, v in m.items())) for m in found}


def emails_as_members(emails: Sequence[str]) -> set[tuple[tuple[str, tuple[str, ...]], ...]]:
    return {(("email", (sha(e.strip().lower()),)),) for e in emails}


def user_requests(sb: Sandbox) -> list[dict[str, Any]]:
    return [r for r in sb.requests() if r.get("path", "").endswith("/users")]
