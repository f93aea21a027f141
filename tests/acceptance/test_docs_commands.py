"""Every command in the README, the quickstart and the how-tos runs as written, in order, on a
fresh clone, beside a running `make run`.

For each page, the test copies the repository's files into an empty folder (what `git clone`
gives, with the project's `.venv` beside them, as `make run` leaves it), starts what `make run`
starts there (`.venv/bin/xconduit serve`: no configuration, SQLite in `./.xconduit/`, the
built-in X sandbox, on the docs' address `127.0.0.1:8088`), and runs the page's blocks in order:

* ```` ```sh ````, ```` ```bash ```` and ```` ```shell ```` blocks run in `bash -e`;
  ```` ```console ```` blocks run their `$ ` lines (the other lines are output);
* ```` ```python ```` blocks run with the project's Python;
* ```` ```toml ```` blocks must load with the real configuration loader;
* any other block (```` ```text ````, ```` ```js ````, ```` ```html ````, ```` ```json ````) is
  output or code for another place, and is not run.

Each page runs in a network of its own (a Linux network namespace: `unshare --net`), where
`127.0.0.1:8088` is that page's gateway whatever else this machine runs on 8088 (a developer's own
`make run`, another page of this test). A command that takes a port another process holds fails
here as on the reader's machine. Without network namespaces, the pages run on this machine's
loopback when 8088 is free, and are skipped, saying why, when it is not.

`PATH` holds no virtualenv: a bare `xconduit` fails here as it does in a new shell.

A block passes when it exits with 0, prints no `"success":false` (an answer of the collector
refusing something), and, for Python, logs no error (Segment's library only logs a refused
request).

**A line whose comment says `keeps running`** (a second gateway, a worker, a static file
server) is started in the background, where the page runs it, and must come up: it keeps
running and listens on a TCP port that answers HTTP, within `UP_TIMEOUT`. It then runs beside
the rest of the page and is stopped at the page's end. `make run` itself is not started again:
the test's gateway is that one.

What is not run, and how the page says so (keep it short, and give the reason): **a block right
after `<!-- not run: <reason> -->`**, for the rare block that cannot run here (e.g. `make test`,
which is this test suite). At most `MAX_SKIPPED` in all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xconduit.config import load_settings
from xconduit.errors import ConfigError

ROOT = Path(__file__).parents[2]
PAGES = [
    "README.md",
    "docs/quickstart.md",
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs" / "howto").glob("*.md")),
]
DOCS_PORT = 8088
KEEPS_RUNNING = re.compile(r"#.*\bkeeps running\b")
MAKE_RUN = re.compile(r"^\s*make run\b")
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(\S.*?)\s*-->\s*$")
SHELL = {"sh", "bash", "shell"}
MAX_SKIPPED = 2
TIMEOUT = 180
UP_TIMEOUT = 90

# Run in the page's network by the block's shell, for a line that keeps running: the line's
# process tree must listen on a TCP port that answers HTTP, and still be running then.
UP_PROBE = r"""
import os, sys, time, urllib.error, urllib.request
pid, log, limit = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])

def alive(p):
    try:
        with open(f"/proc/{p}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def tree(root):
    parents = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parents[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, grew = {root}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found

def sockets(pids):
    out = set()
    for p in pids:
        try:
            for fd in os.listdir(f"/proc/{p}/fd"):
                link = os.readlink(f"/proc/{p}/fd/{fd}")
                if link.startswith("socket:["):
                    out.add(link[8:-1])
        except OSError:
            pass
    return out

def listening():
    ports = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                if cols[3] == "0A":
                    ports[cols[9]] = int(cols[1].rsplit(":", 1)[1], 16)
    return ports

def answers(port):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
    except urllib.error.HTTPError:
        pass
    except OSError:
        return False
    return True

deadline = time.monotonic() + limit
while time.monotonic() < deadline:
    if not alive(pid):
        sys.exit("it stopped:\n" + open(log).read()[-3000:])
    held = sockets(tree(pid))
    ports = sorted({port for inode, port in listening().items() if inode in held})
    if any(answers(port) for port in ports) and alive(pid):
        sys.exit(0)
    time.sleep(0.2)
sys.exit(f"it did not answer HTTP within {limit:.0f} s:\n" + open(log).read()[-3000:])
"""


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


def _namespaces_work() -> bool:
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("ip")):
        return False
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--net", "--", "ip", "link", "set", "lo", "up"],
        capture_output=True,
    )
    return done.returncode == 0


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Docs:
    """Where a page's commands run: the clone, in the page's network, beside its gateway."""

    cwd: Path
    probe: Path
    enter: list[str]  # the command prefix that enters the page's network ([] = this machine's)
    sessions: list[int] = field(default_factory=list)  # process groups started, stopped at the end

    def popen(self, command: list[str]) -> subprocess.Popen[str]:
        started = subprocess.Popen(
            [*self.enter, *command],
            cwd=self.cwd,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: what it leaves running is stopped
        )
        self.sessions.append(started.pid)
        return started

    def stop(self) -> None:
        for group in self.sessions:
            _stop_group(group, self.cwd)


def _members(group: int, folder: Path) -> list[int]:
    """The live processes of process group `group` that run in `folder`: the ones a page
    started (a group id is a pid, and a pid may be reused once its group is gone)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                in_group = int(stat.rsplit(")", 1)[1].split()[2]) == group
                if in_group and Path(os.readlink(entry / "cwd")).is_relative_to(folder):
                    found.append(int(entry.name))
            except (OSError, ValueError):
                pass  # gone, or a zombie (no cwd)
    return found


def _stop_group(group: int, folder: Path) -> None:
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        for pid in _members(group, folder):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while _members(group, folder) and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def docs(clone: Path, tmp_path: Path) -> Iterator[Docs]:
    """The page's network, with `make run`'s gateway on 127.0.0.1:8088 in it."""
    probe = tmp_path / "up_probe.py"
    probe.write_text(UP_PROBE)
    holder = None
    if _namespaces_work():
        holder = subprocess.Popen(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--net",
                "--",
                "sh",
                "-c",
                "ip link set lo up && echo up && exec sleep infinity",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "up"
        enter = [
            "nsenter",
            f"--target={holder.pid}",
            "--user",
            "--net",
            "--preserve-credentials",
            "--",
        ]
    elif _port_is_free(DOCS_PORT):
        enter = []
    else:
        pytest.skip(
            f"no network namespaces here, and 127.0.0.1:{DOCS_PORT} is taken: the docs' "
            "commands could not run beside a gateway of their own on the docs' address"
        )
    page = Docs(cwd=clone, probe=probe, enter=enter)
    try:
        run_block(
            Block("make run", 1, "sh", ".venv/bin/xconduit serve   # keeps running\n", None), page
        )
        yield page
    finally:
        page.stop()
        if holder is not None:
            holder.kill()
            holder.wait()
            assert holder.stdout is not None
            holder.stdout.close()


def _environment() -> dict[str, str]:
    venvs = {str(Path(sys.prefix) / "bin"), str(Path(sys.executable).parent)}
    path = [p for p in os.environ.get("PATH", os.defpath).split(os.pathsep) if p not in venvs]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XCONDUIT_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in path if ".venv" not in Path(p).parts)
    # A page's `xconduit bench` runs as written, measuring each case 0.3 s instead of 3: the
    # test checks that it runs, not its figures.
    env["XCONDUIT_BENCH_SECONDS"] = "0.3"
    return env


def _script(block: Block, docs: Docs) -> str:
    if block.lang == "console":
        lines = [x[2:] for x in block.code.splitlines() if x.startswith("$ ")]
    else:
        lines = block.code.splitlines()
    out = []
    for n, line in enumerate(lines):
        if not KEEPS_RUNNING.search(line):
            out.append(line)
        elif MAKE_RUN.match(line):
            out.append(f": {shlex.quote(line)}  # the test's gateway is this one")
        else:
            # In the background, as the reader's second terminal; it must come up.
            log = docs.cwd.parent / f"keeps-running-{len(docs.sessions)}-{n}.log"
            probe = [sys.executable, str(docs.probe), "$!", shlex.quote(str(log)), str(UP_TIMEOUT)]
            out.append(f"( {line}\n) >{shlex.quote(str(log))} 2>&1 </dev/null &")
            out.append(" ".join(probe) + " || exit 1")
    return "\n".join(out) + "\n"


def run_block(block: Block, docs: Docs) -> None:
    where = f"{block.page}:{block.line}"
    if block.lang == "toml":
        config = docs.cwd / ".docs-test.toml"
        config.write_text(block.code)
        try:
            load_settings(config, environ={})
        except ConfigError as exc:
            pytest.fail(f"{where}: this configuration does not load:\n{exc}")
        return
    if block.lang in SHELL or block.lang == "console":
        command = ["bash", "-e", "-o", "pipefail", "-c", _script(block, docs)]
    elif block.lang in {"python", "py"}:
        command = [sys.executable, "-c", block.code]
    else:
        return
    started = docs.popen(command)
    try:
        stdout, stderr = started.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        _stop_group(started.pid, docs.cwd)
        stdout, stderr = started.communicate()
        pytest.fail(f"{where}: still running after {TIMEOUT} s:\n{block.code}\n{stderr[-3000:]}")
    shown = f"{where}:\n{block.code}\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr[-3000:]}"
    assert started.returncode == 0, f"exit {started.returncode} at {shown}"
    assert '"success":false' not in stdout.replace(" ", ""), f"refused at {shown}"
    if block.lang in {"python", "py"}:
        assert "error" not in stderr.lower(), f"an error was logged at {shown}"


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.slow
def test_every_command_of_the_page_runs_as_written(page: str, docs: Docs) -> None:
    ran = 0
    for block in blocks(page):
        if block.skipped is None:
            run_block(block, docs)
            ran += 1
    assert ran, f"{page}: no block ran"


def test_a_bare_xconduit_fails_here_as_in_a_new_shell(docs: Docs) -> None:
    # The test's own guard: without it, docs that assume an activated virtualenv would pass.
    with pytest.raises(AssertionError, match="exit 127"):
        run_block(Block("guard", 1, "sh", "xconduit --version\n", None), docs)


def test_a_refused_event_fails_the_block(docs: Docs) -> None:
    curl = (
        "curl -sS -u wk_unknown: -H 'Content-Type: application/json' "
        '-d \'{"userId":"u","event":"Signed Up"}\' http://127.0.0.1:8088/v1/track\n'
    )
    with pytest.raises(AssertionError, match="refused"):
        run_block(Block("guard", 1, "sh", curl, None), docs)


def test_a_python_block_whose_events_are_refused_fails(docs: Docs) -> None:
    # Segment's library does not raise on a refused batch (the `wk_server_1` key of an earlier
    # how-to against the demo gateway): it logs the error, which is what fails the block.
    code = (
        "from segment.analytics import Client\n"
        'analytics = Client("wk_unknown", host="http://127.0.0.1:8088", gzip=True)\n'
        'analytics.track("user-7", "Order Completed", {"order_id": "ord-7"})\n'
        "analytics.flush()\n"
    )
    with pytest.raises(AssertionError, match="an error was logged"):
        run_block(Block("guard", 1, "python", code, None), docs)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (".venv/bin/xconduit serve    # keeps running", "8088 is make run's"),
        (
            "cp xconduit.example.toml x.toml && .venv/bin/xconduit serve -c x.toml --workers 2"
            " --listen 127.0.0.1:8089   # keeps running",
            "--workers with the built-in sandbox",
        ),
    ],
)
def test_a_second_gateway_that_cannot_start_fails_the_block(
    docs: Docs, line: str, why: str
) -> None:
    # A line that keeps running is run, not skipped: it must come up beside `make run`.
    with pytest.raises(AssertionError, match="it stopped"):
        run_block(Block("guard", 1, "sh", line + "\n", None), docs)


def test_a_line_that_keeps_running_runs_beside_the_gateway(docs: Docs) -> None:
    run_block(
        Block(
            "guard",
            1,
            "sh",
            ".venv/bin/xconduit serve --listen 127.0.0.1:8089  # keeps running\n"
            "curl -sf http://127.0.0.1:8089/healthz\ncurl -sf http://127.0.0.1:8088/healthz\n",
            None,
        ),
        docs,
    )


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
