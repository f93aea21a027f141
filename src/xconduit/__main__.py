from __future__ import annotations

from xconduit.cli import main

main()
