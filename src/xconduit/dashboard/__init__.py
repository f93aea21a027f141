"""The operator's side of the gateway: the dashboard at `/`, `/metrics` and a `/readyz` that
names what is wrong. Mounted by `xconduit.app` next to the collector.

    app.py      the Starlette app and its access rule (auth.py)
    views.py    the numbers of each page, counted from the store
    pages.py    server-rendered HTML (and an inline SVG chart)
"""

from __future__ import annotations

from xconduit.dashboard.app import OPS_PATHS, OpsApp

__all__ = ["OPS_PATHS", "OpsApp"]
