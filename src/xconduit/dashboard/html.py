"""HTML building blocks of the dashboard: the page frame, tables and numbers."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from xconduit.dashboard.problems import RootCause

NAV = (
    ("/", "Overview"),
    ("/dashboard/debugger", "Live debugger"),
    ("/dashboard/syncs", "Syncs"),
    ("/dashboard/audiences", "Audiences"),
    ("/dashboard/dead", "Dead letters"),
    ("/dashboard/connection", "Connection and checks"),
    ("/dashboard/engine", "Delivery engine"),
)

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9 }
header { background: #14171a; color: #fff; padding: .6em 1.5em; display: flex; gap: 1.5em;
  align-items: baseline }
header a { color: #cfd9de; text-decoration: none } header a.on { color: #fff; font-weight: 600 }
header b { font-size: 1.1em; margin-right: 1em }
main { padding: .8em 1.5em; max-width: 90em }
/* The header's highlighted link names the page; the title stays for screen readers. */
h1 { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%) }
section { background: #fff; border: 1px solid #e1e8ed; border-radius: 6px; padding: .6em 1em;
  margin: 0 0 1em }
h2 { font-size: 1.1em; margin: .3em 0 .6em } h3 { font-size: 1em; margin: .8em 0 .3em }
table { border-collapse: collapse; width: 100% } th, td { text-align: left; padding: .25em .6em;
  border-bottom: 1px solid #eef1f3; vertical-align: top } th { color: #536471; font-weight: 500 }
td.n { text-align: right; font-variant-numeric: tabular-nums }
.ok { color: #00875a } .fail { color: #c62828; font-weight: 600 } .skip { color: #8899a6 }
.banner { background: #fdecea; border: 1px solid #f5c2c0; padding: .4em 1em; border-radius: 6px;
  margin-bottom: .8em } .banner ul { margin: .2em 0; padding-left: 1.2em }
pre { background: #f6f8fa; padding: .5em; margin: 0; font-size: 12px;
  white-space: pre-wrap; max-width: 46em } .muted { color: #8899a6 }
button { cursor: pointer } form.inline { display: inline }
.debug-lines { font: 12px/13px ui-monospace, monospace; border-top: 1px solid #e1e8ed }
.debug-head, .debug-line > summary { display: grid; gap: .8em; padding: 0 .4em;
  grid-template-columns: 5.5em 6em minmax(8em, 1.2fr) 7em 8em minmax(10em, 3fr) }
.debug-head { color: #536471; border-bottom: 1px solid #e1e8ed }
.debug-head span, .debug-line > summary > * { overflow: hidden; white-space: nowrap;
  text-overflow: ellipsis }
.debug-line > summary { cursor: pointer; list-style: none }
.debug-line > summary::-webkit-details-marker { display: none }
.debug-line:nth-of-type(even) > summary { background: #f6f8fa }
.debug-line > summary:hover, .debug-line[open] > summary { background: #e8f1fb }
.debug-line > summary:focus-visible { outline: 2px solid #1d9bf0; outline-offset: -2px }
.debug-body { padding: .3em .6em .6em 6.3em; font: 13px/1.45 system-ui, sans-serif;
  border-bottom: 1px solid #e1e8ed } .debug-body p { margin: .2em 0 }
.outcome.delivered { color: #00875a } .outcome.dead, .outcome.invalid { color: #c62828 }
.outcome.filtered, .outcome.purged { color: #8899a6 }
pre.payload { max-width: 60em; word-break: break-all; overflow-wrap: anywhere }
#filters { margin: 0 0 .4em } .hint { font-size: 12px } #debugger { padding: .4em .8em }
#filters label { margin-right: .6em } tr:target { background: #fff3c4 }
.banner li.problem .what { font-weight: 600 }
.wide { overflow-x: auto } .compact table { width: auto; min-width: 18em }
.nowrap { white-space: nowrap } .why { font-size: 12px }
/* 390 px wide: the header wraps, wide tables scroll inside their section, never the page. */
header { flex-wrap: wrap; row-gap: .3em } section { overflow-x: auto } pre { max-width: 100% }
svg { max-width: 100%; height: auto } .banner { overflow-wrap: anywhere }
@media (max-width: 40em) { header, main { padding-left: .6em; padding-right: .6em }
  header { gap: .4em 1em } section { padding: .5em .6em }
  /* a debugger line on two rows (time, source, event / destination, outcome, why), as its head */
  .debug-head, .debug-line > summary { grid-template-columns: 5.3em minmax(0, 1fr) minmax(0, 1.3fr);
    gap: 0 .6em; padding: .15em .4em } .debug-body { padding-left: .6em }
  .runs thead { display: none } .runs tr, .runs td { display: block; text-align: left }
  .runs td { border: 0; padding: .1em .3em } .runs tr { border-bottom: 1px solid #e1e8ed }
  .runs td::before { content: attr(data-label) ": "; color: #536471 } }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22em), 1fr));
  gap: .2em 1.5em; max-width: 64em } figure.chart { margin: 0 0 .6em; position: relative }
figure.chart figcaption { font-weight: 600; font-size: 13px }
figure.chart svg text { font: 10px system-ui, sans-serif; fill: #536471 }
figure.chart .legend text { fill: #1d232a; font-size: 11px }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  white-space: nowrap }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible {
  outline: 2px solid #1d9bf0; outline-offset: 2px }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def when(ts: float | None) -> str:
    if ts is None:
        return "–"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(ts: float) -> str:
    """The time of day (UTC) of a timestamp, for compact lines (the full date in a title)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S")


def num(value: float, metric: str = "") -> str:
    """A number cell; `metric` names it for tests and scripts (`data-metric`)."""
    attr = f' data-metric="{esc(metric)}"' if metric else ""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f'<td class="n"{attr}>{shown}</td>'


def table(headers: Sequence[str], rows: Iterable[str], *, empty: str = "nothing yet") -> str:
    body = "".join(rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="muted">{esc(empty)}</td></tr>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def events(n: int) -> str:
    return f"{n:,} event" if n == 1 else f"{n:,} events"


def problem_line(cause: RootCause) -> str:
    """One root cause: the setting, what is wrong, the fix, the events waiting, the check."""
    why = f" — {esc(cause.why)}" if cause.why else ""
    fix = f". <b>Fix:</b> {esc(cause.fix)}" if cause.fix else ""
    wait = (
        f' · <span class="waiting" data-waiting="{cause.waiting}">{events(cause.waiting)} '
        f"wait{'s' if cause.waiting == 1 else ''} on it</span>"
        if cause.waiting
        else ""
    )
    who = f' title="reported by {esc(", ".join(cause.reported_by))}"' if cause.reported_by else ""
    return (
        f'<li class="problem"{who}><b class="what">{esc(cause.what)}</b>{why}{fix}{wait} · '
        f'<a href="{esc(cause.link)}">the check</a></li>'
    )


def page(
    title: str,
    path: str,
    body: str,
    *,
    causes: Sequence[RootCause] = (),
    notes: Sequence[str] = (),
) -> str:
    """`causes`: the problems, one per root cause; `notes`: other lines for the banner."""
    nav = "".join(
        f'<a href="{href}"{" class=on aria-current=page" if href == path else ""}>{esc(label)}</a>'
        for href, label in NAV
    )
    alarm = ""
    if causes or notes:
        items = "".join(problem_line(c) for c in causes)
        items += "".join(f'<li class="note">{esc(n)}</li>' for n in notes)
        alarm = (
            '<div class="banner" id="alarm"><b>Needs attention</b> · '
            f'<a href="/dashboard/connection">see the checks</a><ul>{items}</ul></div>'
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)} · '
        f"xconduit</title><meta name=viewport content='width=device-width'>"
        f"<style>{_STYLE}</style></head><body><header><b>xconduit</b>{nav}</header>"
        f"<main><h1>{esc(title)}</h1>{alarm}{body}</main></body></html>"
    )
