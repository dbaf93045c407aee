"""One STT engine for the gateway's microphone and the satellites: a satellite's
command decoded while the microphone's command is still being streamed into
the engine does not mix with it (real whisper, espeak-ng speech)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from assistant.audio.wav import read_wav
from assistant.config import Settings
from assistant.pipeline.messages import Utterance
from assistant.pipeline.turn import TurnRunner
from assistant.stt import create_engine
from assistant.understanding.origin import Origin
from assistant.understanding.outcome import Outcome
from tests.conftest import speak

pytestmark = pytest.mark.slow


async def _never(text: str, origin: Origin) -> Outcome:
    raise AssertionError(f"only transcription here ({text!r} from {origin.key})")


async def test_a_satellite_decode_in_the_middle_of_a_streamed_command(tmp_path: Path) -> None:
    def said(text: str) -> Utterance:
        samples = read_wav(speak(text, tmp_path / f"{uuid.uuid4().hex}.wav", "en-us", 150))
        return Utterance(samples, end_of_speech=0.0)

    runner = TurnRunner(create_engine(Settings()), _never)
    try:
        local = said("turn on the kitchen light")
        satellite = said("close the garage door")
        feeder = runner.feeder()
        feeder.reset()
        half = local.samples.size // 2
        for start in range(0, half, 480):  # the microphone's command, streamed as spoken
            feeder.accept(local.samples[start : min(start + 480, half)])
        heard_there, _ = await runner.transcribe(satellite)  # a whole utterance meanwhile
        for start in range(half, local.samples.size, 480):
            feeder.accept(local.samples[start : start + 480])
        streamed = Utterance(local.samples, end_of_speech=0.0, streamed=True)
        heard_here, _ = await runner.transcribe(streamed)
    finally:
        runner.close()
    assert "garage door" in heard_there.lower()
    assert "kitchen" not in heard_there.lower()
    assert "kitchen light" in heard_here.lower()
    assert "garage" not in heard_here.lower()
