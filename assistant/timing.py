"""One clock for every stage timing the assistant reports."""

from __future__ import annotations

import time


def elapsed_ms(start: float, end: float | None = None) -> float:
    """Milliseconds from `start` to `end` (default: now), both from time.monotonic().

    The pipeline stamps frames and ends of speech with time.monotonic(), and
    understanding times its stages on the same clock, so their timings add up.
    """
    return ((time.monotonic() if end is None else end) - start) * 1000.0
