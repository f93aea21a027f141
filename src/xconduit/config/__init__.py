"""Typed, layered configuration (TOML file → `XCONDUIT_…` variables → secret files)."""

from __future__ import annotations

from xconduit.config.demo import demo_settings
from xconduit.config.load import load_settings
from xconduit.config.model import (
    AudienceSettings,
    ConversionDestination,
    DeliverySettings,
    IdentifierPathSettings,
    ServerSettings,
    Settings,
    SourceSettings,
    SuppressionSettings,
    SyncSettings,
    TagSettings,
    XSettings,
)

__all__ = [
    "AudienceSettings",
    "ConversionDestination",
    "DeliverySettings",
    "IdentifierPathSettings",
    "ServerSettings",
    "Settings",
    "SourceSettings",
    "SuppressionSettings",
    "SyncSettings",
    "TagSettings",
    "XSettings",
    "demo_settings",
    "load_settings",
]
