"""How the reports of several delivery processes add up to one alarm (accounts/fleet.py)."""

from __future__ import annotations

import orjson

from xconduit.accounts.check import Check, Status
from xconduit.accounts.fleet import NOBODY_DELIVERS, STORE_UNREAD, Fleet
from xconduit.delivery.pause import AccountPauses
from xconduit.errors import StoreError
from xconduit.outbox.memory import MemoryStore
from xconduit.outbox.syncs import ProcessReport

NOW = 1_000.0


def report(*, problems: list[str], checks: list[Check], paused: tuple[str, ...] = ()) -> str:
    return orjson.dumps(
        {
            "problems": problems,
            "paused": [
                {"account_id": a, "reason": "401", "since": NOW - 5, "probe_at": NOW + 5}
                for a in paused
            ],
            "checks": [
                {
                    "subject": c.subject,
                    "account_id": c.account_id,
                    "item": c.item,
                    "status": c.status.value,
                    "detail": c.detail,
                    "fix": c.fix,
                }
                for c in checks
            ],
            "checked_at": NOW - 1,
        }
    ).decode()


def role(status: Status) -> Check:
    return Check(subject="account a1", account_id="a1", item="role", status=status, detail="d")


def collector(store: MemoryStore) -> Fleet:
    return Fleet(store=store, pauses=AccountPauses(), delivers=False, clock=lambda: NOW)


def test_a_check_failing_in_one_process_fails_for_the_fleet_and_names_each_reporter() -> None:
    store = MemoryStore()
    failing = report(problems=["account a1 role: d"], checks=[role(Status.FAIL)], paused=("a1",))
    store.heartbeat("w1", kind="worker", host="h1", pid=1, now=NOW, report=failing)
    store.heartbeat("w2", kind="worker", host="h2", pid=2, now=NOW, report=failing)
    passing = report(problems=[], checks=[role(Status.OK)])
    store.heartbeat("w3", kind="serve", host="h3", pid=3, now=NOW, report=passing)

    alarm = collector(store).alarm()
    assert alarm.delivering == 3
    assert alarm.problems() == ["account a1 role: d"]
    assert alarm.banner() == [
        "account a1 role: d (reported by worker on h1 pid 1, worker on h2 pid 2)"
    ]
    assert [c.status for c in alarm.checks()] == [Status.FAIL]
    assert [p.account_id for p, _ in alarm.paused()] == ["a1"]


def test_stale_and_unreadable_reports() -> None:
    store = MemoryStore()
    assert collector(store).alarm().banner() == [NOBODY_DELIVERS]
    stale = report(problems=["account a1 role: d"], checks=[role(Status.FAIL)])
    store.heartbeat("old", kind="worker", host="h", pid=1, now=NOW - 60, report=stale)
    store.heartbeat("new", kind="worker", host="h", pid=2, now=NOW, report="not json")
    alarm = collector(store).alarm()
    assert alarm.delivering == 1  # alive, though its report could not be read
    assert alarm.problems() == []
    assert alarm.banner() == []


def test_a_store_that_cannot_be_read_is_a_problem_not_a_crash() -> None:
    class Down(MemoryStore):
        def live_reports(self, *, since: float) -> list[ProcessReport]:
            raise StoreError("connection refused")

    alarm = collector(Down()).alarm()
    assert alarm.problems() == [STORE_UNREAD]
    assert alarm.banner() == [STORE_UNREAD]
