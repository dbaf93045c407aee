"""Audio in and out: WAV reading (bad files, resampling), frames, stdin, devices, sinks."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
import tracemalloc
import wave
from contextlib import aclosing
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from assistant.audio import SAMPLE_RATE
from assistant.audio.devices import AudioDevice, choose_device, list_devices
from assistant.audio.frames import Reframer, reframe
from assistant.audio.sinks import WavSink, open_sink
from assistant.audio.sources import (
    DropOldestQueue,
    MicrophoneSource,
    RawStdinSource,
    WavSource,
    open_source,
)
from assistant.audio.wav import iter_wav, read_wav, wav_info, write_wav
from assistant.config import AudioConfig, Settings, VadConfig
from assistant.errors import UserError
from tests.conftest import speak
from tests.pipeline_support import utterances

NO_DEVICES = not list_devices()


def _write(path: Path, data: npt.NDArray[np.generic], rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(data.astype("<i2").tobytes())
    return path


def _assert_one_line(exc: pytest.ExceptionInfo[UserError], path: Path, words: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    assert str(path) in message
    assert words in message


# --- bad WAV input -------------------------------------------------------------


def test_text_file_named_wav_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is not audio\n", encoding="utf-8")
    with pytest.raises(UserError) as exc:
        list(iter_wav(path))
    _assert_one_line(exc, path, "not a WAV file")


def test_empty_file_and_empty_wav_are_clear_errors(tmp_path: Path) -> None:
    empty_file = tmp_path / "zero.wav"
    empty_file.write_bytes(b"")
    with pytest.raises(UserError) as exc:
        list(iter_wav(empty_file))
    _assert_one_line(exc, empty_file, "empty")
    header_only = _write(tmp_path / "header.wav", np.zeros(0, np.int16), 16000)
    with pytest.raises(UserError) as exc:
        WavSource(header_only, 480)
    _assert_one_line(exc, header_only, "empty WAV")


def test_truncated_wav_is_a_clear_error_before_any_audio(tmp_path: Path) -> None:
    full = speak("turn on the kitchen light", tmp_path / "full.wav")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(UserError) as exc:
        next(iter_wav(cut))
    _assert_one_line(exc, cut, "truncated WAV")
    # Cut inside the header: still one line, no wave.Error traceback.
    stub = tmp_path / "stub.wav"
    stub.write_bytes(full.read_bytes()[:30])
    with pytest.raises(UserError) as exc:
        list(iter_wav(stub))
    _assert_one_line(exc, stub, "WAV")


def test_bad_wav_through_the_cli_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("hello", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "transcribe", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0  # transcribe reports per file and exits 1
    assert "Traceback" not in result.stderr
    assert "not a WAV file" in result.stderr


# --- resampling and downmixing -------------------------------------------------


def test_8khz_stereo_is_resampled_and_downmixed(tmp_path: Path) -> None:
    seconds, freq = 2.0, 300.0
    t = np.arange(int(seconds * 8000)) / 8000
    left = 0.5 * np.sin(2 * np.pi * freq * t)
    right = 0.3 * np.sin(2 * np.pi * freq * t)
    stereo = np.stack([left, right], axis=1).reshape(-1) * 32767
    path = _write(tmp_path / "st8.wav", stereo, 8000, channels=2)
    info = wav_info(path)
    assert (info.rate, info.channels) == (8000, 2)
    mono = read_wav(path)
    assert mono.dtype == np.int16
    assert abs(mono.size - seconds * SAMPLE_RATE) <= 2
    middle = mono[4000:-4000].astype(np.float64) / 32768
    spectrum = np.abs(np.fft.rfft(middle))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / middle.size
    assert abs(peak_hz - freq) < 2
    # The mean of the channels: amplitude 0.4.
    assert abs(np.max(np.abs(middle)) - 0.4) < 0.01


def test_8khz_stereo_speech_matches_the_16khz_original(tmp_path: Path) -> None:
    original = speak("set the bedroom lights to fifty percent", tmp_path / "o.wav", rate=16000)
    ref = read_wav(original)
    low = ref[::2]  # espeak's energy is mostly below 4 kHz
    path = _write(tmp_path / "s8.wav", np.stack([low, low], axis=1).reshape(-1), 8000, 2)
    back = read_wav(path)
    assert abs(back.size - ref.size) <= 4
    n = min(back.size, ref.size)
    corr = np.corrcoef(back[:n].astype(float), ref[:n].astype(float))[0, 1]
    assert corr > 0.8
    settings = Settings(vad=VadConfig(engine="silero"))
    assert len(list(utterances(path, settings))) == 1


def test_24bit_and_float_wavs_are_read(tmp_path: Path) -> None:
    tone = 0.25 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)
    as_float = tmp_path / "f32.wav"
    body = tone.astype("<f4").tobytes()
    fmt = (
        b"fmt "
        + (16).to_bytes(4, "little")
        + (3).to_bytes(2, "little")  # IEEE float
        + (1).to_bytes(2, "little")
        + (16000).to_bytes(4, "little")
        + (64000).to_bytes(4, "little")
        + (4).to_bytes(2, "little")
        + (32).to_bytes(2, "little")
    )
    chunks = fmt + b"data" + len(body).to_bytes(4, "little") + body
    as_float.write_bytes(b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks)
    got = read_wav(as_float)
    assert got.size == 16000
    assert abs(np.max(np.abs(got)) / 32768 - 0.25) < 0.01


# --- long files in bounded memory ---------------------------------------------


@pytest.mark.slow
def test_ten_minute_wav_is_segmented_in_bounded_memory(tmp_path: Path) -> None:
    clips = [
        read_wav(speak(text, tmp_path / f"c{i}.wav", voice=voice))
        for i, (text, voice) in enumerate(
            [
                ("turn on the kitchen light", "en-us"),
                ("what is the temperature in the living room", "en"),
                ("close the garage door and lock the front door", "en+f3"),
            ]
        )
    ]
    talk = np.concatenate(clips * 8)  # several seconds with no pause of 0.7 s
    gap = np.zeros(2 * SAMPLE_RATE, np.int16)
    path = tmp_path / "long.wav"
    total = 0
    with wave.open(str(path), "wb") as out:  # written piecewise, never whole
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while total < 600 * SAMPLE_RATE:
            for piece in (talk, gap, clips[0], gap):
                out.writeframes(piece.tobytes())
                total += piece.size
    assert total / SAMPLE_RATE >= 600

    settings = Settings(vad=VadConfig(max_utterance_seconds=8.0))
    tracemalloc.start()
    try:
        count = 0
        longest = 0.0
        for utterance in utterances(path, settings):
            count += 1
            longest = max(longest, utterance.samples.size / SAMPLE_RATE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count > 40
    # The talk without pauses is cut at the maximum length, never beyond it.
    assert 7.5 <= longest <= 8.0 + 0.1
    # One 8 s utterance is 256 kB of int16; the 600 s file is 19 MB.
    assert peak < 4 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# --- frames and stdin ---------------------------------------------------------


def test_reframer_makes_exact_frames_and_pads_the_last() -> None:
    data = np.arange(1000, dtype=np.int16)
    frames = list(reframe([data[:7], data[7:500], data[500:]], 480))
    assert [f.size for f in frames] == [480, 480, 480]
    assert np.array_equal(np.concatenate(frames)[:1000], data)
    assert not frames[-1][1000 - 960 :].any()
    reframer = Reframer(160)
    assert reframer.push(np.zeros(100, np.int16)) == []
    assert reframer.flush() is not None
    assert reframer.flush() is None


def test_raw_stdin_frames_from_a_file() -> None:
    data = (np.arange(16000) % 2000 - 1000).astype(np.int16)
    raw = data.astype("<i2").tobytes() + b"\x01"  # a stray odd byte at the end
    source = RawStdinSource(480, stream=io.BytesIO(raw))
    frames = list(source.iter_frames())
    assert all(f.size == 480 for f in frames)
    assert np.array_equal(np.concatenate(frames)[:16000], data)


async def test_raw_stdin_frames_from_a_pipe() -> None:
    data = (np.arange(8000) % 300).astype(np.int16)
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        with os.fdopen(write_fd, "wb") as out:
            for start in range(0, data.size, 777):
                out.write(data[start : start + 777].astype("<i2").tobytes())
                out.flush()

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        source = RawStdinSource(320, stream=stream)
        got = []
        async with asyncio.timeout(10), aclosing(source.frames()) as frames:
            async for frame in frames:
                got.append(frame)
    thread.join()
    assert all(f.size == 320 for f in got)
    assert np.array_equal(np.concatenate(got)[:8000], data)


async def test_wav_source_async_frames_match_sync(tmp_path: Path) -> None:
    path = speak("open the blinds", tmp_path / "b.wav")
    source = open_source(str(path), AudioConfig(block_ms=20))
    assert isinstance(source, WavSource)
    sync = list(source.iter_frames())
    got = []
    async with asyncio.timeout(20), aclosing(source.frames()) as frames:
        async for frame in frames:
            got.append(frame)
    assert len(got) == len(sync)
    assert all(f.size == 320 for f in got)
    assert np.array_equal(np.concatenate(got), np.concatenate(sync))


async def test_drop_oldest_queue_counts_drops_from_another_thread() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)

    def feed() -> None:
        for i in range(10):
            queue.put_threadsafe(i)

    thread = threading.Thread(target=feed)
    thread.start()
    thread.join()
    await asyncio.sleep(0)  # the ten callbacks are already scheduled: let them run
    assert queue.dropped + queue.qsize() == 10
    async with asyncio.timeout(5):
        assert [await queue.get() for _ in range(3)] == [7, 8, 9]
    assert queue.dropped == 7


# --- devices --------------------------------------------------------------------


def _device(index: int, name: str, inputs: int, outputs: int) -> AudioDevice:
    return AudioDevice(index, name, inputs, outputs, 48000.0, index == 0, index == 1)


def test_choose_device_by_index_name_and_default() -> None:
    devices = [
        _device(0, "USB Microphone", 1, 0),
        _device(1, "HDMI Output", 0, 2),
        _device(2, "ReSpeaker 4-Mic Array", 4, 2),
    ]
    assert choose_device(devices, None, "input") is None
    assert choose_device(devices, 2, "input") == 2
    assert choose_device(devices, "2", "output") == 2
    assert choose_device(devices, "respeaker", "input") == 2
    assert choose_device(devices, "hdmi", "output") == 1
    with pytest.raises(UserError, match="no audio input device matches 'hdmi'"):
        choose_device(devices, "hdmi", "input")
    with pytest.raises(UserError, match="does not exist"):
        choose_device(devices, 7, "input")
    both = [*devices, _device(3, "USB Microphone 2", 1, 0)]
    with pytest.raises(UserError, match="ambiguous"):
        choose_device(both, "usb", "input")
    with pytest.raises(UserError, match="no audio output device found"):
        choose_device(devices[:1], None, "output")


@pytest.mark.skipif(not NO_DEVICES, reason="this machine has audio devices")
def test_no_microphone_gives_a_clean_message() -> None:
    with pytest.raises(UserError) as exc:
        MicrophoneSource(None)
    message = str(exc.value)
    assert message.startswith("no audio input device found")
    assert "WAV file" in message
    with pytest.raises(UserError, match="no audio input device found"):
        open_source("mic", AudioConfig(input_device="usb"))
    with pytest.raises(UserError, match="no audio output device found"):
        open_sink(None, AudioConfig())


@pytest.mark.skipif(not NO_DEVICES, reason="this machine has audio devices")
def test_audio_devices_cli_without_devices() -> None:
    command = [sys.executable, "-m", "assistant.cli", "audio", "devices"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("assistant: no audio devices found")
    assert "Traceback" not in result.stderr
    result = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.strip() == "[]"


# --- sinks ----------------------------------------------------------------------


async def test_wav_sink_appends_and_renames_on_close(tmp_path: Path) -> None:
    out = tmp_path / "out.wav"
    sink = open_sink(out, AudioConfig())
    assert isinstance(sink, WavSink)
    await sink.play(np.full(1600, 1000, np.int16))
    await sink.play(np.full(800, -1000, np.int16))
    assert not out.exists()
    sink.close()
    got = read_wav(out)
    assert got.size == 2400
    assert got[0] == 1000
    assert got[-1] == -1000


def test_write_wav_round_trip(tmp_path: Path) -> None:
    data = (np.sin(np.arange(4000) / 10) * 20000).astype(np.int16)
    write_wav(tmp_path / "r.wav", data)
    assert np.array_equal(read_wav(tmp_path / "r.wav"), data)
