"""End of speech with real VAD engines on espeak-ng speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.frames import reframe
from assistant.audio.wav import read_wav, write_wav
from assistant.config import Settings, VadConfig
from assistant.vad import (
    EndOfSpeech,
    EndpointSettings,
    SpeechStarted,
    SpeechTimeout,
    UtteranceEnded,
    create_engine,
)
from assistant.vad.endpoint import EndpointEvent
from tests.conftest import speak
from tests.pipeline_support import utterances

TOLERANCE = 0.3
"""How late the decided end may be beyond speech end + silence (VAD hangover, chunking)."""


def _silence(seconds: float) -> Samples:
    return np.zeros(int(seconds * SAMPLE_RATE), np.int16)


def _noise(seconds: float, dbfs: float = -60.0, seed: int = 1) -> Samples:
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 32768 * 10 ** (dbfs / 20), int(seconds * SAMPLE_RATE))).astype(np.int16)


def _true_end(audio: Samples) -> float:
    """End of the last 10 ms window louder than -40 dBFS."""
    win = SAMPLE_RATE // 100
    usable = audio[: audio.size - audio.size % win].astype(np.float64).reshape(-1, win)
    loud = np.nonzero(np.sqrt(np.mean(usable**2, axis=1)) / 32768 > 0.01)[0]
    return float((loud[-1] + 1) * win / SAMPLE_RATE)


def _run(eos: EndOfSpeech, audio: Samples, frame: int = 480) -> list[EndpointEvent]:
    events: list[EndpointEvent] = []
    for chunk in reframe([audio], frame):
        events += eos.process(chunk)
    return events + eos.finish()


@pytest.fixture(scope="module")
def command(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    """A spoken command with 0.5 s before and 2 s of silence after."""
    path = tmp_path_factory.mktemp("vad") / "cmd.wav"
    speech = read_wav(speak("turn off the lights in the living room", path))
    return np.concatenate([_silence(0.5), speech, _silence(2.0)])


@pytest.mark.parametrize(
    ("preset", "silence"), [("default", 0.7), ("aggressive", 0.4), ("relaxed", 1.2)]
)
def test_utterance_ends_within_the_configured_window(
    command: Samples, preset: str, silence: float
) -> None:
    settings = EndpointSettings.from_config(VadConfig(preset=preset))  # type: ignore[arg-type]
    assert settings.silence_seconds == silence
    events = _run(EndOfSpeech(create_engine("silero"), settings), command)
    ended = [e for e in events if isinstance(e, UtteranceEnded)]
    assert len(ended) == 1
    utterance = ended[0]
    assert utterance.reason == "silence"
    true_end = _true_end(command)
    assert abs(utterance.speech_end_seconds - true_end) < TOLERANCE
    assert true_end + silence <= utterance.ended_at_seconds + 0.05
    assert utterance.ended_at_seconds <= true_end + silence + TOLERANCE
    # The audio holds the whole command and not the trailing silence.
    assert utterance.start_seconds <= 0.5
    assert utterance.seconds < true_end - utterance.start_seconds + 0.5
    assert isinstance(events[0], SpeechStarted)
    assert 0.4 <= events[0].at_seconds <= 0.8


@pytest.mark.parametrize("engine", ["silero", "webrtc", "micro"])
def test_every_engine_finds_the_one_utterance(command: Samples, engine: str) -> None:
    eos = EndOfSpeech(create_engine(engine), EndpointSettings())  # type: ignore[arg-type]
    # webrtc fires on a stream's first frames; the lead-in of noise absorbs that.
    audio = np.concatenate([_noise(0.5), command]) if engine == "webrtc" else command
    ended = [e for e in _run(eos, audio) if isinstance(e, UtteranceEnded)]
    assert [e.reason for e in ended][-1:] == ["silence"]
    assert ended[-1].speech_end_seconds > _true_end(audio) - TOLERANCE


def test_explicit_silence_wins_over_the_preset() -> None:
    config = VadConfig(preset="relaxed", silence_seconds=0.5)
    assert EndpointSettings.from_config(config).silence_seconds == 0.5
    assert EndpointSettings.from_config(VadConfig()).silence_seconds == 0.7


def test_silence_only_yields_no_utterance(tmp_path: Path) -> None:
    path = tmp_path / "quiet.wav"
    write_wav(path, np.concatenate([_silence(3.0), _noise(5.0)]))
    assert list(utterances(path, Settings())) == []


def test_start_timeout_fires_once_when_asked() -> None:
    settings = EndpointSettings(start_timeout_seconds=1.5)
    events = _run(EndOfSpeech(create_engine("silero"), settings), _noise(4.0))
    assert len(events) == 1
    timeout = events[0]
    assert isinstance(timeout, SpeechTimeout)
    assert 1.5 <= timeout.waited_seconds < 1.6
    # Without a timeout configured, silence is just silence.
    assert _run(EndOfSpeech(create_engine("silero"), EndpointSettings()), _noise(4.0)) == []


def test_no_timeout_when_speech_starts_in_time(command: Samples) -> None:
    settings = EndpointSettings(start_timeout_seconds=1.5)
    events = _run(EndOfSpeech(create_engine("silero"), settings), command)
    assert not any(isinstance(e, SpeechTimeout) for e in events)
    assert any(isinstance(e, UtteranceEnded) for e in events)


def test_reset_rearms_the_timeout(command: Samples) -> None:
    eos = EndOfSpeech(create_engine("silero"), EndpointSettings(start_timeout_seconds=1.0))
    first = _run(eos, command)
    assert any(isinstance(e, UtteranceEnded) for e in first)
    eos.reset()
    again = _run(eos, _silence(2.0))
    assert [type(e) for e in again] == [SpeechTimeout]


def test_max_utterance_length_cuts(tmp_path: Path) -> None:
    talk = read_wav(
        speak(
            "turn on the kitchen light and then close the blinds in the bedroom and start "
            "the vacuum in the hall and set the thermostat to twenty two degrees",
            tmp_path / "long.wav",
            speed=200,
        )
    )
    audio = np.concatenate([talk, talk, _silence(1.0)])
    settings = EndpointSettings(max_utterance_seconds=3.0)
    ended = [
        e
        for e in _run(EndOfSpeech(create_engine("silero"), settings), audio)
        if isinstance(e, UtteranceEnded)
    ]
    assert ended[0].reason == "max_length"
    assert all(e.seconds <= 3.0 + 0.05 for e in ended)
    assert len(ended) >= 3


def test_frame_size_does_not_matter(command: Samples) -> None:
    ends = set()
    for frame in (160, 320, 480, 1000):
        eos = EndOfSpeech(create_engine("silero"), EndpointSettings())
        ended = [e for e in _run(eos, command, frame) if isinstance(e, UtteranceEnded)]
        ends.add(round(ended[0].ended_at_seconds, 3))
    assert len(ends) == 1


def test_primed_audio_is_pre_roll_only(command: Samples) -> None:
    """Audio handed over with prime() never starts an utterance by itself, and
    leads the utterance when speech follows at once (the wake word's lookback)."""
    eos = EndOfSpeech(create_engine("silero"), EndpointSettings())
    speech = command[int(0.5 * SAMPLE_RATE) :]  # the lead-in silence off
    # Speech primed, then silence: nothing starts.
    eos.prime(speech[: SAMPLE_RATE // 2])
    assert _run(eos, _silence(1.0)) == []
    # A marker primed, then speech at once: the utterance begins with the marker,
    # longer than the pre-roll (0.3 s) though it is.
    eos.reset()
    marker = np.full(int(0.35 * SAMPLE_RATE), 7, np.int16)
    eos.prime(marker)
    ended = [e for e in _run(eos, speech) if isinstance(e, UtteranceEnded)]
    assert len(ended) == 1
    assert np.array_equal(ended[0].audio[: marker.size], marker)
    assert np.array_equal(ended[0].audio[marker.size : marker.size + 4000], speech[:4000])
