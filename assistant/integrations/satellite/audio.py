"""Audio between a satellite and the pipeline: Wyoming chunks <-> 16 kHz mono int16."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from wyoming.audio import AudioChunk, AudioChunkConverter, AudioStart, AudioStop
from wyoming.event import Event

from assistant.audio import SAMPLE_RATE, Samples

WIDTH = 2
"""Bytes per sample (int16)."""
REPLY_CHUNK_SAMPLES = 1024
"""Samples per reply chunk (64 ms, what wyoming-satellite sends too)."""


class ChunkReader:
    """A satellite's microphone chunks (any rate, width, channels) as pipeline frames."""

    def __init__(self) -> None:
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=WIDTH, channels=1)

    def reset(self) -> None:
        """A new stream begins (the resampler forgets the previous one)."""
        self._converter = AudioChunkConverter(rate=SAMPLE_RATE, width=WIDTH, channels=1)

    def frame(self, chunk: AudioChunk) -> Samples:
        """One chunk as 16 kHz mono int16 samples."""
        converted = self._converter.convert(chunk)
        usable = len(converted.audio) - len(converted.audio) % WIDTH
        return np.frombuffer(converted.audio[:usable], dtype="<i2").astype(np.int16)


def reply_events(samples: Samples) -> Iterator[Event]:
    """audio-start, the reply's chunks, audio-stop: what a satellite plays."""
    yield AudioStart(rate=SAMPLE_RATE, width=WIDTH, channels=1).event()
    data = samples.astype("<i2").tobytes()
    step = REPLY_CHUNK_SAMPLES * WIDTH
    for offset in range(0, len(data), step):
        chunk = AudioChunk(
            rate=SAMPLE_RATE, width=WIDTH, channels=1, audio=data[offset : offset + step]
        )
        yield chunk.event()
    yield AudioStop().event()
