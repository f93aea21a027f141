from __future__ import annotations

import pytest

from xconduit.app import build_worker
from xconduit.config import demo_settings
from xconduit.errors import ConfigError


def test_a_separate_worker_refuses_the_built_in_sandbox() -> None:
    # It would deliver into a private sandbox that `xconduit serve` never shows.
    with pytest.raises(ConfigError, match="xconduit sandbox"):
        build_worker(demo_settings())
