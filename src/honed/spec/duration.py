"""Durations such as ``90s``, ``5m``, ``1.5h`` or a plain number of seconds."""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration"]

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_LONGEST = 1e9  # seconds: longer is a typo, and overflows timedelta and thread waits
_FORM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(value: str | float | int) -> float:
    """Seconds in ``value``; raises ValueError naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"a duration is a number of seconds or like 90s, 5m, 2h; got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value) if abs(value) <= _LONGEST else math.inf
    else:
        match = _FORM.match(str(value))
        if not match:
            raise ValueError(f"a duration is a number of seconds or like 90s, 5m, 2h; "
                             f"got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not math.isfinite(seconds) or abs(seconds) > _LONGEST:
        raise ValueError(f"a duration must be at most {_LONGEST:.0f} seconds (about 30 years); "
                         f"got {value!r}")
    return seconds
