"""Audio sinks: a speaker through sounddevice, or a WAV file.

Both have one coroutine, ``play(samples)`` (16 kHz mono int16), and
``close()``.  Playback blocks in a worker thread so the event loop keeps
running; a cancelled ``play`` stops the sound within one block.
"""

from __future__ import annotations

import asyncio
import threading
import wave
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.devices import choose_device, list_devices, sounddevice_module
from assistant.audio.frames import resample
from assistant.config import AudioConfig
from assistant.errors import UserError


class AudioSink(Protocol):
    """Somewhere 16 kHz mono int16 audio goes."""

    name: str

    async def play(self, samples: Samples) -> None:
        """Play (or write) the samples; returns when they are done."""
        ...

    def close(self) -> None:
        """Finish and release the sink."""
        ...


class WavSink:
    """Appends everything played to one WAV file, renamed into place on close()."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._tmp = path.with_name(f".{path.name}.part")
        try:
            # Held open across play() calls; close() finishes it.
            self._out: wave.Wave_write | None = wave.open(str(self._tmp), "wb")  # noqa: SIM115
        except OSError as exc:
            raise UserError(f"{path}: cannot write ({exc.strerror})") from None
        self._out.setnchannels(1)
        self._out.setsampwidth(2)
        self._out.setframerate(SAMPLE_RATE)

    def write(self, samples: Samples) -> None:
        """Append samples synchronously."""
        if self._out is None:
            raise ValueError("WavSink is closed")
        self._out.writeframes(samples.astype("<i2").tobytes())

    async def play(self, samples: Samples) -> None:
        """Append samples (a file is written at once, not in real time)."""
        self.write(samples)

    def close(self) -> None:
        """Finish the header and move the file into place."""
        if self._out is not None:
            self._out.close()
            self._out = None
            self._tmp.replace(self.path)


class SpeakerSink:
    """A speaker through sounddevice; resamples when the card refuses 16 kHz."""

    _BLOCK = 1024

    def __init__(self, device: str | int | None = None) -> None:
        self.device = choose_device(list_devices(), device, "output")
        self.name = f"speaker {self.device if self.device is not None else '(default)'}"
        self._lock = threading.Lock()

    def _open(self, sd: Any) -> tuple[Any, int]:
        try:
            return self._stream(sd, SAMPLE_RATE), SAMPLE_RATE
        except sd.PortAudioError as first:
            try:
                info = sd.query_devices(self.device, "output")
                rate = int(info["default_samplerate"])
                return self._stream(sd, rate), rate
            except (sd.PortAudioError, ValueError, KeyError, TypeError):
                raise UserError(
                    f"cannot open the speaker ({first}); use --out FILE to write a WAV instead"
                ) from None

    def _stream(self, sd: Any, rate: int) -> Any:
        return sd.RawOutputStream(samplerate=rate, channels=1, dtype="int16", device=self.device)

    def _play_blocking(self, samples: Samples, stop: threading.Event) -> None:
        sd = sounddevice_module()
        with self._lock:
            stream, rate = self._open(sd)
            data = np.ascontiguousarray(resample(samples, SAMPLE_RATE, rate), dtype="<i2")
            try:
                with stream:
                    for start in range(0, data.size, self._BLOCK):
                        if stop.is_set():
                            stream.abort()
                            return
                        stream.write(data[start : start + self._BLOCK].tobytes())
            except sd.PortAudioError as exc:
                raise UserError(f"speaker failed during playback ({exc})") from None

    async def play(self, samples: Samples) -> None:
        """Play and wait; cancellation stops the sound."""
        stop = threading.Event()
        try:
            await asyncio.to_thread(self._play_blocking, samples, stop)
        except asyncio.CancelledError:
            stop.set()
            raise

    def close(self) -> None:
        """Nothing held between plays."""


def open_sink(out: Path | None, config: AudioConfig) -> AudioSink:
    """A WAV file when `out` is given, else the configured speaker (UserError if none)."""
    if out is not None:
        return WavSink(out)
    return SpeakerSink(config.output_device)
