"""The typed configuration tree. Every field's docstring is its documentation.

`docs/reference/config.md` is generated from these classes (`make docs`); a test keeps it in step.
"""

from __future__ import annotations

import re
from typing import Literal

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

_MODEL = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
_LISTEN = re.compile(r"^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


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
    oauth_host: str = "https://api.x.com"
    """Host of X's OAuth 1.0a token endpoints (request_token, authorize, access_token)."""
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
    """Use the HTTP client's address as `context.ip` when the event has none (browser sources)."""

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
    """Event name → X event id (`ol288` or `tw-<pixel>-<event>`). Names match case-insensitively."""
    page_event_id: str = ""
    """X event id for page views; empty: page events are filtered."""
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
        for name, event_id in value.items():
            if not name.strip():
                raise ValueError("an event name cannot be empty")
            check_event_id(event_id, pixel_id=pixel_id)
        return value

    @field_validator("page_event_id")
    @classmethod
    def _page_event(cls, value: str, info: ValidationInfo) -> str:
        return check_event_id(value, pixel_id=info.data.get("pixel_id")) if value else value


class SyncSettings(BaseModel):
    model_config = _MODEL

    name: str
    """Name of the sync. (Warehouse syncs are configured here but not run yet: the `xconduit
    sync` command is planned.)"""
    destination: str
    """Conversion destination that receives the rows."""
    source: str
    """`postgresql://…`, `sqlite:///…`, or a path to a CSV / Parquet / JSON-lines file."""
    query: str = ""
    """SQL for database sources; `:cursor` is replaced by the last cursor value."""
    cursor: str = ""
    """Column whose greatest value is remembered between runs; empty: full sync every time."""
    event: str
    """Event name each row becomes (mapped by the destination's `events`)."""
    columns: dict[str, str] = {}
    """Conversion field → column name (email, phone, value, conversion_id, conversion_time, …)."""
    hashing: bool = True
    """Hash email/phone columns; turn off only when they already hold SHA-256 hex."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))


class AudienceSettings(BaseModel):
    model_config = _MODEL

    name: str
    """Name of the audience sync. (Configured here but not run yet: `xconduit audiences sync`
    is planned.)"""
    account_id: str
    """X ad account that owns the custom audience."""
    audience_id: str = ""
    """Custom audience id; empty: create `<prefix> <name> <YYYYMMDD_hhmmss>` on first use."""
    prefix: str = "xconduit"
    """Prefix of the names of audiences xconduit creates."""
    source: str = ""
    """Database URL or file with the membership snapshot; empty: from events only."""
    query: str = ""
    """SQL returning one row per member."""
    identifiers: dict[str, str] = Field(default_factory=dict)
    """X identifier (email, phone_number, handle, twitter_id, device_id, partner_user_id) →
    column name."""
    flush_users: int = Field(default=1000, gt=0)
    """Flush pending changes when this many users are pending."""
    flush_interval: Duration = 300.0
    """Flush pending changes this long after the oldest one."""

    _name = field_validator("name")(lambda cls, v: _check_name(v))

    @field_validator("identifiers")
    @classmethod
    def _identifiers(cls, value: dict[str, str]) -> dict[str, str]:
        known = {"email", "phone_number", "handle", "twitter_id", "device_id", "partner_user_id"}
        for key in value:
            if key not in known:
                raise ValueError(
                    f'"{key}" is not an X audience identifier ({", ".join(sorted(known))})'
                )
        return value


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


def _unique(section: str, names: list[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f'{section}[{i}].name: "{name}" is used twice')
        seen.add(name)
