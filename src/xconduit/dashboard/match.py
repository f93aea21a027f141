"""Match quality per destination and event: the share of sent conversions carrying each
identifier, one score from 0 to 10 and the advice that would raise it (pure).

    score = 4 × share with a click id + 3 × with an email + 2 × with a phone + 1 × with IP + UA

Each conversion earns the points of the identifiers it carries (10 when it carries all four) and
the score is their average: docs/explanation/match-quality.md says why these weights.
Audiences are not conversions and get no row here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from xconduit.observability.event_names import UNMAPPED
from xconduit.observability.tally import MATCH_KEYS, ONLY_IP_UA
from xconduit.outbox.counts import MinuteRow

WEIGHTS = {"twclid": 4, "email": 3, "phone": 2, "ip_ua": 1}
"""Points a conversion earns per identifier it carries (they add up to 10)."""
GOOD = 8.0
"""A score from which the advice says nothing is missing."""
ADVISE_FROM = 0.1
"""A gap smaller than this share of the conversions is not worth a sentence."""


@dataclass(kw_only=True)
class EventMatch:
    destination: str
    event: str
    sent: float = 0
    carrying: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Sent conversions carrying each of MATCH_KEYS, and ONLY_IP_UA."""
    dropped: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Identifiers dropped (present but unusable), by kind."""

    def share(self, key: str) -> float:
        return self.carrying.get(key, 0) / self.sent if self.sent else 0.0

    @property
    def score(self) -> float:
        return sum(weight * self.share(key) for key, weight in WEIGHTS.items())


def event_matches(rows: Iterable[MinuteRow], destinations: list[str]) -> list[EventMatch]:
    """Per destination (in this order) and event, those with any sent conversion."""
    found: dict[tuple[str, str], EventMatch] = {}
    for row in rows:
        if row.name not in (
            "conversions_delivered",
            "conversions_delivered_with",
            "identifiers_dropped",
        ):
            continue
        dest = row.labels.get("destination", "")
        if dest not in destinations:
            continue
        key = (dest, row.labels.get("event", UNMAPPED))
        m = found.get(key) or found.setdefault(key, EventMatch(destination=dest, event=key[1]))
        if row.name == "conversions_delivered":
            m.sent += row.value
        elif row.name == "conversions_delivered_with":
            m.carrying[row.labels.get("key", "")] += row.value
        else:
            m.dropped[row.labels.get("kind", "")] += row.value
    order = {name: i for i, name in enumerate(destinations)}
    kept = [m for m in found.values() if m.sent]
    return sorted(kept, key=lambda m: (order[m.destination], -m.sent, m.event))


def _pct(share: float) -> str:
    return f"{share * 100:.0f} %"


def _without(m: EventMatch, key: str, what: str) -> str:
    """ "None of the Purchase conversions carries an email" or "40 % of … carry no email"."""
    if m.share(key) == 0:
        return f"None of the {m.event} conversions carries {what}"
    return f"{_pct(1 - m.share(key))} of {m.event} conversions carry no {what.split(' ', 1)[1]}"


_DROPPED = {"email": ("email", "emails"), "phone": ("phone number", "phone numbers")}


def advice(m: EventMatch) -> list[str]:
    """What would raise the score, most points first; one sentence when nothing would."""
    event = m.event
    out = []
    weak = m.share(ONLY_IP_UA)
    if weak >= ADVISE_FROM:
        out.append(
            f"{_pct(weak)} of {event} conversions carry only IP + user agent: "
            "send the email from your checkout (or sign-up form) with the event."
        )
    if m.share("twclid") <= 1 - ADVISE_FROM:
        out.append(
            f"{_without(m, 'twclid', 'a click id (twclid)')}: add the website tag to your "
            "pages, it keeps the click id of the ad the visitor came from."
        )
    if m.share("email") <= 1 - ADVISE_FROM and weak < ADVISE_FROM:
        out.append(
            f"{_without(m, 'email', 'an email')}: send the customer's email "
            "(properties.email or traits.email) when you know it."
        )
    if m.share("phone") <= 1 - ADVISE_FROM and m.share("email") < 1 - ADVISE_FROM:
        out.append(f"Add the phone number to {event} when you have it: X matches it too.")
    for kind, n in sorted(m.dropped.items()):
        one, many = _DROPPED.get(kind, (kind, kind))
        if n and kind in _DROPPED:
            out.append(
                f"{n:,.0f} {one if n == 1 else many} of {event} "
                f"{'was' if n == 1 else 'were'} unusable and left out: check what you send in "
                "that field (the live debugger names the rule)."
            )
    if m.score >= GOOD or not out:
        return [f"{event}: good match quality; nothing important is missing.", *out[:1]]
    return out


__all__ = ["MATCH_KEYS", "EventMatch", "advice", "event_matches"]
