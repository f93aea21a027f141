"""Logging for `serve` and `worker`: `--log-format json|text` and `--log-level`.

JSON: one object per line, `time`, `level`, `logger`, `message`, plus the structured fields a
call passes in `extra` (`x_request`: status, conversions, latency, debug_id; `event`: message
id, conversion id, destination, outcome). Text: the usual line, the same fields appended as
`key=value`.

Nothing personal is logged by design (identifiers are hashed at the edge, X's messages are
redacted by the client); as a last guard, anything shaped like an email address or a phone
number is masked in every line before it is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["json", "text"]
LEVELS = ("debug", "info", "warning", "error")
STRUCTURED = ("x_request", "event")
"""The `extra` keys written as fields."""

_MASKS = (
    (re.compile(r"[^\s()\"',;<>=]+@[^\s()\"',;<>=]+\.[A-Za-z]{2,}"), "<email>"),
    # International (+…) or North American "(415) 555-0100" shapes; never times or ids.
    (re.compile(r"\+\d[\d ().-]{6,}\d"), "<phone>"),
    (re.compile(r"\(\d{3}\)\s?\d{3}-\d{4}"), "<phone>"),
)


def mask(text: str) -> str:
    """`text` with email- and phone-shaped parts masked."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {key: getattr(record, key) for key in STRUCTURED if hasattr(record, key)}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return mask(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for name, value in _fields(record).items():
            if isinstance(value, dict):
                text += "".join(f" {k}={v}" for k, v in value.items() if v is not None)
            else:
                text += f" {name}={value}"
        return mask(text)


def configure(log_format: LogFormat = "text", level: str = "info") -> None:
    """Set up the root logger for a long-running command (stderr)."""
    if level.lower() not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # xconduit logs each X request itself
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
