"""Events → what X receives (pure). Conversions now; audience changes later."""

from __future__ import annotations

from xconduit.mapping.conversions import ConversionMapper, format_time
from xconduit.mapping.outcome import MappingResult, Outcome
from xconduit.mapping.router import Router, map_lines

__all__ = ["ConversionMapper", "MappingResult", "Outcome", "Router", "format_time", "map_lines"]
