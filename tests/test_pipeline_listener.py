"""The listening state machine on real espeak-ng speech, real wake word and VAD."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.audio.sources import WavSource
from assistant.config import VadConfig
from assistant.pipeline.listener import CommandReady, Listener, NothingSaid, WakeHeard
from assistant.vad import EndOfSpeech, EndpointSettings, create_engine
from assistant.wake import WakeWordDetector
from tests.pipeline_support import spoken


def _listener(wake: bool) -> Listener:
    endpointer = EndOfSpeech(create_engine("silero"), EndpointSettings.from_config(VadConfig()))
    return Listener(WakeWordDetector("okay_nabu") if wake else None, endpointer)


def _events(listener: Listener, path: Path) -> list[object]:
    events: list[object] = []
    for frame in WavSource(path, 480).iter_frames():
        event = listener.process(frame, time.monotonic())
        if event is not None:
            events.append(event)
    last = listener.finish(time.monotonic())
    if last is not None:
        events.append(last)
    return events


def test_wake_word_then_command(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "cmd.wav", "turn on the kitchen light")
    events = _events(_listener(wake=True), wav)
    assert [type(e) for e in events] == [WakeHeard, CommandReady]
    ready = events[1]
    assert isinstance(ready, CommandReady)
    assert ready.utterance.started_by == "wake"
    # The command's audio is the command: about 1.5 s, not the whole file.
    assert 0.8 < ready.utterance.samples.size / 16000 < 3.0


def test_speech_before_the_wake_word_is_not_the_command(tmp_path: Path) -> None:
    import numpy as np

    from assistant.audio.wav import read_wav, write_wav
    from tests.conftest import speak
    from tests.pipeline_support import silence

    before = read_wav(speak("this is not for you", tmp_path / "before.wav"))
    wake = read_wav(speak("okay nabu", tmp_path / "wake.wav"))
    ask = read_wav(speak("what time is it", tmp_path / "ask.wav"))
    parts = [silence(0.5), before, silence(1.0), wake, silence(0.3), ask, silence(2.0)]
    write_wav(tmp_path / "all.wav", np.concatenate(parts))
    events = _events(_listener(wake=True), tmp_path / "all.wav")
    assert [type(e) for e in events] == [WakeHeard, CommandReady]
    ready = events[1]
    assert isinstance(ready, CommandReady)
    # The command is the question (plus pre-roll and trailing silence), not what came before.
    seconds = ready.utterance.samples.size / 16000
    assert ask.size / 16000 - 0.2 < seconds < (ask.size + before.size) / 16000


def test_wake_word_then_nothing_times_out(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "wake.wav", ".", tail=8.0)
    events = _events(_listener(wake=True), wav)
    assert [type(e) for e in events] == [WakeHeard, NothingSaid]
    nothing = events[1]
    assert isinstance(nothing, NothingSaid)
    assert nothing.started_by == "wake"


def test_no_wake_word_does_nothing(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "cmd.wav", "turn on the kitchen light", wake=None)
    assert _events(_listener(wake=True), wav) == []


def test_without_wake_word_detection_the_command_is_taken(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "cmd.wav", "turn off the fan", wake=None)
    events = _events(_listener(wake=False), wav)
    assert [type(e) for e in events] == [CommandReady]
    assert isinstance(events[0], CommandReady)
    assert events[0].utterance.started_by == "no-wake"


@pytest.mark.parametrize("voice", ["en-us", "en-gb"])
def test_wake_word_while_busy_is_a_barge_in(tmp_path: Path, voice: str) -> None:
    wav = spoken(tmp_path / "cmd.wav", "stop", voice=voice)
    listener = _listener(wake=True)
    listener.busy()
    events = _events(listener, wav)
    assert isinstance(events[0], WakeHeard)
    assert events[0].barge_in


def test_busy_ignores_commands_without_the_wake_word(tmp_path: Path) -> None:
    wav = spoken(tmp_path / "cmd.wav", "turn on the kitchen light", wake=None)
    listener = _listener(wake=True)
    listener.busy()
    assert _events(listener, wav) == []
    assert listener.mode == "busy"


def test_follow_up_needs_no_wake_word_and_silence_times_out(tmp_path: Path) -> None:
    listener = _listener(wake=True)
    listener.expect_command("follow-up")
    events = _events(listener, spoken(tmp_path / "yes.wav", "yes", wake=None))
    assert [type(e) for e in events] == [CommandReady]
    listener.expect_command("follow-up")
    quiet = spoken(tmp_path / "q.wav", ".", wake=None, tail=6.0)
    events = _events(listener, quiet)
    assert events
    assert isinstance(events[-1], NothingSaid)


def test_our_own_earcon_is_not_taken_as_the_command(tmp_path: Path) -> None:
    import numpy as np

    from assistant.audio.wav import write_wav
    from assistant.tts import wake_chime

    # After the wake word the microphone hears the chime, then silence: no command.
    chime = wake_chime(level=0.9)
    audio = np.concatenate([chime, np.zeros(16000 * 6, dtype=np.int16)])
    write_wav(tmp_path / "chime.wav", audio)
    # WebRTC's VAD (used when the LLM is on) takes a chime for speech.
    endpointer = EndOfSpeech(create_engine("webrtc"), EndpointSettings.from_config(VadConfig()))
    listener = Listener(None, endpointer)
    listener.expect_command("wake")
    listener.ignore(chime.size + 1600)
    events = _events(listener, tmp_path / "chime.wav")
    assert [type(e) for e in events] == [NothingSaid]
