"""Satellites found over zeroconf (mDNS on loopback only), peers that are no
satellite, and the link's reconnects (no models needed: nothing is spoken).

A fake satellite (the `wyoming` package) is announced as `_wyoming._tcp` the
way wyoming-satellite announces itself; the hub finds it and says
run-satellite.  A Wyoming STT service announced the same way is asked what it
is and left alone, with one line.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.info import AsrProgram, Attribution, Describe, Info
from wyoming.pipeline import PipelineStage, RunPipeline
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from assistant.config import Settings
from assistant.config_satellite import SatelliteConfig
from assistant.integrations.satellite import SatelliteHub, Services
from assistant.integrations.satellite.discovery import SERVICE_TYPE
from assistant.pipeline.parts import make_listener
from assistant.pipeline.turn import TurnRunner
from assistant.understanding.origin import Origin
from assistant.understanding.outcome import Outcome
from tests.conftest import free_port
from tests.fake_satellite import FakeSatellite

LOOPBACK = ["127.0.0.1"]


async def _never(text: str, origin: Origin) -> Outcome:
    raise AssertionError(f"nothing is said in these tests ({text!r} from {origin.key})")


async def _until(predicate: Callable[[], bool]) -> None:
    while not predicate():  # noqa: ASYNC110 - set by the hub's tasks and zeroconf callbacks
        await asyncio.sleep(0.05)


def _services() -> Services:
    # No command is spoken here: the engines are never reached.
    return Services(
        turns=TurnRunner(None, _never),
        new_listener=lambda: make_listener(Settings(), wake=False, vad_engine="webrtc"),
    )


@pytest.fixture
async def mdns() -> AsyncIterator[AsyncZeroconf]:
    zeroconf = AsyncZeroconf(interfaces=LOOPBACK)
    yield zeroconf
    await zeroconf.async_close()


async def _announce(mdns: AsyncZeroconf, name: str, port: int) -> None:
    info = AsyncServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton("127.0.0.1")],
        port=port,
    )
    await mdns.async_register_service(info)


class _SpeechToText(AsyncEventHandler):
    """A Wyoming STT service: it describes itself as one, and transcribes nothing."""

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            asr = AsrProgram(
                name="stt",
                attribution=Attribution(name="tests", url=""),
                installed=True,
                description="not a satellite",
                version="1",
                models=[],
            )
            await self.write_event(Info(asr=[asr]).event())
        else:
            await self.write_event(Transcript(text="").event())
        return True


async def test_an_announced_satellite_is_found_and_served_other_services_are_left_alone(
    mdns: AsyncZeroconf, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistant.integrations.satellite")
    tag = uuid.uuid4().hex[:6]
    stt_port = free_port()
    stt = AsyncTcpServer("127.0.0.1", stt_port)
    await stt.start(_SpeechToText)
    try:
        async with asyncio.timeout(30), FakeSatellite(f"attic-{tag}", area="Attic") as sat:
            await _announce(mdns, f"attic-{tag}", sat.port)
            await _announce(mdns, f"whisper-{tag}", stt_port)
            # Listed and announced: served once.
            listed = [SatelliteConfig(uri=sat.uri, name="attic")]
            async with SatelliteHub(
                _services(), listed, discover=True, discover_interfaces=LOOPBACK
            ) as hub:
                await sat.running.wait()
                await _until(lambda: f"127.0.0.1:{stt_port}" in hub.links)
                stt_link = hub.links[f"127.0.0.1:{stt_port}"]
                await _until(lambda: stt_link.not_a_satellite)
                link = hub.links[f"127.0.0.1:{sat.port}"]
                assert link.name == "attic"  # the configured entry, not a second link
                assert link.area == "Attic"  # what the satellite says about itself
                assert link.origin.key == "satellite:attic"
                assert sat.runs == 1
    finally:
        await stt.stop()
    lines = [r.getMessage() for r in caplog.records]
    assert any(f"whisper-{tag} is not a satellite" in line for line in lines), lines


async def test_an_unreachable_satellite_is_retried_quietly_until_it_comes_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="assistant.integrations.satellite")
    port = free_port()  # nothing listens here yet
    config = SatelliteConfig(uri=f"tcp://127.0.0.1:{port}", name="late")
    async with asyncio.timeout(30), SatelliteHub(_services(), [config]) as hub:
        link = hub.links[f"127.0.0.1:{port}"]
        await _until(lambda: any("reconnecting in" in r.getMessage() for r in caplog.records))
        assert not link.connected.is_set()
        # It comes up later: the link finds it on its next attempt.
        async with FakeSatellite("late", port=port) as sat:
            await sat.running.wait()
            await link.connected.wait()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1  # the same failure again is not repeated at warning level
    assert "satellite late:" in warnings[0].getMessage()


async def test_a_malformed_event_is_one_line_and_the_satellite_is_served_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="assistant.integrations.satellite")
    async with asyncio.timeout(30), FakeSatellite("odd") as sat:
        config = SatelliteConfig(uri=sat.uri, name="odd")
        async with SatelliteHub(_services(), [config]) as hub:
            await sat.running.wait()
            sat.running.clear()
            await sat.send(RunPipeline(PipelineStage.ASR, PipelineStage.TTS).event())
            # An audio chunk that does not say its format.
            await sat.send(Event("audio-chunk", data={"width": 2}, payload=b"\x00\x01" * 512))
            await sat.running.wait()  # the gateway is back after its backoff
            assert hub.links[f"127.0.0.1:{sat.port}"].sessions == 2
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [lines[0]]
    assert "satellite odd: sent a malformed 'audio-chunk' event (KeyError)" in lines[0]
    assert not any(r.exc_info for r in caplog.records)


async def test_an_event_announcing_a_terabyte_is_refused_before_it_is_read(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The wyoming reader would wait for (and buffer) whatever a header announces.
    caplog.set_level(logging.INFO, logger="assistant.integrations.satellite")
    async with asyncio.timeout(30), FakeSatellite("liar") as sat:
        config = SatelliteConfig(uri=sat.uri, name="liar")
        async with SatelliteHub(_services(), [config]) as hub:
            await sat.running.wait()
            sat.running.clear()
            await sat.send_raw(b'{"type": "audio-chunk", "payload_length": 1000000000000}\n')
            await sat.running.wait()  # refused at once, and served again after the backoff
            assert hub.links[f"127.0.0.1:{sat.port}"].sessions == 2
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert lines == [lines[0]]
    # The library turns our refusal (a ValueError) into "no event", as for a bad line.
    assert "satellite liar: sent garbage" in lines[0]
