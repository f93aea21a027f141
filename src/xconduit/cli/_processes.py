"""`xconduit serve --workers N`: N collector processes on one host, one listening socket.

The parent binds the socket, forks N children before it starts any thread, and only watches
them: every child accepts on the inherited socket (the kernel spreads connections among them) and
runs a whole gateway of its own on the shared store (a group committer and delivery threads per
process; the rate budget is shared through the store). A child that dies is started again; on
SIGINT/SIGTERM the parent asks every child to stop and waits for it.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess

log = logging.getLogger("xconduit.serve")

STOP_TIMEOUT = 30.0
"""Seconds a child has to commit what it queued and release its claims before it is killed."""


def run_processes(
    count: int, sock: socket.socket, child: Callable[[socket.socket, int], None]
) -> None:
    """Run `child(sock, number)` in `count` processes (numbered from 0) until SIGINT/SIGTERM,
    restarting any that dies under its number."""
    context = multiprocessing.get_context("fork")  # before any thread: forking is safe here
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    def start(number: int) -> BaseProcess:
        process = context.Process(
            target=_child, args=(child, sock, number), name=f"xconduit-serve-{number}", daemon=False
        )
        process.start()
        return process

    processes = [start(n) for n in range(count)]
    try:
        while not stop.wait(0.5):
            for n, process in enumerate(processes):
                if not process.is_alive():
                    log.warning(
                        "collector process %s exited (%s); starting it again",
                        process.pid,
                        process.exitcode,
                    )
                    process.join()
                    processes[n] = start(n)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: the child stops cleanly
        for process in processes:
            process.join(STOP_TIMEOUT)
            if process.is_alive():
                process.kill()
                process.join()


def _child(child: Callable[[socket.socket, int], None], sock: socket.socket, number: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)  # the child installs its own in `child`
    child(sock, number)
