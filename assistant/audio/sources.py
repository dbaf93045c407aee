"""Audio sources: microphone, WAV file, raw PCM on stdin.

Every source has the same small shape: ``frames()`` is an async iterator of
fixed-size 16 kHz mono int16 frames that opens its resource when iteration
starts and releases it when the iterator is closed (use
``contextlib.aclosing``).  File-like sources also offer ``iter_frames()``
for synchronous callers such as ``assistant transcribe``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import time
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

import numpy as np

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.devices import choose_device, list_devices, sounddevice_module
from assistant.audio.frames import Reframer, Resampler, frame_samples, reframe
from assistant.audio.wav import iter_wav, wav_info
from assistant.config import AudioConfig
from assistant.errors import UserError

log = logging.getLogger(__name__)

T = TypeVar("T")


class AudioSource(Protocol):
    """Something that yields fixed-size 16 kHz mono int16 frames."""

    name: str
    frame_samples: int

    def frames(self) -> AsyncGenerator[Samples, None]:
        """Frames until the source ends (files) or the iterator is closed (microphone)."""
        ...


class WavSource:
    """A WAV file of any common rate and channel count, resampled and downmixed."""

    def __init__(self, path: Path, frame_size: int, realtime: bool = False) -> None:
        wav_info(path)  # a bad file fails here, before anything starts
        self.path = path
        self.name = str(path)
        self.frame_samples = frame_size
        self.realtime = realtime

    def iter_frames(self) -> Iterator[Samples]:
        """The frames, synchronously (the last one padded with silence)."""
        return reframe(iter_wav(self.path), self.frame_samples)

    async def frames(self) -> AsyncGenerator[Samples, None]:
        """The frames; with `realtime` paced like a microphone (for demos and tests)."""
        blocks = iter_wav(self.path)
        reframer = Reframer(self.frame_samples)
        pacer = _Pacer(self.frame_samples) if self.realtime else None
        try:
            while True:
                # A one-second block read is short but still blocking file I/O.
                block = await asyncio.to_thread(next, blocks, None)
                if block is None:
                    break
                for frame in reframer.push(block):
                    yield frame
                    await (pacer.wait() if pacer else asyncio.sleep(0))
            last = reframer.flush()
            if last is not None:
                yield last
        finally:
            blocks.close()  # the file handle, when the consumer stops early


class RawStdinSource:
    """Raw PCM, signed 16-bit little-endian, 16 kHz mono, on standard input."""

    def __init__(self, frame_size: int, stream: BinaryIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin.buffer
        self.name = "stdin (raw s16le 16 kHz mono)"
        self.frame_samples = frame_size

    def iter_frames(self) -> Iterator[Samples]:
        """The frames, synchronously, until end of input."""
        size = self.frame_samples * 2
        reframer = Reframer(self.frame_samples)
        carry = b""
        while True:
            chunk = self.stream.read(size)
            if not chunk:
                break
            chunk = carry + chunk
            usable = len(chunk) - len(chunk) % 2
            carry = chunk[usable:]
            yield from reframer.push(np.frombuffer(chunk[:usable], dtype="<i2").astype(np.int16))
        last = reframer.flush()
        if last is not None:
            yield last

    async def frames(self) -> AsyncGenerator[Samples, None]:
        """The frames, without blocking the loop."""
        piped = await self._pipe_reader()
        if piped is None:
            # A regular file never blocks for long: read it in a worker thread.
            frames = self.iter_frames()
            while (frame := await asyncio.to_thread(next, frames, None)) is not None:
                yield frame
            return
        reader, transport = piped
        size = self.frame_samples * 2
        reframer = Reframer(self.frame_samples)
        carry = b""
        try:
            while chunk := await reader.read(size):
                chunk = carry + chunk
                usable = len(chunk) - len(chunk) % 2
                carry = chunk[usable:]
                for frame in reframer.push(
                    np.frombuffer(chunk[:usable], dtype="<i2").astype(np.int16)
                ):
                    yield frame
            last = reframer.flush()
            if last is not None:
                yield last
        finally:
            transport.close()

    async def _pipe_reader(self) -> tuple[asyncio.StreamReader, asyncio.BaseTransport] | None:
        # Pipes, sockets and terminals can be watched by the loop, so a blocked
        # read never pins a thread; regular files cannot (epoll refuses them).
        try:
            mode = os.fstat(self.stream.fileno()).st_mode
        except (OSError, ValueError, AttributeError):
            return None
        if stat.S_ISREG(mode):
            return None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), self.stream
        )
        return reader, transport


class DropOldestQueue(Generic[T]):
    """A bounded queue fed from another thread that drops its oldest item when full.

    For live audio the newest block matters most; dropping the oldest keeps
    latency and memory bounded when the consumer falls behind.  Create it
    inside the event loop that will read it.
    """

    def __init__(self, maxsize: int) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self.dropped = 0
        """Items dropped so far."""

    def put_nowait(self, item: T) -> None:
        """Add an item on the loop's thread, dropping the oldest when full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(item)

    def put_threadsafe(self, item: T) -> None:
        """Add an item from any thread (the PortAudio callback)."""
        self._loop.call_soon_threadsafe(self.put_nowait, item)

    async def get(self) -> T:
        """The oldest item, waiting for one."""
        return await self._queue.get()

    def qsize(self) -> int:
        """Items waiting."""
        return self._queue.qsize()


class MicrophoneSource:
    """A microphone through sounddevice (PortAudio).

    PortAudio calls back on its own thread; each block crosses into the event
    loop with ``call_soon_threadsafe`` and lands in a bounded queue.  When the
    consumer falls behind, the oldest block is dropped and counted, so memory
    never grows and the newest audio (what the user is saying now) wins.
    """

    def __init__(
        self,
        device: str | int | None = None,
        block_ms: int = 30,
        queue_seconds: float = 5.0,
    ) -> None:
        self.device = choose_device(list_devices(), device, "input")
        self.name = f"microphone {self.device if self.device is not None else '(default)'}"
        self.block_ms = block_ms
        self.frame_samples = frame_samples(block_ms)
        self.queue_blocks = max(2, int(queue_seconds * 1000 / block_ms))
        self.dropped = 0
        """Blocks dropped because the consumer was too slow."""
        self.overflows = 0
        """Blocks PortAudio itself reported as overflowed."""

    def _open_stream(self, sd: Any, callback: Any) -> tuple[Any, int]:
        try:
            stream = sd.RawInputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="int16",
                blocksize=self.frame_samples,
                device=self.device,
                callback=callback,
            )
            return stream, SAMPLE_RATE
        except sd.PortAudioError as first:
            # Some cards only run at 44.1/48 kHz: record at their rate and resample.
            try:
                info = sd.query_devices(self.device, "input")
                rate = int(info["default_samplerate"])
                stream = sd.RawInputStream(
                    samplerate=rate,
                    channels=1,
                    dtype="int16",
                    blocksize=rate * self.block_ms // 1000,
                    device=self.device,
                    callback=callback,
                )
            except (sd.PortAudioError, ValueError, KeyError, TypeError):
                raise UserError(
                    f"cannot open the microphone ({first}); "
                    "check `assistant audio devices` or use a WAV file"
                ) from None
            return stream, rate

    async def frames(self) -> AsyncGenerator[Samples, None]:
        """Frames from the microphone until the iterator is closed."""
        sd = sounddevice_module()
        queue: DropOldestQueue[bytes] = DropOldestQueue(self.queue_blocks)

        def callback(indata: Any, frames: int, time_info: Any, status: Any) -> None:
            if status.input_overflow:
                self.overflows += 1
            queue.put_threadsafe(bytes(indata))

        stream, rate = self._open_stream(sd, callback)
        resampler = Resampler(rate)
        reframer = Reframer(self.frame_samples)
        try:
            try:
                stream.start()
            except sd.PortAudioError as exc:
                raise UserError(f"cannot start the microphone ({exc})") from None
            while True:
                block = np.frombuffer(await queue.get(), dtype=np.int16)
                self.dropped = queue.dropped
                for frame in reframer.push(resampler.process(block)):
                    yield frame
        finally:
            stream.abort()
            stream.close()
            if self.dropped or self.overflows:
                log.warning(
                    "microphone: %d blocks dropped (slow consumer), %d overflowed",
                    self.dropped,
                    self.overflows,
                )


class _Pacer:
    """Sleeps so that frames come out no faster than real time."""

    def __init__(self, size: int) -> None:
        self.period = size / SAMPLE_RATE
        self.start = time.monotonic()
        self.count = 0

    async def wait(self) -> None:
        self.count += 1
        delay = self.start + self.count * self.period - time.monotonic()
        await asyncio.sleep(max(0.0, delay))


def open_source(spec: str | None, config: AudioConfig, realtime: bool = False) -> AudioSource:
    """A source from a user's choice: None/'mic' = microphone, '-' = raw stdin, else a WAV path.

    UserError (one line) when the file is bad or there is no microphone.
    """
    size = frame_samples(config.block_ms)
    if spec is None or spec == "mic":
        return MicrophoneSource(config.input_device, config.block_ms, config.queue_seconds)
    if spec == "-":
        return RawStdinSource(size)
    return WavSource(Path(spec), size, realtime=realtime)
