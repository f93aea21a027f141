"""The overview's match-quality section: per destination and event, the share of sent
conversions carrying each identifier, the score and the advice (`dashboard.match`)."""

from __future__ import annotations

from typing import Any

from xconduit.config import Settings
from xconduit.dashboard import views
from xconduit.dashboard.html import esc, num, table
from xconduit.dashboard.match import WEIGHTS, EventMatch, advice, event_matches
from xconduit.observability.tally import MATCH_KEYS, ONLY_IP_UA

LABELS = {"twclid": "click id", "email": "email", "phone": "phone", "ip_ua": "IP + UA"}
HEADS = ["destination", "event", "sent", *LABELS.values(), "only IP + UA", "score (0–10)"]
HOW = (
    "<details id=match-how><summary>How the score is computed</summary><p>Each sent conversion "
    "earns points for the identifiers it carries: "
    + ", ".join(f"{LABELS[k]} {w}" for k, w in WEIGHTS.items())
    + " (10 when it carries all four). The score is their average over the last 24 hours: a "
    "click id ties the conversion to the ad that was clicked, an email or a phone number to an X "
    "account, IP + user agent only guess. Why these weights: "
    "<code>docs/explanation/match-quality.md</code>.</p></details>"
)


def _cells(m: EventMatch, metric: str) -> str:
    shares = "".join(
        f'<td class="n" data-metric="{esc(metric)}.{k}">{m.share(k) * 100:.0f}%</td>'
        for k in (*MATCH_KEYS, ONLY_IP_UA)
    )
    return (
        f"{num(m.sent, f'{metric}.delivered')}{shares}"
        f'<td class="n" data-metric="{esc(metric)}.score"><b>{m.score:.1f}</b></td>'
    )


def _total(destination: str, events: list[EventMatch]) -> EventMatch:
    total = EventMatch(destination=destination, event="all events")
    for m in events:
        total.sent += m.sent
        for key, n in m.carrying.items():
            total.carrying[key] += n
    return total


def match_section(settings: Settings, store: Any, *, now: float) -> str:
    names = [d.name for d in settings.conversions]  # audiences are not conversions
    matches = event_matches(store.counter_minutes(now - views.DAY), names)
    rows, tips = [], []
    for dest in names:
        events = [m for m in matches if m.destination == dest]
        if not events:
            continue
        total = _total(dest, events)
        rows.append(
            f"<tr><td>{esc(dest)}</td><td><b>all events</b></td>"
            f"{_cells(total, f'{dest}.match')}</tr>"
        )
        for m in events:
            metric = f"{dest}.event.{m.event}.match"
            rows.append(f"<tr><td></td><td>{esc(m.event)}</td>{_cells(m, metric)}</tr>")
            tips += [
                f'<li data-advice="{esc(dest)}.{esc(m.event)}">{esc(line)}</li>'
                for line in advice(m)
            ]
    advice_html = f"<h3>What would raise it</h3><ul class=advice>{''.join(tips)}</ul>"
    return (
        '<section id="match"><h2>Match quality (last 24 hours)</h2>'
        "<p class=muted>Share of the conversions sent to X carrying each identifier: the more "
        "X can match a conversion to a person, the more of them it attributes to your ads.</p>"
        f"{table(HEADS, rows)}{HOW}{advice_html if tips else ''}"
        f"{_dropped(settings, store, now=now)}</section>"
    )


def _dropped(settings: Settings, store: Any, *, now: float) -> str:
    rows = [
        f"<tr><td>{esc(m.destination)}</td><td>{esc(kind)}</td>"
        f"{num(n, f'{m.destination}.dropped.{kind}')}"
        f"<td>{esc(rule or views.DROP_WHY.get(kind, ''))}</td></tr>"
        for m in views.match_quality(settings, store, now=now)
        if m.destination in {d.name for d in settings.conversions}
        for (kind, rule), n in sorted(m.dropped.items())
    ]
    heads = ["destination", "identifier", "dropped", "why"]
    return f"<h3>Identifiers dropped, and why</h3>{table(heads, rows, empty='none')}"
