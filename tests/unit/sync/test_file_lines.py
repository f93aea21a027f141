"""CSV read line by line: which lines are rows, which are problems, and their line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from xconduit.errors import SourceError
from xconduit.sources.lines import MAX_LINE, scan, scan_json_lines, suspicious

CASES = [
    # (file body after the header "id,note", rows read, (line, words of the rule) per problem)
    ("1,a\n2,b\n", [("1", "a"), ("2", "b")], []),
    ('1,"one\ntwo"\n2,b\n', [("1", "one\ntwo"), ("2", "b")], []),
    ('1,"say ""hi"""\n', [("1", 'say "hi"')], []),
    ('1,"open\n2,b\n3,c\n', [("2", "b"), ("3", "c")], [(2, "quote is not closed")]),
    ("1,a\n\n2,b\n", [("1", "a"), ("2", "b")], []),
    ("1,a,extra\n2,b\n", [("2", "b")], [(2, "3 columns where the header has 2")]),
    ("1,a\x00b\n2,b\n", [("2", "b")], [(2, "NUL")]),
]


@pytest.mark.parametrize(("body", "rows", "problems"), CASES)
def test_scan(
    tmp_path: Path, body: str, rows: list[tuple[str, str]], problems: list[tuple[int, str]]
) -> None:
    path = tmp_path / "f.csv"
    path.write_text("id,note\n" + body)
    scanned = scan([path])
    assert [(r["id"], r["note"]) for r in scanned.table.to_pylist()] == rows
    assert [(p.line, p.file) for p in scanned.problems] == [(n, "f.csv") for n, _ in problems]
    for problem, (_, words) in zip(scanned.problems, problems, strict=True):
        assert words in problem.rule


def test_bytes_that_are_not_utf8_and_a_line_too_long(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"id,note\n1,\xff\n2," + b"x" * (MAX_LINE + 1) + b"\n3,c\n")
    scanned = scan([path])
    assert scanned.table.to_pylist() == [{"id": "3", "note": "c"}]
    assert [(p.line, p.rule) for p in scanned.problems] == [
        (2, "the line is not UTF-8 text"),
        (3, f"the line is longer than {MAX_LINE:,} bytes"),
    ]


def test_files_of_a_glob_must_share_their_header(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("id,note\n1,a\n")
    (tmp_path / "b.csv").write_text("id,other\n2,b\n")
    with pytest.raises(SourceError, match="header differs"):
        scan([tmp_path / "a.csv", tmp_path / "b.csv"])


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"id,note\n1,a\n", False),
        (b'id,note\n1,"a, b"\n', False),
        (b'id,note\n1,"a\n', True),
        (b"id,note\n1,a\x00\n", True),
        (b"id,note\n1," + b"x" * (3 << 20) + b"\n", True),
    ],
)
def test_suspicious(tmp_path: Path, body: bytes, expected: bool) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    assert suspicious(path) is expected


def test_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"id": 1}\n{"id": 2\n\n[3]\n{"id": "\xff"}\n{"id": 4}\n')
    scanned = scan_json_lines([path])
    assert scanned.table.column("line").to_pylist() == ['{"id": 1}\n', '{"id": 4}\n']
    assert [(p.line, p.rule) for p in scanned.problems] == [
        (2, "the line is not JSON"),
        (4, "the line is no JSON object"),
        (5, "the line is not UTF-8 text"),
    ]
