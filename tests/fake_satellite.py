"""A Wyoming satellite built from the `wyoming` package, as wyoming-satellite behaves.

It listens on a loopback port; the gateway connects, asks `describe`, says
`run-satellite`.  `say()` then does what wyoming-satellite does after its
local wake word: `run-pipeline` (asr -> tts), then microphone chunks in real
time (or as fast as the socket takes them) until the gateway's `transcript`,
and collects the reply (`synthesize` text, audio-start/chunk.../audio-stop).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.satellite import RunSatellite
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize
from wyoming.wake import Detection

from assistant.audio import SAMPLE_RATE, Samples
from tests.conftest import free_port

CHUNK_SAMPLES = 1024
"""wyoming-satellite's microphone chunk (64 ms at 16 kHz)."""


@dataclass
class Reply:
    """What the gateway sent back for one command."""

    transcript: str | None = None
    text: str | None = None
    audio: bytearray = field(default_factory=bytearray)
    error: str | None = None
    detected: str | None = None
    """The wake word the gateway heard on the stream (satellites without their own)."""
    speech_ended: float = 0.0
    """time.monotonic() when the last chunk of the spoken command (not the silence) was sent."""

    @property
    def samples(self) -> Samples:
        """The reply audio as 16 kHz int16 samples."""
        return np.frombuffer(bytes(self.audio), dtype=np.int16)


class _Handler(AsyncEventHandler):
    def __init__(self, owner: FakeSatellite, *args: asyncio.StreamReader) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.owner = owner

    async def handle_event(self, event: Event) -> bool:
        await self.owner.received(self, event)
        return True


class FakeSatellite:
    """One satellite on 127.0.0.1; `async with FakeSatellite("kitchen") as sat:`."""

    def __init__(self, name: str, area: str | None = None, port: int | None = None) -> None:
        self.name = name
        self.area = area
        self.port = port or free_port()
        self.uri = f"tcp://127.0.0.1:{self.port}"
        self.runs = 0
        """run-satellite events received (one per connection of the gateway)."""
        self.running = asyncio.Event()
        self._server = AsyncTcpServer("127.0.0.1", self.port)
        self._handler: _Handler | None = None
        self._events: asyncio.Queue[Event] = asyncio.Queue()

    async def __aenter__(self) -> FakeSatellite:
        await self._server.start(lambda r, w: _Handler(self, r, w))  # type: ignore[arg-type]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.stop()

    async def received(self, handler: _Handler, event: Event) -> None:
        if Describe.is_type(event.type):
            attribution = Attribution(name="tests", url="")
            satellite = Satellite(
                name=self.name,
                attribution=attribution,
                installed=True,
                description="fake satellite",
                version="1",
                area=self.area,
            )
            await handler.write_event(Info(satellite=satellite).event())
        elif RunSatellite.is_type(event.type):
            self._handler = handler
            self.runs += 1
            self.running.set()
        else:
            await self._events.put(event)

    async def send(self, event: Event) -> None:
        """Any event to the gateway on the current connection."""
        assert self._handler is not None, "the gateway has not said run-satellite"
        await self._handler.write_event(event)

    async def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the connection (a header that lies, say)."""
        assert self._handler is not None, "the gateway has not said run-satellite"
        self._handler.writer.write(data)
        await self._handler.writer.drain()

    async def drop(self) -> None:
        """Close the gateway's connection (a satellite that reboots)."""
        assert self._handler is not None
        self.running.clear()
        await self._handler.stop()

    async def say(
        self,
        samples: Samples,
        *,
        realtime: bool = False,
        tail_seconds: float = 1.5,
        local_wake: bool = True,
    ) -> Reply:
        """Stream a command after the local wake word; the gateway's reply.

        `local_wake=False`: a satellite without a wake word of its own streams
        from the start of the wake stage and the gateway listens for the word."""
        while not self._events.empty():
            self._events.get_nowait()
        reply = Reply()
        start = PipelineStage.ASR if local_wake else PipelineStage.WAKE
        await self.send(RunPipeline(start, PipelineStage.TTS).event())
        streaming = asyncio.create_task(self._stream(samples, tail_seconds, realtime, reply))
        try:
            while True:
                async with asyncio.timeout(60):
                    event = await self._events.get()
                if Transcript.is_type(event.type):
                    reply.transcript = Transcript.from_event(event).text
                    streaming.cancel()  # wyoming-satellite stops streaming here
                elif Synthesize.is_type(event.type):
                    reply.text = Synthesize.from_event(event).text
                elif AudioChunk.is_type(event.type):
                    reply.audio += AudioChunk.from_event(event).audio
                elif AudioStop.is_type(event.type):
                    return reply
                elif Error.is_type(event.type):
                    reply.error = Error.from_event(event).text
                    return reply
                elif Detection.is_type(event.type):
                    reply.detected = Detection.from_event(event).name
                elif AudioStart.is_type(event.type):
                    assert AudioStart.from_event(event).rate == SAMPLE_RATE
        finally:
            streaming.cancel()

    async def _stream(
        self, samples: Samples, tail_seconds: float, realtime: bool, reply: Reply
    ) -> None:
        silence = np.zeros(int(tail_seconds * SAMPLE_RATE), dtype=np.int16)
        audio = np.concatenate([samples, silence]).astype("<i2").tobytes()
        speech_bytes = samples.size * 2
        step = CHUNK_SAMPLES * 2
        started = time.monotonic()
        for offset in range(0, len(audio), step):
            chunk = AudioChunk(SAMPLE_RATE, 2, 1, audio[offset : offset + step])
            await self.send(chunk.event())
            if offset + step >= speech_bytes and not reply.speech_ended:
                reply.speech_ended = time.monotonic()
            if realtime:
                due = started + (offset + step) / 2 / SAMPLE_RATE
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            else:
                await asyncio.sleep(0)
