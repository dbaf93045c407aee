"""faster-whisper (CTranslate2, int8 on CPU) recognition of whole utterances.

Whisper is not a streaming model: frames are buffered (up to a maximum
length, so memory stays bounded) and decoded on ``finish()``.  Utterances
arrive already cut by the VAD, so Whisper's own VAD filter stays off, and
each utterance is decoded on its own (no conditioning on earlier text).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.stt.base import Transcript


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
        beam_size: int = 1,
        max_seconds: float = 30.0,
    ) -> None:
        from faster_whisper import WhisperModel

        # One INFO line per utterance from faster-whisper is noise for a daemon.
        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.model_name = model_name or model_path.name
        self.language = None if language in (None, "", "auto") else language
        self.beam_size = beam_size
        self.max_samples = int(max_seconds * SAMPLE_RATE)
        self._model: Any = WhisperModel(
            str(model_path),
            device="cpu",
            compute_type="int8",
            cpu_threads=threads,
            local_files_only=True,
        )
        self._blocks: list[Samples] = []
        self._samples = 0
        self._prompt: str | None = None

    def set_phrases(self, phrases: Sequence[str] | None) -> None:
        """Whisper cannot be restricted; a few phrases become its prompt to bias spelling."""
        self._prompt = ", ".join(list(phrases)[:20]) if phrases else None

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
            segments, _info = self._model.transcribe(
                audio,
                language=self.language,
                beam_size=self.beam_size,
                vad_filter=False,
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=self._prompt,
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
