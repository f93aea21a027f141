"""The composition root: the one place that builds concrete classes from `Settings`.

    gateway = build_gateway(settings)        # store, group commit, collector, delivery, sandbox
    gateway.start(); serve(gateway.app); gateway.stop()

`xconduit serve` runs a `Gateway` (collector + delivery workers in one process);
`xconduit worker` runs a `Worker` (delivery only). With `x.api = "sandbox"`, X is a `Sandbox` in
this process, seeded from the configuration (its accounts, pixels, event ids and audiences exist
there), reached through an in-process transport, and shown under `/_sandbox/`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from xconduit.accounts.fleet import report_of
from xconduit.accounts.live_auth import connected_account_auth
from xconduit.accounts.monitor import SetupMonitor
from xconduit.accounts.tokens import TokenVault
from xconduit.audiences.runner import AudienceRunner, AudienceScheduler
from xconduit.config import Settings
from xconduit.config.identity import owner_keys, ownership
from xconduit.dashboard import OPS_PATHS, OpsApp
from xconduit.delivery import DeliveryService
from xconduit.delivery.pause import AccountPauses
from xconduit.errors import ConfigError
from xconduit.ingest import Collector
from xconduit.observability.event_names import EventNames
from xconduit.observability.metered import CountSink, MeteredSender, MeteredStore
from xconduit.outbox import Store
from xconduit.outbox.audience_store import AudienceStore
from xconduit.outbox.check_runs import CheckRuns
from xconduit.outbox.group_commit import GroupCommitter
from xconduit.outbox.heartbeat import Heartbeat
from xconduit.outbox.legs import LegRecorder, LegStore
from xconduit.outbox.maintenance import Maintenance
from xconduit.outbox.open import STARTUP_WAIT, open_store, sync_reports
from xconduit.outbox.syncs import SyncStore
from xconduit.sandbox import Sandbox, Seed, SeedAccount, SeedAudience, SeedEvent, SeedPixel
from xconduit.sandbox.same_origin import SameOriginWrites
from xconduit.sync.schedule import SyncScheduler
from xconduit.xads import XAdsClient, XCredentials

SANDBOX_BASE_URL = "http://sandbox"


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
    settings: Settings,
    *,
    sandbox: Sandbox | None,
    clock: Callable[[], float] = time.time,
    vault: TokenVault | None = None,
) -> XAdsClient:
    """The X Ads API client: to the in-process `sandbox`, or to `x.api` with `x`'s credentials
    (the token from `vault`, the connected account, when the configuration has none)."""
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
    only_token = bool(missing) and set(missing) <= {"access_token", "access_token_secret"}
    auth: httpx.Auth | None = None
    if vault is not None and vault.can_store and only_token:
        # Sign with the connected account's stored token, read at each request.
        credentials = XCredentials(
            consumer_key=_secret(x.consumer_key), consumer_secret=_secret(x.consumer_secret)
        )
        auth = connected_account_auth(vault, credentials)
    elif missing:
        names = ", ".join(f"XCONDUIT_X__{m.upper()}" for m in missing)
        hint = " or connect an account (`xconduit connect`)" if only_token else ""
        raise ConfigError(
            f"x.api = {x.api!r} needs credentials: set {names} (or x.* in the file){hint}"
        )
    else:
        values = {name: value.get_secret_value() for name, value in secrets.items() if value}
        credentials = XCredentials(**values)
    return XAdsClient(
        http=httpx.Client(timeout=x.timeout),
        credentials=credentials,
        base_url=x.api,
        version=x.version,
        oauth_base_url=x.oauth_url,
        clock=clock,
        auth=auth,
    )


def _secret(value: SecretStr | None) -> str:
    assert value is not None  # only the access token may be missing here
    return value.get_secret_value()


def token_vault(
    settings: Settings, store: Store, *, clock: Callable[[], float] = time.time
) -> TokenVault:
    key = settings.connect.token_key
    return TokenVault(store, key.get_secret_value() if key else None, clock=clock)


def checks_client(settings: Settings) -> XAdsClient:
    """The X client `xconduit check` uses (the in-process sandbox when `x.api = "sandbox"`)."""
    vault = None
    if settings.x.api != "sandbox" and settings.x.access_token is None:
        store = open_store(settings.server.store, busy_timeout=settings.server.busy_timeout)
        vault = token_vault(settings, store)
    return x_client(settings, sandbox=build_sandbox(settings), vault=vault)


def _in_process(sandbox: Sandbox) -> httpx.BaseTransport:
    from xconduit.sandbox import InProcessTransport

    return InProcessTransport(sandbox.app)


@dataclass(kw_only=True)
class Worker:
    """Delivery only (`xconduit worker`): the store, X, the delivery threads, the purge."""

    settings: Settings
    store: Store
    delivery: DeliveryService
    maintenance: Maintenance
    sandbox: Sandbox | None = None
    monitor: SetupMonitor | None = None
    x: XAdsClient | None = None
    heartbeat: Heartbeat | None = None

    def start(self) -> None:
        self.delivery.start()
        self.maintenance.start()
        if self.monitor is not None:
            self.monitor.start()
        if self.heartbeat is not None:
            self.heartbeat.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.monitor is not None:
            self.monitor.stop()
        self.maintenance.stop()
        self.delivery.stop(timeout=timeout)
        self.store.close()
        if self.x is not None:
            self.x.close()


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
    sandbox_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    """Lets a request change `/_sandbox/` from another origin (`X-Sandbox-Token`; printed)."""
    ops: OpsApp | None = None
    """The dashboard, `/metrics` and the `/readyz` that names failing checks."""
    monitor: SetupMonitor | None = None
    x: XAdsClient | None = None
    heartbeat: Heartbeat | None = None
    """Tells `xconduit sync --wait` that this process delivers (None without delivery)."""
    syncs: SyncScheduler | None = None
    """Runs the warehouse syncs that have a `schedule`."""
    audiences: AudienceScheduler | None = None
    """Snapshots on schedule and flushes of event-fed audience changes."""
    legs: LegRecorder | None = None
    """Writes which leg (tag or server) brought each conversion id (outbox/legs.py)."""

    @property
    def app(self) -> ASGIApp:
        """The collector; the dashboard, `/metrics`, `/readyz`; the sandbox's `/_sandbox/`
        pages when X is the in-process sandbox (readable by anyone; writable from the gateway's
        own origin or with `sandbox_token`)."""
        collector = self.collector.app
        sandbox = (
            SameOriginWrites(self.sandbox.app, token=self.sandbox_token)
            if self.sandbox is not None
            else None
        )
        ops = self.ops.app if self.ops is not None else None

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope["path"] if scope["type"] == "http" else ""
            if sandbox is not None and path.startswith("/_sandbox"):
                await sandbox(scope, receive, send)
            elif ops is not None and _is_ops(path):
                await ops(scope, receive, send)
            else:
                await collector(scope, receive, send)

        return app

    def start(self) -> None:
        self.committer.start()
        if self.legs is not None:
            self.legs.start()
        if self.delivery is not None:
            self.delivery.start()
        if self.audiences is not None:
            self.audiences.start()
        self.maintenance.start()
        if self.monitor is not None:
            self.monitor.start()
        if self.heartbeat is not None:
            self.heartbeat.start()
        if self.syncs is not None:
            self.syncs.start()
        self.ready.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is queued, stop delivery (releasing claimed jobs), close the store."""
        self.ready.clear()
        if self.monitor is not None:
            self.monitor.stop()
        if self.syncs is not None:
            self.syncs.stop(timeout)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.committer.stop(timeout)
        if self.legs is not None:
            self.legs.stop()
        self.maintenance.stop()
        if self.audiences is not None:
            self.audiences.stop(timeout)
        if self.delivery is not None:
            self.delivery.stop(timeout=timeout)
        self.store.close()
        if self.x is not None:
            self.x.close()


def _is_ops(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPS_PATHS if p != "/") or path == "/"


def metered_delivery(
    settings: Settings,
    store: Store,
    client: XAdsClient,
    *,
    clock: Callable[[], float],
) -> tuple[DeliveryService, SetupMonitor]:
    """Delivery that counts into the store, and the setup checks that pause/resume accounts."""
    pauses = AccountPauses(probe_after=float(settings.checks.interval))
    sink = CountSink(store.add_counts, clock)
    pixels = {d.pixel_id: d.account_id for d in settings.conversions}
    service = DeliveryService(
        # Every Store method, acks counted (per configured event).
        store=cast(Store, MeteredStore(store, sink, EventNames.of(settings))),
        client=MeteredSender(client, sink, accounts=pixels),
        delivery=settings.delivery,
        destinations=settings.conversions,
        request_timeout=float(settings.x.timeout),
        clock=clock,
        pauses=pauses,
        ownership=ownership(settings),
    )
    monitor = SetupMonitor(
        settings=settings,
        client=client,
        pauses=pauses,
        clock=clock,
        interval=float(settings.checks.interval),
        runs=store if isinstance(store, CheckRuns) else None,
    )
    return service, monitor


def reporting_heartbeat(
    store: Store, monitor: SetupMonitor, *, kind: str, settings: Settings
) -> Heartbeat | None:
    """The heartbeat of a delivery process, carrying its checks and pauses to the store (so every
    process of the configuration shows the fleet's alarm), sent again at once when they change,
    and the keys of the destinations it delivers (what `xconduit sync --wait` looks for)."""
    if not isinstance(store, SyncStore):
        return None
    owners = " ".join(sorted(set(owner_keys(settings).values())))
    heartbeat = Heartbeat(store, kind=kind, report=lambda: report_of(monitor), owners=owners)
    monitor.on_change = monitor.pauses.on_change = heartbeat.nudge
    return heartbeat


def build_audiences(
    settings: Settings,
    *,
    store: Store,
    client: XAdsClient,
    workdir: Path | None = None,
    clock: Callable[[], float] = time.time,
    pauses: AccountPauses | None = None,
) -> AudienceRunner:
    """`xconduit audiences` and the audience loop of `serve` (every store is an AudienceStore);
    `pauses`: the accounts conversion delivery holds, so that one refusal pauses both."""
    return AudienceRunner(
        settings=settings,
        store=cast(AudienceStore, store),
        client=client,
        clock=clock,
        workdir=workdir or Path.cwd(),
        pauses=pauses,
    )


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
    server = settings.server
    store = open_store(
        server.store, busy_timeout=server.busy_timeout, workdir=workdir, wait=STARTUP_WAIT
    )
    vault = token_vault(settings, store, clock=clock)
    client = x_client(settings, sandbox=sandbox, clock=clock, vault=vault)
    service, monitor = metered_delivery(settings, store, client, clock=clock)
    return Worker(
        settings=settings,
        store=store,
        delivery=service,
        maintenance=Maintenance(store, retention=settings.delivery.retention, clock=clock),
        sandbox=sandbox,
        monitor=monitor,
        x=client,
        heartbeat=reporting_heartbeat(store, monitor, kind="worker", settings=settings),
    )


def build_gateway(
    settings: Settings,
    *,
    workdir: Path | None = None,
    clock: Callable[[], float] = time.time,
    delivery: bool = True,
    store: Store | None = None,
    schedules: bool = True,
) -> Gateway:
    """Everything `xconduit serve` runs. `delivery=False`: collect only (benchmarks, tests).
    `schedules=False`: no sync or audience loop (the other processes of `serve --workers N`:
    the first runs them, so N processes do not diff the same snapshot N times)."""
    sandbox = build_sandbox(settings, clock=clock)
    server = settings.server
    store = store or open_store(
        server.store, busy_timeout=server.busy_timeout, workdir=workdir, wait=STARTUP_WAIT
    )
    reports = sync_reports(server.store, workdir=workdir)
    committer = GroupCommitter(store, clock=clock)
    service = monitor = client = None
    audiences = None
    vault = token_vault(settings, store, clock=clock)
    if delivery:
        client = x_client(settings, sandbox=sandbox, clock=clock, vault=vault)
        service, monitor = metered_delivery(settings, store, client, clock=clock)
        runner = build_audiences(
            settings,
            store=store,
            client=client,
            workdir=workdir,
            clock=clock,
            pauses=service.pauses,
        )
        audiences = AudienceScheduler(runner) if schedules else None
    heartbeat = (
        reporting_heartbeat(store, monitor, kind="serve", settings=settings) if monitor else None
    )
    ready = threading.Event()
    ops = OpsApp(
        settings=settings,
        store=store,
        pauses=service.pauses if service else AccountPauses(),
        monitor=monitor,
        ready=ready.is_set,
        clock=clock,
        vault=vault,
        x=client,
        reports=reports,
        delivers=delivery,
        heartbeat_id=heartbeat.id if heartbeat else None,
    )
    syncs = None
    if schedules and isinstance(store, SyncStore) and any(s.schedule > 0 for s in settings.syncs):
        syncs = SyncScheduler(settings, store, reports=reports, clock=clock)
    collector = Collector(
        settings=settings,
        committer=committer,
        clock=clock,
        ready=ready.is_set,
        count=CountSink(store.add_counts, clock),
    )
    legs = LegRecorder(store, clock=clock) if isinstance(store, LegStore) else None
    collector.acceptor.legs = legs
    return Gateway(
        settings=settings,
        store=store,
        committer=committer,
        collector=collector,
        legs=legs,
        delivery=service,
        maintenance=Maintenance(store, retention=settings.delivery.retention, clock=clock),
        sandbox=sandbox,
        ready=ready,
        ops=ops,
        monitor=monitor,
        x=client,
        heartbeat=heartbeat,
        syncs=syncs,
        audiences=audiences,
    )
