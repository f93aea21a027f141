"""Resolve the configuration in layers: defaults, TOML file, `XCONDUIT_…` variables, secret files.

Later layers win. A variable names a key by its path in upper case with `__` between levels and list
indexes as numbers: `XCONDUIT_X__CONSUMER_KEY`, `XCONDUIT_DELIVERY__BATCH_SIZE`,
`XCONDUIT_CONVERSIONS__0__PIXEL_ID`. Values starting with `[` or `{` are read as JSON. A variable
ending in `_FILE` names a file whose content is the value (Docker/Kubernetes secrets):
`XCONDUIT_X__CONSUMER_SECRET_FILE=/run/secrets/x_secret`.
"""

from __future__ import annotations

import difflib
import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from xconduit.config.model import Settings
from xconduit.errors import ConfigError

PREFIX = "XCONDUIT_"


def load_settings(
    path: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read `path` (if any), apply the environment, validate. Raises `ConfigError`."""
    environ = os.environ if environ is None else environ
    origin = str(path) if path else "configuration"
    data: dict[str, Any] = _read_toml(Path(path)) if path else {}
    from_env: dict[tuple[str | int, ...], str] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(PREFIX):
            continue
        key = name[len(PREFIX) :]
        if key.endswith("_FILE") or not _is_key(key):
            continue  # secret files come after plain variables; other XCONDUIT_ names are flags
        keypath = _keypath(key)
        _assign(data, keypath, _env_value(raw), name)
        from_env[keypath] = name
    for name, file_name in sorted(environ.items()):
        if name.startswith(PREFIX) and name.endswith("_FILE") and _is_key(name[len(PREFIX) :]):
            keypath = _keypath(name[len(PREFIX) : -len("_FILE")])
            _assign(data, keypath, _read_secret(name, file_name), name)
            from_env[keypath] = name
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin, from_env)) from None


def _is_key(key: str) -> bool:
    """Whether `key` (after the prefix) names a configuration key: it starts with a section.

    Commands' own flags use the same prefix (`XCONDUIT_SANDBOX_PORT`, `XCONDUIT_CONFIG`) and
    are not configuration.
    """
    return key.split("__", 1)[0].lower() in Settings.model_fields


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (create it, or omit --config)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _read_secret(variable: str, file_name: str) -> str:
    try:
        return Path(file_name).read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"{variable}: cannot read secret file {file_name}: {exc.strerror}"
        ) from None


def _keypath(key: str) -> tuple[str | int, ...]:
    return tuple(int(part) if part.isdigit() else part.lower() for part in key.split("__"))


def _env_value(raw: str) -> Any:
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            pass
    return raw


def _assign(data: Any, keypath: tuple[str | int, ...], value: Any, variable: str) -> None:
    node = data
    for i, part in enumerate(keypath):
        last = i == len(keypath) - 1
        nxt: Any = value if last else ([] if isinstance(keypath[i + 1], int) else {})
        if isinstance(part, int):
            if not isinstance(node, list):
                raise ConfigError(f"{variable}: {_dotted(keypath[:i])} is not a list")
            while len(node) <= part:
                node.append({} if not last else None)
            if last or node[part] is None:
                node[part] = nxt
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ConfigError(f"{variable}: {_dotted(keypath[:i])} is not a table")
            if last or part not in node:
                node[part] = nxt
            node = node[part]


def _dotted(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _explain(
    exc: ValidationError, origin: str, from_env: Mapping[tuple[str | int, ...], str]
) -> str:
    lines = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        where = next(
            (from_env[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in from_env), origin
        )
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key" + _suggest(loc)
        elif error["type"] == "missing":
            message = "required key is missing"
        path = _dotted(loc)
        lines.append(f"{where}: {path}: {message}" if path else f"{where}: {message}")
    return "\n".join(lines)


def _suggest(loc: tuple[str | int, ...]) -> str:
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        field = fields.get(part) if isinstance(fields, dict) else None
        if field is None:
            return ""
        model = _inner_model(field.annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _inner_model(annotation: Any) -> Any:
    for arg in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
