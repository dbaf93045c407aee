"""The assistant as a Home Assistant device: discovery config, mute switch, listen button.

The config is read back by the project's own discovery parser (the one that
learns the home's devices); the switch and button are driven over a real
mosquitto through the runtime's own wiring (`connect_interface`), with a
live pipeline hearing espeak-ng recordings through real wake word, VAD and STT.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from assistant.audio import Samples
from assistant.audio.sources import WavSource
from assistant.config import Settings
from assistant.devices.mqtt import discovery_schema
from assistant.devices.mqtt.discovery import Discovered, parse_config
from assistant.integrations.ha_device import EVENT_TYPES, discovery_message
from assistant.interface import Interface, Request, Topics
from assistant.pipeline.live import LivePipeline, Options
from assistant.pipeline.messages import TurnResult
from assistant.pipeline.parts import connect_interface, make_listener
from assistant.pipeline.turn import TurnRunner
from assistant.stt import create_engine
from assistant.transports.mqtt import MqttConnection
from assistant.wake.detector import MODELS
from tests.conftest import Broker
from tests.pipeline_support import spoken
from tests.test_pipeline_live import echo

# Home Assistant's required keys for the platforms the project's parser does not model
# (MQTT event, select, text and notify documentation).
REQUIRED = {
    "event": ("state_topic", "event_types"),
    "select": ("command_topic", "options"),
    "text": ("command_topic",),
    "notify": ("command_topic",),
}


def _parsed(topic: str, payload: str) -> tuple[dict[str, Discovered], dict[str, dict[str, Any]]]:
    """What the project's discovery service does with a device config: modelled, other."""
    where = discovery_schema.parse_topic("homeassistant", topic)
    assert where is not None
    assert where.component == "device"
    raw = discovery_schema.decode(payload.encode())
    assert raw is not None
    modelled: dict[str, Discovered] = {}
    other: dict[str, dict[str, Any]] = {}
    for key, config in discovery_schema.split_device_components(raw).items():
        platform, ident = key.split("/", 1)
        if platform in discovery_schema.COMPONENTS:
            modelled[ident] = parse_config(platform, config, key=key, object_id=ident)
        else:
            other[ident] = {"platform": platform, **config}
    return modelled, other


def test_discovery_config_parses_into_the_expected_entities() -> None:
    topic, payload = discovery_message(Topics("kitchen"))
    assert topic == "homeassistant/device/assistant_kitchen/config"
    modelled, other = _parsed(topic, payload)

    by_id = {ident: d.entity.entity_id for ident, d in modelled.items()}
    assert by_id == {
        "state": "sensor.assistant_kitchen_state",
        "transcript": "sensor.assistant_kitchen_last_transcript",
        "intent": "sensor.assistant_kitchen_last_intent",
        "mute": "switch.assistant_kitchen_mute_microphone",
        "listen": "button.assistant_kitchen_listen",
    }
    for d in modelled.values():
        assert d.identifiers == {"assistant_kitchen"}
        assert [a.topic for a in d.availability] == ["assistant/kitchen/available"]
    assert modelled["state"].topic("state_topic") == "assistant/kitchen/state"
    assert modelled["transcript"].topic("state_topic") == "assistant/kitchen/transcript"
    assert modelled["intent"].topic("state_topic") == "assistant/kitchen/intent"
    mute = modelled["mute"]
    assert mute.topic("command_topic") == "assistant/kitchen/mute/set"
    assert mute.topic("state_topic") == "assistant/kitchen/mute"
    assert (mute.config["payload_on"], mute.config["payload_off"]) == ("ON", "OFF")
    assert modelled["listen"].topic("command_topic") == "assistant/kitchen/listen"

    # The platforms the parser does not model, against Home Assistant's documented keys.
    assert {ident: c["platform"] for ident, c in other.items()} == {
        "events": "event",
        "wake_word": "select",
        "ask": "text",
        "say": "notify",
    }
    for config in other.values():
        for key in REQUIRED[config["platform"]]:
            assert config.get(key), (config["platform"], key)
        assert config["availability_topic"] == "assistant/kitchen/available"
        assert config["device"]["identifiers"] == ["assistant_kitchen"]
    assert other["events"]["event_types"] == list(EVENT_TYPES)
    assert other["wake_word"]["options"] == list(MODELS)
    assert other["wake_word"]["state_topic"] == "assistant/kitchen/wake_word"
    assert other["ask"]["command_topic"] == "assistant/kitchen/ask"
    assert other["say"]["command_topic"] == "assistant/kitchen/say"

    raw = json.loads(payload)
    assert raw["o"]["name"] == "assistant"
    unique_ids = [c["unique_id"] for c in raw["cmps"].values()]
    assert len(set(unique_ids)) == len(unique_ids) == 9


def test_no_notify_when_only_trusted_users_may_say() -> None:
    _, payload = discovery_message(Topics("hall", trusted=("alice",), say_from="trusted"))
    platforms = {c["p"] for c in json.loads(payload)["cmps"].values()}
    assert "notify" not in platforms
    assert "text" in platforms  # the shared ask topic stays (never sensitive)


class GatedSource:
    """Recordings delivered one at a time, each once its event is set, as fast as
    the listener takes them (the queue is big enough that no frame is dropped)."""

    name = "gated"
    frame_samples = 480

    def __init__(self, *parts: tuple[asyncio.Event, Path]) -> None:
        self.parts = parts
        self.delivered: list[asyncio.Event] = [asyncio.Event() for _ in parts]

    async def frames(self) -> AsyncGenerator[Samples, None]:
        for (go, path), done in zip(self.parts, self.delivered, strict=True):
            await go.wait()
            for frame in WavSource(path, 480).iter_frames():
                yield frame
                await asyncio.sleep(0)
            done.set()


@pytest.fixture(scope="module")
def stt() -> object:
    return create_engine(Settings())


class Watcher:
    """Everything published under one site, as (topic suffix, payload)."""

    def __init__(self, client: aiomqtt.Client, site: str) -> None:
        self.client = client
        self.prefix = f"assistant/{site}/"
        self.seen: list[tuple[str, str]] = []
        self.changed = asyncio.Condition()
        self.task = asyncio.create_task(self._collect(), name="watcher")

    async def _collect(self) -> None:
        async for message in self.client.messages:
            payload = bytes(message.payload).decode()
            async with self.changed:
                self.seen.append((str(message.topic).removeprefix(self.prefix), payload))
                self.changed.notify_all()

    async def wait_for(self, suffix: str, payload: str) -> None:
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(lambda: (suffix, payload) in self.seen)

    def events(self) -> list[str]:
        return [json.loads(p)["event_type"] for s, p in self.seen if s == "event"]


async def _pipeline(
    broker: Broker, site: str, source: GatedSource, turns: TurnRunner
) -> tuple[LivePipeline, MqttConnection, list[TurnResult]]:
    settings = Settings.model_validate(
        {"mqtt": {"host": broker.host, "port": broker.port}, "site": {"id": site}}
    )
    connection = MqttConnection(settings.mqtt)
    await connection.__aenter__()
    requests: asyncio.Queue[Request] = asyncio.Queue()
    interface: Interface = connect_interface(settings, connection, requests)
    async with asyncio.timeout(10):
        await connection.wait_subscribed()
    results: list[TurnResult] = []
    pipeline = LivePipeline(
        source,
        make_listener(Settings(), wake=True),
        turns,
        interface=interface,
        requests=requests,
        options=Options(queue_frames=4000, earcon=False),
        on_turn=results.append,
    )
    return pipeline, connection, results


@pytest.mark.slow
async def test_mute_switch_over_mqtt_ignores_the_wake_word(
    tmp_path: Path, stt: object, broker: Broker
) -> None:
    wav = spoken(tmp_path / "a.wav", "turn on the kitchen light", tail=1.5)
    site = f"mute-{time.monotonic_ns()}"
    first, second = asyncio.Event(), asyncio.Event()
    source = GatedSource((first, wav), (second, wav))
    turns = TurnRunner(stt, echo(), None)  # type: ignore[arg-type]
    pipeline, connection, results = await _pipeline(broker, site, source, turns)
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"assistant/{site}/#", qos=1)
        watcher = Watcher(client, site)
        run = asyncio.create_task(pipeline.run(asyncio.Event()), name="pipeline")
        try:
            await watcher.wait_for("mute", "OFF")  # the switch's state at start
            await client.publish(f"assistant/{site}/mute/set", "ON", qos=1)
            await watcher.wait_for("mute", "ON")
            first.set()  # "okay nabu, turn on the kitchen light" while muted
            async with asyncio.timeout(30):
                await source.delivered[0].wait()
                while not pipeline.frames.empty():  # noqa: ASYNC110 - the queue has no join
                    await asyncio.sleep(0.05)
            assert results == []
            assert pipeline.state == "idle"

            await client.publish(f"assistant/{site}/mute/set", "OFF", qos=1)
            await watcher.wait_for("mute", "OFF")
            second.set()  # the same recording, unmuted: heard and answered
            async with asyncio.timeout(60):
                await run
        finally:
            run.cancel()
            await connection.__aexit__(None, None, None)
            watcher.task.cancel()
    assert len(results) == 1
    assert results[0].started_by == "wake"
    assert "kitchen light" in results[0].transcript.lower()
    assert watcher.events() == ["wake", "intent"]


@pytest.mark.slow
async def test_listen_button_over_mqtt_takes_a_command_without_the_wake_word(
    tmp_path: Path, stt: object, broker: Broker
) -> None:
    wav = spoken(tmp_path / "a.wav", "turn off the fan", wake=None, tail=1.5)
    site = f"listen-{time.monotonic_ns()}"
    go = asyncio.Event()
    source = GatedSource((go, wav))
    turns = TurnRunner(stt, echo(), None)  # type: ignore[arg-type]
    pipeline, connection, results = await _pipeline(broker, site, source, turns)
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"assistant/{site}/#", qos=1)
        watcher = Watcher(client, site)
        run = asyncio.create_task(pipeline.run(asyncio.Event()), name="pipeline")
        try:
            await watcher.wait_for("state", "idle")
            # Muted too: the button is push-to-talk, muting stops only the wake word.
            await client.publish(f"assistant/{site}/mute/set", "ON", qos=1)
            await watcher.wait_for("mute", "ON")
            await client.publish(f"assistant/{site}/listen", "PRESS", qos=1)
            await watcher.wait_for("state", "listening")
            go.set()
            async with asyncio.timeout(60):
                await run
        finally:
            run.cancel()
            await connection.__aexit__(None, None, None)
            watcher.task.cancel()
    assert len(results) == 1
    assert results[0].started_by == "follow-up"
    assert "fan" in results[0].transcript.lower()
    assert "wake" not in watcher.events()


@pytest.mark.slow
async def test_assistant_run_announces_itself_and_obeys_its_switch(
    tmp_path: Path, broker: Broker
) -> None:
    from tests.processes import start_run
    from tests.test_pipeline_run import _config

    prefix, site = f"ha-{time.monotonic_ns()}", f"site-{time.monotonic_ns()}"
    topic = f"{prefix}/device/assistant_{site}/config"
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(f"assistant/{site}/#", qos=1)
        watcher = Watcher(client, site)
        proc = await start_run(_config(tmp_path, broker, prefix, site), "--input", "-")
        try:
            async with asyncio.timeout(120):
                await watcher.wait_for("state", "idle")
                await watcher.wait_for("mute", "OFF")
                # Retained: a Home Assistant that subscribes later still finds it.
                async with aiomqtt.Client(broker.host, broker.port) as late:
                    await late.subscribe(topic, qos=1)
                    async for message in late.messages:
                        payload = bytes(message.payload).decode()
                        assert message.retain
                        break
                modelled, _ = _parsed(topic.replace(prefix, "homeassistant", 1), payload)
                mute_set = modelled["mute"].topic("command_topic")
                assert mute_set is not None
                await client.publish(mute_set, "ON", qos=1)
                await watcher.wait_for("mute", "ON")
        finally:
            proc.send_signal(signal.SIGTERM)
            async with asyncio.timeout(30):
                _, err = await proc.communicate()
            watcher.task.cancel()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "Traceback" not in err.decode()
    # Its own device discovery is recognised, not warned about as a bad device.
    assert f"assistant_{site}/config: skipped" not in err.decode()
