"""The overview's charts: per event, conversions sent to X and failed, per hour over the last
24 hours and per day over the last 7 days (the hourly amounts of outbox/hours.py).

Each chart is server-rendered SVG with a title, time ticks on x and a value scale on y. Sent and
failed differ by more than colour (solid bars, hatched bars; a legend with the same symbols and
the totals), and a visually hidden table gives screen readers every number.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xconduit.dashboard.html import esc
from xconduit.observability.event_names import UNMAPPED
from xconduit.outbox.hours import HourRow, HourStore

HOUR, DAY = 3600, 86400
_KIND = {"conversions_delivered": "sent", "conversions_dead": "failed"}


@dataclass(kw_only=True)
class Bucket:
    start: int
    """Epoch seconds of the hour or day (UTC) the amounts are of."""
    sent: float = 0
    failed: float = 0


@dataclass(kw_only=True)
class EventCharts:
    event: str
    hours: list[Bucket] = field(default_factory=list)
    """The last 24 hours, oldest first (the current hour last)."""
    days: list[Bucket] = field(default_factory=list)
    """The last 7 days, oldest first (today last)."""


def hour_rows(store: Any, now: float) -> list[HourRow]:
    """What the charts draw: the last 7 days' hourly amounts (none if the store keeps none)."""
    if not isinstance(store, HourStore):
        return []
    return store.counter_hours(now - 7 * DAY)


def event_charts(rows: Iterable[HourRow], destination: str, *, now: float) -> list[EventCharts]:
    """The destination's events with conversions sent or failed in the last 7 days, the most
    first."""
    this_hour, today = int(now // HOUR), int(now // DAY)
    by_event: dict[str, EventCharts] = {}
    for row in rows:
        kind = _KIND.get(row.name)
        if kind is None or row.labels.get("destination") != destination:
            continue
        name = row.labels.get("event", UNMAPPED)
        charts = by_event.get(name)
        if charts is None:
            charts = by_event[name] = EventCharts(
                event=name,
                hours=[Bucket(start=(this_hour - 23 + i) * HOUR) for i in range(24)],
                days=[Bucket(start=(today - 6 + i) * DAY) for i in range(7)],
            )
        for buckets, at in (
            (charts.hours, 23 - (this_hour - row.hour)),
            (charts.days, 6 - (today - row.hour // 24)),
        ):
            if 0 <= at < len(buckets):
                setattr(buckets[at], kind, getattr(buckets[at], kind) + row.value)
    total = {name: sum(b.sent + b.failed for b in c.days) for name, c in by_event.items()}
    return sorted(by_event.values(), key=lambda c: (-total[c.event], c.event))


def _top(peak: float) -> float:
    """A round top for the value scale: 1, 2 or 5 times a power of ten, at least `peak`."""
    step = 1.0
    while True:
        for m in (1, 2, 5):
            if m * step >= peak:
                return m * step
        step *= 10


def _amount(value: float) -> str:
    return f"{value / 1000:,.0f}k" if value >= 10_000 else f"{value:,.0f}"


def _utc(ts: int, fmt: str) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime(fmt)


W, H = 360, 190
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 44, 150
"""The plot area: x from LEFT to W - RIGHT, y from TOP to BOTTOM."""


def chart(
    title: str,
    key: str,
    buckets: Sequence[Bucket],
    *,
    per: str,
    tick_every: int,
    tick_format: str,
    row_format: str,
) -> str:
    """One chart: `key` tells its ids from other charts' on the page; `per` is "hour" or
    "day"; every `tick_every`-th bucket (counted back from the last) gets a time tick on x."""
    uid = f"c{zlib.crc32(key.encode()):08x}"
    sent = sum(b.sent for b in buckets)
    failed = sum(b.failed for b in buckets)
    top = _top(max([max(b.sent, b.failed) for b in buckets] + [1.0]))
    span = (W - LEFT - RIGHT) / max(len(buckets), 1)

    def y(value: float) -> float:
        return BOTTOM - (BOTTOM - TOP) * value / top

    parts = [
        f'<defs><pattern id="{uid}-hatch" width="5" height="5" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="5" height="5" fill="#fde7ee"/>'
        '<line x1="0" y1="0" x2="0" y2="5" stroke="#c62828" stroke-width="2.5"/></pattern></defs>'
    ]
    ticks = (0.0, top / 2, top) if (top / 2).is_integer() else (0.0, top)
    for value in ticks:
        parts.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{"#8899a6" if value == 0 else "#e1e8ed"}"/>'
            f'<text class="y-tick" x="{LEFT - 4}" y="{y(value) + 3:.1f}" text-anchor="end">'
            f"{_amount(value)}</text>"
        )
    for i, b in enumerate(buckets):
        x = LEFT + i * span
        bar = max(span * 0.38, 1.0)
        if b.sent:
            parts.append(
                f'<rect x="{x + span * 0.1:.1f}" y="{y(b.sent):.1f}" width="{bar:.1f}" '
                f'height="{BOTTOM - y(b.sent):.1f}" fill="#00a676"/>'
            )
        if b.failed:
            parts.append(
                f'<rect x="{x + span * 0.5:.1f}" y="{y(b.failed):.1f}" width="{bar:.1f}" '
                f'height="{BOTTOM - y(b.failed):.1f}" fill="url(#{uid}-hatch)" '
                'stroke="#c62828"/>'
            )
        if (len(buckets) - 1 - i) % tick_every == 0:
            mid = x + span / 2
            parts.append(
                f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{BOTTOM}" y2="{BOTTOM + 4}" '
                f'stroke="#8899a6"/><text class="x-tick" x="{mid:.1f}" y="{BOTTOM + 15}" '
                f'text-anchor="middle">{_utc(b.start, tick_format)}</text>'
            )
    sent_text = f"sent to X {_amount(sent)}"
    second = LEFT + 15 + 7 * len(sent_text) + 14  # 11 px text: under 7 px a character
    parts.append(
        f'<text class="axis" x="{(LEFT + W - RIGHT) / 2}" y="{H - 4}" text-anchor="middle">'
        f"{per} (UTC)</text>"
        f'<text class="axis" x="4" y="{TOP - 16}">conversions per {per}</text>'
        f'<g class="legend"><rect x="{LEFT}" y="4" width="11" height="11" fill="#00a676"/>'
        f'<text x="{LEFT + 15}" y="13">{sent_text}</text>'
        f'<rect x="{second}" y="4" width="11" height="11" fill="url(#{uid}-hatch)" '
        f'stroke="#c62828"/><text x="{second + 15}" y="13">failed {_amount(failed)}</text></g>'
    )
    rows = "".join(
        f"<tr><th scope=row>{_utc(b.start, row_format)}</th>"
        f'<td class="n">{b.sent:,.0f}</td><td class="n">{b.failed:,.0f}</td></tr>'
        for b in buckets
    )
    summary = f"{title}: {sent:,.0f} sent to X, {failed:,.0f} failed"
    return (
        f'<figure class="chart"><figcaption>{esc(title)}</figcaption>'
        f'<svg role="img" aria-label="{esc(summary)}" viewBox="0 0 {W} {H}" width="{W}" '
        f'height="{H}">{"".join(parts)}</svg>'
        f'<div class="sr-only"><table><caption>{esc(title)}</caption><thead><tr>'
        f"<th scope=col>{per} (UTC)</th><th scope=col>sent to X</th><th scope=col>failed</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div></figure>"
    )


def charts_section(rows: Iterable[HourRow], destination: str, *, now: float) -> str:
    """The destination's charts, two per event (24 hours, 7 days)."""
    per_event = event_charts(rows, destination, now=now)
    if not per_event:
        return (
            "<h3>Sent to X and failed, per event</h3><p class=muted>No conversion was sent to X "
            "or failed in the last 7 days.</p>"
        )
    figures = "".join(
        '<div class="charts">'
        + chart(
            f"{c.event}, last 24 hours",
            f"{destination}/{c.event}/hours",
            c.hours,
            per="hour",
            tick_every=6,
            tick_format="%H:00",
            row_format="%Y-%m-%d %H:00",
        )
        + chart(
            f"{c.event}, last 7 days",
            f"{destination}/{c.event}/days",
            c.days,
            per="day",
            tick_every=1,
            tick_format="%a %d",
            row_format="%a %Y-%m-%d",
        )
        + "</div>"
        for c in per_event
    )
    return f"<h3>Sent to X and failed, per event</h3>{figures}"
