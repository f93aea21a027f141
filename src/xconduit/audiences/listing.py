"""Each configured audience as `xconduit audiences list` and the dashboard show it: its X id and
name, members sent, pending changes, last flush and last snapshot (all read from the store)."""

from __future__ import annotations

from dataclasses import dataclass

from xconduit.config import Settings
from xconduit.outbox.audience_jobs import audience_destination
from xconduit.outbox.audience_store import AudienceStore


@dataclass(frozen=True, kw_only=True, slots=True)
class AudienceLine:
    name: str
    audience_id: str
    """X's id; the configured one, or empty before the first sync creates the audience."""
    x_name: str
    """The audience's name at X; empty before the first sync."""
    members: int
    """Users X accepted as added and not since removed."""
    pending: int
    """Changes not yet accepted by X: waiting to be flushed, or in requests X has not accepted
    (held while X refuses the credentials, or being retried)."""
    last_flush_at: float | None
    last_run_at: float | None
    """When a snapshot was last compared."""
    problem: str | None = None
    """Why the last snapshot was refused before anything was sent."""


def waiting_changes(store: AudienceStore, name: str) -> int:
    """Changes of the audience X has not accepted: pending ones, and the users of its requests
    not yet delivered or dead (each change counted once: a flush moves it into a request)."""
    from xconduit.audiences.flush import JobBody

    in_requests = 0
    for payload in store.active_audience_payloads(audience_destination(name)):
        body = JobBody.decode(payload)
        in_requests += body.users + len(body.unsent)
    return store.audience_pending(name)[0] + in_requests


def audience_problems(settings: Settings, store: AudienceStore | None) -> list[str]:
    """The problems of the configured audiences (the dashboard's banner shows them)."""
    if store is None:
        return []
    names = {a.name for a in settings.audiences}
    return [
        problem_line(r.name, r.problem)
        for r in store.audience_records()
        if r.problem and r.name in names
    ]


def problem_line(name: str, problem: str) -> str:
    """`audience <name>: <problem>`, once: most stored problems already start with it."""
    prefix = f"audience {name}: "
    return problem if problem.startswith(prefix) else prefix + problem


def audience_lines(settings: Settings, store: AudienceStore | None) -> list[AudienceLine]:
    """One line per configured audience; `store` None (no outbox yet): nothing recorded."""
    records = {r.name: r for r in store.audience_records()} if store is not None else {}
    lines = []
    for audience in settings.audiences:
        record = records.get(audience.name)
        pending = waiting_changes(store, audience.name) if store is not None else 0
        lines.append(
            AudienceLine(
                name=audience.name,
                audience_id=record.audience_id if record else audience.audience_id or "",
                x_name=record.x_name if record else "",
                members=record.members if record else 0,
                pending=pending,
                last_flush_at=record.last_flush_at if record else None,
                last_run_at=record.last_run_at if record else None,
                problem=record.problem if record else None,
            )
        )
    return lines
