"""Print the slowest tests of JUnit XML reports, by wall time and by CPU time, and the CPU total:
`slowest.py N report.xml ...`. CPU seconds come from tests/support/cpu_time.py. Exits 3 when
a test ran more than once across the reports: the runs of scripts/run-tests must split the
suite, not overlap (an overlap once ran the 408 browser tests twice, unnoticed)."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET
from collections import Counter

count, *paths = sys.argv[1:]
top = int(count)
cases = []
for path in paths:
    if not os.path.exists(path):  # a run that stopped before its report leaves none
        continue
    for case in ET.parse(path).iter("testcase"):
        if not case.get("classname"):  # xdist adds one nameless entry per worker
            continue
        cpu = next(
            (
                float(p.get("value", 0))
                for p in case.iter("property")
                if p.get("name") == "cpu_seconds"
            ),
            0.0,
        )
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        cases.append((float(case.get("time", 0)), cpu, name))

print(f"slowest {top} of {len(cases)} tests (seconds, setup + call + teardown):")
for wall, _, name in sorted(cases, reverse=True)[:top]:
    print(f"{wall:8.2f}  {name}")
total = sum(cpu for _, cpu, _ in cases)
print(f"\ncostliest {top} in CPU seconds (of {total:,.0f} s for all tests, children included):")
for _, cpu, name in sorted(cases, key=lambda c: -c[1])[:top]:
    print(f"{cpu:8.2f}  {name}")

twice = [name for name, n in Counter(name for _, _, name in cases).items() if n > 1]
if twice:
    print(f"\n{len(twice)} tests ran more than once, e.g. {twice[0]}: the runs overlap")
    sys.exit(3)
