"""`xconduit map` in a subprocess, as a user runs it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples" / "map"


def xconduit(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "xconduit", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        env=env,
    )


def test_documented_examples_map_to_exactly_the_documented_conversions() -> None:
    done = xconduit("map", str(EXAMPLES / "events.jsonl"))
    assert done.returncode == 0, done.stderr.decode()
    expected = (EXAMPLES / "events.expected.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in done.stdout.decode().splitlines()] == [
        json.loads(x) for x in expected
    ]


def test_documented_hashes_are_sha256_of_the_normalised_values() -> None:
    lines = [json.loads(x) for x in (EXAMPLES / "events.expected.jsonl").read_text().splitlines()]
    first = lines[0]["conversion"]["identifiers"][0]["hashed_email"]
    assert first == hashlib.sha256(b"jane.doe@example.com").hexdigest()
    phone = lines[1]["conversion"]["identifiers"][0]["hashed_phone_number"]
    assert phone == hashlib.sha256(b"+14155550100").hexdigest()


def test_stdin_with_a_bad_line_goes_on_and_names_the_line() -> None:
    good = b'{"type":"track","event":"Signed Up","userId":"u","timestamp":"2024-01-01T00:00:00Z","properties":{"email":"a@b.co"}}'
    done = xconduit("map", "-", stdin=b"[1,2\n" + good + b"\n")
    assert done.returncode == 0
    first, second = (json.loads(x) for x in done.stdout.splitlines())
    assert first["outcome"] == "invalid"
    assert first["reason"].startswith("line 1: ")
    assert second["outcome"] == "conversion"
    assert b"a@b.co" not in done.stdout


def test_config_file_destinations_are_used(tmp_path: Path) -> None:
    config = tmp_path / "xconduit.toml"
    config.write_text(
        '[[conversions]]\nname = "shop"\naccount_id = "18ce552mlaq"\npixel_id = "oka17"\n'
        'events = { "Order Completed" = "tw-oka17-ol288" }\n'
        '[[conversions]]\nname = "brand"\naccount_id = "18ce552mlaq"\npixel_id = "okb22"\n'
        'events = { "Order Completed" = "ol301" }\n'
    )
    event = b'{"type":"track","event":"Order Completed","userId":"u","messageId":"m","timestamp":"2024-01-01T00:00:00Z","properties":{"email":"a@b.co"}}'
    done = xconduit("map", "--config", str(config), stdin=event)
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [(x["destination"], x["pixel_id"], x["conversion"]["event_id"]) for x in lines] == [
        ("shop", "oka17", "tw-oka17-ol288"),
        ("brand", "okb22", "tw-okb22-ol301"),  # a bare id is sent in the pixel's form
    ]


def test_a_bad_config_exits_2_with_the_key_and_rule(tmp_path: Path) -> None:
    config = tmp_path / "xconduit.toml"
    config.write_text(
        '[[conversions]]\nname="s"\naccount_id="18ce552mlaq"\npixel_id="oka17"\nevents={A="abc"}\n'
    )
    done = xconduit("map", "--config", str(config), stdin=b"")
    assert done.returncode == 2
    assert (
        f'{config}: conversions[0].events: event id "abc" is not an X event id'
        in done.stderr.decode()
    )


@pytest.mark.slow
def test_bench_map_prints_the_three_profiles_and_the_floor() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xconduit", "bench", "map", "--scale", "0.01", "--json"],
        capture_output=True,
        env={**os.environ, "XCONDUIT_BENCH_SECONDS": "0.3"},  # the output's shape, not figures
        timeout=900,  # ends a hang only: the bench measures CPU time, a loaded machine stretches it
    )
    assert done.returncode == 0, done.stderr.decode()
    rows = [json.loads(x) for x in done.stdout.decode().splitlines() if x.startswith("{")]
    cases = [r["case"] for r in rows]
    assert cases[:3] == [
        "email only",
        "email + phone (unique)",
        "Order Completed, 3 products, all identifiers",
    ]
    assert any(c.startswith("floor") for c in cases)
    assert all(r["value"] > 0 for r in rows)
    # Only the targets we hold are shown as targets; the rest is context.
    assert [r["case"] for r in rows if r["target"]] == ["email only", "email + phone (unique)"]


def test_lines_no_rule_foresaw_are_reported_and_the_run_goes_on() -> None:
    deep = (
        b'{"type":"track","event":"Signed Up","userId":"u","properties":{"a":'
        + b"[" * 900
        + b"NaN"
        + b"]" * 900
        + b"}}"
    )
    huge = (
        b'{"type":"track","event":"Signed Up","userId":"u","properties":{"value":'
        + b"1" * 5000
        + b"}}"
    )
    good = b'{"type":"track","event":"Signed Up","userId":"u","timestamp":"2024-01-01T00:00:00Z","properties":{"email":"a@b.co"}}'
    done = xconduit("map", "-", stdin=b"\n".join([deep, huge, good]) + b"\n")
    assert done.returncode == 0, done.stderr.decode()
    lines = [json.loads(x) for x in done.stdout.splitlines()]
    assert [(x["outcome"], x["reason"][:7]) for x in lines[:2]] == [
        ("invalid", "line 1:"),
        ("invalid", "line 2:"),
    ]
    assert "nested deeper than 64 levels" in lines[0]["reason"]
    assert lines[2]["outcome"] == "conversion"
