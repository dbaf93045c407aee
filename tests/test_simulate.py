"""The simulated fleet over a real mosquitto, the home YAML schema, the fixtures home."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from assistant.cli import main
from assistant.config import MqttConfig
from assistant.errors import UserError
from assistant.simulate import Fleet, load_example_home, load_home, parse_home
from assistant.simulate.ha_fixtures import load_ha_fixtures
from assistant.simulate.home import Home
from assistant.simulate.synthetic import synthetic_home
from tests.conformance_home import SUITE
from tests.conftest import Broker, free_port

FIXTURES = SUITE / "_fixtures.yaml"
PREFIX = "homeassistant"

# Copied from Home Assistant (homeassistant/components/mqtt/abbreviations.py), not
# imported from the code under test, so the expansion is an independent check.
HA_ABBREVIATIONS = {
    "avty": "availability", "avty_t": "availability_topic", "bri_cmd_t": "brightness_command_topic",
    "bri_scl": "brightness_scale", "bri_stat_t": "brightness_state_topic",
    "clr_temp_cmd_t": "color_temp_command_topic", "clr_temp_stat_t": "color_temp_state_topic",
    "cmd_t": "command_topic", "curr_temp_t": "current_temperature_topic",
    "def_ent_id": "default_entity_id", "dev": "device", "dev_cla": "device_class",
    "fanspd_lst": "fan_speed_list", "mode_cmd_t": "mode_command_topic",
    "mode_stat_t": "mode_state_topic", "osc_cmd_t": "oscillation_command_topic",
    "osc_stat_t": "oscillation_state_topic", "pct_cmd_t": "percentage_command_topic",
    "pct_stat_t": "percentage_state_topic", "pl_avail": "payload_available",
    "pl_cls": "payload_close", "pl_lock": "payload_lock", "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off", "pl_on": "payload_on", "pl_open": "payload_open",
    "pl_prs": "payload_press", "pl_stop": "payload_stop", "pl_unlk": "payload_unlock",
    "pos_clsd": "position_closed", "pos_open": "position_open", "pos_t": "position_topic",
    "pr_mode_cmd_t": "preset_mode_command_topic", "pr_mode_stat_t": "preset_mode_state_topic",
    "pr_modes": "preset_modes", "rgb_cmd_t": "rgb_command_topic", "rgb_stat_t": "rgb_state_topic",
    "set_fan_spd_t": "set_fan_speed_topic", "set_pos_t": "set_position_topic",
    "spd_rng_max": "speed_range_max", "spd_rng_min": "speed_range_min",
    "stat_cla": "state_class", "stat_clsd": "state_closed", "stat_locked": "state_locked",
    "stat_off": "state_off", "stat_on": "state_on", "stat_open": "state_open",
    "stat_t": "state_topic", "stat_unlocked": "state_unlocked",
    "sup_clrm": "supported_color_modes", "sup_feat": "supported_features",
    "temp_cmd_t": "temperature_command_topic", "temp_stat_t": "temperature_state_topic",
    "temp_unit": "temperature_unit", "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement", "val_tpl": "value_template", "t": "topic",
}  # fmt: skip
HA_DEVICE_ABBREVIATIONS = {
    "ids": "identifiers", "mf": "manufacturer", "mdl": "model", "name": "name",
    "sa": "suggested_area", "sw": "sw_version",
}  # fmt: skip
# What each component needs to be commanded or read, per HA's MQTT docs.
REQUIRED = {
    "light": {"command_topic"},
    "switch": {"command_topic"},
    "fan": {"command_topic"},
    "cover": {"command_topic"},
    "lock": {"command_topic"},
    "valve": {"command_topic"},
    "climate": {"mode_command_topic", "temperature_command_topic"},
    "vacuum": {"command_topic"},
    "sensor": {"state_topic"},
    "binary_sensor": {"state_topic"},
    "button": {"command_topic"},
    "scene": {"command_topic"},
}


def expand(config: dict[str, Any]) -> dict[str, Any]:
    """HA's discovery expansion: abbreviations, then '~' at either end of *_topic values."""
    out = {HA_ABBREVIATIONS.get(k, k): v for k, v in config.items()}
    if "device" in out:
        out["device"] = {HA_DEVICE_ABBREVIATIONS.get(k, k): v for k, v in out["device"].items()}
    if "availability" in out:
        out["availability"] = [
            {HA_ABBREVIATIONS.get(k, k): v for k, v in item.items()} for item in out["availability"]
        ]
    base = out.pop("~", None)
    if base is not None:
        for key, value in list(out.items()):
            if key.endswith("topic") and isinstance(value, str):
                topic = base + value[1:] if value.startswith("~") else value
                out[key] = topic[:-1] + base if topic.endswith("~") else topic
        for item in out.get("availability", []):
            item["topic"] = item["topic"].replace("~", base)
    return out


def mqtt_config(broker: Broker) -> MqttConfig:
    return MqttConfig(host=broker.host, port=broker.port)


async def retained(broker: Broker, pattern: str, count: int) -> dict[str, str]:
    """The first `count` messages (retained ones come first) on `pattern`."""
    out: dict[str, str] = {}
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.subscribe(pattern)
        async with asyncio.timeout(10):
            async for message in client.messages:
                assert isinstance(message.payload, bytes)
                out[str(message.topic)] = message.payload.decode()
                if len(out) >= count:
                    break
    return out


async def configs(broker: Broker, home: Home) -> dict[str, dict[str, Any]]:
    """entity id -> expanded discovery config, as HA would read them."""
    raw = await retained(broker, f"{PREFIX}/+/+/+/config", len(home.entities))
    out = {}
    for topic, payload in raw.items():
        config = expand(json.loads(payload))
        component = topic.split("/")[1]
        assert config["default_entity_id"].startswith(component + ".")
        out[config["default_entity_id"]] = config
    return out


# --- the home file ---------------------------------------------------------------


def test_example_home_is_a_realistic_home() -> None:
    home = load_example_home()
    assert 20 <= len(home.entities) <= 30
    assert {a.name for a in home.areas} >= {
        "Kitchen", "Living Room", "Bedroom", "Office", "Garage", "Hallway", "Garden"
    }  # fmt: skip
    assert {e.kind for e in home.entities} == set(REQUIRED)
    garage = home.entity("cover.garage_door")
    assert garage.device_class == "garage"
    assert home.entity("light.kitchen_ceiling").aliases == ("big light",)
    assert home.overrides()["light.kitchen_ceiling"] == {"aliases": ["big light"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "entities:\n  - kind: light\n    name: A\n    colour: red\n",
            "unknown key 'entities.0.colour'",
        ),
        ("entities:\n  - kind: toaster\n    name: A\n", "key 'entities.0.kind'"),
        ("entities:\n  - kind: light\n", "missing key 'entities.0.name'"),
        ("entities:\n  - {kind: light, name: A, area: Attic}\n", "unknown area 'Attic'"),
        ("entities:\n  - {kind: light, name: A}\n  - {kind: light, name: a}\n", "duplicate"),
        ("entities:\n  - {kind: light, name: A, id: switch.a}\n", "does not start with kind"),
        ("entities: [\n", "not valid YAML"),
        ("- just a list\n", "must be a mapping"),
    ],
)
def test_a_bad_home_file_names_the_key_and_the_file(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "home.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as error:
        load_home(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)
    assert "\n" not in str(error.value)


def test_the_cli_reports_a_bad_home_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "home.yaml"
    path.write_text("entities:\n  - {kind: light, name: A, dimmable: yes}\n", encoding="utf-8")
    assert main(["simulate", "--home", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"assistant: {path}: unknown key 'entities.0.dimmable'"


def test_yaml_on_off_are_states_not_booleans() -> None:
    home = parse_home({"entities": [{"kind": "switch", "name": "A", "state": True}]})
    assert home.entities[0].state == "on"


def test_the_conformance_fixtures_become_a_home() -> None:
    data = __import__("yaml").safe_load(FIXTURES.read_text(encoding="utf-8"))
    result = load_ha_fixtures(FIXTURES)
    home = result.home
    simulated = {"light", "switch", "fan", "cover", "lock", "valve", "climate", "vacuum",
                 "sensor", "binary_sensor", "button", "scene"}  # fmt: skip
    wanted = {e["id"] for e in data["entities"] if e["id"].split(".")[0] in simulated}
    got = {e.entity_id for e in home.entities}
    assert got == {result.renamed.get(i, i) for i in wanted}
    assert set(result.skipped) == {e["id"] for e in data["entities"]} - wanted
    assert result.renamed == {
        "sensor.traveling speed": "sensor.traveling_speed",
        "sensor.price_per_kW": "sensor.price_per_kw",
    }
    assert home.entity("light.kitchen_ceiling").area == "Kitchen"
    assert home.floor_of("Kitchen") == "First Floor"
    assert home.floors()["Office"] == "Basement"
    assert home.entity("binary_sensor.pet_door").state == "off"  # the 'out' form
    assert home.entity("binary_sensor.pet_door").device_class == "door"
    assert home.entity("sensor.outside_temperature").unit == "°F"
    assert "position" in home.entity("valve.main_valve").features


# --- the fleet on a real broker -----------------------------------------------------


async def test_the_fleet_announces_every_entity_with_a_valid_config(broker: Broker) -> None:
    home = load_example_home()
    async with Fleet(home, mqtt_config(broker), PREFIX):
        raw = await retained(broker, f"{PREFIX}/+/+/+/config", len(home.entities))
        found = await configs(broker, home)
        status = await retained(broker, "sim/bridge/state", 1)
    assert len(raw) == len(home.entities)
    assert set(found) == {e.entity_id for e in home.entities}
    assert status == {"sim/bridge/state": "online"}
    abbreviated = [t for t, p in raw.items() if '"~"' in p]
    assert abbreviated, "some configs use abbreviated keys and '~'"
    assert len(abbreviated) < len(raw), "and some use full keys"
    for topic in raw:
        parts = topic.split("/")
        assert len(parts) == 5
        assert parts[0] == PREFIX
        assert parts[-1] == "config"
    for spec in home.entities:
        config = found[spec.entity_id]
        assert REQUIRED[spec.kind] <= config.keys(), spec.entity_id
        assert config["device"]["identifiers"]
        assert config["device"]["suggested_area"] == spec.area
        topics = [config.get("availability_topic")] + [
            a["topic"] for a in config.get("availability", [])
        ]
        assert "sim/bridge/state" in topics
        assert all("~" not in v for k, v in config.items() if k.endswith("topic"))
        # HA's naming rule: a null name makes the entity the device's main feature.
        friendly = (
            config["device"]["name"]
            if config["name"] is None
            else (f"{config['device']['name']} {config['name']}")
        )
        assert friendly == (f"{spec.device} {spec.name}" if spec.device else spec.name)
    colour = found["light.reading_lamp"]
    assert colour["schema"] == "json"
    assert "rgb" in colour["supported_color_modes"]
    dimmer = found["light.tv_backlight"]
    assert "schema" not in dimmer
    assert dimmer["brightness_scale"] == 100
    sensor = found["sensor.kitchen_temperature"]
    assert sensor["value_template"] == "{{ value_json.temperature }}"
    shared = json.loads(await _one_retained(broker, sensor["state_topic"]))
    assert shared == {"temperature": 21.5, "humidity": 48}


async def _one_retained(broker: Broker, topic: str) -> str:
    return (await retained(broker, topic, 1))[topic]


async def test_commands_change_state_like_real_devices(broker: Broker) -> None:
    home = load_example_home()
    async with Fleet(home, mqtt_config(broker), PREFIX) as fleet:
        found = await configs(broker, home)
        sends = [
            ("light.reading_lamp", "command_topic", '{"state": "ON", "brightness": 128}'),
            ("light.tv_backlight", "brightness_command_topic", "50"),
            ("light.tv_backlight", "rgb_command_topic", "255,0,0"),
            ("light.kitchen_ceiling", "color_temp_command_topic", "370"),
            ("switch.coffee_machine", "command_topic", "ON"),
            ("cover.living_room_blinds", "set_position_topic", "30"),
            ("cover.garage_door", "command_topic", "OPEN"),
            ("lock.front_door", "command_topic", "UNLOCK"),
            ("fan.living_room_ceiling_fan", "percentage_command_topic", "2"),
            ("climate.thermostat", "temperature_command_topic", "22.5"),
            ("climate.thermostat", "mode_command_topic", "cool"),
            ("vacuum.robot_vacuum", "command_topic", "start"),
            ("valve.garden_sprinkler", "command_topic", "OPEN"),
            ("button.doorbell", "command_topic", "PRESS"),
        ]
        async with aiomqtt.Client(broker.host, broker.port) as client:
            for entity_id, key, payload in sends:
                await client.publish(found[entity_id][key], payload, qos=1)
            async with asyncio.timeout(10):
                received = await fleet.wait_for_commands(len(sends))
        assert [(r.entity_id, r.payload) for r in received] == [(e, p) for e, _, p in sends]
        states = fleet.states
        assert states["light.reading_lamp"].state == "on"
        assert states["light.reading_lamp"].attributes["brightness"] == 128
        assert states["light.tv_backlight"].attributes["brightness"] == 128  # 50 of 100
        assert states["light.tv_backlight"].attributes["rgb_color"] == [255, 0, 0]
        assert states["light.kitchen_ceiling"].attributes["color_temp"] == 370
        assert states["switch.coffee_machine"].state == "on"
        assert states["cover.living_room_blinds"].attributes["position"] == 30
        assert states["cover.garage_door"].state == "open"
        assert states["lock.front_door"].state == "unlocked"
        assert states["fan.living_room_ceiling_fan"].attributes["percentage"] == 66
        assert states["climate.thermostat"].attributes["temperature"] == 22.5
        assert states["climate.thermostat"].state == "cool"
        assert states["vacuum.robot_vacuum"].state == "cleaning"
        assert states["valve.garden_sprinkler"].state == "open"
        assert states["button.doorbell"].attributes["presses"] == 1
        # ... and what a listener (HA, the assistant) reads back, retained, on the state topics.
        wire = {
            "light.reading_lamp": json.loads(
                await _one_retained(broker, found["light.reading_lamp"]["state_topic"])
            ),
            "tv": await _one_retained(broker, found["light.tv_backlight"]["rgb_state_topic"]),
            "blinds": await _one_retained(
                broker, found["cover.living_room_blinds"]["position_topic"]
            ),
            "lock": await _one_retained(broker, found["lock.front_door"]["state_topic"]),
            "fan": await _one_retained(
                broker, found["fan.living_room_ceiling_fan"]["percentage_state_topic"]
            ),
            "vacuum": json.loads(
                await _one_retained(broker, found["vacuum.robot_vacuum"]["state_topic"])
            ),
        }
    assert wire["light.reading_lamp"]["state"] == "ON"
    assert wire["light.reading_lamp"]["brightness"] == 128
    assert wire["tv"] == "255,0,0"
    assert wire["blinds"] == "30"
    assert wire["lock"] == found["lock.front_door"]["state_unlocked"]
    assert wire["fan"] == "2"
    assert wire["vacuum"]["state"] == "cleaning"


async def test_a_scene_sets_its_entities(broker: Broker) -> None:
    home = load_example_home()
    async with Fleet(home, mqtt_config(broker), PREFIX) as fleet:
        found = await configs(broker, home)
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.publish(found["scene.movie_time"]["command_topic"], "ON", qos=1)
            async with asyncio.timeout(10):
                blinds = await fleet.wait_for_state("cover.living_room_blinds", "closed")
        assert blinds.attributes["position"] == 0
        assert fleet.states["light.living_room_ceiling"].state == "off"
        assert fleet.states["light.reading_lamp"].attributes["brightness"] == 40


async def test_bad_payloads_are_logged_once_and_the_fleet_keeps_running(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistant.simulate")
    home = load_example_home()
    async with Fleet(home, mqtt_config(broker), PREFIX) as fleet:
        found = await configs(broker, home)
        bad = [
            ("lock.front_door", "command_topic", "OPEN SESAME"),
            ("light.reading_lamp", "command_topic", "{not json"),
            ("light.tv_backlight", "brightness_command_topic", "9000"),
            ("climate.thermostat", "temperature_command_topic", "warm"),
            ("switch.coffee_machine", "command_topic", "\xff" * 1000),
        ]
        async with aiomqtt.Client(broker.host, broker.port) as client:
            for entity_id, key, payload in bad:
                await client.publish(found[entity_id][key], payload, qos=1)
            await client.publish(found["lock.front_door"]["command_topic"], "UNLOCK", qos=1)
            async with asyncio.timeout(10):
                await fleet.wait_for_commands(len(bad) + 1)
                await fleet.wait_for_state("lock.front_door", "unlocked")
        assert fleet.warnings == len(bad)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(bad)
    assert all("\n" not in r.getMessage() for r in warnings)
    assert "front door: ignored command" in warnings[0].getMessage()
    assert "front door: unlocked" in caplog.text


async def test_configs_stay_retained_unless_cleared(broker: Broker) -> None:
    home = parse_home({"topic_root": "t1", "entities": [{"kind": "switch", "name": "Plug"}]})
    topic = f"{PREFIX}/switch/t1/plug/config"
    async with Fleet(home, mqtt_config(broker), PREFIX):
        pass
    left = await retained(broker, topic, 1)
    assert json.loads(left[topic])["def_ent_id"] == "switch.plug"
    assert await _one_retained(broker, "t1/bridge/state") == "offline"

    async with Fleet(home, mqtt_config(broker), PREFIX, clear_on_exit=True):
        pass
    # Retained messages come back in subscription order: if the config were still
    # there it would arrive before the marker published after the fleet left.
    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.publish("t1/marker", "here", qos=1, retain=True)
        await client.subscribe(topic, qos=1)
        await client.subscribe("t1/marker", qos=1)
        async with asyncio.timeout(10):
            first = await anext(client.messages)
    assert str(first.topic) == "t1/marker"


async def test_the_fleet_comes_back_after_a_broker_restart(broker: Broker) -> None:
    home = parse_home({"topic_root": "t2", "entities": [{"kind": "switch", "name": "Plug"}]})
    async with Fleet(home, mqtt_config(broker), PREFIX) as fleet:
        broker.stop()  # no persistence: every retained message is gone
        async with asyncio.timeout(20):
            await fleet.disconnected.wait()
            broker.start()
            await fleet.connected.wait()
        config = await retained(broker, f"{PREFIX}/switch/t2/plug/config", 1)
        assert config, "configs announced again"
        async with aiomqtt.Client(broker.host, broker.port) as client:
            await client.publish("t2/switch/plug/set", "ON", qos=1)
            async with asyncio.timeout(10):
                await fleet.wait_for_state("switch.plug", "on")


async def test_the_fixtures_home_is_published_whole(broker: Broker) -> None:
    home = load_ha_fixtures(FIXTURES).home
    async with Fleet(home, mqtt_config(broker), PREFIX):
        found = await configs(broker, home)
    assert set(found) == {e.entity_id for e in home.entities}
    assert found["light.kitchen_ceiling"]["device"]["suggested_area"] == "Kitchen"


def test_a_synthetic_home_for_benchmarks_has_every_entity() -> None:
    home = synthetic_home(500)
    assert len({e.entity_id for e in home.entities}) == 500
    assert {e.kind for e in home.entities} >= {"light", "switch", "sensor", "cover", "climate"}


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto that wants user 'fleet' with password 'right'."""
    passwords = tmp_path / "passwd"
    passwords.write_text("", encoding="utf-8")
    subprocess.run(
        ["/usr/bin/mosquitto_passwd", "-b", str(passwords), "fleet", "right"],
        check=True,
        capture_output=True,
    )
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    # `user root`: mosquitto reads the password file after dropping privileges,
    # and pytest's tmp_path is private to this user.
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\nuser root\n",
        encoding="utf-8",
    )
    broker = Broker(port=port, conf=conf)
    broker.start()
    yield broker
    broker.stop()


async def test_a_refused_password_stops_the_fleet_with_one_line(secured_broker: Broker) -> None:
    home = parse_home({"entities": [{"kind": "switch", "name": "Plug"}]})
    port = secured_broker.port
    wrong = MqttConfig(host="127.0.0.1", port=port, username="fleet", password="wrong")
    with pytest.raises(UserError, match="refused") as error:
        async with asyncio.timeout(10), Fleet(home, wrong):
            pass
    assert "\n" not in str(error.value)
    right = MqttConfig(host="127.0.0.1", port=port, username="fleet", password="right")
    async with asyncio.timeout(10), Fleet(home, right) as fleet:
        assert fleet.connected.is_set()


async def test_the_assistants_discovery_and_executor_drive_the_fleet(broker: Broker) -> None:
    """End to end: the registry learns the example home from the fleet's configs alone,
    and executor calls reach the simulated devices, whose new states come back."""
    from assistant.config import Settings, Zigbee2MqttConfig
    from assistant.devices.mqtt.service import DeviceService
    from assistant.devices.registry import Registry

    home = load_example_home()
    settings = Settings(mqtt=mqtt_config(broker), zigbee2mqtt=Zigbee2MqttConfig(enabled=False))
    registry = Registry()
    complete = asyncio.Event()
    registry.add_listener(lambda: complete.set() if len(registry) == len(home.entities) else None)
    async with (
        Fleet(home, mqtt_config(broker), PREFIX) as fleet,
        DeviceService(settings, registry) as service,
    ):
        async with asyncio.timeout(10):
            await complete.wait()
        for spec in home.entities:
            entity = registry.get(spec.entity_id)
            assert entity is not None, spec.entity_id
            assert entity.name == (f"{spec.device} {spec.name}" if spec.device else spec.name)
            assert entity.area == spec.area
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("light.reading_lamp", "turn_on", {"brightness": 50, "rgb": (255, 0, 0)}),
            ("light.tv_backlight", "set_brightness", {"brightness": 50}),
            ("fan.living_room_ceiling_fan", "set_fan_speed", {"percentage": 100}),
            ("cover.living_room_blinds", "set_position", {"position": 25}),
            ("lock.front_door", "unlock", {}),
            ("climate.thermostat", "set_temperature", {"temperature": 23}),
            ("vacuum.robot_vacuum", "start", {}),
            ("valve.garden_sprinkler", "open", {}),
            ("scene.movie_time", "activate", {}),
        ]
        async with asyncio.timeout(10):
            for entity_id, action, params in calls:
                await service.executor.execute(entity_id, action, **params)
            await fleet.wait_for_state("valve.garden_sprinkler", "open")
            await fleet.wait_for_state("light.tv_backlight", "on")
        assert fleet.warnings == 0
        assert fleet.states["light.reading_lamp"].attributes["rgb_color"] == [255, 0, 0]
        assert fleet.states["light.tv_backlight"].attributes["brightness"] == 128
        assert fleet.states["fan.living_room_ceiling_fan"].attributes["percentage"] == 100
        assert fleet.states["lock.front_door"].state == "unlocked"
        assert fleet.states["climate.thermostat"].attributes["temperature"] == 23.0
        assert fleet.states["vacuum.robot_vacuum"].state == "cleaning"
        # The scene closed the blinds; the registry hears it over the state topics.
        heard = asyncio.Event()
        registry.add_state_listener(
            lambda e, s: heard.set() if e == "cover.living_room_blinds" else None
        )
        async with asyncio.timeout(10):
            while registry.state("cover.living_room_blinds").state != "closed":
                heard.clear()
                await heard.wait()


def test_the_example_homes_aliases_print_as_config_tables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tomllib

    from assistant.config import parse

    assert main(["simulate", "--print-aliases"]) == 0
    settings = parse(tomllib.loads(capsys.readouterr().out))
    assert settings.entities["light.kitchen_ceiling"].aliases == ("big light",)
    assert settings.entities["vacuum.robot_vacuum"].aliases == ("roomba",)


async def test_the_assistant_learns_the_whole_fixtures_home_from_the_fleet(broker: Broker) -> None:
    from assistant.config import Settings, Zigbee2MqttConfig
    from assistant.devices.mqtt.service import DeviceService
    from assistant.devices.registry import Registry

    home = load_ha_fixtures(FIXTURES).home
    settings = Settings(mqtt=mqtt_config(broker), zigbee2mqtt=Zigbee2MqttConfig(enabled=False))
    registry = Registry()
    complete = asyncio.Event()
    registry.add_listener(lambda: complete.set() if len(registry) == len(home.entities) else None)
    async with Fleet(home, mqtt_config(broker), PREFIX), DeviceService(settings, registry):
        async with asyncio.timeout(10):
            await complete.wait()
        for spec in home.entities:
            entity = registry.get(spec.entity_id)
            assert entity is not None, spec.entity_id
            assert (entity.name, entity.area) == (spec.name, spec.area)
            assert entity.device_class == spec.device_class


async def test_removal_and_availability_reach_the_assistant(broker: Broker) -> None:
    from assistant.config import Settings, Zigbee2MqttConfig
    from assistant.devices.mqtt.service import DeviceService
    from assistant.devices.registry import Registry

    home = parse_home(
        {
            "topic_root": "t3",
            "entities": [{"kind": "switch", "name": "Plug"}, {"kind": "light", "name": "Lamp"}],
        }
    )
    settings = Settings(mqtt=mqtt_config(broker), zigbee2mqtt=Zigbee2MqttConfig(enabled=False))
    registry = Registry()
    changed = asyncio.Event()
    registry.add_listener(changed.set)
    registry.add_state_listener(lambda e, s: changed.set())

    async def until(check: Callable[[], bool]) -> None:
        async with asyncio.timeout(10):
            while not check():
                changed.clear()
                await changed.wait()

    async with Fleet(home, mqtt_config(broker), PREFIX) as fleet, DeviceService(settings, registry):
        await until(lambda: len(registry) == 2 and registry.state("switch.plug").state == "off")
        assert registry.state("switch.plug").available
        await fleet.set_online(False)
        await until(lambda: not registry.state("switch.plug").available)
        await fleet.set_online(True)
        await until(lambda: registry.state("switch.plug").available)
        await fleet.remove("light.lamp")
        await until(lambda: "light.lamp" not in registry)
        assert "switch.plug" in registry
