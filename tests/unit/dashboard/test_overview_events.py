"""The overview's numbers per destination and per event add up: received = sent + not sent +
waiting + failed, with a sync's rows counted as their own source and the events labelled by the
configured names only."""

from __future__ import annotations

from typing import Any

from xconduit.config import ConversionDestination, Settings
from xconduit.config.identity import owner_keys
from xconduit.dashboard import views
from xconduit.ingest.accept import EventAcceptor
from xconduit.mapping import MappingResult, Router
from xconduit.observability.event_names import EventNames
from xconduit.observability.metered import CountSink, MeteredStore
from xconduit.observability.tally import outcome_counts
from xconduit.outbox import IncomingEvent, NewJob
from xconduit.outbox.memory import MemoryStore

NOW = 1_800_000_000.0
SHOP = ConversionDestination(
    name="shop",
    account_id="18ce552mlaq",
    pixel_id="oka17",
    events={"Purchase": "ol288", "Order Completed": "ol288", "Sign Up": "ol289"},
)


def _track(n: int, event: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "messageId": f"m-{n}",
        "userId": f"u-{n}",
        "event": event,
        "timestamp": "2027-01-15T08:00:00.000Z",
        "properties": {"order_id": f"o-{n}", **properties},
    }


def traffic() -> list[dict[str, Any]]:
    denied = {"consent": {"categoryPreferences": {"Advertising": False}}}
    return [
        _track(1, "Purchase", email="a@example.com"),
        _track(2, "order completed", email="b@example.com"),  # same X event, another name
        _track(3, "Purchase", email="c@example.com"),
        _track(4, "Purchase"),  # no identifier: not sent
        {**_track(5, "Purchase", email="d@example.com"), "context": denied},
        _track(6, "Sign Up", email="e@example.com"),
        _track(7, "Wishlist Shared", email="f@example.com"),  # not mapped
        _track(8, "Purchase", email="g@example.com"),  # stays waiting
    ]


def test_every_row_adds_up_per_destination_and_per_event() -> None:
    settings = Settings(conversions=[SHOP])
    store = MemoryStore()
    owners = owner_keys(settings)
    acceptor = EventAcceptor(Router(settings), owners=owners)
    accepted = acceptor.accept(
        traffic(), source="web", default_type=None, received_at="2027-01-15T08:00:01.000Z"
    )
    store.commit_events(accepted.events, now=NOW)
    # One row of a sync (its own source), counted as the collector counts its events.
    row = MappingResult("conversion", "shop", "oka17", "18ce552mlaq", None)
    counts = outcome_counts("sync:orders", "purchase", [row], EventNames([SHOP]))
    job = NewJob(
        destination="shop",
        account_id="18ce552mlaq",
        pixel_id="oka17",
        message_id="s-1",
        conversion_id="s-1",
        payload=b'{"event_id":"tw-oka17-ol288","identifiers":[]}',
        owner=owners["shop"],
    )
    sync_row = IncomingEvent(
        source="sync:orders", message_id="s-1", jobs=(job,), counts=tuple(counts)
    )
    store.commit_events([sync_row], now=NOW)

    metered = MeteredStore(store, CountSink(store.add_counts, lambda: NOW), EventNames([SHOP]))
    jobs = metered.claim_batch("shop", limit=10, now=NOW, lease_seconds=60, owner=owners["shop"])
    by_message = {job.conversion_id.replace("o-", "m-"): job.id for job in jobs}
    metered.mark_delivered([by_message[m] for m in ("m-1", "m-2", "m-6")], now=NOW)
    metered.dead_letter([(by_message["m-3"], "X 400 INVALID_PARAMETER: no")], now=NOW)
    metered.release([by_message["m-8"]], now=NOW)

    [shop] = views.outcomes(settings, store, now=NOW + 1)
    rows = {e.event: e for e in shop.events}
    assert set(rows) == {"Purchase / Order Completed", "Sign Up", "(not mapped)"}
    purchase = rows["Purchase / Order Completed"]
    assert (purchase.received, purchase.sent, purchase.failed) == (7, 2, 1)
    assert purchase.not_sent == {"no email, phone or click id": 1, "consent denied": 1}
    assert purchase.waiting == 2  # m-8 and the sync's row
    assert rows["(not mapped)"].not_sent == {"not mapped to an X event": 1}
    for e in shop.events:
        assert e.received == e.sent + e.not_sent_total + e.waiting + e.failed, e
    assert shop.received == shop.sent + sum(shop.not_sent.values()) + shop.waiting + shop.failed
    assert shop.received == sum(e.received for e in shop.events) == 9
