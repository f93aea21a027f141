"""What the dashboard's pages read, and nothing else: the pages take this frozen context, not the
`OpsApp` that serves them, so no page imports the app (and the app imports its pages plainly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xconduit.accounts.fleet import Alarm
from xconduit.accounts.monitor import SetupMonitor
from xconduit.accounts.tokens import TokenVault
from xconduit.config import Settings
from xconduit.xads import XAdsClient


@dataclass(frozen=True, kw_only=True, slots=True)
class DashboardContext:
    settings: Settings
    store: Any
    clock: Callable[[], float]
    monitor: SetupMonitor | None
    vault: TokenVault | None
    """The connected account's stored token (accounts/tokens.py)."""
    x: XAdsClient | None
    """The X client, for the three-legged connection."""
    reports: Path | None
    """The sync reports folder, for the rejected-rows report links."""
    alarm: Callable[[], Alarm]
    """This process's and the live delivery processes' checks and pauses."""
    foreign_jobs: Callable[[], int]
    """Waiting jobs of destinations not in this configuration."""
    token_status: Callable[[], str]
    """Where delivery's X token comes from, in words."""
    connect_controls: Callable[[], str]
    """The connection page's connect / disconnect buttons."""
