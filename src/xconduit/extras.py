"""The command that adds an optional part (a pip "extra") to this very installation.

`pip install 'xconduit[warehouse]'` only works where xconduit comes from a package index; from a
clone (an editable install) or a wheel file the extra has to name that source. pip records it
in the distribution's `direct_url.json` (PEP 610), which is what is read here.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import unquote, urlparse


def install_command(extra: str) -> str:
    """A shell command that installs `extra` for the running xconduit, usable as printed."""
    pip = f"{_shown(Path(sys.executable))} -m pip install"
    source = _installed_from()
    if source is None:
        return f"{pip} 'xconduit[{extra}]'"
    path, editable = source
    return f"{pip} {'-e ' if editable else ''}'{_shown(path)}[{extra}]'"


def _installed_from() -> tuple[Path, bool] | None:
    """(local path, editable) when xconduit was installed from a folder or a wheel file."""
    try:
        recorded = distribution("xconduit").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not recorded:
        return None
    info = json.loads(recorded)
    url = urlparse(str(info.get("url", "")))
    if url.scheme != "file":
        return None
    editable = bool(info.get("dir_info", {}).get("editable"))
    return Path(unquote(url.path)), editable


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it lies inside it (`.venv/bin/python`, `.`)."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return "." if relative == Path() else str(relative)
