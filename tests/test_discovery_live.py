"""Discovery end to end through a real mosquitto: configs -> registry -> commands and state."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
import pytest

from assistant.config import Settings, parse
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.registry import Registry
from tests.conftest import Broker


async def until(predicate: Callable[[], bool], interval: float = 0.02) -> None:
    """Poll a condition (callers wrap this in a timeout)."""
    while not predicate():  # noqa: ASYNC110 - the condition is fed by MQTT callbacks
        await asyncio.sleep(interval)


def settings_for(broker: Broker, prefix: str, **extra: Any) -> Settings:
    return parse(
        {
            "mqtt": {"host": broker.host, "port": broker.port},
            "discovery": {"prefix": prefix, "settle_seconds": 0.3},
            "zigbee2mqtt": {"enabled": False},
            **extra,
        }
    )


@asynccontextmanager
async def client(broker: Broker) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(broker.host, broker.port) as c:
        yield c


async def publish(c: aiomqtt.Client, topic: str, payload: Any, retain: bool = True) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    await c.publish(topic, text, qos=1, retain=retain)


class Spy:
    """Records every message under a namespace, as a device would see it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    async def run(self, broker: Broker, topic_filter: str, ready: asyncio.Event) -> None:
        async with aiomqtt.Client(broker.host, broker.port) as c:
            await c.subscribe(topic_filter, qos=1)
            ready.set()
            async for message in c.messages:
                payload = message.payload
                text = payload.decode() if isinstance(payload, bytes) else str(payload)
                if not message.retain:
                    self.messages.append((str(message.topic), text))


@asynccontextmanager
async def spying(broker: Broker, topic_filter: str) -> AsyncIterator[Spy]:
    spy = Spy()
    ready = asyncio.Event()
    task = asyncio.create_task(spy.run(broker, topic_filter, ready))
    await ready.wait()
    try:
        yield spy
    finally:
        task.cancel()


@pytest.fixture
def ns() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def _configs(ns: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One config per component, half of them abbreviated with `~`."""
    dev = {"ids": [f"{ns}-hub"], "name": "Hub", "sa": "Living Room"}
    return {
        "light.ceiling": ("light/ceiling", {
            "~": f"{ns}/ceiling", "name": "Ceiling", "def_ent_id": "light.ceiling",
            "cmd_t": "~/set", "stat_t": "~/state", "bri_cmd_t": "~/bri/set", "bri_stat_t": "~/bri",
            "dev": {"ids": ["c1"], "name": "Kitchen", "sa": "Kitchen"},
        }),
        "light.strip": ("light/strip", {
            "name": "Strip", "schema": "json", "command_topic": f"{ns}/strip/set",
            "state_topic": f"{ns}/strip/state", "brightness": True,
            "supported_color_modes": ["rgb"], "object_id": "strip",
        }),
        "switch.pump": ("switch/node/pump", {
            "~": f"{ns}/pump", "name": "Pump", "cmd_t": "~/set", "stat_t": "~/state",
            "obj_id": "pump",
        }),
        "fan.fan": ("fan/fan", {
            "name": "Fan", "command_topic": f"{ns}/fan/set", "state_topic": f"{ns}/fan/state",
            "percentage_command_topic": f"{ns}/fan/pct/set",
            "percentage_state_topic": f"{ns}/fan/pct",
        }),
        "cover.blind": ("cover/blind", {
            "~": f"{ns}/blind", "name": "Blind", "cmd_t": "~/set", "stat_t": "~/state",
            "pos_t": "~/pos", "set_pos_t": "~/pos/set",
        }),
        "lock.front_door": ("lock/front", {
            "name": "Front Door", "command_topic": f"{ns}/lock/set",
            "state_topic": f"{ns}/lock/state",
        }),
        "valve.tap": ("valve/tap", {
            "~": f"{ns}/tap", "name": "Tap", "cmd_t": "~/set", "stat_t": "~/state",
        }),
        "climate.hub_thermostat": ("climate/thermo", {
            "name": "Thermostat", "device": dev,
            "temperature_command_topic": f"{ns}/hvac/target/set",
            "current_temperature_topic": f"{ns}/hvac/state",
            "current_temperature_template": "{{ value_json.temperature }}",
            "mode_command_topic": f"{ns}/hvac/mode/set", "mode_state_topic": f"{ns}/hvac/mode",
            "modes": ["off", "heat"],
        }),
        "vacuum.robo": ("vacuum/robo", {
            "~": f"{ns}/vac", "name": "Robo", "cmd_t": "~/cmd", "stat_t": "~/state",
        }),
        "sensor.hub_temperature": ("sensor/temp", {
            "name": "Temperature", "dev": dev, "stat_t": f"{ns}/env",
            "val_tpl": "{{ value_json.t | round(1) }}", "unit_of_meas": "°C",
        }),
        "binary_sensor.window": ("binary_sensor/window", {
            "name": "Window", "state_topic": f"{ns}/window", "device_class": "window",
        }),
        "button.hub": ("button/restart", {
            "name": None, "dev": dev, "cmd_t": f"{ns}/restart",
        }),
        "scene.movie": ("scene/movie", {"name": "Movie", "command_topic": f"{ns}/scene"}),
    }  # fmt: skip


async def test_every_component_is_discovered_commanded_and_tracked(
    module_broker: Broker, ns: str
) -> None:
    configs = _configs(ns)
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        for _, (path, config) in configs.items():
            await publish(c, f"{ns}/{path}/config", config)
        settings = settings_for(module_broker, ns)
        async with (
            spying(module_broker, f"{ns}/#") as spy,
            DeviceService(settings, registry) as service,
        ):
            await service.wait_settled()
            assert [e.entity_id for e in registry.entities()] == sorted(configs)
            assert registry.get("light.ceiling").name == "Kitchen Ceiling"  # type: ignore[union-attr]
            assert registry.get("light.ceiling").area == "Kitchen"  # type: ignore[union-attr]
            assert registry.get("button.hub").name == "Hub"  # type: ignore[union-attr]
            assert registry.get("sensor.hub_temperature").area == "Living Room"  # type: ignore[union-attr]

            run = service.executor.execute
            calls = [
                (run("light.ceiling", "turn_on", brightness=100),
                 [(f"{ns}/ceiling/bri/set", "255"), (f"{ns}/ceiling/set", "ON")]),
                (run("light.strip", "set_color", color="blue"),
                 [(f"{ns}/strip/set", '{"state":"ON","color":{"r":0,"g":0,"b":255}}')]),
                (run("switch.pump", "turn_off"), [(f"{ns}/pump/set", "OFF")]),
                (run("fan.fan", "set_fan_speed", percentage=33), [(f"{ns}/fan/pct/set", "33")]),
                (run("cover.blind", "set_position", position=70), [(f"{ns}/blind/pos/set", "70")]),
                (run("cover.blind", "stop"), [(f"{ns}/blind/set", "STOP")]),
                (run("lock.front_door", "unlock"), [(f"{ns}/lock/set", "UNLOCK")]),
                (run("valve.tap", "close"), [(f"{ns}/tap/set", "CLOSE")]),
                (run("climate.hub_thermostat", "set_temperature", temperature=20.5),
                 [(f"{ns}/hvac/target/set", "20.5")]),
                (run("vacuum.robo", "return_to_base"), [(f"{ns}/vac/cmd", "return_to_base")]),
                (run("button.hub", "press"), [(f"{ns}/restart", "PRESS")]),
                (run("scene.movie", "activate"), [(f"{ns}/scene", "ON")]),
            ]  # fmt: skip
            expected: list[tuple[str, str]] = []
            for call, messages in calls:
                action = await call
                assert action.topic == "\n".join(t for t, _ in messages)
                assert action.payload == "\n".join(p for _, p in messages)
                expected.extend(messages)
            await until(lambda: len(spy.messages) >= len(expected))
            assert spy.messages == expected

            states = {
                f"{ns}/ceiling/state": "ON", f"{ns}/ceiling/bri": "128",
                f"{ns}/strip/state": '{"state":"OFF"}', f"{ns}/pump/state": "ON",
                f"{ns}/fan/pct": "50", f"{ns}/blind/state": "closed", f"{ns}/blind/pos": "0",
                f"{ns}/lock/state": "LOCKED", f"{ns}/tap/state": "open",
                f"{ns}/hvac/state": '{"temperature": 19.5}', f"{ns}/hvac/mode": "heat",
                f"{ns}/vac/state": '{"state": "docked", "battery_level": 90}',
                f"{ns}/env": '{"t": 21.04}', f"{ns}/window": "ON",
            }  # fmt: skip
            for topic, payload in states.items():
                await publish(c, topic, payload, retain=False)
            await until(lambda: registry.state("binary_sensor.window").state == "on")
            await until(lambda: registry.state("sensor.hub_temperature").state == "21.0")
            got = {e: registry.state(e) for e in configs}
            assert got["light.ceiling"].state == "on"
            assert got["light.ceiling"].attributes["brightness"] == 128
            assert got["light.strip"].state == "off"
            assert got["switch.pump"].state == "on"
            assert got["fan.fan"].attributes["percentage"] == 50
            assert got["cover.blind"].state == "closed"
            assert got["cover.blind"].attributes["current_position"] == 0
            assert got["lock.front_door"].state == "locked"
            assert got["valve.tap"].state == "open"
            assert got["climate.hub_thermostat"].state == "heat"
            assert got["climate.hub_thermostat"].attributes["current_temperature"] == 19.5
            assert got["vacuum.robo"].state == "docked"
            assert got["sensor.hub_temperature"].attributes["unit_of_measurement"] == "°C"


async def test_update_and_removal_by_retained_config(module_broker: Broker, ns: str) -> None:
    registry = Registry()
    topic = f"{ns}/switch/heater/config"
    config = {"name": "Heater", "cmd_t": f"{ns}/heater/set", "stat_t": f"{ns}/heater/state",
              "obj_id": "heater"}  # fmt: skip
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, topic, config)
        await publish(c, f"{ns}/heater/state", "ON")
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            await until(lambda: registry.state("switch.heater").state == "on")
            await publish(c, topic, {**config, "name": "Radiator", "pl_on": "1"})
            await until(lambda: registry.get("switch.heater").name == "Radiator")  # type: ignore[union-attr]
            assert registry.state("switch.heater").state == "on"  # kept across the update
            action = await service.executor.execute("switch.heater", "turn_on")
            assert action.payload == "1"
            await publish(c, topic, "")
            await until(lambda: "switch.heater" not in registry)
            with pytest.raises(Exception, match="unknown entity"):
                await service.executor.execute("switch.heater", "turn_on")
        await publish(c, f"{ns}/heater/state", "", retain=True)


async def test_availability_topics_and_modes(module_broker: Broker, ns: str) -> None:
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/switch/a/config", {
            "name": "A", "cmd_t": f"{ns}/a/set", "avty_t": f"{ns}/a/lwt",
            "pl_avail": "Online", "pl_not_avail": "Offline",
        })  # fmt: skip
        await publish(c, f"{ns}/switch/b/config", {
            "name": "B", "cmd_t": f"{ns}/b/set", "avty_mode": "all",
            "avty": [{"t": f"{ns}/bridge"}, {"t": f"{ns}/b/avail",
                                              "val_tpl": "{{ value_json.state }}"}],
        })  # fmt: skip
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            assert not registry.state("switch.a").available  # nothing heard yet
            await publish(c, f"{ns}/a/lwt", "Online", retain=False)
            await until(lambda: registry.state("switch.a").available)
            await publish(c, f"{ns}/a/lwt", "Offline", retain=False)
            await until(lambda: not registry.state("switch.a").available)

            await publish(c, f"{ns}/bridge", "online", retain=False)
            await asyncio.sleep(0.2)
            assert not registry.state("switch.b").available  # mode all: one topic unheard
            await publish(c, f"{ns}/b/avail", '{"state": "online"}', retain=False)
            await until(lambda: registry.state("switch.b").available)
            await publish(c, f"{ns}/bridge", "offline", retain=False)
            await until(lambda: not registry.state("switch.b").available)


async def test_config_devices_and_overrides(module_broker: Broker, ns: str) -> None:
    registry = Registry()
    settings = settings_for(
        module_broker,
        ns,
        devices=[
            {"name": "Porch Light", "kind": "light", "area": "Outside",
             "command_topic": f"{ns}/porch/set", "state_topic": f"{ns}/porch/state",
             "aliases": ["front light"]},
            {"name": "Garage Door", "kind": "cover", "device_class": "garage",
             "command_topic": f"{ns}/garage/set", "payload_on": "UP", "payload_off": "DOWN"},
        ],
        entities={
            "light.kitchen": {"aliases": ["big light"], "area": "Cooking"},
            "light.porch_light": {"aliases": ["lantern"]},
        },
    )  # fmt: skip
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/light/kitchen/config", {"name": "Kitchen", "cmd_t": f"{ns}/k"})
        async with (
            spying(module_broker, f"{ns}/#") as spy,
            DeviceService(settings, registry) as service,
        ):
            await service.wait_settled()
            kitchen = registry.get("light.kitchen")
            porch = registry.get("light.porch_light")
            garage = registry.get("cover.garage_door")
            assert kitchen is not None
            assert porch is not None
            assert garage is not None
            assert (kitchen.aliases, kitchen.area) == (("big light",), "Cooking")
            assert (porch.aliases, porch.area, porch.source) == (
                ("front light", "lantern"),
                "Outside",
                "config",
            )
            assert garage.sensitive
            await service.executor.execute("cover.garage_door", "open")
            await service.executor.execute("light.porch_light", "turn_on")
            await until(lambda: len(spy.messages) >= 2)
            assert spy.messages == [(f"{ns}/garage/set", "UP"), (f"{ns}/porch/set", "ON")]
            await publish(c, f"{ns}/porch/state", "ON", retain=False)
            await until(lambda: registry.state("light.porch_light").state == "on")


async def test_device_based_discovery_and_entity_id_collisions(
    module_broker: Broker, ns: str
) -> None:
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{ns}/device/panel/config", {
            "dev": {"ids": "panel-1", "name": "Panel"}, "o": {"name": "test"}, "~": f"{ns}/p",
            "cmps": {"relay": {"p": "switch", "name": "Relay", "cmd_t": "~/relay"},
                     "temp": {"p": "sensor", "name": "Temp", "stat_t": "~/t"}},
        })  # fmt: skip
        await publish(c, f"{ns}/switch/x1/config", {"name": "Twin", "cmd_t": f"{ns}/x1"})
        await publish(c, f"{ns}/switch/x2/config", {"name": "Twin", "cmd_t": f"{ns}/x2"})
        async with DeviceService(settings_for(module_broker, ns), registry) as service:
            await service.wait_settled()
            ids = {e.entity_id for e in registry.entities()}
            assert ids == {"switch.panel_relay", "sensor.panel_temp", "switch.twin",
                           "switch.twin_2"}  # fmt: skip
            await publish(c, f"{ns}/device/panel/config", "")
            await until(lambda: len(registry) == 2)
