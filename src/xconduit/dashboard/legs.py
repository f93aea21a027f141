"""The overview's both-legs section: of the conversion ids first seen in the last 24 hours, the
share brought by the website tag and by the server (X deduplicates those: one purchase, counted
once), by the tag only, by the server only (`queue.legs`)."""

from __future__ import annotations

from typing import Any

from xconduit.config import Settings
from xconduit.dashboard.html import esc, num, table
from xconduit.dashboard.views import DAY
from xconduit.errors import XconduitError
from xconduit.outbox.legs import LegShares, LegStore

HEADS = ["destination", "conversions", "both legs", "website tag only", "server only"]


def _pct(metric: str, legs: LegShares, n: int) -> str:
    return f'<td class="n" data-metric="{esc(metric)}">{legs.share(n) * 100:.0f}%</td>'


def legs_section(settings: Settings, store: Any, *, now: float) -> str:
    if not isinstance(store, LegStore):
        return ""
    try:
        shares = store.leg_shares(now - DAY)
    except XconduitError as error:  # a figure of the page, never the page's failure
        note = f"Both legs: cannot be read ({esc(error)})."
        return f'<section id="legs"><p class=muted>{note}</p></section>'
    rows = []
    for dest in (d.name for d in settings.conversions):
        legs = shares.get(dest)
        if legs is None or not legs.total:
            continue
        m = f"{dest}.legs"
        rows.append(
            f"<tr><td>{esc(dest)}</td>{num(legs.total, f'{m}.total')}"
            f"{_pct(f'{m}.both', legs, legs.both)}{_pct(f'{m}.pixel', legs, legs.pixel_only)}"
            f"{_pct(f'{m}.server', legs, legs.server_only)}</tr>"
        )
    return (
        '<section id="legs"><h2>Website tag and server: counted once</h2>'
        "<p class=muted>Conversions with one conversion id (order id) seen in the last 24 hours. "
        "<b>Both legs</b>: the website tag's pixel and the server both sent it; X keeps one "
        "and drops the other, so a purchase is not counted twice. <b>Website tag only</b>: the "
        "server never sent it (add the server's events to catch what ad blockers stop). "
        "<b>Server only</b>: no pixel saw it (a page without the tag, a blocked pixel). A "
        "sync's rows count for the ids the tag brought; offline orders no tag saw are left out."
        "</p>"
        f"{table(HEADS, rows, empty='no conversion with a conversion id yet')}</section>"
    )
