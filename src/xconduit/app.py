"""The composition root: the one place that builds concrete classes from `Settings`.

    gateway = build_gateway(settings)        # store, group commit, collector, delivery, sandbox
    gateway.start(); serve(gateway.app); gateway.stop()

`xconduit serve` runs a `Gateway` (collector + delivery workers in one process);
`xconduit worker` runs a `Worker` (delivery only). With `x.api = "sandbox"`, X is a `Sandbox` in
this process, seeded from the configuration (its accounts, pixels, event ids and audiences exist
there), reached through an in-process transport, and shown under `/_sandbox/`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from xconduit.config import Settings
from xconduit.delivery import DeliveryService
from xconduit.errors import ConfigError, XconduitError
from xconduit.ingest import Collector
from xconduit.queue import DEDUP_WINDOW_SECONDS, Store
from xconduit.queue.group_commit import GroupCommitter
from xconduit.queue.sqlite import SqliteStore
from xconduit.sandbox import Sandbox, Seed, SeedAccount, SeedAudience, SeedEvent, SeedPixel
from xconduit.xads import XAdsClient, XCredentials

log = logging.getLogger("xconduit")

SANDBOX_BASE_URL = "http://sandbox"
PURGE_INTERVAL = 3600.0


def store_path(settings: Settings, *, workdir: Path | None = None) -> Path:
    """The SQLite file named by `server.store`; a relative path is under `workdir` (or cwd)."""
    url = settings.server.store
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"server.store = {url!r}: only sqlite:/// stores exist so far")
    path = Path(url.removeprefix("sqlite:///"))
    return path if path.is_absolute() else (workdir or Path.cwd()) / path


def open_store(settings: Settings, *, workdir: Path | None = None) -> Store:
    """The outbox named by `server.store`, created (with its folder) when missing."""
    if settings.server.store.startswith(("postgresql://", "postgres://")):
        from xconduit.queue.postgres_open import open_postgres  # psycopg: the postgres extra

        return open_postgres(settings.server.store)
    path = store_path(settings, workdir=workdir)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path)


def sandbox_seed(settings: Settings) -> Seed:
    """The sandbox's accounts, pixels, events and audiences, as the configuration names them."""
    pixels: dict[tuple[str, str], dict[str, SeedEvent]] = {}
    seen: set[str] = set()  # X ids are unique across the sandbox
    for dest in settings.conversions:
        key = (dest.account_id, dest.pixel_id)
        if key not in pixels and dest.pixel_id in seen:
            continue
        seen.add(dest.pixel_id)
        events = pixels.setdefault(key, {})
        for name, event_id in [*dest.events.items(), ("Page view", dest.page_event_id)]:
            bare = event_id.rsplit("-", 1)[-1]
            if bare and bare not in seen:
                seen.add(bare)
                events[bare] = SeedEvent(id=bare, name=name, type="CUSTOM")
    accounts: dict[str, list[SeedPixel]] = {}
    for (account_id, pixel_id), events in pixels.items():
        accounts.setdefault(account_id, []).append(
            SeedPixel(id=pixel_id, events=tuple(events.values()))
        )
    audiences: dict[str, list[SeedAudience]] = {}
    for audience in settings.audiences:
        accounts.setdefault(audience.account_id, [])
        if audience.audience_id:
            audiences.setdefault(audience.account_id, []).append(
                SeedAudience(id=audience.audience_id, name=f"{audience.prefix} {audience.name}")
            )
    return Seed(
        accounts=tuple(
            SeedAccount(
                id=account_id,
                name=f"Sandbox account {account_id}",
                pixels=tuple(account_pixels),
                audiences=tuple(audiences.get(account_id, ())),
            )
            for account_id, account_pixels in accounts.items()
        )
    )


def x_client(
    settings: Settings, *, sandbox: Sandbox | None, clock: Callable[[], float] = time.time
) -> XAdsClient:
    """The X Ads API client: to the in-process `sandbox`, or to `x.api` with `x`'s credentials."""
    x = settings.x
    if sandbox is not None:
        c = sandbox.credentials
        return XAdsClient(
            http=httpx.Client(transport=_in_process(sandbox), timeout=x.timeout),
            credentials=XCredentials(
                consumer_key=c.consumer_key,
                consumer_secret=c.consumer_secret,
                access_token=c.access_token,
                access_token_secret=c.access_token_secret,
            ),
            base_url=SANDBOX_BASE_URL,
            version=x.version,
            oauth_base_url=SANDBOX_BASE_URL,
            clock=clock,
        )
    secrets = {
        name: getattr(x, name)
        for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
    }
    missing = [name for name, value in secrets.items() if value is None]
    if missing:
        names = ", ".join(f"XCONDUIT_X__{m.upper()}" for m in missing)
        raise ConfigError(f"x.api = {x.api!r} needs credentials: set {names} (or x.* in the file)")
    values = {name: value.get_secret_value() for name, value in secrets.items() if value}
    return XAdsClient(
        http=httpx.Client(timeout=x.timeout),
        credentials=XCredentials(**values),
        base_url=x.api,
        version=x.version,
        oauth_base_url=x.oauth_host,
        clock=clock,
    )


def _in_process(sandbox: Sandbox) -> httpx.BaseTransport:
    from xconduit.sandbox import InProcessTransport

    return InProcessTransport(sandbox.app)


class Maintenance:
    """A thread that periodically forgets old dedup rows and purges old delivered jobs."""

    def __init__(
        self,
        store: Store,
        *,
        retention: float,
        clock: Callable[[], float] = time.time,
        interval: float = PURGE_INTERVAL,
    ) -> None:
        self._store = store
        self._retention = retention
        self._clock = clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        """(delivered jobs purged, dedup rows forgotten)."""
        now = self._clock()
        delivered = self._store.purge_delivered(now - self._retention)
        # The dedup window is at least 24 h, and as long as delivered jobs are kept.
        dedup = self._store.purge_dedup(now - max(DEDUP_WINDOW_SECONDS, self._retention))
        return delivered, dedup

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
            except XconduitError as exc:  # try again next round; the store may be busy
                log.warning("outbox purge failed: %s", exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-purge", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


@dataclass(kw_only=True)
class Worker:
    """Delivery only (`xconduit worker`): the store, X, the delivery threads, the purge."""

    settings: Settings
    store: Store
    delivery: DeliveryService
    maintenance: Maintenance
    sandbox: Sandbox | None = None

    def start(self) -> None:
        self.delivery.start()
        self.maintenance.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.maintenance.stop()
        self.delivery.stop(timeout=timeout)
        self.store.close()


@dataclass(kw_only=True)
class Gateway:
    """Collector + delivery in one process (`xconduit serve`). Serve `app` between start/stop."""

    settings: Settings
    store: Store
    committer: GroupCommitter
    collector: Collector
    delivery: DeliveryService | None
    maintenance: Maintenance
    sandbox: Sandbox | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    """Set between `start` and `stop` (what `/readyz` answers)."""

    @property
    def app(self) -> ASGIApp:
        """The collector, with the sandbox's `/_sandbox/` pages when X is the in-process sandbox."""
        collector = self.collector.app
        sandbox = self.sandbox
        if sandbox is None:
            return collector

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/_sandbox"):
                await sandbox.app(scope, receive, send)
            else:
                await collector(scope, receive, send)

        return app

    def start(self) -> None:
        self.committer.start()
        if self.delivery is not None:
            self.delivery.start()
        self.maintenance.start()
        self.ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, stop delivery (releasing claimed jobs), close the store."""
        self.ready.clear()
        self.committer.stop(timeout)
        self.maintenance.stop()
        if self.delivery is not None:
            self.delivery.stop(timeout=timeout)
        self.store.close()


def build_sandbox(settings: Settings, *, clock: Callable[[], float] = time.time) -> Sandbox | None:
    """The in-process sandbox when `x.api = "sandbox"`, seeded from the configuration."""
    return (
        Sandbox(seed=sandbox_seed(settings), clock=clock) if settings.x.api == "sandbox" else None
    )


def build_worker(
    settings: Settings, *, workdir: Path | None = None, clock: Callable[[], float] = time.time
) -> Worker:
    if settings.x.api == "sandbox":
        # The built-in sandbox lives inside one process; a worker of its own would deliver to a
        # private copy that `xconduit serve` never shows.
        raise ConfigError(
            'x.api = "sandbox": a separate worker cannot reach the sandbox inside the gateway. '
            "Run `xconduit serve` alone, or run `xconduit sandbox` and set x.api to its URL."
        )
    sandbox = None
    store = open_store(settings, workdir=workdir)
    client = x_client(settings, sandbox=sandbox, clock=clock)
    return Worker(
        settings=settings,
        store=store,
        delivery=DeliveryService(store=store, client=client, settings=settings, clock=clock),
        maintenance=Maintenance(store, retention=settings.delivery.retention, clock=clock),
        sandbox=sandbox,
    )


def build_gateway(
    settings: Settings,
    *,
    workdir: Path | None = None,
    clock: Callable[[], float] = time.time,
    delivery: bool = True,
    store: Store | None = None,
) -> Gateway:
    """Everything `xconduit serve` runs. `delivery=False`: collect only (benchmarks, tests)."""
    sandbox = build_sandbox(settings, clock=clock)
    store = store or open_store(settings, workdir=workdir)
    committer = GroupCommitter(store, clock=clock)
    service = None
    if delivery:
        client = x_client(settings, sandbox=sandbox, clock=clock)
        service = DeliveryService(store=store, client=client, settings=settings, clock=clock)
    ready = threading.Event()
    return Gateway(
        settings=settings,
        store=store,
        committer=committer,
        collector=Collector(
            settings=settings, committer=committer, clock=clock, ready=ready.is_set
        ),
        delivery=service,
        maintenance=Maintenance(store, retention=settings.delivery.retention, clock=clock),
        sandbox=sandbox,
        ready=ready,
    )
