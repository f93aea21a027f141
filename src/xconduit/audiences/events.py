"""Audience changes from events (pure): `Audience Entered` / `Audience Exited`, and a trait.

* `track` `Audience Entered` / `Audience Exited` whose `properties.audience_key` is an
  audience's name: the user enters / exits that audience.
* `identify` whose `traits` (or `context.traits`) hold an audience's `trait` as a boolean: true
  enters, false exits; a missing or non-boolean trait changes nothing.

The user's identifiers are read by the audience's `identifiers` (event field paths) before the
defaults of the mapping rules, normalised and hashed here. An exit needs none when the event has
a `userId` (or `anonymousId`): the user is removed with the identifiers it was added with. Any
other event without a usable identifier makes no change, and the reason is returned for the
collector's answer. A suppressed user never
enters: the change becomes an exit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from xconduit.audiences.identity import event_key, user_object
from xconduit.config import AudienceSettings, SuppressionSettings
from xconduit.errors import ConfigError
from xconduit.events import Event
from xconduit.normalize.audience import audience_user, audience_values
from xconduit.normalize.paths import DEFAULT_PATHS, IdentifierPaths, compile_path
from xconduit.outbox.audience_jobs import AudienceChange, ChangeOp

ENTERED = "audience entered"
EXITED = "audience exited"
_PATH_FIELD = {"phone_number": "phone"}


@dataclass(frozen=True, kw_only=True)
class _Rule:
    name: str
    trait: str
    keys: tuple[str, ...]
    paths: IdentifierPaths
    region: str


def _paths(audience: AudienceSettings) -> IdentifierPaths:
    """Configured event fields first, then the defaults; a column name is not a field path."""
    changes: dict[str, tuple[str, ...]] = {}
    for key, field in audience.identifiers.items():
        attr = _PATH_FIELD.get(key, key)
        try:
            compile_path(field)
        except ConfigError:
            continue  # a snapshot column such as "email": the defaults apply to events
        changes[attr] = (field, *getattr(DEFAULT_PATHS, attr))
    return replace(DEFAULT_PATHS, **changes)  # type: ignore[arg-type]


class AudienceEvents:
    """Turns one event into the audience changes it makes (none for most events)."""

    def __init__(
        self, audiences: Sequence[AudienceSettings], suppression: SuppressionSettings
    ) -> None:
        self._rules = {
            a.name: _Rule(
                name=a.name,
                trait=a.trait,
                keys=tuple(a.identifiers),
                paths=_paths(a),
                region=a.phone_region,
            )
            for a in audiences
        }
        self._traits = [r for r in self._rules.values() if r.trait]
        self._user_ids = frozenset(suppression.user_ids)
        self._hashes = frozenset(h.lower() for h in suppression.hashed_identifiers)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def changes(self, event: Event) -> tuple[AudienceChange, ...]:
        return self.read(event)[0]

    def read(self, event: Event) -> tuple[tuple[AudienceChange, ...], tuple[tuple[str, str], ...]]:
        """The changes the event makes, and `(audience, reason)` for each it cannot make (no
        usable identifier): the collector reports those as invalid for `audience:<name>`."""
        wanted: list[tuple[_Rule, ChangeOp]] = []
        if event.type == "track" and event.event:
            name = event.event.strip().lower()
            if name in (ENTERED, EXITED):
                rule = self._rules.get(str(event.properties.get("audience_key") or ""))
                if rule is not None:
                    wanted.append((rule, "add" if name == ENTERED else "remove"))
        elif event.type == "identify":
            context_traits = event.context.get("traits")
            for rule in self._traits:
                value = event.traits.get(rule.trait)
                if value is None and isinstance(context_traits, dict):
                    value = context_traits.get(rule.trait)
                if isinstance(value, bool):
                    wanted.append((rule, "add" if value else "remove"))
        changes: list[AudienceChange] = []
        problems: list[tuple[str, str]] = []
        for rule, op in wanted:
            change = self._change(event, rule, op)
            if isinstance(change, str):
                problems.append((rule.name, change))
            else:
                changes.append(change)
        return tuple(changes), tuple(problems)

    def _change(self, event: Event, rule: _Rule, op: ChangeOp) -> AudienceChange | str:
        values = audience_values(event, keys=rule.keys, paths=rule.paths)
        user = audience_user(values, region=rule.region, keys=rule.keys)
        if user.is_empty() and op == "remove" and (event.user_id or event.anonymous_id):
            # The user is known by its userId (else anonymousId): the removal goes out with the
            # identifiers it was added with (the flush reads them from the members).
            key = event_key(event.user_id, event.anonymous_id, b"")
            return AudienceChange(audience=rule.name, user_key=key, op=op, payload=b"{}")
        if user.is_empty():
            if user.dropped:
                return f"no usable identifier ({', '.join(k + ' not valid' for k in user.dropped)})"
            return f"no identifier ({', '.join(rule.keys)} missing)"
        if op == "add" and self._suppressed(event, user.payload()):
            op = "remove"
        payload = user_object(user)
        key = event_key(event.user_id, event.anonymous_id, payload)
        return AudienceChange(audience=rule.name, user_key=key, op=op, payload=payload)

    def _suppressed(self, event: Event, payload: dict[str, list[str]]) -> bool:
        if event.user_id is not None and event.user_id in self._user_ids:
            return True
        return any(v in self._hashes for values in payload.values() for v in values)
