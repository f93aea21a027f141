"""The dashboard's rate budget per account: used / allowed in the current window, next reset,
backlog and when it will have drained, all from the store's counters and jobs."""

from __future__ import annotations

from tests.support.delivery_helpers import ACCOUNT, conversion, enqueue
from xconduit.config import Settings
from xconduit.config.identity import owner_keys
from xconduit.dashboard.views import rate_budgets
from xconduit.outbox.counts import Count
from xconduit.outbox.memory import MemoryStore

NOW = 1_800_000_000.0  # a minute boundary
WINDOW = 900.0
SENT = "x_conversions_sent"


def settings(allowed: int) -> Settings:
    return Settings.model_validate(
        {
            "delivery": {"window": WINDOW, "events_per_window": allowed},
            "conversions": [
                {
                    "name": "shop",
                    "account_id": ACCOUNT,
                    "pixel_id": "oka17",
                    "events": {"Order Completed": "ol288"},
                }
            ],
        }
    )


def queued(store: MemoryStore, count: int) -> None:
    """`count` jobs of "shop", adopted by this configuration as a delivering process would."""
    enqueue(store, [conversion(n) for n in range(count)], now=NOW)
    key = owner_keys(settings(1))["shop"]
    store.adopt_jobs("shop", owner=key, account_id=ACCOUNT, pixel_id="oka17")


def sent(store: MemoryStore, n: int, *, at: float) -> None:
    store.add_counts([Count(SENT, (("account", ACCOUNT),), n)], now=at)


def test_used_counts_only_the_current_window_and_the_oldest_minute_resets_first() -> None:
    store = MemoryStore()
    sent(store, 7, at=NOW - WINDOW - 120)  # left the window
    sent(store, 30, at=NOW - 600)
    sent(store, 10, at=NOW - 60)
    (budget,) = rate_budgets(settings(100), store, now=NOW)
    assert (budget.used, budget.allowed, budget.backlog) == (40, 100, 0)
    assert budget.next_reset == NOW - 600 + 60 + WINDOW  # the end of that minute, a window on
    assert budget.drained_at is None


def test_a_backlog_within_the_free_budget_drains_now() -> None:
    store = MemoryStore()
    sent(store, 40, at=NOW - 60)
    queued(store, 60)
    (budget,) = rate_budgets(settings(100), store, now=NOW)
    assert (budget.backlog, budget.drained_at) == (60, NOW)


def test_a_backlog_past_the_budget_waits_for_the_resets() -> None:
    store = MemoryStore()
    sent(store, 100, at=NOW - 60)  # the window is full
    queued(store, 250)
    (budget,) = rate_budgets(settings(100), store, now=NOW)
    assert budget.next_reset == NOW + WINDOW
    # 100 at the reset, 100 a window later, the last 50 a window after that.
    assert budget.drained_at == budget.next_reset + 2 * WINDOW


def test_with_nothing_sent_yet_the_backlog_past_one_window_waits_a_window() -> None:
    store = MemoryStore()
    queued(store, 150)
    (budget,) = rate_budgets(settings(100), store, now=NOW)
    assert (budget.used, budget.next_reset, budget.backlog) == (0, None, 150)
    # 100 go now; the other 50 once those leave the window.
    assert budget.drained_at == NOW + WINDOW
