"""The pure parts of operating xconduit: the checks' verdicts, which refusals pause an account,
the pause's life, what an event adds to the counters, the log mask, the token vault."""

from __future__ import annotations

import orjson
import pytest
from cryptography.fernet import Fernet

from xconduit.accounts.check import Status, blocked_accounts, run_checks
from xconduit.accounts.tokens import SECRET_NAME, TokenVault, new_key
from xconduit.config import ConversionDestination, Settings
from xconduit.delivery.pause import AccountPauses, held_back, refuses_credentials
from xconduit.errors import (
    AuthError,
    ConfigError,
    DeliveryError,
    FatalDeliveryError,
    XErrorDetail,
)
from xconduit.mapping import MappingResult
from xconduit.observability.event_names import EventNames
from xconduit.observability.logs import mask
from xconduit.observability.metered import dead_reason, histogram
from xconduit.observability.tally import match_keys, tally
from xconduit.outbox.memory import MemoryStore
from xconduit.xads import AccessToken, Audience, UserAccess, WebEventTag

SHOP = ConversionDestination(
    name="shop", account_id="18ce552mlaq", pixel_id="oka17", events={"Order Completed": "ol288"}
)
NO_ACCESS = XErrorDetail(code="NOT_FOUND", message="User 1 does not have access to account a")


class FakeX:
    def __init__(self, permissions: dict[str, frozenset[str] | Exception]) -> None:
        self.permissions = permissions

    def authenticated_user_access(self, account_id: str) -> UserAccess:
        found = self.permissions[account_id]
        if isinstance(found, Exception):
            raise found
        return UserAccess(user_id="7", permissions=found)

    def web_event_tags(self, account_id: str) -> list[WebEventTag]:
        return [WebEventTag(id="ol288", website_tag_id="oka17", name="Purchase")]

    def get_audience(self, account_id: str, audience_id: str) -> Audience:
        return Audience(id=audience_id, name="vip")


def settings(*accounts: str) -> Settings:
    return Settings(
        conversions=[
            ConversionDestination(
                name=f"d{i}", account_id=a, pixel_id="oka17", events={"Purchase": "ol288"}
            )
            for i, a in enumerate(accounts)
        ]
    )


def test_checks_pass_skip_and_block() -> None:
    x = FakeX(
        {
            "aaaa1": frozenset({"AD_MANAGER"}),
            "bbbb2": frozenset({"ANALYST"}),
            "cccc3": AuthError("no", status=401),
            "dddd4": FatalDeliveryError("no", status=404, errors=(NO_ACCESS,)),
        }
    )
    checks = run_checks(settings("aaaa1", "bbbb2", "cccc3", "dddd4"), x)
    by = {(c.account_id, c.item): c.status for c in checks}
    assert by[("aaaa1", "role")] is Status.OK
    assert by[("aaaa1", "event Purchase (tw-oka17-ol288)")] is Status.OK
    assert by[("bbbb2", "role")] is Status.FAIL
    assert by[("bbbb2", "pixel oka17")] is Status.SKIP
    assert by[("cccc3", "credentials")] is Status.FAIL
    assert by[("dddd4", "credentials")] is Status.OK
    assert by[("dddd4", "role")] is Status.FAIL
    assert set(blocked_accounts(checks)) == {"bbbb2", "cccc3", "dddd4"}


def test_which_refusals_hold_the_jobs() -> None:
    assert refuses_credentials(AuthError("x", status=401))
    assert refuses_credentials(FatalDeliveryError("x", status=404, errors=(NO_ACCESS,)))
    event = XErrorDetail(
        code="NOT_FOUND", message="event_id (a) does not belong to provided account"
    )
    assert not refuses_credentials(FatalDeliveryError("x", status=404, errors=(event,)))
    assert not refuses_credentials(FatalDeliveryError("x", status=400))
    dead: list[tuple[int, DeliveryError]] = [
        (1, AuthError("x", status=401)),
        (2, FatalDeliveryError("x", status=400)),
    ]
    held, error = held_back(dead)
    assert held == [1]
    assert isinstance(error, AuthError)
    assert [item for item, _ in dead] == [2]


def test_a_pause_ends_with_a_probe_or_a_resume() -> None:
    pauses = AccountPauses(probe_after=300)
    assert pauses.until("a", now=0) is None
    pauses.pause("a", "401", now=100)
    assert pauses.until("a", now=200) == 400
    assert pauses.until("a", now=400) is None  # time for a probe batch
    pauses.resume("a")
    assert pauses.paused() == []


def test_tally_counts_outcomes_and_dropped_identifiers() -> None:
    conversion = {
        "identifiers": [{"hashed_email": "e" * 64}, {"ip_address": "1.2.3.4", "user_agent": "UA"}]
    }
    results = [
        MappingResult(
            "conversion",
            "shop",
            "oka17",
            "acct",
            "m1",
            conversion,
            None,
            (("phone", "not a possible phone number"),),
        ),
        MappingResult("filtered", "other", "p2", "acct", "m1", None, "not mapped"),
    ]
    counts, recent = tally("web", "m1", "Order Completed", results, EventNames([SHOP]))
    names = sorted((c.name, c.labels) for c in counts)
    shop = (("destination", "shop"), ("event", "Order Completed"))
    assert ("conversions_queued", shop) in names
    assert ("conversions_filtered", (("destination", "other"), ("event", "(not mapped)"))) in names
    dropped = (*shop, ("kind", "phone"), ("rule", "not a possible phone number"))
    assert ("identifiers_dropped", dropped) in names
    assert ("events_received", (("source", "web"),)) in names
    assert b"e" * 64 in recent.results
    assert match_keys(conversion) == ["email", "ip_ua"]


def test_histogram_and_dead_reasons() -> None:
    counts = {(c.name, c.labels): c.value for c in histogram("batch_conversions", (), 42)}
    assert ("batch_conversions_bucket", (("le", "10.0"),)) not in counts
    assert counts[("batch_conversions_bucket", (("le", "50.0"),))] == 1
    assert counts[("batch_conversions_sum", ())] == 42
    assert (
        dead_reason("X 400 INVALID_PARAMETER: hashed_email (<hash>) is not valid")
        == "INVALID_PARAMETER"
    )
    assert dead_reason("retry window exhausted; last error: X 500") == "retry_window_exhausted"
    assert dead_reason("X 404 -: gone") == "http_404"


def test_log_mask() -> None:
    line = "2026-01-01 12:00:00,001 INFO got jane@example.com and +44 20 7946 0958 debug_id=ab-12"
    assert mask(line) == "2026-01-01 12:00:00,001 INFO got <email> and <phone> debug_id=ab-12"


def test_token_vault_encrypts_and_refuses_without_or_with_a_wrong_key() -> None:
    store = MemoryStore()
    access = AccessToken(token="tok-123", secret="sec-456", user_id="7", screen_name="shop")
    with pytest.raises(ConfigError, match="XCONDUIT_CONNECT__TOKEN_KEY"):
        TokenVault(store, None).save(access)
    vault = TokenVault(store, new_key(), clock=lambda: 5.0)
    vault.save(access)
    blob = store.get_secret(SECRET_NAME)
    assert blob is not None
    assert b"tok-123" not in blob
    assert b"sec-456" not in blob
    loaded = vault.load()
    assert loaded is not None
    assert (loaded.token, loaded.secret, loaded.connected_at) == ("tok-123", "sec-456", 5.0)
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        TokenVault(store, Fernet.generate_key().decode()).load()
    with pytest.raises(ConfigError, match="not a Fernet key"):
        TokenVault(store, "short")
    assert vault.delete()
    assert vault.load() is None


def test_tally_counts_dropped_fields_by_path_without_the_product_index() -> None:
    dropped = (
        ("email", "not an email address"),
        ("properties.quantity", "not a whole number above zero"),
        ("properties.products[3].quantity", "not a whole number above zero"),
    )
    result = MappingResult(
        "conversion", "shop", "p", "acct", "m1", {"identifiers": []}, None, dropped
    )
    counts, recent = tally("web", "m1", "Order Completed", [result])
    names = [(c.name, dict(c.labels)) for c in counts]
    assert (
        "identifiers_dropped",
        {
            "destination": "shop",
            "event": "(not mapped)",
            "kind": "email",
            "rule": "not an email address",
        },
    ) in names
    rule = "not a whole number above zero"
    for field in ("properties.quantity", "properties.products[].quantity"):
        assert ("fields_dropped", {"destination": "shop", "field": field, "rule": rule}) in names
    [line] = orjson.loads(recent.results)
    assert line["dropped"] == [list(pair) for pair in dropped]  # the debugger's entry
