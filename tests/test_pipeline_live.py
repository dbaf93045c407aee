"""The live pipeline: tasks, queues, barge-in, follow-up, state on MQTT.

Real parts: espeak-ng audio paced like a microphone, microWakeWord, Silero
VAD, faster-whisper, a real mosquitto for the interface.  Understanding here
is a small echo (the pipeline is what is under test; understanding has its
own tests and the end-to-end tests use the real one).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.sources import WavSource
from assistant.audio.wav import write_wav
from assistant.config import Settings
from assistant.interface import Ask, Interface, Request, Say
from assistant.pipeline.live import LivePipeline, Options
from assistant.pipeline.messages import TurnResult
from assistant.pipeline.parts import make_listener
from assistant.pipeline.speech import TtsSynthesizer
from assistant.pipeline.turn import TurnRunner
from assistant.stt import create_engine
from assistant.understanding.origin import VOICE, Origin
from assistant.understanding.outcome import Outcome
from tests.conftest import Broker
from tests.pipeline_support import silence, spoken

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stt() -> object:
    return create_engine(Settings())


class PacedSink:
    """Plays into memory at real-time speed, so a reply can be interrupted."""

    def __init__(self) -> None:
        self.played: list[int] = []  # samples actually played, per play()
        self.requested: list[int] = []
        self.finished = asyncio.Event()  # set when a play() ran to its end

    name = "paced"

    def close(self) -> None:
        pass

    async def play(self, samples: Samples) -> None:
        self.requested.append(samples.size)
        self.played.append(0)
        block = SAMPLE_RATE // 20
        for start in range(0, samples.size, block):
            await asyncio.sleep(block / SAMPLE_RATE)
            self.played[-1] = min(samples.size, start + block)
        self.finished.set()


class ListSource:
    """A recording delivered like a microphone, in real time."""

    def __init__(self, path: Path) -> None:
        self.inner = WavSource(path, 480, realtime=True)
        self.name = f"recording {path.name}"
        self.frame_samples = 480

    def frames(self) -> AsyncGenerator[Samples, None]:
        return self.inner.frames()


def _outcome(text: str, intent: str, reply: str, awaiting: bool = False) -> Outcome:
    return Outcome(
        text=text,
        intent=intent,
        slots={"text": text},
        actions=(),
        reply=reply,
        handled_by="template",
        timings_ms={},
        awaiting_confirmation=awaiting,
    )


def echo(
    reply: str | None = None, confirm_on: str = "front door", origins: list[Origin] | None = None
) -> object:
    async def understand(text: str, origin: Origin) -> Outcome:
        if origins is not None:
            origins.append(origin)
        if confirm_on in text.lower():
            return _outcome(text, "HassUnlock", "Are you sure?", awaiting=True)
        return _outcome(text, "Echo", reply or f"You said {text}")

    return understand


def _join(out: Path, *paths_or_gaps: Path | float) -> Path:
    from assistant.audio.wav import read_wav

    parts = [silence(p) if isinstance(p, float) else read_wav(p) for p in paths_or_gaps]
    write_wav(out, np.concatenate(parts))
    return out


async def _run(pipeline: LivePipeline, limit: float = 60) -> None:
    stop = asyncio.Event()
    async with asyncio.timeout(limit):
        await pipeline.run(stop)  # ends when the recording ends


async def test_wake_command_reply_and_states_on_mqtt(
    tmp_path: Path, stt: object, module_broker: Broker
) -> None:
    wav = spoken(tmp_path / "a.wav", "turn on the kitchen light", tail=2.5)
    site = f"live-{time.monotonic_ns()}"
    results: list[TurnResult] = []
    sink = PacedSink()
    async with (
        aiomqtt.Client(module_broker.host, module_broker.port) as client,
        aiomqtt.Client(module_broker.host, module_broker.port) as watcher,
    ):
        await watcher.subscribe(f"assistant/{site}/#", qos=1)

        async def publish(topic: str, payload: str, retain: bool) -> None:
            await client.publish(topic, payload, qos=1, retain=retain)

        pipeline = LivePipeline(
            ListSource(wav),
            make_listener(Settings(), wake=True),
            TurnRunner(stt, echo(), TtsSynthesizer(Settings().tts)),  # type: ignore[arg-type]
            sink=sink,
            interface=Interface(site, publish),
            on_turn=results.append,
        )
        await _run(pipeline)
        states: list[str] = []
        transcripts: list[str] = []
        async with asyncio.timeout(10):
            async for message in watcher.messages:
                payload = bytes(message.payload).decode()  # type: ignore[arg-type]
                if str(message.topic).endswith("/state"):
                    states.append(payload)
                if str(message.topic).endswith("/transcript"):
                    transcripts.append(payload)
                if str(message.topic).endswith("/available") and payload == "offline":
                    break
    assert len(results) == 1
    assert "kitchen light" in results[0].transcript.lower()
    assert results[0].started_by == "wake"
    assert results[0].timings_ms["end_of_speech_to_action"] > 0
    # earcon, then the reply, both played in full
    assert len(sink.requested) == 2
    assert sink.played == sink.requested
    assert states == ["idle", "listening", "thinking", "speaking", "idle"]
    assert len(transcripts) == 1
    assert pipeline.dropped_frames == 0


async def test_follow_up_needs_no_wake_word(tmp_path: Path, stt: object) -> None:
    ask = spoken(tmp_path / "ask.wav", "unlock the front door", tail=0.2)
    yes = spoken(tmp_path / "yes.wav", "yes", wake=None, tail=2.0)
    wav = _join(tmp_path / "both.wav", ask, 2.5, yes)
    results: list[TurnResult] = []
    origins: list[Origin] = []
    pipeline = LivePipeline(
        ListSource(wav),
        make_listener(Settings(), wake=True),
        TurnRunner(stt, echo(origins=origins), None),  # type: ignore[arg-type]
        on_turn=results.append,
        options=Options(earcon=False),
    )
    await _run(pipeline)
    assert [r.started_by for r in results] == ["wake", "follow-up"]
    assert origins == [VOICE, VOICE]
    assert results[0].reply == "Are you sure?"
    assert results[1].transcript.lower().strip(" .!") == "yes"


async def test_wake_word_during_the_reply_stops_it(tmp_path: Path, stt: object) -> None:
    first = spoken(tmp_path / "one.wav", "what is new", tail=0.2)
    second = spoken(tmp_path / "two.wav", "turn off the fan", tail=2.0)
    # The reply is long; the second wake word comes while it is being spoken.
    wav = _join(tmp_path / "both.wav", first, 3.0, second)
    long_reply = "Here is a very long answer that goes on and on for many seconds " * 3
    sink = PacedSink()
    results: list[TurnResult] = []
    pipeline = LivePipeline(
        ListSource(wav),
        make_listener(Settings(), wake=True),
        TurnRunner(stt, echo(long_reply), TtsSynthesizer(Settings().tts)),  # type: ignore[arg-type]
        sink=sink,
        on_turn=results.append,
        options=Options(earcon=False),
    )
    await _run(pipeline, limit=90)
    assert len(results) == 2
    assert "fan" in results[1].transcript.lower()
    assert results[1].started_by == "wake"
    # The first reply was cut short by the barge-in; the second ran out with the recording.
    assert sink.played[0] < sink.requested[0]


async def test_a_slow_listener_drops_the_oldest_audio(tmp_path: Path, stt: object) -> None:
    wav = spoken(tmp_path / "a.wav", "turn on the kitchen light", tail=0.5)

    class Burst:
        """All frames at once without yielding: like a microphone after the loop stalled."""

        name = "burst"
        frame_samples = 480

        async def frames(self) -> AsyncGenerator[Samples, None]:
            for frame in WavSource(wav, 480).iter_frames():
                yield frame

    pipeline = LivePipeline(
        Burst(),
        make_listener(Settings(), wake=True),
        TurnRunner(stt, echo(), None),  # type: ignore[arg-type]
        options=Options(queue_frames=4, earcon=False),
    )
    await _run(pipeline)
    assert pipeline.dropped_frames > 0
    assert pipeline.frames.qsize() <= 4


async def test_ask_request_is_handled_as_spoken(stt: object) -> None:
    requests: asyncio.Queue[Request] = asyncio.Queue()
    results: list[TurnResult] = []

    async def endless() -> AsyncGenerator[Samples, None]:
        while True:
            await asyncio.sleep(0.03)
            yield np.zeros(480, dtype=np.int16)

    class Quiet:
        name = "quiet"
        frame_samples = 480

        def frames(self) -> AsyncGenerator[Samples, None]:
            return endless()

    stop = asyncio.Event()
    origins: list[Origin] = []
    pipeline = LivePipeline(
        Quiet(),
        make_listener(Settings(), wake=True),
        TurnRunner(stt, echo(origins=origins), None),  # type: ignore[arg-type]
        requests=requests,
        on_turn=lambda r: (results.append(r), stop.set()),  # type: ignore[func-returns-value]
    )
    untrusted = Origin("mqtt:test", sensitive=False)
    requests.put_nowait(Ask("turn on the radio", origin=untrusted))
    async with asyncio.timeout(20):
        await pipeline.run(stop)
    assert results[0].transcript == "turn on the radio"
    assert results[0].started_by == "ask"
    # The request's own origin reaches understanding (its conversation, its rights).
    assert origins == [untrusted]


async def test_streamed_command_is_transcribed_at_the_end_of_speech(
    tmp_path: Path, stt: object
) -> None:
    wav = spoken(tmp_path / "a.wav", "turn off the garage light", voice="en-gb-x-rp", tail=1.5)
    turns = TurnRunner(stt, echo(), None)  # type: ignore[arg-type]
    listener = make_listener(Settings(), wake=True)
    listener.feeder = turns.feeder()
    results: list[TurnResult] = []
    pipeline = LivePipeline(
        ListSource(wav), listener, turns, on_turn=results.append, options=Options(earcon=False)
    )
    try:
        await _run(pipeline)
    finally:
        turns.close()
    assert len(results) == 1
    assert "garage light" in results[0].transcript.lower()


async def test_say_request_is_spoken(stt: object) -> None:
    requests: asyncio.Queue[Request] = asyncio.Queue()
    sink = PacedSink()

    async def endless() -> AsyncGenerator[Samples, None]:
        while True:
            await asyncio.sleep(0.03)
            yield np.zeros(480, dtype=np.int16)

    class Quiet:
        name = "quiet"
        frame_samples = 480

        def frames(self) -> AsyncGenerator[Samples, None]:
            return endless()

    stop = asyncio.Event()
    pipeline = LivePipeline(
        Quiet(),
        make_listener(Settings(), wake=True),
        TurnRunner(stt, echo(), TtsSynthesizer(Settings().tts)),  # type: ignore[arg-type]
        sink=sink,
        requests=requests,
    )
    requests.put_nowait(Say("the laundry is done"))
    task = asyncio.create_task(pipeline.run(stop))
    async with asyncio.timeout(20):
        await sink.finished.wait()
    stop.set()
    async with asyncio.timeout(5):
        await task
    assert len(sink.requested) == 1
    assert sink.requested[0] > 16000 * 0.8  # about a second of speech
    assert pipeline.state == "idle"
