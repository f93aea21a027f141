"""The public Python API is pinned: removing or renaming a name is a visible, deliberate change."""

from __future__ import annotations

import subprocess
import sys

import xconduit

PUBLIC = [
    "AuthError",
    "ConfigError",
    "DeliveryError",
    "FatalDeliveryError",
    "InvalidEvent",
    "RateLimited",
    "RetriableDeliveryError",
    "Sandbox",
    "Settings",
    "SourceError",
    "StoreBusy",
    "StoreError",
    "XAdsClient",
    "XCredentials",
    "XconduitError",
    "__version__",
    "load_settings",
]


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert sorted(xconduit.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert getattr(xconduit, name) is not None, name


def test_errors_form_one_tree() -> None:
    errors = [getattr(xconduit, n) for n in PUBLIC if n.endswith("Error") or n == "RateLimited"]
    assert all(issubclass(e, xconduit.XconduitError) for e in errors)
    assert issubclass(xconduit.StoreBusy, xconduit.StoreError)


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    assert xconduit.__version__ == version("xconduit")


def test_the_pure_core_imports_without_the_web_stack() -> None:
    code = "import sys, xconduit.events, xconduit.mapping; print('starlette' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
