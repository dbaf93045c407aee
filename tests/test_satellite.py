"""Wyoming satellites end to end: fake satellites built with the `wyoming` package
stream espeak-ng commands to the gateway (whisper, templates, the simulated fleet
on a real mosquitto) and get the spoken reply; each satellite's area decides
which lights switch, and its follow-ups stay with it."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from wyoming.audio import AudioChunk

from assistant.audio import SAMPLE_RATE, Samples
from assistant.audio.wav import read_wav
from assistant.config import MqttConfig, parse
from assistant.config_satellite import SatelliteConfig
from assistant.integrations.satellite import SatelliteHub, runtime_services
from assistant.pipeline.runtime import Runtime, RuntimeOptions
from assistant.simulate import Fleet, load_example_home
from tests.conftest import Broker, speak
from tests.fake_satellite import FakeSatellite, Reply
from tests.pipeline_support import spoken

pytestmark = pytest.mark.slow

KITCHEN = ("light.kitchen_ceiling", "light.kitchen_counter_strip")
BEDROOM = ("light.bedroom_ceiling", "light.bedside_lamp")


def _command(tmp_path: Path, text: str, voice: str = "en-us") -> Samples:
    """The command as a satellite's microphone hears it (after its wake word)."""
    lead = np.zeros(int(0.3 * SAMPLE_RATE), dtype=np.int16)
    spoken = read_wav(speak(text, tmp_path / f"{uuid.uuid4().hex}.wav", voice, 150))
    return np.concatenate([lead, spoken])


def _is_speech(reply: Reply) -> bool:
    samples = reply.samples.astype(np.float32)
    return samples.size > 0.4 * SAMPLE_RATE and float(np.sqrt(np.mean(samples**2))) > 300.0


@pytest.fixture
async def gateway(broker: Broker) -> AsyncIterator[tuple[Runtime, Fleet]]:
    prefix = f"sat-{uuid.uuid4().hex[:6]}"
    settings = parse(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "discovery": {"prefix": prefix},
            "understanding": {"llm": "off"},
        }
    )
    options = RuntimeOptions(wake=False, interface=False)
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    async with (
        Fleet(load_example_home(), mqtt, prefix) as fleet,
        Runtime(settings, options) as runtime,
    ):
        yield runtime, fleet


async def _off(fleet: Fleet, *entity_ids: str) -> None:
    for entity_id in entity_ids:
        await fleet.set_state(entity_id, "off")


def _states(fleet: Fleet, entity_ids: tuple[str, ...]) -> set[str]:
    return {fleet.states[e].state for e in entity_ids}


async def test_two_satellites_each_their_room_reply_and_follow_up(
    tmp_path: Path, gateway: tuple[Runtime, Fleet]
) -> None:
    runtime, fleet = gateway
    await _off(fleet, *KITCHEN, *BEDROOM)
    lights_on = _command(tmp_path, "turn on the lights")
    async with (
        asyncio.timeout(180),
        FakeSatellite("kitchen-sat") as kitchen,
        # No area in the config: the bedroom satellite's own `info` says where it is.
        FakeSatellite("bedroom-sat", area="Bedroom") as bedroom,
    ):
        configs = [
            SatelliteConfig(uri=kitchen.uri, name="kitchen", area="Kitchen"),
            SatelliteConfig(uri=bedroom.uri, name="bedroom"),
        ]
        async with SatelliteHub(runtime_services(runtime), configs) as hub:
            async with asyncio.timeout(30):
                await hub.wait_connected()
                await asyncio.gather(kitchen.running.wait(), bedroom.running.wait())

            reply = await kitchen.say(lights_on)
            assert reply.transcript is not None
            assert "turn on the light" in reply.transcript.lower()
            assert reply.text
            assert _is_speech(reply)
            await fleet.wait_for_state("light.kitchen_ceiling", "on")
            await fleet.wait_for_state("light.kitchen_counter_strip", "on")
            assert _states(fleet, BEDROOM) == {"off"}

            reply = await bedroom.say(lights_on)
            assert reply.text
            assert _is_speech(reply)
            await fleet.wait_for_state("light.bedroom_ceiling", "on")
            await fleet.wait_for_state("light.bedside_lamp", "on")

            # Each "turn it ..." refers to its own satellite's last device.
            assert (await kitchen.say(_command(tmp_path, "turn on the counter strip"))).text
            await fleet.wait_for_state("light.kitchen_counter_strip", "on")
            assert (await bedroom.say(_command(tmp_path, "turn off the bedside lamp"))).text
            await fleet.wait_for_state("light.bedside_lamp", "off")
            reply = await kitchen.say(_command(tmp_path, "turn it off"))
            assert reply.transcript is not None
            assert "it off" in reply.transcript.lower()
            assert reply.text
            assert _is_speech(reply)
            await fleet.wait_for_state("light.kitchen_counter_strip", "off")
            reply = await bedroom.say(_command(tmp_path, "turn it on", "en-gb"))
            assert reply.text
            assert _is_speech(reply)
            await fleet.wait_for_state("light.bedside_lamp", "on")
            # The kitchen's "it" never reached the bedroom, nor the bedroom's the kitchen.
            assert fleet.states["light.kitchen_counter_strip"].state == "off"
            assert fleet.states["light.bedroom_ceiling"].state == "on"


async def test_a_satellite_without_a_wake_word_is_woken_by_the_gateway(
    tmp_path: Path, gateway: tuple[Runtime, Fleet]
) -> None:
    runtime, fleet = gateway
    await _off(fleet, *BEDROOM)
    # "okay nabu", a pause, the command: all of it streamed from the satellite.
    stream = read_wav(spoken(tmp_path / "woken.wav", "turn on the lights"))
    async with asyncio.timeout(180), FakeSatellite("bedroom-sat") as bedroom:
        configs = [SatelliteConfig(uri=bedroom.uri, name="bedroom", area="Bedroom")]
        async with SatelliteHub(runtime_services(runtime), configs) as hub:
            await hub.wait_connected()
            await bedroom.running.wait()
            reply = await bedroom.say(stream, local_wake=False)
            await fleet.wait_for_state("light.bedroom_ceiling", "on")
            await fleet.wait_for_state("light.bedside_lamp", "on")
    assert reply.detected == "okay_nabu"
    assert reply.transcript is not None
    assert "nabu" not in reply.transcript.lower()  # the command starts after the wake word
    assert reply.text == "Turned on the lights"
    assert _is_speech(reply)


async def test_a_hostile_satellite_is_logged_and_reconnected_the_others_keep_working(
    tmp_path: Path, gateway: tuple[Runtime, Fleet], caplog: pytest.LogCaptureFixture
) -> None:
    runtime, fleet = gateway
    await _off(fleet, *KITCHEN)
    lights_on = _command(tmp_path, "turn on the lights")
    async with (
        asyncio.timeout(180),
        FakeSatellite("kitchen-sat") as kitchen,
        FakeSatellite("flaky-sat", area="Bedroom") as flaky,
    ):
        configs = [
            SatelliteConfig(uri=kitchen.uri, name="kitchen", area="Kitchen"),
            SatelliteConfig(uri=flaky.uri, name="flaky"),
        ]
        caplog.set_level(logging.WARNING, logger="assistant.integrations.satellite")
        async with SatelliteHub(runtime_services(runtime), configs) as hub:
            async with asyncio.timeout(30):
                await hub.wait_connected()
                await asyncio.gather(kitchen.running.wait(), flaky.running.wait())
            flaky_link = hub.links[f"127.0.0.1:{flaky.port}"]

            # Garbage in the middle of a command's audio.
            await flaky.send(AudioChunk(SAMPLE_RATE, 2, 1, lights_on[:8000].tobytes()).event())
            assert flaky._handler is not None
            flaky._handler.writer.write(b"this is not a wyoming event\n")
            flaky.running.clear()
            async with asyncio.timeout(30):
                await flaky.running.wait()  # the gateway came back after its backoff
            assert flaky.runs == 2

            # Gone in the middle of a stream.
            streaming = asyncio.create_task(flaky.say(lights_on, realtime=True))
            await asyncio.sleep(0.5)
            await flaky.drop()
            streaming.cancel()
            async with asyncio.timeout(30):
                await flaky.running.wait()
            assert flaky.runs == 3
            assert flaky_link.sessions == 3

            # The other satellite was never disturbed, and the flaky one works again.
            reply = await kitchen.say(lights_on)
            assert reply.text
            assert _is_speech(reply)
            await fleet.wait_for_state("light.kitchen_ceiling", "on")
            reply = await flaky.say(_command(tmp_path, "turn on the bedside lamp"))
            await fleet.wait_for_state("light.bedside_lamp", "on")
            assert kitchen.runs == 1

    lines = [r.getMessage() for r in caplog.records if "flaky" in r.getMessage()]
    assert any("sent garbage" in line and "reconnecting in" in line for line in lines), lines
    assert any("closed the connection" in line for line in lines), lines
    assert all("\n" not in line and "Traceback" not in line for line in lines)
    assert not any(r.exc_info for r in caplog.records)


async def test_the_run_service_serves_the_configured_satellite(
    tmp_path: Path, broker: Broker
) -> None:
    prefix = f"satrun-{uuid.uuid4().hex[:6]}"
    mqtt = MqttConfig(host=broker.host, port=broker.port)
    lights_on = _command(tmp_path, "turn on the lights")
    async with (
        asyncio.timeout(180),
        Fleet(load_example_home(), mqtt, prefix) as fleet,
        FakeSatellite("kitchen-sat") as kitchen,
    ):
        await _off(fleet, *KITCHEN, *BEDROOM)
        config = tmp_path / "config.toml"
        config.write_text(
            f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n'
            f'[discovery]\nprefix = "{prefix}"\n[understanding]\nllm = "off"\n'
            f'[[satellites]]\nuri = "{kitchen.uri}"\nname = "kitchen"\narea = "Kitchen"\n',
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            # The microphone: none here (the satellite is served anyway), or the machine's.
            *("-m", "assistant.cli", "run", "--config", str(config)),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            await kitchen.running.wait()
            reply = await kitchen.say(lights_on)
            await fleet.wait_for_state("light.kitchen_ceiling", "on")
            await fleet.wait_for_state("light.kitchen_counter_strip", "on")
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await proc.communicate()
    assert reply.text == "Turned on the lights"
    assert _is_speech(reply)
    assert _states(fleet, BEDROOM) == {"off"}
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "[kitchen] heard" in log
    assert "Traceback" not in log
