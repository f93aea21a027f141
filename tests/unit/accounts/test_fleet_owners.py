"""Only the delivery processes of this configuration make its alarm (another configuration's
processes share the store, not the setup)."""

from __future__ import annotations

import orjson
import pytest

from xconduit.accounts.fleet import NOBODY_DELIVERS, Fleet
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.delivery.pause import AccountPauses
from xconduit.errors import ConfigError
from xconduit.outbox.memory import MemoryStore
from xconduit.sync.wait import needs_own_delivery

NOW = 1_000.0
MINE = "a1b2c3d4e5f60718"
THEIRS = "ffeeddccbbaa9988"
FAILING = orjson.dumps({"problems": ["account a9 role: refused"]}).decode()


def fleet(store: MemoryStore, owners: frozenset[str]) -> Fleet:
    return Fleet(
        store=store, pauses=AccountPauses(), delivers=False, clock=lambda: NOW, owners=owners
    )


def test_another_configuration_s_process_neither_delivers_nor_alarms_here() -> None:
    store = MemoryStore()
    store.heartbeat(
        "theirs", kind="worker", host="h", pid=1, now=NOW, report=FAILING, owners=THEIRS
    )

    alarm = fleet(store, frozenset({MINE})).alarm()
    assert alarm.delivering == 0
    assert alarm.problems() == []
    assert alarm.banner() == [NOBODY_DELIVERS]

    store.heartbeat("mine", kind="worker", host="h", pid=2, now=NOW, owners=f"{THEIRS} {MINE}")
    store.heartbeat("older", kind="worker", host="h", pid=3, now=NOW)  # no keys: counts
    assert fleet(store, frozenset({MINE})).alarm().delivering == 2


SYNC = {
    "x": {"api": "https://ads-api.x.com"},
    "conversions": [{"name": "shop", "account_id": "18ce552mlaq", "pixel_id": "oka17"}],
    "syncs": [{"name": "orders", "destination": "shop", "source": "o.csv", "event": "Buy"}],
}


def test_sync_wait_delivers_itself_when_only_another_configuration_s_process_runs() -> None:
    settings = Settings.model_validate(SYNC)
    store = MemoryStore()
    store.heartbeat("theirs", kind="serve", host="h", pid=1, now=NOW, owners=THEIRS)
    assert needs_own_delivery(settings, store, now=NOW, sync="orders")

    store.heartbeat(
        "ours", kind="worker", host="h", pid=2, now=NOW, owners=owner_keys(settings)["shop"]
    )
    assert not needs_own_delivery(settings, store, now=NOW, sync="orders")


def test_sync_wait_with_the_sandbox_and_only_another_configuration_s_gateway() -> None:
    settings = Settings.model_validate({**SYNC, "x": {"api": "sandbox"}})
    store = MemoryStore()
    store.heartbeat("theirs", kind="serve", host="h", pid=1, now=NOW, owners=THEIRS)
    with pytest.raises(ConfigError, match="none of this configuration runs"):
        needs_own_delivery(settings, store, now=NOW, sync="orders")
