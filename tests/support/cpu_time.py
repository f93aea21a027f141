"""CPU seconds per test, in the JUnit report: what the suite's wall time is made of on a
machine with few cores. The worker's own CPU (threads included) plus that of the child processes
it waited for (gateways and CLIs the test started), from setup to teardown. `scripts/slowest.py`
prints the tests that cost the most."""

from __future__ import annotations

import resource
from collections.abc import Generator

import pytest

_START = pytest.StashKey[float]()


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    item.stash[_START] = cpu_seconds()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    outcome = yield
    if call.when == "teardown" and _START in item.stash:
        spent = cpu_seconds() - item.stash[_START]
        outcome.get_result().user_properties.append(("cpu_seconds", f"{spent:.2f}"))
