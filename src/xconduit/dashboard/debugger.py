"""The live debugger's page body: one compact line per event and destination, the payload to X
behind a click.

Each line is a server-rendered `<details>`: its `<summary>` (time, source, event, destination,
outcome, reason) is one line that the keyboard reaches and opens (Tab, Enter), and the
details hold the message id, the whole reason and the exact conversion X gets. No script: the
filters are a GET form, so they live in the URL and survive a reload or a shared link.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from xconduit.dashboard.html import clock_time, esc, when
from xconduit.dashboard.views import DebugLine

OUTCOMES = ("pending", "in_flight", "retry_scheduled", "delivered", "dead", "filtered", "invalid")


def _options(values: Sequence[str], chosen: str | None) -> str:
    opts = ['<option value="">all</option>']
    opts += [f"<option{' selected' if v == chosen else ''}>{esc(v)}</option>" for v in values]
    return "".join(opts)


def filters(
    sources: Sequence[str], *, source: str | None, event: str | None, outcome: str | None
) -> str:
    return (
        '<form method="get" id="filters">'
        f'<label>source <select name="source">{_options(sources, source)}</select></label> '
        f'<label>event <input name="event" value="{esc(event or "")}" placeholder="any"></label> '
        f'<label>outcome <select name="outcome">{_options(OUTCOMES, outcome)}</select></label> '
        '<button>Filter</button> <span class="muted hint">Newest first, 100 per source. '
        "Click a line (or Tab to it, Enter) for the exact payload X gets.</span></form>"
    )


def _dropped(pairs: list[list[str]]) -> str:
    shown = ", ".join(f"{kind} ({rule})" for kind, rule in pairs)
    return f"dropped {shown}" if pairs else ""


WAITING = ("pending", "in_flight", "retry_scheduled")


def line(d: DebugLine, held: Mapping[str, str] | None = None) -> str:
    """`held`: per destination, what holds its waiting events (a problem of the banner)."""
    waits = (held or {}).get(d.destination) if d.outcome in WAITING else None
    hold = f"held until this is fixed: {waits}" if waits else ""
    why = "; ".join(part for part in (d.reason, hold, _dropped(d.dropped)) if part)
    if d.payload:
        sent = (
            "<p>The payload X gets (hashed identifiers):</p>"
            f'<pre class="payload">{esc(d.payload)}</pre>'
        )
    else:
        sent = "<p>Nothing goes to X for this event and destination.</p>"
    return (
        f'<details class="debug-line" data-outcome="{esc(d.outcome)}">'
        f'<summary><time datetime="{esc(when(d.received_at))}" title="{esc(when(d.received_at))}">'
        f"{clock_time(d.received_at)}</time>"
        f"<span>{esc(d.source)}</span><span>{esc(d.event)}</span>"
        f"<span>{esc(d.destination)}</span>"
        f'<span class="outcome {esc(d.outcome)}">{esc(d.outcome)}</span>'
        f'<span class="why">{esc(why)}</span></summary>'
        f'<div class="debug-body"><p>messageId <code>{esc(d.message_id)}</code> · received '
        f"{when(d.received_at)}{f' · {esc(why)}' if why else ''}</p>{sent}</div></details>"
    )


def body(lines: Sequence[DebugLine], form: str, held: Mapping[str, str] | None = None) -> str:
    head = (
        '<div class="debug-head" aria-hidden="true"><span title="UTC">time</span>'
        "<span>source</span><span>event</span><span>destination</span><span>outcome</span><span>why</span></div>"
    )
    rows = "".join(line(d, held) for d in lines) or '<p class="muted">no event yet</p>'
    return f'<section id="debugger">{form}<div class="debug-lines">{head}{rows}</div></section>'
