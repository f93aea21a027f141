"""A token revoked mid-run is not data loss: the account's jobs stay pending (no dead letter),
the alarm is up, and delivery resumes by itself once the setup check passes with a new token."""

from __future__ import annotations

import httpx
import pytest

from tests.support.delivery_helpers import ACCOUNT, DESTINATION, PIXEL, Clock, conversion, enqueue
from xconduit.accounts.live_auth import CurrentCredentialsAuth
from xconduit.accounts.monitor import SetupMonitor
from xconduit.config import ConversionDestination, DeliverySettings, Settings
from xconduit.delivery import DeliveryService
from xconduit.outbox import JobStatus
from xconduit.outbox.sqlite import SqliteStore
from xconduit.sandbox import Sandbox
from xconduit.sandbox.seed import DEFAULT_USER_ID
from xconduit.xads import XAdsClient, XCredentials

SHOP = ConversionDestination(
    name=DESTINATION, account_id=ACCOUNT, pixel_id=PIXEL, events={"Order Completed": "ol288"}
)


def credentials(sb: Sandbox) -> XCredentials:
    c = sb.issue_token(DEFAULT_USER_ID)
    return XCredentials(
        consumer_key=c.consumer_key,
        consumer_secret=c.consumer_secret,
        access_token=c.access_token,
        access_token_secret=c.access_token_secret,
    )


@pytest.mark.parametrize("refusal", ["revoked token", "role removed"])
def test_refused_credentials_hold_jobs_until_the_check_passes(
    sandbox: Sandbox,
    served: tuple[Sandbox, str],
    store: SqliteStore,
    clock: Clock,
    refusal: str,
) -> None:
    current = [credentials(sandbox)]
    with httpx.Client(timeout=httpx.Timeout(2.0)) as http:
        client = XAdsClient(
            http=http,
            credentials=current[0],
            base_url=served[1],
            auth=CurrentCredentialsAuth(lambda: current[0]),
        )
        service = DeliveryService(
            store=store,
            client=client,
            delivery=DeliverySettings(),
            clock=clock,
            sleep=clock.sleep,
            destinations=[SHOP],
        )
        monitor = SetupMonitor(
            settings=Settings(conversions=[SHOP]),
            client=client,
            pauses=service.pauses,
            clock=clock,
        )
        enqueue(store, [conversion(n) for n in range(5)], now=clock())
        assert service.run_until_idle(timeout=60)
        assert len(sandbox.conversions()) == 5

        if refusal == "revoked token":
            sandbox.revoke_token(current[0].access_token)
        else:
            sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("CAMPAIGN_ANALYST",))
        enqueue(store, [conversion(n) for n in range(5, 25)], now=clock())
        assert not service.run_until_idle(timeout=120)  # paused: the jobs wait

        assert store.counts()[DESTINATION] == {JobStatus.DELIVERED: 5, JobStatus.PENDING: 20}
        assert store.list_dead() == []
        assert [p.account_id for p in service.pauses.paused()] == [ACCOUNT]
        assert any(r["status"] in (401, 404) for r in sandbox.requests())
        monitor.run_once()
        assert any(ACCOUNT in problem for problem in monitor.problems())
        assert service.pauses.paused()  # the check failed too: still paused

        if refusal == "revoked token":
            current[0] = credentials(sandbox)  # connected again: a new token
        else:
            sandbox.set_permissions(DEFAULT_USER_ID, ACCOUNT, ("AD_MANAGER",))
        monitor.run_once()
        assert monitor.problems() == []
        assert service.run_until_idle(timeout=60)

    assert store.counts()[DESTINATION] == {JobStatus.DELIVERED: 25}
    assert sorted(c["conversion_id"] for c in sandbox.conversions()) == sorted(
        f"order-{n}" for n in range(25)
    )
