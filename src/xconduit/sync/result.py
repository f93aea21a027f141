"""What one run of a sync did, as `xconduit sync` and the dashboard show it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(kw_only=True)
class SyncResult:
    """What one run did (figures are rows unless named otherwise)."""

    name: str
    destination: str
    account_id: str
    dry_run: bool = False
    rows: int = 0
    enqueued: int = 0
    """New conversions committed to the outbox."""
    already_sent: int = 0
    """Rows committed by an earlier run (read again after a crash, or unchanged rows)."""
    repeated: int = 0
    """Rows equal to an earlier row of this run (a duplicate line in the file, say)."""
    rejected: int = 0
    dropped: int = 0
    """Fields left out of rows that were sent, each named in the report."""
    unreadable: int = 0
    """Lines of a file that are no rows (part of `rejected`; the report gives each line)."""
    cursor_refused: int = 0
    """Rejected rows whose cursor value is not of the cursor's kind or lies in the future: the
    cursor does not pass them (part of `rejected`)."""
    skipped: int = 0
    """Rows the destination's consent or suppression rules keep from X."""
    cursor_before: str | None = None
    cursor_after: str | None = None
    report: Path | None = None
    first_job_id: int = 0
    last_job_id: int = 0
    seconds: float = 0.0
    preview: list[dict[str, Any]] = field(default_factory=list)
    """The first conversions, as `xconduit map` prints them (dry runs)."""
    notes: list[str] = field(default_factory=list)
    stopped: bool = False
    """Stopped before the last row (`should_stop`)."""
    error: str | None = None
    """Why the run stopped early (the source failed mid-read); what was committed stays."""


Progress = Callable[[SyncResult], None]
