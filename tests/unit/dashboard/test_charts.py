"""The overview's charts (pure rendering): axes, series told apart by more than colour, and
every number in a table for screen readers."""

from __future__ import annotations

import re

from xconduit.dashboard.charts import charts_section, event_charts
from xconduit.outbox.hours import HourRow

NOW = 1_767_268_800.0 + 30 * 60  # Thursday 2026-01-01 12:30 UTC
THIS_HOUR = int(NOW // 3600)


def row(hours_ago: int, name: str, value: float, event: str = "Purchase") -> HourRow:
    labels = {"destination": "shop", "event": event}
    return HourRow(THIS_HOUR - hours_ago, name, labels, value)


ROWS = [
    row(0, "conversions_delivered", 120),
    row(0, "conversions_dead", 3),
    row(5, "conversions_delivered", 40),
    row(30, "conversions_delivered", 1000),  # yesterday: in the 7 days, not in the 24 hours
    row(24 * 9, "conversions_delivered", 7),  # older than 7 days
    row(1, "conversions_delivered", 5, event="Lead"),
    HourRow(THIS_HOUR, "conversions_delivered", {"destination": "other", "event": "X"}, 9),
]


def test_buckets_per_hour_and_per_day_per_event_most_first() -> None:
    purchase, lead = event_charts(ROWS, "shop", now=NOW)
    assert (purchase.event, lead.event) == ("Purchase", "Lead")
    assert len(purchase.hours) == 24
    assert len(purchase.days) == 7
    assert (purchase.hours[-1].sent, purchase.hours[-1].failed) == (120, 3)
    assert purchase.hours[-6].sent == 40
    assert sum(b.sent for b in purchase.hours) == 160
    assert (purchase.days[-1].sent, purchase.days[-2].sent) == (160, 1000)
    assert sum(b.sent for b in purchase.days) == 1160
    assert lead.hours[-2].sent == 5


def test_a_chart_has_labelled_axes_a_legend_and_a_table_of_its_numbers() -> None:
    html = charts_section(ROWS, "shop", now=NOW)
    first = html[: html.index("</figure>")]
    assert "<figcaption>Purchase, last 24 hours</figcaption>" in first
    assert "conversions per hour" in first
    assert "hour (UTC)" in first
    ticks = re.findall(r'class="x-tick"[^>]*>([^<]+)<', first)
    assert ticks == ["18:00", "00:00", "06:00", "12:00"]
    assert re.findall(r'class="y-tick"[^>]*>([^<]+)<', first) == ["0", "100", "200"]
    # failed bars are hatched (a pattern), sent bars solid, and the legend shows both symbols
    assert first.count('fill="url(#') == 2
    assert "sent to X 160" in first
    assert "failed 3" in first
    table = first[first.index('<div class="sr-only"><table>') :]
    assert '<th scope=row>2026-01-01 12:00</th><td class="n">120</td><td class="n">3</td>' in table
    assert table.count("<tr>") == 25  # the head and 24 hours
    week = html[html.index("Purchase, last 7 days") :]
    assert "conversions per day" in week
    assert "day (UTC)" in week
    assert '<th scope=row>Wed 2025-12-31</th><td class="n">1,000</td>' in week
    assert "Thu 01" in week  # today's tick
    assert "Lead, last 24 hours" in html
    assert ">X, last" not in html


def test_no_traffic_says_so() -> None:
    assert "No conversion was sent to X or failed in the last 7 days." in charts_section(
        [], "shop", now=NOW
    )
