"""Where the command's audio starts after "okay nabu": real espeak-ng speech, the
real wake word model and Silero VAD, through the listener the runtime builds.

Each recording is built here from trimmed parts (lead-in, wake word, pause,
command, silence), so the end of the wake word and the start of the command
are known to the sample.  The cut's start is found by locating the cut
audio's first sound in the recording (the listener copies samples unchanged).

Measured before the fix (see assistant/pipeline/listener.py): 24 of 40
voice x speed x pause cases cut cleanly in wake mode (every 0.1 s pause and
no pause lost the command's first 0.06-0.34 s), and 0 of 40 when a question
was waiting for its answer ("okay nabu" itself became the answer: the
demo's "Okay, the hubbub.").  After: all 32 cases with a pause, both ways,
and the 6 no-pause cases the model detects lose at most 0.08 s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE
from assistant.audio.wav import read_wav
from assistant.config import Settings
from assistant.pipeline.listener import CommandReady, Listener, WakeHeard
from assistant.pipeline.parts import make_listener
from assistant.stt.base import SttEngine
from tests.conftest import speak

VOICES = ("en-us", "en-gb", "en-gb-x-rp", "en-us+m3")
SPEEDS = (130, 175)
PAUSES = (0.1, 0.3, 0.6, 1.0)
COMMAND = "close the living room blinds"

FRAME = 480
TOLERANCE = FRAME / SAMPLE_RATE
"""One 30 ms frame either side: the listener decides per frame, so another frame
size or a VAD/wake score that crosses its threshold one step earlier (other
instruction sets) moves the cut by a frame.  The "end" of the wake word is where
espeak's amplitude falls below -41 dBFS, so one frame of its fade-out is not
a word; the first 30 ms of the command is its onset, not a lost word (whisper
heard "Close ..." and "Turn ..." with 0-20 ms lost)."""


@dataclass(frozen=True)
class Cut:
    wake_end: float
    """Seconds into the recording where "okay nabu" ends."""
    command_start: float
    heard_at: float | None
    """End of the frame in which the wake word was detected."""
    start: float | None
    """Where the command's audio starts in the recording (None: no command)."""
    samples: np.ndarray | None


def _sounding(audio: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(audio.astype(np.int32)) > 300)
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, 0)


def _recording(tmp: Path, voice: str, speed: int, pause: float) -> tuple[np.ndarray, float, float]:
    wake = read_wav(speak("okay nabu", tmp / "wake.wav", voice, speed))
    command = read_wav(speak(COMMAND, tmp / "command.wav", voice, speed))
    wake = wake[: _sounding(wake)[1]]
    command = command[_sounding(command)[0] :]  # espeak's own silences would lengthen the pause
    lead = np.zeros(int(0.4 * SAMPLE_RATE), np.int16)
    gap = np.zeros(int(pause * SAMPLE_RATE), np.int16)
    tail = np.zeros(int(1.2 * SAMPLE_RATE), np.int16)
    recording = np.concatenate([lead, wake, gap, command, tail])
    wake_end = (lead.size + wake.size) / SAMPLE_RATE
    return recording, wake_end, wake_end + gap.size / SAMPLE_RATE


def _start_in(recording: np.ndarray, cut: np.ndarray) -> float | None:
    sound = np.flatnonzero(cut)
    if not sound.size:
        return None
    first = int(sound[0])
    probe = cut[first : first + 256]
    windows = np.lib.stride_tricks.sliding_window_view(recording, probe.size)
    found = np.flatnonzero((windows == probe).all(axis=1))
    return (int(found[0]) - first) / SAMPLE_RATE if found.size else None


def _cut(listener: Listener, recording: np.ndarray, wake_end: float, command: float) -> Cut:
    heard_at = None
    samples = None
    for at in range(0, recording.size, FRAME):
        event = listener.process(recording[at : at + FRAME], time.monotonic())
        if isinstance(event, WakeHeard):
            heard_at = (at + FRAME) / SAMPLE_RATE
        elif isinstance(event, CommandReady):
            samples = event.utterance.samples
            break
    else:
        last = listener.finish(time.monotonic())
        if isinstance(last, CommandReady):
            samples = last.utterance.samples
    start = None if samples is None else _start_in(recording, samples)
    return Cut(wake_end, command, heard_at, start, samples)


@pytest.fixture(scope="module")
def listener() -> Listener:
    return make_listener(Settings(), wake=True)


def _clean(cut: Cut) -> bool:
    return (
        cut.start is not None
        and cut.wake_end - TOLERANCE <= cut.start <= cut.command_start + TOLERANCE
    )


@pytest.mark.parametrize("follow_up", [False, True], ids=["after-wake", "question-waiting"])
def test_the_command_starts_after_the_wake_word(
    tmp_path: Path, listener: Listener, follow_up: bool
) -> None:
    bad: list[str] = []
    for voice in VOICES:
        for speed in SPEEDS:
            for pause in PAUSES:
                recording, wake_end, command = _recording(tmp_path, voice, speed, pause)
                if follow_up:
                    listener.expect_command("follow-up")
                else:
                    listener.idle()
                cut = _cut(listener, recording, wake_end, command)
                if cut.heard_at is None or not _clean(cut):
                    bad.append(
                        f"{voice} {speed} wpm, pause {pause}: wake word ends {wake_end:.2f} s,"
                        f" command starts {command:.2f} s, heard at {cut.heard_at},"
                        f" cut starts at {cut.start}"
                    )
    assert not bad, "\n".join(bad)


@pytest.fixture(scope="module")
def whisper() -> SttEngine:
    """Whisper as the runtime has it: biased by the example home's names."""
    from assistant.commands.transcribe import home_names
    from assistant.stt import create_engine
    from assistant.stt.base import PhraseBiased

    engine = create_engine(Settings())
    assert isinstance(engine, PhraseBiased)
    engine.set_bias(home_names("example"))
    return engine


def _words(engine: SttEngine, samples: np.ndarray) -> list[str]:
    engine.reset()
    engine.accept(samples)
    return engine.finish().text.lower().replace(",", " ").replace(".", " ").split()


NO_PAUSE_LOSS = 0.1
"""Seconds of the command a cut with no pause may lose.  The detector says where
the word ended to within -0.03..+0.04 s and the cut goes 0.04 s after that, so
0.01-0.08 s is lost (measured); whisper heard the first word in every such cut.
Before the fix, cutting at the detection lost 0.06-0.34 s and whisper heard
"the living room blinds" and "start off all the lights ..."."""


def test_no_pause_keeps_the_wake_word_out_and_the_first_word_in(
    tmp_path: Path, listener: Listener, whisper: SttEngine
) -> None:
    """With no pause the detector fires 0.1-0.35 s into the command (or, for
    en-gb-x-rp, not at all: a known limit of the model, not of the cut)."""
    detected = 0
    for voice in VOICES:
        for speed in SPEEDS:
            recording, wake_end, command = _recording(tmp_path, voice, speed, 0.0)
            listener.idle()
            cut = _cut(listener, recording, wake_end, command)
            if cut.heard_at is None:
                continue
            detected += 1
            assert cut.start is not None, f"{voice} {speed}: {cut}"
            assert cut.samples is not None
            assert wake_end - TOLERANCE <= cut.start <= command + NO_PAUSE_LOSS, (
                f"{voice} {speed}: wake word ends {wake_end:.2f} s, cut starts {cut.start:.2f} s"
            )
            words = _words(whisper, cut.samples)
            assert words[:1] == ["close"], f"{voice} {speed}: {words}"
    assert detected >= 4  # measured: 6 of 8


def test_okay_nabu_while_a_question_waits_is_not_the_answer(
    tmp_path: Path, whisper: SttEngine
) -> None:
    """The demo's failure, transcribed: the answer heard must be the command."""
    listener = make_listener(Settings(), wake=True)
    recording, wake_end, command = _recording(tmp_path, "en-us", 150, 0.4)
    listener.expect_command("follow-up")
    cut = _cut(listener, recording, wake_end, command)
    assert cut.samples is not None
    words = _words(whisper, cut.samples)
    assert words[:1] == ["close"], words
    assert not {"okay", "ok", "nabu"} & set(words), words
