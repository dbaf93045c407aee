"""Cutting audio blocks of any length into fixed-size frames, and resampling."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import numpy.typing as npt
import soxr

from assistant.audio import SAMPLE_RATE, Samples


def frame_samples(block_ms: int) -> int:
    """Samples in one frame of `block_ms` milliseconds at 16 kHz."""
    return SAMPLE_RATE * block_ms // 1000


class Reframer:
    """Collects blocks of any length and hands out frames of exactly `size` samples.

    Holds at most one frame's worth of audio between calls, so memory is bounded
    whatever the block sizes are.
    """

    def __init__(self, size: int) -> None:
        if size <= 0:
            raise ValueError("frame size must be positive")
        self.size = size
        self._pending = np.zeros(0, dtype=np.int16)

    def push(self, block: Samples) -> list[Samples]:
        """Add a block; return the complete frames it finishes (possibly none)."""
        data = np.concatenate((self._pending, block)) if self._pending.size else block
        count = data.size // self.size
        frames = [data[i * self.size : (i + 1) * self.size].copy() for i in range(count)]
        self._pending = data[count * self.size :].copy()
        return frames

    def flush(self) -> Samples | None:
        """The last partial frame padded with silence, or None when nothing is left."""
        if not self._pending.size:
            return None
        frame = np.zeros(self.size, dtype=np.int16)
        frame[: self._pending.size] = self._pending
        self._pending = np.zeros(0, dtype=np.int16)
        return frame


def reframe(blocks: Iterable[Samples], size: int) -> Iterator[Samples]:
    """Frames of exactly `size` samples from blocks of any size (the last one padded)."""
    reframer = Reframer(size)
    for block in blocks:
        yield from reframer.push(block)
    last = reframer.flush()
    if last is not None:
        yield last


class Resampler:
    """Streaming int16 resampler from `rate` to 16 kHz (a no-op at 16 kHz)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._stream = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1)

    def process(self, block: Samples, last: bool = False) -> Samples:
        """Resample one block; `last` flushes the filter's tail."""
        if self._stream is None:
            return block
        data: npt.NDArray[np.float32] = self._stream.resample_chunk(
            block.astype(np.float32) / 32768.0, last=last
        )
        return np.clip(np.round(data * 32768.0), -32768, 32767).astype(np.int16)


def resample(samples: Samples, rate_in: int, rate_out: int) -> Samples:
    """Resample a whole int16 buffer (for short sounds such as replies)."""
    if rate_in == rate_out:
        return samples
    data: npt.NDArray[np.float32] = soxr.resample(
        samples.astype(np.float32) / 32768.0, rate_in, rate_out
    )
    return np.clip(np.round(data * 32768.0), -32768, 32767).astype(np.int16)


def rms_dbfs(samples: Samples) -> float:
    """Loudness of a buffer in dB relative to full scale (-inf dB for digital silence)."""
    if not samples.size:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    return 20.0 * float(np.log10(rms / 32768.0)) if rms > 0 else float("-inf")
