"""faster-whisper (CTranslate2, int8 on CPU) recognition of whole utterances.

Whisper is not a streaming model: frames are buffered (up to a maximum
length, so memory stays bounded) and decoded on ``finish()``.  Utterances
arrive already cut by the VAD, so Whisper's own VAD filter stays off, and
each utterance is decoded on its own (no conditioning on earlier text).

The home's words (``set_bias``) become Whisper's prompt: the text it takes as
said just before, which makes those names likelier (see ``assistant.stt.bias``).
Options were chosen on the espeak-ng set (bench/stt.py, several voices, native
AVX-512 and forced AVX2): beam 5 with the home's names made 12 errors in 375
words where greedy decoding without them made 17, for about the same latency.
The encoder reads a 10 s window (``[stt] window_seconds``), not the 30 s Whisper
pads every input to: 2.4 times faster on commands for the same error rate.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.stt.base import Transcript
from assistant.stt.bias import bias_prompt

FRAMES_PER_SECOND = 100
"""Whisper's mel frames per second of audio (hop of 160 samples at 16 kHz)."""
WINDOW_MARGIN_SECONDS = 1.0
"""Audio the encoder window keeps after the utterance ends (silence, so no word is cut)."""
TOKENS_PER_SECOND = 8
"""At most this many tokens per second of audio (+16): a decode that loops stops early."""


def window_frames(audio_seconds: float, window_seconds: float) -> int:
    """Mel frames the encoder reads for an utterance: at least `window_seconds`, at most 30 s.

    Whisper was trained on 30 s windows; a 2 s command padded to 30 s spends
    most of the encoder's time on silence.  CTranslate2 takes shorter inputs.
    """
    seconds = max(window_seconds, audio_seconds + WINDOW_MARGIN_SECONDS)
    return min(3000, math.ceil(seconds * FRAMES_PER_SECOND))


def _windowed(base: type) -> type:
    """`base` (faster-whisper's WhisperModel) whose encoder reads the window set per thread."""

    class Windowed(base):  # type: ignore[misc]
        window = threading.local()

        def encode(self, features: Any) -> Any:
            frames = getattr(self.window, "frames", None)
            if frames is not None and features.shape[-1] > frames:
                features = np.ascontiguousarray(features[..., :frames])
            return super().encode(features)

    return Windowed


class WhisperEngine:
    """A faster-whisper model kept loaded across utterances."""

    name = "whisper"

    def __init__(
        self,
        model_path: Path,
        model_name: str | None = None,
        *,
        language: str | None = "en",
        threads: int = 2,
        beam_size: int = 5,
        max_seconds: float = 30.0,
        window_seconds: float = 30.0,
    ) -> None:
        from faster_whisper import WhisperModel

        # One INFO line per utterance from faster-whisper is noise for a daemon.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.model_name = model_name or model_path.name
        self.language = None if language in (None, "", "auto") else language
        self.beam_size = beam_size
        self.window_seconds = window_seconds
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self._model: Any = _windowed(WhisperModel)(
            str(model_path),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )
        self._blocks: list[Samples] = []
        self._samples = 0
        self._prompt: str | None = None
        self.decodes = 0
        """Utterances decoded so far (a second pass shows here whether it ran)."""

    @property
    def prompt(self) -> str | None:
        """The bias prompt in use (None: none)."""
        return self._prompt

    def set_bias(self, names: Sequence[str]) -> None:
        """Favour the home's names and the language's command words (a bounded prompt)."""
        tokenizer = self._model.hf_tokenizer

        def count(text: str) -> int:
            # faster-whisper encodes the prompt with a leading space.
            return len(tokenizer.encode(" " + text, add_special_tokens=False).ids)

        self._prompt = bias_prompt(names, self.language, count)

    def accept(self, frames: Samples) -> str:
        """Buffer frames (beyond the maximum length they are dropped); no partial text."""
        room = self.max_samples - self._samples
        if room > 0:
            kept = frames[:room]
            self._blocks.append(kept.copy())
            self._samples += len(kept)
        return ""

    def finish(self) -> Transcript:
        """Decode the buffered utterance; the buffer is emptied for the next one."""
        started = time.perf_counter()
        audio = (
            np.concatenate(self._blocks).astype(np.float32) / 32768.0
            if self._blocks
            else np.zeros(0, dtype=np.float32)
        )
        seconds = self._samples / SAMPLE_RATE
        self.reset()
        text = ""
        if audio.size >= SAMPLE_RATE // 10:
            # The temperature fallback samples; a fixed seed makes the same audio
            # give the same text (the fallback itself rescues garbled greedy decodes).
            import ctranslate2

            ctranslate2.set_random_seed(0)
            self.decodes += 1
            self._model.window.frames = window_frames(seconds, self.window_seconds)
            segments, _info = self._model.transcribe(
                audio,
                language=self.language,
                beam_size=self.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=self._prompt,
                max_new_tokens=16 + math.ceil(seconds * TOKENS_PER_SECOND),
            )
            text = " ".join(segment.text.strip() for segment in segments).strip()
        return Transcript(
            text=text,
            engine=self.name,
            model=self.model_name,
            audio_seconds=seconds,
            decode_ms=(time.perf_counter() - started) * 1000.0,
        )

    def reset(self) -> None:
        """Forget the buffered audio."""
        self._blocks = []
        self._samples = 0

    def fork(self) -> WhisperEngine:
        """A second engine on the same model, with its own audio buffer and prompt.

        faster-whisper may be called from several threads; with one worker
        (the default) CTranslate2 runs their decodes one after the other, so
        two streams never compete for the cores.
        """
        twin = copy.copy(self)
        twin.reset()
        return twin
