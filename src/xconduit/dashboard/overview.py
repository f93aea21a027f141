"""The overview's destination sections, in a marketer's words.

Per destination over the last day: received, sent to X, not sent (grouped by why in plain
words), waiting (and when it reaches X at the account's budget, or what holds it) and failed
(X's reason, what to do, replay). received = sent + not sent + waiting + failed for events of
the last day. The engine's states (jobs by state, retries) are on the delivery engine page.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

from xconduit.dashboard.charts import charts_section
from xconduit.dashboard.event_views import EventOutcome
from xconduit.dashboard.html import esc, events, num, table, when
from xconduit.dashboard.problems import RootCause
from xconduit.dashboard.views import Outcomes, RateBudget
from xconduit.dashboard.waiting_classes import WaitingClass
from xconduit.outbox.hours import HourRow

HEADS = ["", "received", "sent to X", "not sent", "waiting", "failed", "why not sent"]


def _debugger(**query: str) -> str:
    return "/dashboard/debugger?" + urlencode(query)


def _by(at: float | None, now: float, *, first: bool) -> str:
    """When a class reaches X: a time of today as 14:05 UTC, of another day with its date."""
    if at is None or at <= now + 60:
        return "being sent now"
    same_day = when(at)[:10] == when(now)[:10]
    return f"{'all at X by' if first else 'by'} {when(at)[11 if same_day else 0 : -7]} UTC"


def _classes(classes: Sequence[WaitingClass], now: float) -> str:
    """Per priority class, most urgent first: "Purchases: 120 waiting, all at X by 14:05"."""
    items = "".join(
        f'<li data-priority="{c.priority}"><b>{esc(c.words[:1].upper() + c.words[1:])}</b>: '
        f'<span data-metric="{esc(c.destination)}.waiting.{c.priority}">{c.waiting:,}</span> '
        f"waiting, {_by(c.reaches_x_at, now, first=i == 0)}</li>"
        for i, c in enumerate(classes)
    )
    return f'<ul class="waiting-classes">{items}</ul>'


def _waiting(
    o: Outcomes,
    *,
    budget: RateBudget | None,
    holds: Sequence[RootCause],
    now: float,
    classes: Sequence[WaitingClass] = (),
) -> str:
    if not o.waiting:
        return ""
    what = f"{events(o.waiting)} waiting"
    if holds:
        causes = "; ".join(c.what for c in holds)
        return (
            f'<p class="waiting-note">{what}: held until this is fixed: <b>{esc(causes)}</b> '
            "(see Needs attention above). Nothing is lost: they are sent once it is fixed.</p>"
        )
    if budget is None or budget.drained_at is None or budget.drained_at <= now + 60:
        return f'<p class="waiting-note">{what}: being sent now.</p>'
    minutes = int(budget.window // 60)
    order = " Sent most urgent first:" if classes else ""
    return (
        f'<p class="waiting-note">{what}: all reach X by {when(budget.drained_at)} at the '
        f"account's budget ({budget.allowed:,} per {minutes} minutes).{order}</p>"
        f"{_classes(classes, now) if classes else ''}"
    )


def _not_sent(o: Outcomes) -> str:
    if not o.not_sent:
        return ""
    items = "".join(
        f'<li><span data-metric="{esc(o.name)}.not_sent.{esc(why)}">{n:,.0f}</span> {esc(why)}</li>'
        for why, n in sorted(o.not_sent.items(), key=lambda item: -item[1])
    )
    link = _debugger(outcome="filtered")
    invalid = _debugger(outcome="invalid")
    return (
        f"<h3>Not sent, and why</h3><ul class=why>{items}</ul>"
        f'<p class=muted>Each one, with its exact reason: <a href="{link}">filtered</a> and '
        f'<a href="{invalid}">invalid</a> events in the live debugger.</p>'
    )


def failed_words(reason: str) -> str:
    """A dead letter's counted reason (observability.metered.dead_reason) as a sentence."""
    if reason == "retry_window_exhausted":
        return "X did not take them before the retries ran out (X down or too slow for hours)"
    if reason.startswith("http_"):
        return f"X answered HTTP {reason.removeprefix('http_')}"
    if not reason or reason == "other":
        return "for another reason (the Dead letters page has X's words)"
    return f"X said: {reason}"


def _failed(o: Outcomes) -> str:
    if not o.failed:
        return ""
    items = "".join(
        f"<li>{n:,.0f} — {esc(failed_words(reason))}</li>"
        for reason, n in sorted(o.failed_why.items(), key=lambda item: -item[1])
    )
    return (
        f"<h3>Failed, and X's reason</h3><ul class=why>{items}</ul>"
        "<p>What to do: fix what X names (the mapping or the data), then send them again with "
        '<b>Replay</b> on the <a href="/dashboard/dead">Dead letters</a> page.</p>'
    )


def _event_row(name: str, e: EventOutcome) -> str:
    key = f"{name}.event.{e.event}"
    why = "; ".join(
        f"{n:,.0f} {w}" for w, n in sorted(e.not_sent.items(), key=lambda item: -item[1])
    )
    return (
        f'<tr class="event-row"><td>{esc(e.event)}</td>'
        f"{num(e.received, f'{key}.received')}{num(e.sent, f'{key}.sent')}"
        f"{num(e.not_sent_total, f'{key}.not_sent')}{num(e.waiting, f'{key}.waiting')}"
        f"{num(e.failed, f'{key}.failed')}<td>{esc(why)}</td></tr>"
    )


def destination_section(
    o: Outcomes,
    *,
    hours: Sequence[HourRow],
    budget: RateBudget | None,
    holds: Sequence[RootCause],
    now: float,
    classes: Sequence[WaitingClass] = (),
) -> str:
    name = o.name
    cells = (
        num(o.received, f"{name}.day.received")
        + num(o.sent, f"{name}.day.sent")
        + num(sum(o.not_sent.values()), f"{name}.day.not_sent")
        + num(o.waiting, f"{name}.now.waiting")
        + num(o.failed, f"{name}.day.failed")
    )
    rows = [f"<tr><td><b>all events</b></td>{cells}<td></td></tr>"]
    rows += [_event_row(name, e) for e in o.events]
    return (
        f'<section id="dest-{esc(name)}"><h2>Destination {esc(name)}</h2>'
        f"{table(HEADS, rows)}"
        "<p class=muted>Over the last 24 hours; the waiting of all events is now, an event's "
        "waiting is what arrived in those 24 hours and has not reached X yet. Each received "
        "event is sent, not sent, waiting or failed. Events the configuration does not map are "
        "counted as <i>(not mapped)</i>.</p>"
        f"{_waiting(o, budget=budget, holds=holds, now=now, classes=classes)}"
        f"{_not_sent(o)}{_failed(o)}"
        f"{charts_section(hours, name, now=now)}</section>"
    )
