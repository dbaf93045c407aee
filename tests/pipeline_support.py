"""Spoken test recordings for the pipeline tests: wake word, pause, command."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from assistant.audio import SAMPLE_RATE
from assistant.audio.sources import WavSource
from assistant.audio.wav import read_wav, write_wav
from assistant.config import Settings
from assistant.pipeline.listener import CommandReady
from assistant.pipeline.messages import Utterance
from assistant.pipeline.parts import make_listener
from tests.conftest import speak


def silence(seconds: float) -> np.ndarray:
    """Digital silence (what a quiet room's microphone is close to)."""
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.int16)


def spoken(
    out: Path,
    command: str,
    *,
    wake: str | None = "okay nabu",
    voice: str = "en-us",
    wake_voice: str | None = None,
    speed: int = 150,
    pause: float = 0.6,
    tail: float = 1.2,
) -> Path:
    """A 16 kHz WAV: lead-in, (wake word, pause,) command, trailing silence.

    `wake_voice` speaks the wake word when the command's voice cannot (the
    wake word model knows "okay nabu" in English, the command may be Korean).
    """
    parts = [silence(0.4)]
    if wake:
        wake_wav = speak(wake, out.with_suffix(".wake.wav"), wake_voice or voice, speed)
        parts += [read_wav(wake_wav), silence(pause)]
    parts += [read_wav(speak(command, out.with_suffix(".cmd.wav"), voice, speed)), silence(tail)]
    write_wav(out, np.concatenate(parts))
    for extra in (out.with_suffix(".wake.wav"), out.with_suffix(".cmd.wav")):
        extra.unlink(missing_ok=True)
    return out


def utterances(path: Path, settings: Settings | None = None) -> Iterator[Utterance]:
    """Every command in a recording, one at a time, as the pipeline's listener cuts
    them without a wake word (the way `listen --no-wake` hears a file)."""
    listener = make_listener(settings or Settings(), wake=False)
    for frame in WavSource(path, 480).iter_frames():
        event = listener.process(frame, time.monotonic())
        if isinstance(event, CommandReady):
            yield event.utterance
        if event is not None:
            listener.idle()  # the next command (or another wait for one)
    last = listener.finish(time.monotonic())
    if isinstance(last, CommandReady):
        yield last.utterance
