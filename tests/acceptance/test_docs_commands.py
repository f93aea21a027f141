"""Every command in the README, the quickstart and the how-tos runs as written, on a fresh clone.

For each page, the test copies the repository's files into an empty folder (what `git clone`
gives, with the project's `.venv` beside them, as `make run` leaves it), starts a live gateway
(real uvicorn on loopback, SQLite, the built-in X sandbox, the demo configuration of
`xconduit serve` with no `--config`), and runs the page's blocks in order:

* ```` ```sh ````, ```` ```bash ```` and ```` ```shell ```` blocks run in `bash -e`;
  ```` ```console ```` blocks run their `$ ` lines (the other lines are output);
* ```` ```python ```` blocks run with the project's Python;
* ```` ```toml ```` blocks must load with the real configuration loader;
* any other block (```` ```text ````, ```` ```js ````, ```` ```html ````, ```` ```json ````) is
  output or code for another place, and is not run.

The docs' gateway address `127.0.0.1:8088` is replaced by the test gateway's (a free port), and
`PATH` holds no virtualenv: a bare `xconduit` fails here as it does in a new shell.

A block passes when it exits with 0, prints no `"success":false` (an answer of the collector
refusing something), and, for Python, logs no error (Segment's library only logs a refused
request).

What is not run, and how the page says so (keep both short, and give the reason):

* **A line whose comment says `keeps running`** (`make run`, `xconduit serve`, a static file
  server): it would block the page; the test's gateway stands in for the gateway.
* **A block right after `<!-- not run: <reason> -->`**: for the rare block that cannot run
  here (e.g. `make test`, which is this test suite). At most `MAX_SKIPPED` in all.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xconduit.app import build_gateway
from xconduit.config import demo_settings, load_settings
from xconduit.errors import ConfigError
from xconduit.serving import serve_in_thread

ROOT = Path(__file__).parents[2]
PAGES = [
    "README.md",
    "docs/quickstart.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "howto").glob("*.md")),
]
DOCS_ADDRESS = "127.0.0.1:8088"
KEEPS_RUNNING = re.compile(r"#.*\bkeeps running\b")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(\S.*?)\s*-->\s*$")
SHELL = {"sh", "bash", "shell"}
MAX_SKIPPED = 2
TIMEOUT = 180


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    skipped: str | None  # the reason given by a `<!-- not run: … -->` marker


def blocks(page: str) -> list[Block]:
    out: list[Block] = []
    lines = (ROOT / page).read_text().splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)", lines[i])
        if not fence:
            i += 1
            continue
        start, lang = i, fence.group(2).lower()
        i += 1
        body = []
        while i < len(lines) and not lines[i].strip().startswith("```"):
            body.append(lines[i][len(fence.group(1)) :])
            i += 1
        i += 1
        before = next((x for x in reversed(lines[:start]) if x.strip()), "")
        marker = NOT_RUN.match(before.strip())
        out.append(
            Block(
                page, start + 1, lang, "\n".join(body) + "\n", marker.group(1) if marker else None
            )
        )
    return out


def test_blocks_not_run_are_few_and_each_gives_its_reason() -> None:
    skipped = [b for page in PAGES for b in blocks(page) if b.skipped is not None]
    assert len(skipped) <= MAX_SKIPPED, [f"{b.page}:{b.line}" for b in skipped]
    assert all(len(b.skipped or "") > 10 for b in skipped)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The repository's files as a fresh clone has them, and the project's virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    folder = tmp_path / "xconduit"
    for name in listed:
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    (folder / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    return folder


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[str]:
    """What `make run` starts, on a free port."""
    gw = build_gateway(demo_settings(), workdir=tmp_path / "gateway")
    gw.start()
    try:
        with serve_in_thread(gw.app, name="docs-gateway") as url:
            yield url
    finally:
        gw.stop()


def _environment() -> dict[str, str]:
    venvs = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    path = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p not in venvs]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XCONDUIT_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in path if ".venv" not in Path(p).parts)
    return env


def _script(block: Block) -> str:
    if block.lang == "console":
        lines = [x[2:] for x in block.code.splitlines() if x.startswith("$ ")]
    else:
        lines = block.code.splitlines()
    return "\n".join(x for x in lines if not KEEPS_RUNNING.search(x)) + "\n"


def run_block(block: Block, cwd: Path, url: str) -> None:
    where = f"{block.page}:{block.line}"
    code = block.code.replace(f"http://{DOCS_ADDRESS}", url).replace(DOCS_ADDRESS, url[7:])
    block = Block(block.page, block.line, block.lang, code, block.skipped)
    if block.lang == "toml":
        config = cwd / ".docs-test.toml"
        config.write_text(block.code)
        try:
            load_settings(config, environ={})
        except ConfigError as exc:
            pytest.fail(f"{where}: this configuration does not load:\n{exc}")
        return
    if block.lang in SHELL or block.lang == "console":
        command = ["bash", "-e", "-o", "pipefail", "-c", _script(block)]
    elif block.lang in {"python", "py"}:
        command = [sys.executable, "-c", block.code]
    else:
        return
    done = subprocess.run(
        command, cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=TIMEOUT
    )
    shown = (
        f"{where}:\n{block.code}\nstdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    assert done.returncode == 0, f"exit {done.returncode} at {shown}"
    assert '"success":false' not in done.stdout.replace(" ", ""), f"refused at {shown}"
    if block.lang in {"python", "py"}:
        assert "error" not in done.stderr.lower(), f"an error was logged at {shown}"


@pytest.mark.parametrize("page", PAGES)
def test_every_command_of_the_page_runs_as_written(page: str, clone: Path, gateway: str) -> None:
    ran = 0
    for block in blocks(page):
        if block.skipped is None:
            run_block(block, clone, gateway)
            ran += 1
    assert ran, f"{page}: no block ran"


def test_a_bare_xconduit_fails_here_as_in_a_new_shell(clone: Path, gateway: str) -> None:
    # The test's own guard: without it, docs that assume an activated virtualenv would pass.
    with pytest.raises(AssertionError, match="exit 127"):
        run_block(Block("guard", 1, "sh", "xconduit --version\n", None), clone, gateway)


def test_a_refused_event_fails_the_block(clone: Path, gateway: str) -> None:
    curl = (
        "curl -sS -u wk_unknown: -H 'Content-Type: application/json' "
        '-d \'{"userId":"u","event":"Signed Up"}\' http://127.0.0.1:8088/v1/track\n'
    )
    with pytest.raises(AssertionError, match="refused"):
        run_block(Block("guard", 1, "sh", curl, None), clone, gateway)


def test_a_python_block_whose_events_are_refused_fails(clone: Path, gateway: str) -> None:
    # Segment's library does not raise on a refused batch (the `wk_server_1` key of an earlier
    # how-to against the demo gateway): it logs the error, which is what fails the block.
    code = (
        "from segment.analytics import Client\n"
        'analytics = Client("wk_unknown", host="http://127.0.0.1:8088", gzip=True)\n'
        'analytics.track("user-7", "Order Completed", {"order_id": "ord-7"})\n'
        "analytics.flush()\n"
    )
    with pytest.raises(AssertionError, match="an error was logged"):
        run_block(Block("guard", 1, "python", code, None), clone, gateway)


# An event id as X's Events Manager lists it in a sandbox seed (`id = "ol288"`) is X's own
# record, not a spelling the reader writes into a configuration.
_SEED_ID = re.compile(r'(?:\bid = |SeedEvent\(id=)"ol\d{3}"')
_BARE_EVENT_ID = re.compile(r"(?<![\w-])ol\d{3}\b")


def test_docs_write_one_spelling_of_an_event_id() -> None:
    # X's pixel takes only `tw-<pixel>-<event>`; the configuration accepts the bare `<event>`
    # and writes it out so. Every page shows the one form, as both legs send it.
    pages = [ROOT / "README.md", ROOT / "xconduit.example.toml", *(ROOT / "docs").rglob("*.md")]
    bare = [
        f"{page.relative_to(ROOT)}:{n}: {line.strip()}"
        for page in pages
        for n, line in enumerate(page.read_text().splitlines(), 1)
        if _BARE_EVENT_ID.search(_SEED_ID.sub("", line))
    ]
    assert not bare, "\n".join(bare)
