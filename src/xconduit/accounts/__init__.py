"""The X side of operating xconduit: the setup checks and the connected account's tokens.

checks = run_checks(settings, client)       # check.py: credentials, role, pixel, events
vault = TokenVault(store, key)              # tokens.py: the connected account, encrypted
"""

from __future__ import annotations
