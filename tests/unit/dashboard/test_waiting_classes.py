"""The overview's waiting per priority class: how many wait and when each class reaches X at
the account's budget, in the order delivery takes them (most urgent first)."""

from __future__ import annotations

from tests.support.priority_jobs import priority_job
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.dashboard.overview import destination_section
from xconduit.dashboard.views import Outcomes, rate_budgets
from xconduit.dashboard.waiting_classes import class_words, waiting_classes
from xconduit.outbox.memory import MemoryStore

NOW = 1_800_000_000.0  # 2027-01-15 08:00 UTC
WINDOW = 900.0
ACC = "18ce552mlaq"
SETTINGS = Settings.model_validate(
    {
        "delivery": {"window": WINDOW, "events_per_window": 100},
        "conversions": [
            {
                "name": "shop",
                "account_id": "18ce552mlaq",
                "pixel_id": "oka17",
                "events": {"Order Completed": "ol288", "Signed Up": "ol289"},
                "priority": {"Signed Up": 1, "Order Completed": 0},
            },
            {
                "name": "blog",
                "account_id": "18ce552mlaq",
                "pixel_id": "oka18",
                "events": {"Read": "ol290"},
            },
        ],
    }
)


def enqueue(store: MemoryStore, destination: str, priority: int, count: int) -> None:
    owner = owner_keys(SETTINGS)[destination]
    store.commit_events(
        [
            priority_job(
                f"{destination}-{priority}-{n}",
                priority=priority,
                destination=destination,
                owner=owner,
            )
            for n in range(count)
        ],
        now=NOW,
    )


def test_each_class_reaches_x_when_the_account_has_sent_it_and_all_before_it() -> None:
    store = MemoryStore()
    enqueue(store, "shop", 0, 30)  # purchases: within this window's 100
    enqueue(store, "blog", 4, 50)  # the account's other destination: 80 with the purchases
    enqueue(store, "shop", 8, 150)  # page views: 230 ahead of and with them, 2 windows more
    enqueue(store, "shop", 9, 30)  # sync rows: 260, 2 windows more
    budgets = {b.account_id: b for b in rate_budgets(SETTINGS, store, now=NOW)}
    classes = waiting_classes(SETTINGS, store, budgets, now=NOW)
    shop = [(c.words, c.waiting, c.reaches_x_at) for c in classes["shop"]]
    assert shop == [
        ("purchases", 30, NOW),
        ("page views", 150, NOW + 2 * WINDOW),
        ("sync rows", 30, NOW + 2 * WINDOW),
    ]
    assert [(c.words, c.reaches_x_at) for c in classes["blog"]] == [("other events", NOW)]
    assert classes["shop"][-1].reaches_x_at == budgets[ACC].drained_at  # the last one: all

    outcomes = Outcomes(
        name="shop", received=210, sent=0, not_sent={}, waiting=210, failed=0, failed_why={}
    )
    html = destination_section(
        outcomes, hours=[], budget=budgets[ACC], holds=[], now=NOW, classes=classes["shop"]
    )
    assert "<b>Purchases</b>: " in html
    assert '<span data-metric="shop.waiting.0">30</span> waiting, being sent now' in html
    assert '<span data-metric="shop.waiting.8">150</span> waiting, all at X by' not in html
    assert "<b>Page views</b>: " in html
    assert '<span data-metric="shop.waiting.8">150</span> waiting, by 08:30 UTC' in html


def test_a_class_named_by_the_config_is_in_its_words() -> None:
    words = class_words(SETTINGS, "shop")
    assert (words[0], words[1], words[4]) == ("purchases", "Signed Up", "other events")


def test_later_days_carry_their_date() -> None:
    store = MemoryStore()
    enqueue(store, "shop", 8, 150 * 100)
    budgets = {b.account_id: b for b in rate_budgets(SETTINGS, store, now=NOW)}
    (page_views,) = waiting_classes(SETTINGS, store, budgets, now=NOW)["shop"]
    outcomes = Outcomes(
        name="shop", received=15000, sent=0, not_sent={}, waiting=15000, failed=0, failed_why={}
    )
    html = destination_section(
        outcomes, hours=[], budget=budgets[ACC], holds=[], now=NOW, classes=[page_views]
    )
    assert "15,000</span> waiting, all at X by 2027-01-16 21:15 UTC" in html
