"""xconduit: send your own customer data to X Ads (conversions, pixel, syncs, audiences).

The public Python API is what `__all__` names; everything else may change between releases.
Names are imported on first use (PEP 562), so `import xconduit.events` stays as light as the
pure core it is, and the command line starts without loading the web stack twice.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xconduit.config import Settings, load_settings
    from xconduit.errors import (
        AuthError,
        ConfigError,
        DeliveryError,
        FatalDeliveryError,
        InvalidEvent,
        RateLimited,
        RetriableDeliveryError,
        SourceError,
        StoreBusy,
        StoreError,
        XconduitError,
    )
    from xconduit.sandbox import Sandbox
    from xconduit.xads import XAdsClient, XCredentials

try:
    __version__ = version("xconduit")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

_WHERE = {
    "Settings": "xconduit.config",
    "load_settings": "xconduit.config",
    "Sandbox": "xconduit.sandbox",
    "XAdsClient": "xconduit.xads",
    "XCredentials": "xconduit.xads",
    **dict.fromkeys(
        (
            "AuthError",
            "ConfigError",
            "DeliveryError",
            "FatalDeliveryError",
            "InvalidEvent",
            "RateLimited",
            "RetriableDeliveryError",
            "SourceError",
            "StoreBusy",
            "StoreError",
            "XconduitError",
        ),
        "xconduit.errors",
    ),
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'xconduit' has no attribute {name!r}")
