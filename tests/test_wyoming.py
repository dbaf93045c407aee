"""The Wyoming server end to end: `assistant serve-wyoming` as a child process,
the wyoming package's own client, espeak-ng speech, a real mosquitto and the
simulated fleet obeying what the server handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop, wav_to_chunks
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.intent import Intent, NotRecognized
from wyoming.tts import Synthesize
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from assistant.audio.wav import write_wav
from assistant.config import MqttConfig
from assistant.integrations.wyoming.advertise import SERVICE_TYPE, service_info, service_name
from assistant.simulate.fleet import Fleet
from tests.conftest import Broker, free_port, speak
from tests.pipeline_support import silence
from tests.test_ask import home, write_config

pytestmark = pytest.mark.slow

READY = "wyoming        ready"


class Server:
    """A running `assistant serve-wyoming` child and what it logged."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.lines: list[str] = []

    def client(self) -> AsyncTcpClient:
        return AsyncTcpClient("127.0.0.1", self.port)

    async def stop(self) -> str:
        """SIGTERM, wait, and everything the server wrote to stderr."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
        assert self.process.stderr is not None
        rest = await self.process.stderr.read()
        await self.process.wait()
        return "".join(self.lines) + rest.decode()


@contextlib.asynccontextmanager
async def serve_wyoming(config: Path, port: int, *command: str) -> AsyncIterator[Server]:
    """`assistant serve-wyoming` (or `command`, which reads the port from the config)."""
    args = command or ("serve-wyoming", "--config", str(config), "--port", str(port))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistant.cli",
        *args,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(process, port)
    assert process.stderr is not None
    try:
        while True:
            line = (await process.stderr.readline()).decode()
            assert line, f"serve-wyoming ended before it was ready: {''.join(server.lines)}"
            server.lines.append(line)
            if line.startswith(READY):
                break
        yield server
    finally:
        output = await server.stop()
        assert "Traceback" not in output, output


async def answer(client: AsyncTcpClient, *events: Event) -> Event:
    """Send `events`, return the first event back (not an audio stream's)."""
    for event in events:
        await client.write_event(event)
    reply = await client.read_event()
    assert reply is not None, "the server closed the connection"
    return reply


def wav_events(path: Path) -> list[Event]:
    with wave.open(str(path), "rb") as wav:
        chunks = list(wav_to_chunks(wav, samples_per_chunk=1024, start_event=True, stop_event=True))
    return [chunk.event() for chunk in chunks]


async def transcribe(client: AsyncTcpClient, wav: Path) -> str:
    reply = await answer(client, Transcribe(language="en").event(), *wav_events(wav))
    assert Transcript.is_type(reply.type), reply
    return Transcript.from_event(reply).text


async def synthesize(client: AsyncTcpClient, text: str) -> tuple[AudioStart, bytes]:
    start = await answer(client, Synthesize(text=text).event())
    assert AudioStart.is_type(start.type), start
    audio = b""
    while True:
        event = await client.read_event()
        assert event is not None
        if AudioStop.is_type(event.type):
            return AudioStart.from_event(start), audio
        audio += AudioChunk.from_event(event).audio


def words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c == " ").split())


async def test_home_assistant_flow_describe_transcribe_speak_and_handle(
    broker: Broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, broker, "wyhandle", "[wyoming]\nzeroconf = false\n")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    command = speak("turn on the kitchen light", tmp_path / "command.wav")
    async with (
        asyncio.timeout(120),
        Fleet(home(), mqtt, prefix="wyhandle") as fleet,
        serve_wyoming(config, free_port()) as server,
    ):
        async with server.client() as client:
            info = Info.from_event(await answer(client, Describe().event()))
            assert info.asr[0].models[0].languages == ["en"]
            assert info.tts
            assert info.handle
            assert info.handle[0].supports_home_control
            assert not info.intent

            text = await transcribe(client, command)
            assert words(text) == "turn on the kitchen light"

            handled = await answer(client, Transcript(text=text).event())
            assert Handled.is_type(handled.type), handled
            reply = Handled.from_event(handled).text
            assert reply
            await fleet.wait_for_state("light.kitchen_light", "on")

            start, audio = await synthesize(client, reply)
            assert (start.rate, start.width, start.channels) == (16000, 2, 1)
            assert len(audio) > 16000 * 2 * 0.3  # a spoken reply, not silence

            # A sentence about no device of this home: not handled, said so.
            other = await answer(client, Transcript(text="what is the capital of France").event())
            assert NotHandled.is_type(other.type), other
            # A LAN client may not unlock, not even by saying "yes".
            await fleet.set_state("lock.front_door", "locked")
            unlock = await answer(client, Transcript(text="unlock the front door").event())
            yes = await answer(client, Transcript(text="yes").event())
            assert "light.kitchen_light" in {r.entity_id for r in fleet.received}
        assert "lock.front_door" not in {r.entity_id for r in fleet.received}, (unlock, yes)
        assert fleet.states["lock.front_door"].state == "locked"


async def test_run_serves_wyoming_next_to_the_microphone(broker: Broker, tmp_path: Path) -> None:
    port = free_port()
    extra = f"[wyoming]\nenabled = true\nport = {port}\nzeroconf = false\n"
    config = write_config(tmp_path, broker, "wyrun", extra)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, silence(60.0))  # a microphone nobody speaks into
    command = speak("turn off the counter light", tmp_path / "command.wav")
    run = ("run", "--config", str(config), "--input", str(quiet), "--no-wake")
    async with (
        asyncio.timeout(120),
        Fleet(home(), mqtt, prefix="wyrun") as fleet,
        serve_wyoming(config, port, *run) as server,
        server.client() as client,
    ):
        text = await transcribe(client, command)
        assert words(text) == "turn off the counter light"
        handled = await answer(client, Transcript(text=text).event())
        assert Handled.is_type(handled.type), handled
        await fleet.wait_for_state("light.counter_light", "off")


async def test_two_clients_at_once_each_get_their_own_transcript(
    broker: Broker, tmp_path: Path
) -> None:
    config = write_config(tmp_path, broker, "wytwo", "[wyoming]\nzeroconf = false\n")
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    first = speak("turn off the bedroom lamp", tmp_path / "first.wav")
    second = speak("set the kitchen fan speed to 50%", tmp_path / "second.wav", voice="en-gb")
    async with (
        asyncio.timeout(120),
        Fleet(home(), mqtt, prefix="wytwo") as fleet,
        serve_wyoming(config, free_port()) as server,
    ):

        async def one(wav: Path) -> tuple[str, Event]:
            async with server.client() as client:
                text = await transcribe(client, wav)
                return text, await answer(client, Transcript(text=text).event())

        (text_a, done_a), (text_b, done_b) = await asyncio.gather(one(first), one(second))
        assert words(text_a) == "turn off the bedroom lamp"
        assert "kitchen fan" in words(text_b)
        assert Handled.is_type(done_a.type), done_a
        assert Handled.is_type(done_b.type), done_b
        await fleet.wait_for_state("light.bedroom_lamp", "off")
        await fleet.wait_for_state("fan.kitchen_fan", "on")


async def test_hostile_events_recognize_mode_and_zeroconf(broker: Broker, tmp_path: Path) -> None:
    name = f"wytest-{os.getpid()}"
    extra = (
        '[wyoming]\nintents = "recognize"\nzeroconf = true\nmax_clients = 2\nidle_seconds = 5\n'
        f'[site]\nid = "{name}"\n'
    )
    config = write_config(tmp_path, broker, "wyhostile", extra)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    port = free_port()
    async with (
        asyncio.timeout(120),
        Fleet(home(), mqtt, prefix="wyhostile") as fleet,
        serve_wyoming(config, port) as server,
    ):
        # Not JSON: that connection ends, with one log line.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"{this is not json\n")
        await writer.drain()
        assert await reader.read() == b""
        writer.close()
        # A payload of a terabyte announced: refused before anything is buffered.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b'{"type": "audio-chunk", "payload_length": 1000000000000}\n' + bytes(4096))
        await writer.drain()
        assert await reader.read() == b""
        writer.close()
        async with server.client() as client:
            # Known types with missing or wrong data: an error event, and serving goes on.
            bad = await answer(client, Event(type="audio-chunk", data={"rate": "x"}))
            assert Error.is_type(bad.type)
            bad = await answer(client, Event(type="transcript", data={}))
            assert Error.is_type(bad.type)
            bad = await answer(client, Event(type="synthesize", data={"text": 42}))
            assert Error.is_type(bad.type)
            await client.write_event(Event(type="no-such-event", data={"x": 1}))
            # Recognize mode: the intent for Home Assistant to execute, nothing done here.
            intent = await answer(client, Transcript(text="turn on the kitchen light").event())
            assert Intent.is_type(intent.type), intent
            recognized = Intent.from_event(intent)
            assert recognized.name == "HassTurnOn"
            assert {e.name: e.value for e in recognized.entities}["name"] == "Kitchen Light"
            # A misheard name no template matches: the gazetteer's frame, in HA's terms.
            misheard = await answer(client, Transcript(text="turn on the counter lite").event())
            assert Intent.is_type(misheard.type), misheard
            recognized = Intent.from_event(misheard)
            assert recognized.name == "HassTurnOn"
            assert {e.name: e.value for e in recognized.entities} == {"name": "Counter Light"}
            nothing = await answer(client, Transcript(text="sing me a song").event())
            assert NotRecognized.is_type(nothing.type)

        # Two clients that went quiet hold both slots: a third is refused, and
        # the quiet ones are closed once idle_seconds pass.
        quiet = []
        for _ in range(2):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b'{"type": "describe"}\n')
            assert await reader.readline()  # the info: served
            quiet.append((reader, writer))
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await reader.read() == b""
        writer.close()
        for reader, writer in quiet:
            await reader.read()  # the rest of the info, then the end: closed by the server
            assert reader.at_eof()
            writer.close()

        # The advertisement, found by zeroconf's own lookup on loopback.
        browser = AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)
        try:
            found = AsyncServiceInfo(SERVICE_TYPE, service_name(name))
            assert await found.async_request(browser.zeroconf, 3000)
            assert found.port == port
            assert found.parsed_addresses() == ["127.0.0.1"]
        finally:
            await browser.async_close()
        output = await server.stop()
    assert fleet.received == []
    assert output.count("unreadable event; connection closed") == 2
    assert "malformed 'audio-chunk' event" in output
    assert "malformed 'transcript' event" in output
    assert "malformed 'synthesize' event" in output
    assert output.count("refused (2 clients connected, max_clients)") == 1
    assert output.count("idle 5 s; connection closed") == 2


def test_service_info_names_the_listening_address() -> None:
    info = service_info("127.0.0.1", 10700, "kitchen.gateway\x07")
    assert info.type == SERVICE_TYPE
    assert info.name == f"kitchen-gateway-.{SERVICE_TYPE}"
    assert info.port == 10700
    assert info.parsed_addresses() == ["127.0.0.1"]
