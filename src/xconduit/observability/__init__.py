"""Seeing what the gateway does: counters in the store, `/metrics`, structured logs.

tally.py     what one accepted event adds to the counters and the live debugger (pure)
metered.py   delivery's counters: X requests (status, latency, batch size), outcomes
metrics.py   the Prometheus exposition, read from the store
logs.py      `--log-format json|text` and `--log-level`
"""

from __future__ import annotations
