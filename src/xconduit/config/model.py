"""The typed configuration tree. Every field's docstring is its documentation.

`docs/reference/config.md` is generated from these classes (`make docs`); a test keeps it in step.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal
from urllib.parse import urlsplit

from phonenumbers import SUPPORTED_REGIONS as PHONE_REGIONS
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xconduit.config.types import Duration, check_base36_id, check_event_id

X_ADS_HOSTS = frozenset({"ads-api.x.com", "ads-api.twitter.com"})
X_OAUTH_HOST = "https://api.x.com"
_MODEL = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
_LISTEN = re.compile(r"^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_HOST = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$")


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(f'name "{value}" may only contain letters, digits, "_", "." and "-"')
    return value


class ServerSettings(BaseModel):
    model_config = _MODEL

    listen: str = "127.0.0.1:8088"
    """Address and port the collector, the website tag and the sandbox view listen on
    (`host:port`)."""
    store: str = "sqlite:///.xconduit/xconduit.db"
    """Where the outbox lives: `sqlite:///<path>` (relative to the working folder; an absolute
    path is `sqlite:////var/lib/xconduit/outbox.db`), or `postgresql://user@host/db` for several
    processes or hosts sharing one outbox (see docs/howto/scale-out.md)."""
    busy_timeout: Duration = 5.0
    """Longest wait for the outbox when another writer holds it (e.g. delivery claims or a second
    process), or with PostgreSQL for a working connection: past it a write fails, and the
    collector answers 503 with `Retry-After` (clients retry; the retry is deduplicated on
    `messageId`) instead of holding the request."""
    max_in_flight: int = 64
    """Most requests the collector holds at once (read, mapped or waiting for their commit, not
    yet answered). Past it a new request is answered 503 with `Retry-After` at once, before its
    body is read (nothing of it committed; clients retry), so that the requests held are answered
    in time and memory stays flat under overload (docs/explanation/performance.md). Health
    checks, `/metrics` and the dashboard are never refused."""
    max_in_flight_bytes: int = 8 * 1024 * 1024
    """Most body bytes of the requests held (a compressed or chunked body counts as its limit:
    32 KB for one event, 500 KB for a batch). Past it, 503 as for `max_in_flight`; a request is
    always admitted when none is held."""

    @field_validator("max_in_flight", "max_in_flight_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("busy_timeout")
    @classmethod
    def _busy_timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError('must be more than 0 (e.g. "5s")')
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        if not _LISTEN.match(value):
            raise ValueError(f'"{value}" is not host:port (expected e.g. "127.0.0.1:8088")')
        return value

    @field_validator("store")
    @classmethod
    def _store(cls, value: str) -> str:
        if value.startswith(("postgresql://", "postgres://")):
            return value
        if not value.startswith("sqlite:///"):
            # No in-memory store here: the collector answers 200 only for what survives a
            # restart. Tests inject a MemoryStore directly.
            raise ValueError(
                f'"{value}" is not a store URL (expected "sqlite:///path/to.db" or '
                '"postgresql://user@host/db")'
            )
        return value


class XSettings(BaseModel):
    model_config = _MODEL

    api: str = "sandbox"
    """`sandbox` for the built-in X sandbox, or the Ads API host, e.g. `https://ads-api.x.com`."""
    version: str = "12"
    """Ads API version used in request paths."""
    oauth_host: str | None = None
    """Host of X's OAuth 1.0a token endpoints (request_token, authorize, access_token). Unset:
    `https://api.x.com` when `api` is X's Ads API (`ads-api.x.com`, `ads-api.twitter.com`),
    else `api` itself, so that a sandbox (or a proxy) at `api` is never bypassed for X."""
    consumer_key: SecretStr | None = None
    """App consumer key (API key). Prefer `XCONDUIT_X__CONSUMER_KEY` or a secret file."""
    consumer_secret: SecretStr | None = None
    """App consumer secret. Prefer `XCONDUIT_X__CONSUMER_SECRET` or
    `XCONDUIT_X__CONSUMER_SECRET_FILE`."""
    access_token: SecretStr | None = None
    """User access token of an ACCOUNT_ADMIN or AD_MANAGER of the ad accounts used."""
    access_token_secret: SecretStr | None = None
    """User access token secret."""
    timeout: Duration = 30.0
    """Timeout of one request to X."""

    @field_validator("api")
    @classmethod
    def _api(cls, value: str) -> str:
        if value != "sandbox" and not value.startswith(("https://", "http://")):
            raise ValueError(f'"{value}" is not "sandbox" or an http(s) URL')
        return value.rstrip("/")

    @field_validator("oauth_host")
    @classmethod
    def _oauth_host(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError(f'"{value}" is not an http(s) URL')
        return None if value is None else value.rstrip("/")

    @property
    def oauth_url(self) -> str:
        """Where the OAuth token endpoints are: `oauth_host`, else X's when `api` is X's."""
        if self.oauth_host is not None:
            return self.oauth_host
        host = urlsplit(self.api).hostname or ""
        return X_OAUTH_HOST if host in X_ADS_HOSTS or self.api == "sandbox" else self.api


class SourceSettings(BaseModel):
    model_config = _MODEL

    name: str
    """Name of the source, shown in the dashboard and stored with its events."""
    write_keys: list[SecretStr] = Field(min_length=1)
    """Write keys that identify this source (HTTP Basic user or `writeKey` in the body)."""
    allowed_origins: list[str] = []
    """Browser origins allowed by CORS (`*` for any); empty: requests that carry an `Origin`
    header (browsers) are refused with 403, server-side clients are unaffected."""
    rate_limit: float = 0
    """Requests per second allowed per source; 0 turns the limit off."""
    client_ip: bool = False
    """Use the HTTP client's address as `context.ip` of every event that has none. Off: only
    browser traffic gets it (events whose `context.library.name` is `analytics.js`,
    `analytics-next` or `xconduit-tag`); a server library's address is the backend's."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))


class TagSettings(BaseModel):
    model_config = _MODEL

    syntax: Literal["event", "legacy"] = "event"
    """`event`: X's current pixel (`twq('event', …)`); `legacy`: the classic analytics.js tags."""
    universal_pixel_id: str = ""
    """Base pixel id loaded on every page (`twq('config'|'init', id)`); empty: no base tag."""
    page_pixel: str = ""
    """Legacy single-event tag fired on every page view; empty: none."""
    single_event_tags: dict[str, list[str]] = {}
    """Legacy: event name → single-event tag ids fired as image pixels."""
    send_pii_to_pixel: bool = False
    """Pass `email_address` / `phone_number` to the pixel (it hashes them in the browser)."""


class IdentifierPathSettings(BaseModel):
    model_config = _MODEL

    email: list[str] = []
    """Dotted paths read for the email before the defaults (e.g. `properties.customer_email`)."""
    phone: list[str] = []
    """Dotted paths read for the phone number before the defaults."""
    twclid: list[str] = []
    """Dotted paths read for the click id before the defaults."""
    ip_address: list[str] = []
    """Dotted paths read for the IP address before the defaults."""
    user_agent: list[str] = []
    """Dotted paths read for the user agent before the defaults."""


class ConversionDestination(BaseModel):
    model_config = _MODEL

    name: str
    """Name of this destination (one X pixel), used in logs, metrics and `xconduit map`."""
    account_id: str
    """X ad account that owns the pixel (e.g. `18ce552mlaq`)."""
    pixel_id: str
    """X pixel (base tag) id; the Conversion API path is `/measurement/conversions/<pixel_id>`."""
    events: dict[str, str] = {}
    """Event name → X event id, `tw-<pixel>-<event>` (a bare `<event>` becomes that, with this
    destination's `pixel_id`: the form X's pixel takes, sent on both legs). Names match
    case-insensitively."""
    page_event_id: str = ""
    """X event id for page views (`tw-<pixel>-<event>`, or the bare `<event>`); empty: page
    events are filtered."""
    sources: list[str] = []
    """Sources whose events go to this destination; empty: every source."""
    product_identifier: Literal["product_id", "sku"] = "product_id"
    """Which product field becomes `content_id` (and the legacy tag's `content_ids`)."""
    default_currency: str = "USD"
    """Currency of `value` when the event has no `currency`."""
    phone_region: str = "US"
    """Region (ISO 3166 alpha-2) used to read phone numbers written without `+`."""
    consent_category: str = "Advertising"
    """Consent category that must be `true` in `context.consent.categoryPreferences`;
    empty: consent is not checked."""
    missing_consent: Literal["allow", "deny"] = "allow"
    """What to do with events that carry no consent information."""
    value_on_pre_purchase: bool = False
    """Send `value` on pre-purchase e-commerce events (Product Viewed, Product Added, …)."""
    identifiers: IdentifierPathSettings = IdentifierPathSettings()
    """Extra field paths for identifiers, read before the defaults of the mapping rules."""
    tag: list[TagSettings] = []
    """Browser side of the same pixel (`[[conversions.tag]]`)."""
    priority: dict[str, int] = {}
    """Event name (`page`: page views) → delivery priority, 0 first to 9 last, used when the
    account's backlog is more than its rate budget sends in one window. Events not named here:
    Order Completed (and Purchase, Purchased, Checkout Completed) 0, page views 8, others 4.
    Names match case-insensitively."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))

    @field_validator("account_id", "pixel_id")
    @classmethod
    def _ids(cls, value: str) -> str:
        return check_base36_id(value, what="id")

    @field_validator("default_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{3}", value):
            raise ValueError(f'"{value}" is not an ISO 4217 currency code (e.g. "USD")')
        return value.upper()

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value) or value.upper() not in PHONE_REGIONS:
            raise ValueError(
                f'"{value}" is not a region phone numbers can be read in (an ISO 3166 '
                'alpha-2 code such as "US", "GB", "DE")'
            )
        return value.upper()

    @field_validator("events")
    @classmethod
    def _events(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        pixel_id = info.data.get("pixel_id")
        if any(not name.strip() for name in value):
            raise ValueError("an event name cannot be empty")
        return {name: check_event_id(eid, pixel_id=pixel_id) for name, eid in value.items()}

    @field_validator("priority")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        for name, rank in value.items():
            if not name.strip():
                raise ValueError("an event name cannot be empty")
            if not 0 <= rank <= 9:
                raise ValueError(f'"{name}": a priority is 0 (first) to 9 (last), not {rank}')
        return value

    @field_validator("page_event_id")
    @classmethod
    def _page_event(cls, value: str, info: ValidationInfo) -> str:
        return check_event_id(value, pixel_id=info.data.get("pixel_id")) if value else value

    @field_validator("tag")
    @classmethod
    def _one_tag(cls, value: list[TagSettings]) -> list[TagSettings]:
        # Refused rather than ignored: the website tag runs one pixel set-up per destination.
        if len(value) > 1:
            raise ValueError(
                f"{len(value)} [[conversions.tag]] tables; the website tag runs one per "
                "destination (put a second pixel in its own [[conversions]])"
            )
        return value


SYNC_COLUMNS = (
    "email",
    "phone",
    "twclid",
    "ip_address",
    "user_agent",
    "value",
    "currency",
    "conversion_id",
    "conversion_time",
    "number_items",
    "description",
    "contents",
    "user_id",
)
"""Conversion fields a sync's `columns` may map (see docs/reference/cli-sync.md)."""


class SyncSettings(BaseModel):
    model_config = _MODEL

    name: str
    """Name of the sync (`xconduit sync <name>`); its cursor is stored under this name."""
    destination: str
    """Conversion destination that receives the rows."""
    source: str
    """A path or glob of `.csv` / `.parquet` / `.jsonl` / `.ndjson` / `.json` files,
    `sqlite:///path` (relative paths from the working folder, like `server.store`),
    `postgresql://…` or any SQLAlchemy URL (its dialect installed)."""
    query: str = ""
    """SQL run where the data lives. `:cursor` is bound (never pasted) to the greatest cursor
    value sent so far; on the first run and after `--full` it is `cursor_start`, NULL when that
    is not set: write `where :cursor is null or updated_at > :cursor order by updated_at`.
    `:now` is bound to the run's start (UTC), e.g. to leave out rows past X's 90 days.
    Files are the table `source`; empty for files: every row (only the new ones when `cursor`
    is set). Required for databases."""
    cursor: str = ""
    """Column whose greatest value is remembered between runs; empty: every run reads every row
    (rows already sent are not sent again). A row whose cursor value is not of the column's
    type or lies more than 10 minutes in the future is rejected and the cursor does not pass
    it."""
    cursor_start: str | int | float | datetime | date | None = None
    """Value bound to `:cursor` on the first run and after `--full` (e.g. `"2026-01-01"` or a
    TOML date-time): the query may then simply say `where updated_at > :cursor`. Needs
    `cursor`."""
    event: str = ""
    """Event name each row becomes (mapped by the destination's `events`)."""
    event_column: str = ""
    """Column holding each row's event name, instead of the constant `event`."""
    columns: dict[str, str] = {}
    """Conversion field → column name: email, phone, twclid, ip_address, user_agent, value,
    currency, conversion_id, conversion_time, number_items, description, contents (a JSON
    array), user_id."""
    hashing: bool = True
    """Hash email/phone columns; false: they already hold SHA-256 hex (64 hex characters), and a
    row whose value is not is rejected, never sent."""
    schedule: Duration = 0.0
    """Run the sync this often inside `xconduit serve` and with `xconduit sync --watch`
    (e.g. `"15m"`); 0: only when `xconduit sync` is run (`--watch` then runs every 15m)."""
    batch_rows: int = Field(default=5_000, ge=1, le=1_000_000)
    """Rows read and mapped at a time; a transaction commits 1 to 5 such batches (memory grows
    with it)."""
    workers: int = Field(default=1, ge=1, le=64)
    """Processes that map rows (parse, normalise, hash); more than 1 speeds up big backfills on
    a machine with spare cores. Rows are committed in read order whatever the number."""
    priority: int | None = Field(default=None, ge=0, le=9)
    """Delivery priority of the sync's rows, 0 first to 9 last (see the destination's
    `priority`); unset: 9, after live traffic (a backfill never holds back a purchase)."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        for key, column in value.items():
            if key not in SYNC_COLUMNS:
                raise ValueError(f'"{key}" is not a conversion field ({", ".join(SYNC_COLUMNS)})')
            if not column.strip():
                raise ValueError(f"columns.{key}: the column name is empty")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError("a schedule shorter than 1s is not a schedule")
        return value

    @model_validator(mode="after")
    def _event(self) -> SyncSettings:
        if bool(self.event.strip()) == bool(self.event_column.strip()):
            raise ValueError("set either event (a constant name) or event_column, not both")
        if self.cursor_start is not None and not self.cursor.strip():
            raise ValueError("cursor_start needs cursor (the column it is compared with)")
        return self


class AudienceSettings(BaseModel):
    model_config = _MODEL

    name: str
    """Name of the audience sync (`xconduit audiences sync <name>`); also the
    `properties.audience_key` of `Audience Entered` / `Audience Exited` events."""
    account_id: str
    """X ad account that owns the custom audience."""
    audience_id: str = ""
    """Custom audience id; empty: create `<prefix> <name> <YYYYMMDD_hhmmss>` (UTC) on first use
    and keep using it."""
    prefix: str = "xconduit"
    """Prefix of the names of audiences xconduit creates."""
    source: str = ""
    """Where the membership snapshot comes from: a CSV / Parquet / JSON-lines file or glob,
    `sqlite:///…`, `postgresql://…` or another SQLAlchemy URL; empty: from events only."""
    query: str = ""
    """SQL returning one row per member (for files, the files are the table `source`)."""
    identifiers: dict[str, str] = Field(default_factory=dict, validate_default=True)
    """X identifier (email, phone_number, handle, twitter_id, device_id, partner_user_id) →
    column of the snapshot, or event field path (`traits.email`) for event-fed audiences. At
    least one is required."""
    trait: str = ""
    """Boolean trait of `identify` events that says whether a user is in the audience (e.g.
    `vip`: true adds, false removes); empty: identify events are not read."""
    phone_region: str = "US"
    """Region (ISO 3166 alpha-2) used to read phone numbers written without `+`."""
    flush_users: int = Field(default=1000, gt=0)
    """Flush pending changes when this many users are pending. X processes audience changes in
    batches every 6-8 hours and recommends few updates per audience in that time; flushing more
    often does not make the audience change sooner."""
    flush_interval: Duration = 300.0
    """Flush pending changes this long after the oldest one (see `flush_users`)."""
    schedule: Duration = 3600.0
    """How often `xconduit serve` (and `audiences sync --watch`) compares the snapshot again;
    0: only when `xconduit audiences sync` is run."""
    max_shrink: float = Field(default=0.2, ge=0.0, le=1.0)
    """Largest share of the members X has from us that one snapshot may remove (0.2 = 20 %).
    A snapshot removing more is refused before anything is sent, and shown as a problem:
    a broken upstream table must not wipe the audience. `audiences sync --allow-shrink` accepts
    one such snapshot; 1: no limit."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))

    @field_validator("account_id")
    @classmethod
    def _account(cls, value: str) -> str:
        return check_base36_id(value, what="id")

    @field_validator("identifiers")
    @classmethod
    def _identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        known = {"email", "phone_number", "handle", "twitter_id", "device_id", "partner_user_id"}
        if not value:
            raise ValueError(
                "no identifier: map at least one of X's keys to a column or event field, e.g. "
                'identifiers = { email = "email" }'
            )
        for key, column in value.items():
            if key not in known:
                raise ValueError(
                    f'"{key}" is not an X audience identifier ({", ".join(sorted(known))})'
                )
            if not column.strip():
                raise ValueError(f'"{key}" needs a column or event field name')
        return value

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2}", value) or value.upper() not in PHONE_REGIONS:
            raise ValueError(f'"{value}" is not a region phone numbers can be read in (e.g. "US")')
        return value.upper()


class DeliverySettings(BaseModel):
    model_config = _MODEL

    batch_size: int = Field(default=500, ge=1, le=500)
    """Conversions per request to X (X's maximum is 500)."""
    batch_age: Duration = 1.0
    """Send a partial batch once its oldest conversion has waited this long."""
    window: Duration = 900.0
    """Length of X's rate-limit window."""
    events_per_window: int = Field(default=60_000, ge=1)
    """Conversions allowed per ad account per window (X documents 60,000 per 15 minutes)."""
    requests_per_window: int = Field(default=100_000, ge=1)
    """Requests allowed per ad account per window (the other reading of X's documents)."""
    audience_window: Duration = 60.0
    """Length of X's rate-limit window for audience changes."""
    audience_requests_per_window: int = Field(default=1500, ge=1)
    """Audience-change requests allowed per ad account per `audience_window` (X documents
    1,500 per minute); every process on one store shares it."""
    retry_window: Duration = 14_400.0
    """Give up (dead letter) once a job has been retried for this long."""
    retry_min: Duration = 10.0
    """First retry delay; doubles with jitter up to `retry_max`."""
    retry_max: Duration = 300.0
    """Longest delay between two retries."""
    retention: Duration = 604_800.0
    """Delivered jobs are purged after this long."""
    workers: int = Field(default=1, ge=1)
    """Delivery worker threads per process."""


class SuppressionSettings(BaseModel):
    model_config = _MODEL

    user_ids: list[str] = []
    """User ids that never receive conversions and are removed from audiences."""
    hashed_identifiers: list[str] = []
    """SHA-256 hex of emails/phones to suppress (hash them yourself; never list raw values)."""


class ChecksSettings(BaseModel):
    model_config = _MODEL

    interval: Duration = 300.0
    """How often `serve` and `worker` run the setup checks of `xconduit check` (also at start,
    and within seconds of each `xconduit check` on the same store). A failed credentials or role
    check pauses delivery to that account (jobs stay pending); a passing one resumes it, and
    resumes a destination whose pixel or event id X refused once its checks pass. Also the
    longest a paused account or destination waits before a probe batch."""


class DashboardSettings(BaseModel):
    model_config = _MODEL

    admin_token: SecretStr | None = None
    """Password of the dashboard (`/`) and `/metrics`: HTTP Basic (any user name) or
    `Authorization: Bearer <token>`. Without one they answer only local requests (a loopback
    listen address, no reverse proxy's forwarding header) and refuse everyone on any other
    address. Prefer `XCONDUIT_DASHBOARD__ADMIN_TOKEN_FILE`."""
    allowed_hosts: list[str] = []
    """Host names the dashboard and `/metrics` answer to besides the listen address, `localhost`,
    `127.0.0.1` and `[::1]` with the listening port: the public name behind a reverse proxy that
    passes the `Host` header (e.g. `["collect.example.com"]`; `name:port` to allow one port
    only). On all addresses (`0.0.0.0`) any IP address is accepted with the port too. Requests
    naming any other host get 403, so that a web page whose DNS name is re-pointed at this
    machine (DNS rebinding) cannot use the dashboard."""

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(
                    f'"{host}" is not a host name or host:port (e.g. "collect.example.com", '
                    'without "https://" or a path)'
                )
        return [host.lower() for host in value]


class ConnectSettings(BaseModel):
    model_config = _MODEL

    token_key: SecretStr | None = None
    """Fernet key that encrypts the connected X account's tokens in the store (`xconduit
    connect --new-key` prints one). Without it, tokens are never stored. Prefer
    `XCONDUIT_CONNECT__TOKEN_KEY` or `XCONDUIT_CONNECT__TOKEN_KEY_FILE`."""


class Settings(BaseModel):
    """The whole configuration of one xconduit deployment."""

    model_config = _MODEL

    server: ServerSettings = ServerSettings()
    """Listening address and the outbox store."""
    x: XSettings = XSettings()
    """How to reach X (or the sandbox) and its credentials."""
    sources: list[SourceSettings] = []
    """Where events come from (`[[sources]]`), each with its write keys."""
    conversions: list[ConversionDestination] = []
    """Conversion destinations (`[[conversions]]`), one per X pixel."""
    syncs: list[SyncSettings] = []
    """Warehouse syncs (`[[syncs]]`)."""
    audiences: list[AudienceSettings] = []
    """Custom audience syncs (`[[audiences]]`)."""
    delivery: DeliverySettings = DeliverySettings()
    """Batching, rate budget, retries and retention."""
    suppression: SuppressionSettings = SuppressionSettings()
    """Users who must never be sent."""
    checks: ChecksSettings = ChecksSettings()
    """The setup checks while serving."""
    dashboard: DashboardSettings = DashboardSettings()
    """Who may open the dashboard and `/metrics`."""
    connect: ConnectSettings = ConnectSettings()
    """Storing the tokens of a connected X account."""

    @model_validator(mode="after")
    def _references(self) -> Settings:
        _unique("sources", [s.name for s in self.sources])
        _unique("conversions", [c.name for c in self.conversions])
        _unique("syncs", [s.name for s in self.syncs])
        _unique("audiences", [a.name for a in self.audiences])
        source_names = {s.name for s in self.sources}
        for i, dest in enumerate(self.conversions):
            for name in dest.sources:
                if name not in source_names:
                    raise ValueError(f'conversions[{i}].sources: no source is named "{name}"')
        dest_names = {c.name for c in self.conversions}
        for i, sync in enumerate(self.syncs):
            if sync.destination not in dest_names:
                name = sync.destination
                raise ValueError(f'syncs[{i}].destination: no conversion destination is "{name}"')
        keys = [k.get_secret_value() for s in self.sources for k in s.write_keys]
        if len(keys) != len(set(keys)):
            raise ValueError("sources: a write key is used by two sources")
        return self

    @model_validator(mode="after")
    def _one_tag_per_source(self) -> Settings:
        # The tag of a page reads one set of settings per write key (/v1/tag-config): a second
        # tagged destination of the same source would never fire; refuse it instead.
        for source in self.sources:
            tagged = [
                c.name
                for c in self.conversions
                if c.tag and (not c.sources or source.name in c.sources)
            ]
            if len(tagged) > 1:
                raise ValueError(
                    f'sources: "{source.name}" feeds {len(tagged)} destinations with a website '
                    f"tag ({', '.join(tagged)}); the tag runs one per source: list each "
                    "destination's own source in its `sources`"
                )
        return self


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f'{section}[{i}].name: "{name}" is used twice')
        seen.add(name)
