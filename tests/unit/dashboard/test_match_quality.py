"""Match quality per event: the shares, the 0–10 score and the advice that would raise it;
audiences get no row."""

from __future__ import annotations

from xconduit.config import ConversionDestination, Settings
from xconduit.dashboard.match import advice, event_matches
from xconduit.dashboard.match_page import match_section
from xconduit.outbox.counts import Count
from xconduit.outbox.memory import MemoryStore

NOW = 1_800_000_000.0


def _delivered(store: MemoryStore, event: str, n: int, *keys: str) -> None:
    dest = (("destination", "shop"), ("event", event))
    counts = [Count("conversions_delivered", dest, n)]
    counts += [Count("conversions_delivered_with", (*dest, ("key", k)), n) for k in keys]
    store.add_counts(counts, now=NOW)


def test_score_shares_and_advice_per_event() -> None:
    store = MemoryStore()
    _delivered(store, "Purchase", 42, "ip_ua", "only_ip_ua")
    _delivered(store, "Purchase", 58, "email", "ip_ua", "twclid")
    _delivered(store, "Sign Up", 10, "twclid", "email", "phone", "ip_ua")
    audience = (("destination", "audience:vip"), ("event", "(not mapped)"))
    store.add_counts([Count("conversions_delivered", audience, 5)], now=NOW)

    rows = event_matches(store.counter_minutes(NOW - 60), ["shop"])
    purchase, signup = rows
    assert (purchase.event, purchase.sent, signup.event) == ("Purchase", 100, "Sign Up")
    assert purchase.share("only_ip_ua") == 0.42
    # 4 × 0.58 (click id) + 3 × 0.58 (email) + 1 × 1.0 (IP + UA)
    assert round(purchase.score, 2) == 5.06
    assert signup.score == 10
    tips = advice(purchase)
    assert tips[0] == (
        "42 % of Purchase conversions carry only IP + user agent: send the email from your "
        "checkout (or sign-up form) with the event."
    )
    assert any(t.startswith("42 % of Purchase conversions carry no click id") for t in tips)
    assert advice(signup) == ["Sign Up: good match quality; nothing important is missing."]

    settings = Settings(
        conversions=[
            ConversionDestination(
                name="shop",
                account_id="18ce552mlaq",
                pixel_id="oka17",
                events={"Purchase": "ol288"},
            )
        ]
    )
    html = match_section(settings, store, now=NOW)
    assert 'data-metric="shop.event.Purchase.match.score"><b>5.1</b>' in html
    assert 'data-metric="shop.match.delivered">110<' in html
    assert "audience:vip" not in html
    assert "docs/explanation/match-quality.md" in html


def test_advice_says_none_and_counts_one_dropped_identifier_in_the_singular() -> None:
    store = MemoryStore()
    _delivered(store, "Lead", 4, "email", "phone")
    dropped = (("destination", "shop"), ("event", "Lead"), ("kind", "email"), ("rule", "no @"))
    store.add_counts([Count("identifiers_dropped", dropped)], now=NOW)
    [lead] = event_matches(store.counter_minutes(NOW - 60), ["shop"])
    assert advice(lead) == [
        "None of the Lead conversions carries a click id (twclid): add the website tag to your "
        "pages, it keeps the click id of the ad the visitor came from.",
        "1 email of Lead was unusable and left out: check what you send in that field (the live "
        "debugger names the rule).",
    ]
