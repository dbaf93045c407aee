"""Short generated sounds: the chime that acknowledges the wake word."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from assistant.audio import SAMPLE_RATE, Samples


def _tone(freq: float, seconds: float, level: float) -> npt.NDArray[np.float64]:
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * freq * t)
    # 5 ms raised-cosine edges: no click at the start or the end.
    edge = min(round(0.005 * SAMPLE_RATE), t.size // 2)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
    envelope = np.ones(t.size)
    envelope[:edge] = ramp
    envelope[t.size - edge :] = ramp[::-1]
    # A gentle decay makes it a chime rather than a beep.
    envelope *= np.exp(-3.0 * t / max(seconds, 1e-3))
    return level * tone * envelope


def wake_chime(level: float = 0.3) -> Samples:
    """A ~150 ms rising two-tone chime (A5 then E6), 16 kHz int16."""
    sound = np.concatenate([_tone(880.0, 0.07, level), _tone(1318.5, 0.08, level)])
    return np.round(sound * 32767).astype(np.int16)
