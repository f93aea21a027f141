"""Print the slowest tests of one or more JUnit XML reports: `slowest.py N report.xml ...`."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET

count, *paths = sys.argv[1:]
cases = [
    (float(case.get("time", 0)), f"{case.get('classname', '')}::{case.get('name', '')}")
    for path in paths
    if os.path.exists(path)  # a run that stopped before its report leaves none
    for case in ET.parse(path).iter("testcase")
    if case.get("classname")  # xdist adds one nameless entry per worker
]
cases.sort(reverse=True)
print(f"slowest {count} of {len(cases)} tests (seconds, setup + call + teardown):")
for seconds, name in cases[: int(count)]:
    print(f"{seconds:8.2f}  {name}")
