"""End of speech: a synchronous state machine over VAD scores.

Fed 16 kHz int16 frames, it reports when speech starts, when an utterance
ends (after a stretch of silence, or cut at the maximum length), and when
nothing was said within the start timeout.  It does no I/O and keeps no
clock of its own: time is the count of samples fed, so a WAV file and a
microphone behave the same and tests are exact.

Memory is bounded: a short pre-roll before speech plus at most one
utterance of ``max_utterance_seconds``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.config import VadConfig
from assistant.vad.engines import ChunkScorer, VadEngine

PRESET_SILENCE_SECONDS = {"default": 0.7, "aggressive": 0.4, "relaxed": 1.2}
"""Silence that ends an utterance per preset; 0.7 s matches Home Assistant's default."""

EndReason = Literal["silence", "max_length", "end_of_stream"]


@dataclass(frozen=True)
class EndpointSettings:
    """How the end of speech is decided (all times in seconds)."""

    silence_seconds: float = 0.7
    threshold: float = 0.5
    max_utterance_seconds: float = 15.0
    start_timeout_seconds: float | None = None
    """None: wait for speech forever (files, continuous segmentation)."""
    min_speech_seconds: float = 0.09
    """Speech needed before it counts as started (ignores clicks)."""
    pre_roll_seconds: float = 0.3
    """Audio kept from before the detected start, so the first phoneme is not cut."""
    tail_seconds: float = 0.25
    """Silence kept after the speech in the utterance audio."""

    @classmethod
    def from_config(cls, config: VadConfig) -> EndpointSettings:
        """Settings from `[vad]`: an explicit silence_seconds wins over the preset."""
        silence = config.silence_seconds
        if silence is None:
            silence = PRESET_SILENCE_SECONDS[config.preset]
        return cls(
            silence_seconds=silence,
            threshold=config.threshold,
            max_utterance_seconds=config.max_utterance_seconds,
            start_timeout_seconds=config.start_timeout_seconds,
        )


@dataclass(frozen=True)
class SpeechStarted:
    """Speech began at `at_seconds` of the stream."""

    at_seconds: float


@dataclass(frozen=True, eq=False)
class UtteranceEnded:
    """One utterance: its audio and when its speech ended."""

    audio: Samples
    start_seconds: float
    """Stream time of audio[0] (includes the pre-roll)."""
    speech_end_seconds: float
    """When the last speech chunk ended."""
    ended_at_seconds: float
    """When the end was decided: speech end + silence, or the cut."""
    reason: EndReason

    @property
    def seconds(self) -> float:
        """Length of the audio."""
        return self.audio.size / SAMPLE_RATE


@dataclass(frozen=True)
class SpeechTimeout:
    """Nothing was said for `waited_seconds` after listening began."""

    at_seconds: float
    waited_seconds: float


EndpointEvent = SpeechStarted | UtteranceEnded | SpeechTimeout


def _samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


class EndOfSpeech:
    """Decides where utterances start and end in a stream of frames."""

    def __init__(self, engine: VadEngine, settings: EndpointSettings | None = None) -> None:
        self.settings = settings or EndpointSettings()
        self._scorer = ChunkScorer(engine)
        s = self.settings
        self._silence = _samples(s.silence_seconds)
        self._max = _samples(s.max_utterance_seconds)
        self._min_speech = _samples(s.min_speech_seconds)
        self._pre_roll = _samples(s.pre_roll_seconds)
        self._tail = _samples(s.tail_seconds)
        self._timeout = (
            None if s.start_timeout_seconds is None else _samples(s.start_timeout_seconds)
        )
        # Hysteresis (as Silero recommends): once speaking, a slightly lower
        # score still counts as speech, so soft word endings do not end it.
        self._keep_threshold = max(s.threshold - 0.15, s.threshold / 2)
        self.position = 0
        """Samples fed since construction: the stream clock."""
        self._reset_state(arm_timeout=True)

    @property
    def speaking(self) -> bool:
        """True between SpeechStarted and UtteranceEnded."""
        return self._speaking

    def _reset_state(self, arm_timeout: bool) -> None:
        self._speaking = False
        self._run = 0
        self._run_start = 0
        self._before: deque[Samples] = deque()
        self._before_len = 0
        self._chunks: list[Samples] = []
        self._utt_len = 0
        self._utt_start = 0
        self._speech_end = 0
        self._armed_at: int | None = self.position if arm_timeout else None

    def reset(self, arm_timeout: bool = True) -> None:
        """Start listening afresh (after a wake word); the start timeout restarts now."""
        self._scorer.reset()
        self._reset_state(arm_timeout=arm_timeout and self._timeout is not None)

    def prime(self, audio: Samples) -> None:
        """Hand over audio heard just before listening began, as pre-roll only.

        It is not scored (its speech cannot start an utterance) but, when
        speech starts within ``pre_roll_seconds``, the utterance begins with
        all of it (one block: it may be longer than the pre-roll).
        """
        if audio.size == 0:
            return
        self._before.append(audio.copy())
        self._before_len += audio.size

    def process(self, frame: Samples) -> list[EndpointEvent]:
        """Feed one frame; return what happened in it (usually nothing)."""
        events: list[EndpointEvent] = []
        for chunk, score in self._scorer.push(frame):
            start = self.position
            self.position += chunk.size
            event = self._speech_chunk(chunk, score, start) if self._speaking else None
            if not self._speaking and event is None:
                event = self._quiet_chunk(chunk, score, start)
            if event is not None:
                events.append(event)
        return events

    def finish(self) -> list[EndpointEvent]:
        """The stream ended: close an utterance in progress."""
        if self._speaking:
            return [self._end("end_of_stream")]
        return []

    def _quiet_chunk(self, chunk: Samples, score: float, start: int) -> EndpointEvent | None:
        self._before.append(chunk)
        self._before_len += chunk.size
        while self._before_len - self._before[0].size >= self._pre_roll:
            self._before_len -= self._before.popleft().size
        if score >= self.settings.threshold:
            if self._run == 0:
                self._run_start = start
            self._run += chunk.size
        else:
            self._run = 0
        if self._run >= self._min_speech:
            self._speaking = True
            self._chunks = list(self._before)
            self._utt_len = self._before_len
            self._utt_start = self.position - self._before_len
            self._speech_end = self.position
            self._before.clear()
            self._before_len = 0
            self._armed_at = None
            return SpeechStarted(at_seconds=self._run_start / SAMPLE_RATE)
        if self._armed_at is not None and self._timeout is not None:
            waited = self.position - self._armed_at
            if waited >= self._timeout:
                self._armed_at = None
                return SpeechTimeout(self.position / SAMPLE_RATE, waited / SAMPLE_RATE)
        return None

    def _speech_chunk(self, chunk: Samples, score: float, start: int) -> EndpointEvent | None:
        self._chunks.append(chunk)
        self._utt_len += chunk.size
        if score >= self._keep_threshold:
            self._speech_end = self.position
        if self.position - self._speech_end >= self._silence:
            return self._end("silence")
        if self._utt_len >= self._max:
            return self._end("max_length")
        return None

    def _end(self, reason: EndReason) -> UtteranceEnded:
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        keep = min(audio.size, self._speech_end + self._tail - self._utt_start)
        event = UtteranceEnded(
            audio=audio[:keep].copy(),
            start_seconds=self._utt_start / SAMPLE_RATE,
            speech_end_seconds=self._speech_end / SAMPLE_RATE,
            ended_at_seconds=self.position / SAMPLE_RATE,
            reason=reason,
        )
        self._reset_state(arm_timeout=False)
        return event
