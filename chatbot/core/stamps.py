"""Times from outside: a platform's or a browser's count of seconds (or milliseconds) since 1970,
read only when it is one a clock could show. A number too large for a float (``10**400``) or not a
number at all reads as 0, "unknown", never as an error."""

from __future__ import annotations

import math

LATEST = 1e11  # seconds: the year 5138, far beyond any clock that sends us a time


def outside_time(value: object, per_second: float = 1.0) -> float:
    """``value`` in seconds (``per_second`` 1000 for milliseconds), or 0.0 when it is not a time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    if not 0 <= value <= LATEST * per_second:  # compared before any conversion: a huge int stays an int
        return 0.0
    seconds = float(value) / per_second
    return seconds if math.isfinite(seconds) else 0.0
