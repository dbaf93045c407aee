"""The listening state machine: wake word, then the command until end of speech.

Synchronous and free of I/O: the live pipeline feeds it microphone frames
on the event loop, ``assistant listen`` feeds it a file's frames in a worker
thread.  Modes:

- ``wake``: only the wake word detector hears the audio;
- ``command``: the end-of-speech detector hears it and the audio is kept;
- ``busy`` (thinking or speaking): the audio is not a command; only the wake
  word is listened for, and hearing it is a barge-in.

The cut after the wake word (measured in tests/test_wake_cut.py): the
detector fires 0.12-0.35 s after "okay nabu" ends, so the audio from where
the detector says the word ended (``WakeDetector.word_ended``; at most
``MAX_LOOKBACK_SECONDS``, ``WAKE_LOOKBACK_SECONDS`` when it cannot tell) up to
the detection becomes the command's pre-roll: silence after a pause, the
command's first sound without one.  The wake
word is also heard in command mode: "okay nabu, ..." said while a question
waits for its answer restarts the command after the wake word, instead of
sending "okay nabu" to STT as the answer.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.cpu.foreground import Foreground
from assistant.pipeline.messages import StartedBy, Utterance
from assistant.vad import EndOfSpeech, SpeechStarted, SpeechTimeout, UtteranceEnded
from assistant.wake import WakeDetector

log = logging.getLogger(__name__)

Mode = Literal["wake", "command", "busy"]

WAKE_LOOKBACK_SECONDS = 0.09
"""Audio from before the wake word's detection given to the command as pre-roll,
when the detector cannot say where the word ended.

Without it a command said with no pause loses its first sound (the detector
fires after the command began).  It must stay below the shortest delay from
the end of "okay nabu" to the detection, or the wake word's tail gets in:
0.12 s measured over 4 espeak-ng voices at 130-175 wpm, to the end of the
30 ms frame the detection falls in (the lookback ends there too)."""
MAX_LOOKBACK_SECONDS = 0.4
"""Never further back than this: the detector fired 0.35 s after the word at most."""


class StreamFeeder(Protocol):
    """Receives a command's audio while it is spoken (streaming STT)."""

    def accept(self, frame: Samples) -> None:
        """More audio of the current command."""
        ...

    def reset(self) -> None:
        """A new command begins; forget the previous audio."""
        ...


@dataclass(frozen=True)
class WakeHeard:
    """The wake word was heard; a command follows."""

    at: float
    barge_in: bool = False


@dataclass(frozen=True)
class NothingSaid:
    """The wake word (or a question) was not followed by speech in time."""

    started_by: StartedBy


@dataclass(frozen=True)
class CommandReady:
    """A command's audio up to the end of speech."""

    utterance: Utterance


Event = WakeHeard | NothingSaid | CommandReady


class Listener:
    """Wake word -> command -> busy, fed one frame at a time."""

    def __init__(
        self,
        wake: WakeDetector | None,
        endpointer: EndOfSpeech,
        feeder: StreamFeeder | None = None,
    ) -> None:
        self.wake = wake
        self.endpointer = endpointer
        self.feeder = feeder
        """When set, the command's audio is streamed to STT while it is spoken."""
        self.foreground: Foreground | None = None
        """Held from the wake word (or the start of speech) on; the turn runner lets go."""
        self.mode: Mode = "wake"
        self.started_by: StartedBy = "wake"
        self._speech = False
        # Frames before speech starts, so the streamed audio has the same
        # pre-roll as the utterance the endpointer cuts.
        self._before: deque[Samples] = deque()
        self._before_samples = 0
        self._pre_roll = int(endpointer.settings.pre_roll_seconds * SAMPLE_RATE)
        self._deaf = 0  # samples still to hear as silence (our own earcon)
        # The last moments heard while waiting for the wake word (see WAKE_LOOKBACK_SECONDS).
        self._recent: deque[Samples] = deque()
        self._recent_samples = 0
        self._lookback = int(MAX_LOOKBACK_SECONDS * SAMPLE_RATE)
        self.idle()

    # --- mode changes (called by the pipeline) ------------------------------
    def idle(self) -> None:
        """Wait for the wake word (or, without one, for the next command)."""
        if self.wake is None:
            self.expect_command("no-wake")
            return
        self.mode = "wake"
        self.wake.reset()
        self._forget_recent()

    def expect_command(self, started_by: StartedBy) -> None:
        """Take the next speech as a command (after the wake word or a question)."""
        self.mode = "command"
        self.started_by = started_by
        self._speech = False
        self._before.clear()
        self._before_samples = 0
        self.endpointer.reset(arm_timeout=True)
        if self.feeder is not None:
            self.feeder.reset()
        if started_by == "wake":
            self._hold()
            self._hand_over_recent()
        self._forget_recent()

    def ignore(self, samples: int) -> None:
        """Hear the next `samples` as silence: the earcon we are playing is not speech."""
        self._deaf = samples

    def busy(self) -> None:
        """Thinking or speaking: audio is not a command, the wake word barges in."""
        self.mode = "busy"
        if self.wake is not None:
            self.wake.reset()
        self._forget_recent()

    # --- audio --------------------------------------------------------------
    def process(self, frame: Samples, now: float) -> Event | None:
        """Feed one frame; an event when something happened."""
        if self.mode == "command":
            if self.wake is None or self.started_by == "wake":
                return self._command(frame, now)
            self._remember(frame)
            if not self.wake.process(frame):
                return self._command(frame, now)
            # "okay nabu, ..." while a question waits: a new command, not the answer.
            self.expect_command("wake")
            return WakeHeard(now)
        if self.wake is None:
            return None
        # Remembered before detection: the detection's own frame is lookback too.
        self._remember(frame)
        if not self.wake.process(frame):
            return None
        barge_in = self.mode == "busy"
        self.expect_command("wake")
        return WakeHeard(now, barge_in=barge_in)

    def finish(self, now: float) -> Event | None:
        """The audio ended (end of a file): a command in progress ends here."""
        if self.mode != "command":
            return None
        for event in self.endpointer.finish():
            if isinstance(event, UtteranceEnded):
                return self._ready(event, now)
        return self._nothing()

    def _command(self, frame: Samples, now: float) -> Event | None:
        if self._deaf > 0:
            muted = frame.copy()
            muted[: self._deaf] = 0
            self._deaf = max(0, self._deaf - frame.size)
            frame = muted
        for event in self.endpointer.process(frame):
            if isinstance(event, SpeechStarted):
                self._hold()
                self._speech = True
                self._stream_pre_roll()
            elif isinstance(event, UtteranceEnded):
                self._stream(frame)
                return self._ready(event, now)
            elif isinstance(event, SpeechTimeout):
                return self._nothing()
        if self._speech:
            self._stream(frame)
        elif self.feeder is not None:
            self._before.append(frame)
            self._before_samples += frame.size
            while self._before and self._before_samples - self._before[0].size >= self._pre_roll:
                self._before_samples -= self._before.popleft().size
        return None

    def _remember(self, frame: Samples) -> None:
        self._recent.append(frame)
        self._recent_samples += frame.size
        while self._recent and self._recent_samples - self._recent[0].size >= self._lookback:
            self._recent_samples -= self._recent.popleft().size

    def _forget_recent(self) -> None:
        self._recent.clear()
        self._recent_samples = 0

    def _hand_over_recent(self) -> None:
        """The lookback before the detection becomes the command's pre-roll."""
        if not self._recent or self.wake is None:
            return
        ended = self.wake.word_ended()
        back = int(WAKE_LOOKBACK_SECONDS * SAMPLE_RATE) if ended is None else ended
        back = min(back, self._lookback)
        if back == 0:
            return
        recent = np.concatenate(self._recent)[-back:]
        self.endpointer.prime(recent)
        if self.feeder is not None:
            self._before.append(recent)
            self._before_samples += recent.size

    def _stream_pre_roll(self) -> None:
        while self._before:
            self._stream(self._before.popleft())
        self._before_samples = 0

    def _stream(self, frame: Samples) -> None:
        if self.feeder is not None:
            self.feeder.accept(frame)

    def _hold(self) -> None:
        if self.foreground is not None:
            self.foreground.begin()

    def _nothing(self) -> NothingSaid:
        if self.foreground is not None:
            self.foreground.end()
        started_by = self.started_by
        self.busy()
        return NothingSaid(started_by)

    def _ready(self, event: UtteranceEnded, now: float) -> CommandReady:
        utterance = Utterance(
            event.audio,
            end_of_speech=now,
            started_by=self.started_by,
            streamed=self.feeder is not None,
        )
        self.busy()
        return CommandReady(utterance)
