"""A PostgreSQL cluster of the test's own, in a temp folder on a free port, that the test may
stop and start (never the shared server). Built with the server's initdb and pg_ctl."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.net import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    if not found[-1]:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} not found (scripts/test-env installs PostgreSQL)")
        pytest.skip(f"{name} not found (run scripts/test-env)")
    return found[-1]


class Cluster:
    def __init__(self, folder: Path, port: int) -> None:
        self.data = folder / "data"
        self.port = port
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        # initdb refuses to run as root: run the server as the postgres user then.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._log = folder / "server.log"
        if self._as:
            shutil.chown(folder, "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-N")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._run(
            _bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self._log), "-w", "start"
        )

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    """A started cluster in a new temp folder (outside pytest's, which the postgres user may not
    enter), stopped and removed at the end."""
    folder = Path(tempfile.mkdtemp(prefix="xconduit-pg-"))
    try:
        cluster = Cluster(folder, free_port())
        cluster.start()
        try:
            yield cluster
        finally:
            subprocess.run(
                [*cluster._as, _bin("pg_ctl"), "-D", str(cluster.data), "-m", "immediate", "stop"],
                capture_output=True,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
