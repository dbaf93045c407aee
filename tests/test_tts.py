"""Speech output with the real pyttsx3 / espeak-ng, and the wake chime."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.devices import list_devices
from assistant.audio.frames import rms_dbfs
from assistant.audio.sinks import WavSink
from assistant.audio.wav import read_wav, wav_info, write_wav
from assistant.config import TtsConfig
from assistant.tts import VoiceNotFoundError, check_voice, speak, synthesize, wake_chime
from tests.pipeline_support import utterances


def _cli(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--config", str(config)] if config else []
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _assert_speech(samples: Samples, min_seconds: float) -> None:
    assert samples.size / SAMPLE_RATE >= min_seconds
    assert rms_dbfs(samples) > -35.0
    assert np.abs(samples).max() > 3000


def test_say_out_writes_a_wav_of_speech(tmp_path: Path) -> None:
    out = tmp_path / "reply.wav"
    result = _cli("say", "the kitchen light is now on", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # pyttsx3's "Audio saved to" chatter is silenced
    info = wav_info(out)
    assert (info.rate, info.channels, info.width) == (16000, 1, 2)
    samples = read_wav(out)
    _assert_speech(samples, 1.0)
    # The VAD agrees that it is speech.
    padded = tmp_path / "padded.wav"
    write_wav(padded, np.concatenate([samples, np.zeros(SAMPLE_RATE, np.int16)]))
    assert len(list(utterances(padded))) >= 1


def test_say_without_speaker_suggests_out() -> None:
    if any(d.outputs for d in list_devices()):
        pytest.skip("this machine has a speaker")
    result = _cli("say", "hello")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--out" in result.stderr
    assert result.stderr.count("\n") == 1


def test_voice_rate_and_volume_change_the_audio() -> None:
    base = synthesize("open the garage door", TtsConfig(voice="en-us", rate=175))
    fast = synthesize("open the garage door", TtsConfig(voice="en-us", rate=300))
    female = synthesize("open the garage door", TtsConfig(voice="en-us+f3", rate=175))
    quiet = synthesize("open the garage door", TtsConfig(voice="en-us", volume=0.2))
    assert base is not None
    assert fast is not None
    assert female is not None
    assert quiet is not None
    _assert_speech(base, 0.8)
    assert fast.size < 0.8 * base.size
    assert not np.array_equal(female[: base.size], base[: female.size])
    assert rms_dbfs(quiet) < rms_dbfs(base) - 6


def test_broken_voice_is_logged_and_does_not_raise(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="assistant.tts"):
        assert synthesize("hello", TtsConfig(voice="klingon-xx")) is None
        assert synthesize("hello", TtsConfig(voice="en+nosuchvariant")) is None
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 2
    assert "klingon-xx" in errors[0].getMessage()
    assert "\n" not in errors[0].getMessage()
    with pytest.raises(VoiceNotFoundError):
        check_voice("klingon-xx")
    check_voice("en-gb-x-rp")
    check_voice("en+m3")


def test_say_with_a_broken_voice_in_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[tts]\nvoice = "no-such-voice"\n', encoding="utf-8")
    result = _cli("say", "hello", "--out", str(tmp_path / "x.wav"), config=config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "no-such-voice" in result.stderr
    assert not (tmp_path / "x.wav").exists()


async def test_speak_to_a_sink_and_failure_returns_false(tmp_path: Path) -> None:
    sink = WavSink(tmp_path / "spoken.wav")
    assert await speak("the door is locked", sink, TtsConfig())
    assert not await speak("the door is locked", sink, TtsConfig(voice="nope-nope"))
    sink.close()
    _assert_speech(read_wav(tmp_path / "spoken.wav"), 0.8)


def test_synthesis_from_several_threads() -> None:
    results: dict[int, Samples | None] = {}

    def work(i: int) -> None:
        results[i] = synthesize(f"timer number {i} is done", TtsConfig(rate=200))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 1, 2, 3]
    for samples in results.values():
        assert samples is not None
        _assert_speech(samples, 0.8)


def test_empty_text_is_nothing() -> None:
    assert synthesize("   ") is None


def test_wake_chime_is_a_short_two_tone_sound() -> None:
    chime = wake_chime()
    assert chime.dtype == np.int16
    assert 0.13 <= chime.size / SAMPLE_RATE <= 0.17
    assert 0 < np.abs(chime).max() < 32767
    assert chime[0] == 0  # faded in: no click
    assert abs(int(chime[-1])) < 200  # faded out
    half = chime.size * 7 // 15
    first = np.argmax(np.abs(np.fft.rfft(chime[:half]))) * SAMPLE_RATE / half
    second_part = chime[half:]
    second = np.argmax(np.abs(np.fft.rfft(second_part))) * SAMPLE_RATE / second_part.size
    assert abs(first - 880) < 30
    assert abs(second - 1318.5) < 30


def test_pyttsx3_fallback_speaks(tmp_path: Path) -> None:
    """The path used when the espeak-ng program is missing but libespeak-ng is there."""
    from assistant.tts import engine

    out = tmp_path / "fallback.wav"
    with engine._LOCK:
        engine._with_pyttsx3("turn on the porch light", TtsConfig(voice="en-us"), out)
    _assert_speech(read_wav(out), 0.8)
