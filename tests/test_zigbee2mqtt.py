"""Zigbee2MQTT's bridge/devices -> entities, JSON commands on <base>/<name>/set, state."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from assistant.devices.entities import EntityState
from assistant.devices.mqtt.discovery_commands import build
from assistant.devices.mqtt.service import DeviceService
from assistant.devices.mqtt.zigbee2mqtt import parse_devices
from assistant.devices.registry import Registry
from tests.conftest import Broker
from tests.test_discovery_live import client, publish, settings_for, spying, until


def _binary(name: str, on: Any = "ON", off: Any = "OFF", access: int = 7) -> dict[str, Any]:
    return {"type": "binary", "name": name, "property": name, "value_on": on,
            "value_off": off, "access": access}  # fmt: skip


def _numeric(name: str, unit: str | None = None, access: int = 1, **extra: Any) -> dict[str, Any]:
    feature = {"type": "numeric", "name": name, "property": name, "access": access, **extra}
    if unit:
        feature["unit"] = unit
    return feature


def devices_payload() -> list[dict[str, Any]]:
    def device(ieee: str, name: str, exposes: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "ieee_address": ieee, "type": "Router", "friendly_name": name, "supported": True,
            "interview_completed": True, "disabled": False,
            "definition": {"model": "M", "vendor": "V", "description": "d", "exposes": exposes},
        }  # fmt: skip

    return [
        {"ieee_address": "0x00", "type": "Coordinator", "friendly_name": "Coordinator"},
        device("0x01", "living_room/lamp", [
            {"type": "light", "features": [
                _binary("state"), _numeric("brightness", access=7, value_min=0, value_max=254),
                _numeric("color_temp", "mired", access=7, value_min=150, value_max=500),
                {"type": "composite", "name": "color_xy", "property": "color",
                 "features": [_numeric("x", access=7), _numeric("y", access=7)]},
            ]},
            _numeric("linkquality", "lqi"),
        ]),
        device("0x02", "kettle_plug", [
            {"type": "switch", "features": [_binary("state")]},
            _numeric("power", "W"),
        ]),
        device("0x03", "bedroom_blind", [
            {"type": "cover", "features": [
                {"type": "enum", "name": "state", "property": "state", "access": 3,
                 "values": ["OPEN", "CLOSE", "STOP"]},
                _numeric("position", "%", access=7, value_min=0, value_max=100),
            ]},
        ]),
        device("0x04", "hall_sensor", [
            _numeric("temperature", "°C"), _numeric("humidity", "%"),
            _binary("contact", on=False, off=True, access=1),
            _binary("occupancy", on=True, off=False, access=1), _numeric("battery", "%"),
        ]),
        device("0x05", "front_lock", [
            {"type": "lock", "features": [_binary("state", on="LOCK", off="UNLOCK")]},
        ]),
        device("0x06", "radiator", [
            {"type": "climate", "features": [
                _numeric("current_heating_setpoint", "°C", access=7, value_min=5, value_max=30),
                _numeric("local_temperature", "°C"),
                {"type": "enum", "name": "system_mode", "property": "system_mode", "access": 7,
                 "values": ["off", "heat", "auto"]},
            ]},
        ]),
    ]  # fmt: skip


def test_exposes_become_entities() -> None:
    import json

    found = {
        d.entity.entity_id: d for d in parse_devices("z2m", json.dumps(devices_payload()).encode())
    }
    assert sorted(found) == [
        "binary_sensor.hall_sensor_contact", "binary_sensor.hall_sensor_occupancy",
        "climate.radiator", "cover.bedroom_blind", "light.living_room_lamp", "lock.front_lock",
        "sensor.hall_sensor_battery", "sensor.hall_sensor_humidity",
        "sensor.hall_sensor_temperature", "sensor.kettle_plug_power", "switch.kettle_plug",
    ]  # fmt: skip
    lamp = found["light.living_room_lamp"]
    assert lamp.entity.name == "living room lamp"
    assert lamp.entity.features == {"brightness", "color", "color_temp"}
    assert lamp.entity.source == "zigbee2mqtt"
    temp = found["sensor.hall_sensor_temperature"]
    assert (temp.entity.name, temp.entity.unit, temp.entity.device_class) == (
        "hall sensor Temperature",
        "°C",
        "temperature",
    )
    assert found["binary_sensor.hall_sensor_contact"].entity.device_class == "door"
    assert found["lock.front_lock"].entity.sensitive

    def one(entity_id: str, action: str, **params: Any) -> tuple[str, str]:
        [message] = build(found[entity_id], action, params, EntityState())
        return message.topic, message.payload

    assert one("light.living_room_lamp", "turn_on", brightness=100) == (
        "z2m/living_room/lamp/set",
        '{"state":"ON","brightness":254}',
    )
    assert one("light.living_room_lamp", "set_color", color_temp_kelvin=4000) == (
        "z2m/living_room/lamp/set",
        '{"state":"ON","color_temp":250}',
    )
    assert one("light.living_room_lamp", "set_color", color="red") == (
        "z2m/living_room/lamp/set",
        '{"state":"ON","color":{"x":0.701,"y":0.299}}',
    )
    assert one("switch.kettle_plug", "turn_on") == ("z2m/kettle_plug/set", '{"state":"ON"}')
    assert one("cover.bedroom_blind", "open") == ("z2m/bedroom_blind/set", '{"state":"OPEN"}')
    assert one("cover.bedroom_blind", "set_position", position=50) == (
        "z2m/bedroom_blind/set",
        '{"position":50}',
    )
    assert one("lock.front_lock", "lock") == ("z2m/front_lock/set", '{"state":"LOCK"}')
    assert one("climate.radiator", "set_temperature", temperature=21) == (
        "z2m/radiator/set",
        '{"current_heating_setpoint":21}',
    )
    assert one("climate.radiator", "set_hvac_mode", hvac_mode="heat") == (
        "z2m/radiator/set",
        '{"system_mode":"heat"}',
    )


async def test_bridge_devices_over_mqtt_commands_and_state(module_broker: Broker) -> None:
    ns = f"z{uuid.uuid4().hex[:10]}"
    base = f"{ns}/zigbee2mqtt"
    settings = settings_for(module_broker, f"{ns}/ha").model_copy(
        update={"zigbee2mqtt": settings_for(module_broker, ns).zigbee2mqtt.model_copy(
            update={"enabled": True, "base_topic": base})}
    )  # fmt: skip
    registry = Registry()
    async with asyncio.timeout(30), client(module_broker) as c:
        await publish(c, f"{base}/bridge/devices", devices_payload())
        await publish(c, f"{base}/hall_sensor", {"temperature": 21.5, "humidity": 40,
                                                 "contact": False, "occupancy": True})  # fmt: skip
        async with (
            spying(module_broker, f"{base}/#") as spy,
            DeviceService(settings, registry) as service,
        ):
            await service.wait_settled()
            assert len(registry) == 11
            await until(lambda: registry.state("sensor.hall_sensor_temperature").state == "21.5")
            assert registry.state("binary_sensor.hall_sensor_contact").state == "on"  # open
            assert registry.state("binary_sensor.hall_sensor_occupancy").state == "on"
            run = service.executor.execute

            def sets() -> list[tuple[str, str]]:
                return [m for m in spy.messages if m[0].endswith("/set")]

            await run("light.living_room_lamp", "turn_on", brightness=100)
            await run("switch.kettle_plug", "turn_off")
            await run("cover.bedroom_blind", "set_position", position=50)
            await until(lambda: len(sets()) == 3)
            assert sets() == [
                (f"{base}/living_room/lamp/set", '{"state":"ON","brightness":254}'),
                (f"{base}/kettle_plug/set", '{"state":"OFF"}'),
                (f"{base}/bedroom_blind/set", '{"position":50}'),
            ]
            await publish(c, f"{base}/living_room/lamp",
                          {"state": "ON", "brightness": 127, "color": {"x": 0.3, "y": 0.3}},
                          retain=False)  # fmt: skip
            await until(lambda: registry.state("light.living_room_lamp").state == "on")
            assert registry.state("light.living_room_lamp").attributes["brightness_pct"] == 50
            await publish(c, f"{base}/bedroom_blind", {"state": "OPEN", "position": 50},
                          retain=False)  # fmt: skip
            await until(lambda: registry.state("cover.bedroom_blind").state == "open")
            assert registry.state("cover.bedroom_blind").attributes["current_position"] == 50

            # Zigbee2MQTT's HA integration publishes the kettle by discovery too:
            # discovery wins, the z2m duplicate goes.
            await publish(c, f"{ns}/ha/switch/0x02/switch/config", {
                "name": None, "cmd_t": f"{base}/kettle_plug/set", "stat_t": f"{base}/kettle_plug",
                "val_tpl": "{{ value_json.state }}", "cmd_tpl": '{"state":"{{ value }}"}',
                "obj_id": "kettle", "dev": {"ids": ["zigbee2mqtt_0x02"], "name": "Kettle"},
            }, retain=False)  # fmt: skip
            await until(lambda: "switch.kettle" in registry)
            assert "switch.kettle_plug" not in registry
            assert "sensor.kettle_plug_power" not in registry
            assert registry.get("switch.kettle").source == "discovery"  # type: ignore[union-attr]

            # A device leaving the network disappears with the next bridge/devices.
            await publish(c, f"{base}/bridge/devices", devices_payload()[:2], retain=False)
            await until(lambda: "cover.bedroom_blind" not in registry)
            assert "light.living_room_lamp" in registry
