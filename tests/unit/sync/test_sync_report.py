"""The rejected-rows report of a run reads as one CSV even when two runs share its name."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from xconduit.sync.report import RejectedReport, Rejection


def _rejection(row: int, conversion_id: str) -> Rejection:
    return Rejection(
        row=row,
        cursor=None,
        conversion_id=conversion_id,
        field="value",
        column="total",
        rule="value: not a number",
        value="lots",
    )


def test_a_rerun_in_the_same_second_appends_to_the_report_under_one_header(tmp_path: Path) -> None:
    # A run killed in its first second and rerun at once: both reports have the same name.
    started = datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC)
    for row, conversion_id in ((3, "o-3"), (7, "o-7")):
        report = RejectedReport(tmp_path, "orders", started=started)
        report.write([_rejection(row, conversion_id)])
        report.close()
    (path,) = tmp_path.glob("orders-rejected-*.csv")
    with path.open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    assert [line["conversion_id"] for line in lines] == ["o-3", "o-7"]
