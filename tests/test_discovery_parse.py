"""Pure discovery parsing, state interpretation and command payloads, per Home Assistant docs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant.devices.entities import EntityState
from assistant.devices.mqtt.discovery import Discovered, parse_config
from assistant.devices.mqtt.discovery_commands import Message, UnsupportedAction, build
from assistant.devices.mqtt.discovery_schema import (
    InvalidConfig,
    decode,
    expand,
    parse_topic,
    split_device_components,
)
from assistant.devices.mqtt.discovery_state import interpret
from assistant.devices.mqtt.jinja import TemplateFailed
from assistant.errors import UserError


def parse(component: str, raw: dict[str, Any], object_id: str = "obj") -> Discovered:
    return parse_config(
        component, expand(raw), key=f"{component}/{object_id}", object_id=object_id,
        reserved=("assistant/",), discovery_prefix="homeassistant",
    )  # fmt: skip


def cmd(d: Discovered, action: str, state: str | None = None, **params: Any) -> list[Message]:
    return build(d, action, params, EntityState(state=state))


def pairs(messages: list[Message]) -> list[tuple[str, str]]:
    return [(m.topic, m.payload) for m in messages]


# --- topics, abbreviations, ~ -------------------------------------------------
def test_discovery_topics_with_and_without_node_id() -> None:
    t = parse_topic("homeassistant", "homeassistant/light/kitchen/config")
    assert t is not None
    assert (t.component, t.node_id, t.object_id) == ("light", None, "kitchen")
    t = parse_topic("homeassistant", "homeassistant/switch/node1/relay_2/config")
    assert t is not None
    assert (t.node_id, t.object_id, t.key) == (
        "node1",
        "relay_2",
        "switch/node1/relay_2",
    )
    assert parse_topic("homeassistant", "homeassistant/status") is None
    assert parse_topic("homeassistant", "homeassistant/light/kitchen/state") is None
    assert parse_topic("homeassistant", "other/light/kitchen/config") is None


def test_abbreviations_and_base_topic_expand_like_home_assistant() -> None:
    raw = {
        "~": "tasmota/kitchen",
        "name": "Ceiling",
        "cmd_t": "~/cmnd/POWER",
        "stat_t": "~/stat/POWER",
        "avty_t": "~/LWT",
        "pl_avail": "Online",
        "json_attr_t": "tele/~",
        "avty": [{"t": "~/alive", "pl_avail": "yes"}],
        "dev": {"ids": ["abc"], "name": "Kitchen", "sa": "Kitchen", "mf": "Tasmota"},
    }
    config = expand(raw)
    assert config["command_topic"] == "tasmota/kitchen/cmnd/POWER"
    assert config["state_topic"] == "tasmota/kitchen/stat/POWER"
    assert config["availability_topic"] == "tasmota/kitchen/LWT"
    assert config["json_attributes_topic"] == "tele/tasmota/kitchen"  # `~` at the end
    assert config["availability"] == [
        {"topic": "tasmota/kitchen/alive", "payload_available": "yes"}
    ]
    assert config["device"] == {
        "identifiers": ["abc"],
        "name": "Kitchen",
        "suggested_area": "Kitchen",
        "manufacturer": "Tasmota",
    }
    assert "~" not in config


def test_decode_rejects_garbage_and_treats_empty_as_removal() -> None:
    assert decode(b"") is None
    with pytest.raises(InvalidConfig, match="not valid JSON"):
        decode(b"{nope")
    with pytest.raises(InvalidConfig, match="not a JSON object"):
        decode(b"[1, 2]")
    with pytest.raises(InvalidConfig, match="bytes, over"):
        decode(b'{"name": "' + b"x" * 1_000_000 + b'"}')


# --- naming and ids -------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "device", "expected"),
    [
        (None, {"name": "Kitchen Ceiling"}, "Kitchen Ceiling"),  # name: null
        ("MISSING", {"name": "Kitchen Ceiling"}, "Kitchen Ceiling"),  # no name key
        ("Spot", {"name": "Kitchen"}, "Kitchen Spot"),
        ("Kitchen Spot", {"name": "Kitchen"}, "Kitchen Kitchen Spot"),  # HA >= 2024.2
        ("Porch", None, "Porch"),
        ("MISSING", None, "obj"),
    ],
)
def test_home_assistant_naming_rule(name: Any, device: Any, expected: str) -> None:
    raw: dict[str, Any] = {"cmd_t": "x/set"}
    if name != "MISSING":
        raw["name"] = name
    if device is not None:
        raw["dev"] = {"ids": ["d1"], **device}
    assert parse("switch", raw).entity.name == expected


def test_unnamed_sensors_and_buttons_are_named_by_device_class() -> None:
    dev = {"ids": ["h"], "name": "Hub"}
    assert parse("sensor", {"stat_t": "t", "dev_cla": "temperature", "dev": dev}).entity.name == (
        "Hub Temperature"
    )
    assert parse("button", {"cmd_t": "r", "dev_cla": "restart", "dev": dev}).entity.name == (
        "Hub Restart"
    )
    assert parse("sensor", {"stat_t": "t", "dev_cla": "humidity", "name": None,
                            "dev": dev}).entity.name == "Hub"  # fmt: skip
    assert parse("sensor", {"stat_t": "t", "dev": dev}).entity.name == "Hub"


def test_entity_id_from_default_entity_id_object_id_or_name() -> None:
    base = {"cmd_t": "x/set", "name": "Big Lamp"}
    assert parse("light", base).entity.entity_id == "light.big_lamp"
    assert parse("light", {**base, "obj_id": "lamp_1"}).entity.entity_id == "light.lamp_1"
    both = {**base, "obj_id": "lamp_1", "def_ent_id": "light.lamp_new"}
    assert parse("light", both).entity.entity_id == "light.lamp_new"


def test_area_from_suggested_area_and_sensitive_defaults() -> None:
    light = parse("light", {"cmd_t": "x", "name": None, "dev": {"name": "L", "sa": "Hall"}})
    assert light.entity.area == "Hall"
    assert not light.entity.sensitive
    assert parse("lock", {"cmd_t": "x", "name": "Front"}).entity.sensitive
    assert parse("cover", {"name": "G", "dev_cla": "garage", "cmd_t": "g"}).entity.sensitive
    assert parse("cover", {"name": "Gate", "dev_cla": "gate", "cmd_t": "g"}).entity.sensitive
    assert not parse("cover", {"name": "Blind", "dev_cla": "blind", "cmd_t": "b"}).entity.sensitive
    assert parse("valve", {"name": "Gas", "dev_cla": "gas", "cmd_t": "v"}).entity.sensitive
    assert not parse("valve", {"name": "Water", "dev_cla": "water", "cmd_t": "v"}).entity.sensitive


# --- lights -----------------------------------------------------------------------
DEFAULT_LIGHT = {
    "name": "Lamp",
    "command_topic": "l/set",
    "state_topic": "l/state",
    "brightness_command_topic": "l/bri/set",
    "brightness_state_topic": "l/bri",
    "brightness_scale": 100,
    "rgb_command_topic": "l/rgb/set",
    "rgb_state_topic": "l/rgb",
    "color_temp_command_topic": "l/ct/set",
    "color_temp_state_topic": "l/ct",
}
DEFAULT_LIGHT_ABBREVIATED = {
    "~": "l",
    "name": "Lamp",
    "cmd_t": "~/set",
    "stat_t": "~/state",
    "bri_cmd_t": "~/bri/set",
    "bri_stat_t": "~/bri",
    "bri_scl": 100,
    "rgb_cmd_t": "~/rgb/set",
    "rgb_stat_t": "~/rgb",
    "clr_temp_cmd_t": "~/ct/set",
    "clr_temp_stat_t": "~/ct",
}


@pytest.mark.parametrize("raw", [DEFAULT_LIGHT, DEFAULT_LIGHT_ABBREVIATED], ids=["full", "abbr"])
def test_default_schema_light(raw: dict[str, Any]) -> None:
    d = parse("light", raw)
    assert d.entity.features == {"brightness", "color", "color_temp"}
    assert pairs(cmd(d, "turn_on")) == [("l/set", "ON")]
    assert pairs(cmd(d, "turn_off")) == [("l/set", "OFF")]
    # on_command_type "last": brightness first, then payload_on; 50 % of scale 100
    assert pairs(cmd(d, "set_brightness", brightness=50)) == [("l/bri/set", "50"), ("l/set", "ON")]
    assert pairs(cmd(d, "set_color", color="red")) == [("l/rgb/set", "255,0,0"), ("l/set", "ON")]
    assert pairs(cmd(d, "set_color", color_temp_kelvin=4000)) == [
        ("l/ct/set", "250"),
        ("l/set", "ON"),
    ]
    assert pairs(cmd(d, "toggle", state="on")) == [("l/set", "OFF")]
    assert pairs(cmd(d, "set_brightness", brightness=0)) == [("l/set", "OFF")]
    assert interpret(d, "l/state", "ON").state == "on"
    assert interpret(d, "l/bri", "40").attributes == {"brightness": 102, "brightness_pct": 40}
    assert interpret(d, "l/rgb", "0,0,255").attributes == {"rgb_color": (0, 0, 255)}
    assert interpret(d, "l/ct", "250").attributes == {"color_temp_kelvin": 4000, "color_temp": 250}


def test_default_light_on_command_type_first_and_brightness() -> None:
    first = parse("light", {**DEFAULT_LIGHT, "on_command_type": "first"})
    assert pairs(cmd(first, "turn_on", brightness=100)) == [("l/set", "ON"), ("l/bri/set", "100")]
    only = parse("light", {**DEFAULT_LIGHT, "on_cmd_type": "brightness", "bri_scl": 255})
    assert pairs(cmd(only, "turn_on")) == [("l/bri/set", "255")]
    assert pairs(cmd(only, "turn_on", brightness=1)) == [("l/bri/set", "3")]


def test_default_light_with_templates_and_custom_payloads() -> None:
    d = parse("light", {
        "name": "T", "cmd_t": "t/set", "stat_t": "t/state", "pl_on": "1", "pl_off": "0",
        "stat_val_tpl": "{{ value_json.POWER }}", "bri_cmd_t": "t/dim",
        "bri_cmd_tpl": '{"dim": {{ value }}}', "bri_stat_t": "t/state",
        "bri_val_tpl": "{{ value_json.Dimmer }}",
    })  # fmt: skip
    assert pairs(cmd(d, "turn_on", brightness=100)) == [("t/dim", '{"dim": 255}'), ("t/set", "1")]
    update = interpret(d, "t/state", '{"POWER": "1", "Dimmer": 255}')
    assert update.state == "on"
    assert update.attributes["brightness_pct"] == 100


JSON_LIGHT = {
    "name": "Strip",
    "schema": "json",
    "command_topic": "s/set",
    "state_topic": "s/state",
    "brightness": True,
    "supported_color_modes": ["rgb", "color_temp"],
}


@pytest.mark.parametrize(
    "raw",
    [JSON_LIGHT, {"~": "s", "name": "Strip", "schema": "json", "cmd_t": "~/set",
                  "stat_t": "~/state", "brightness": True, "sup_clrm": ["rgb", "color_temp"]}],
    ids=["full", "abbr"],
)  # fmt: skip
def test_json_schema_light(raw: dict[str, Any]) -> None:
    d = parse("light", raw)
    assert d.schema == "json"
    assert d.entity.features == {"brightness", "color", "color_temp"}
    assert pairs(cmd(d, "turn_on")) == [("s/set", '{"state":"ON"}')]
    assert pairs(cmd(d, "turn_off")) == [("s/set", '{"state":"OFF"}')]
    assert pairs(cmd(d, "set_brightness", brightness=100)) == [
        ("s/set", '{"state":"ON","brightness":255}')
    ]
    assert pairs(cmd(d, "set_color", rgb=(255, 0, 0))) == [
        ("s/set", '{"state":"ON","color":{"r":255,"g":0,"b":0}}')
    ]
    assert pairs(cmd(d, "set_color", color_temp_kelvin=2700)) == [
        ("s/set", '{"state":"ON","color_temp":370}')
    ]
    update = interpret(d, "s/state", '{"state":"ON","brightness":128,"color":{"r":1,"g":2,"b":3}}')
    assert update.state == "on"
    assert update.attributes["brightness"] == 128
    assert update.attributes["rgb_color"] == (1, 2, 3)


def test_json_light_xy_only_sends_xy_and_scales_brightness() -> None:
    d = parse("light", {"name": "Z", "schema": "json", "cmd_t": "z/set", "brightness": True,
                        "brightness_scale": 254, "supported_color_modes": ["xy"]})  # fmt: skip
    assert pairs(cmd(d, "turn_on", brightness=100)) == [
        ("z/set", '{"state":"ON","brightness":254}')
    ]
    payload = json.loads(cmd(d, "set_color", color="red")[0].payload)
    assert payload == {"state": "ON", "color": {"x": 0.701, "y": 0.299}}


def test_template_schema_is_unsupported() -> None:
    with pytest.raises(InvalidConfig, match="template"):
        parse("light", {"name": "x", "schema": "template", "cmd_t": "x",
                        "command_on_template": "on"})  # fmt: skip


# --- other components -----------------------------------------------------------
def test_switch_full_and_abbreviated() -> None:
    for raw in (
        {"name": "Pump", "command_topic": "p/set", "state_topic": "p/state"},
        {"~": "p", "name": "Pump", "cmd_t": "~/set", "stat_t": "~/state"},
    ):
        d = parse("switch", raw)
        assert pairs(cmd(d, "turn_on")) == [("p/set", "ON")]
        assert pairs(cmd(d, "turn_off")) == [("p/set", "OFF")]
        assert pairs(cmd(d, "toggle", state="off")) == [("p/set", "ON")]
        assert interpret(d, "p/state", "ON").state == "on"
        assert interpret(d, "p/state", "OFF").state == "off"
    custom = parse("switch", {"name": "R", "cmd_t": "r", "stat_t": "r/s", "pl_on": "1",
                              "pl_off": "0", "stat_on": "on", "stat_off": "off",
                              "val_tpl": "{{ value_json.relay }}"})  # fmt: skip
    assert pairs(cmd(custom, "turn_on")) == [("r", "1")]
    assert interpret(custom, "r/s", '{"relay": "off"}').state == "off"


def test_fan_percentage_and_presets() -> None:
    d = parse("fan", {
        "~": "f", "name": "Fan", "cmd_t": "~/set", "stat_t": "~/state", "pct_cmd_t": "~/pct/set",
        "pct_stat_t": "~/pct", "pr_mode_cmd_t": "~/preset/set", "pr_modes": ["auto", "sleep"],
        "spd_rng_min": 1, "spd_rng_max": 3,
    })  # fmt: skip
    assert d.entity.features == {"percentage", "preset"}
    assert pairs(cmd(d, "turn_on")) == [("f/set", "ON")]
    assert pairs(cmd(d, "set_fan_speed", percentage=50)) == [("f/pct/set", "2")]
    assert pairs(cmd(d, "set_fan_speed", percentage=100)) == [("f/pct/set", "3")]
    assert pairs(cmd(d, "set_fan_speed", preset="sleep")) == [("f/preset/set", "sleep")]
    assert pairs(cmd(d, "set_fan_speed", percentage=0)) == [("f/set", "OFF")]
    assert interpret(d, "f/pct", "3").attributes == {"percentage": 100}
    assert interpret(d, "f/state", "ON").state == "on"
    with pytest.raises(UserError, match="no preset"):
        cmd(d, "set_fan_speed", preset="turbo")


def test_cover_payloads_and_position() -> None:
    for raw in (
        {"name": "Blind", "command_topic": "c/set", "state_topic": "c/state",
         "position_topic": "c/pos", "set_position_topic": "c/pos/set"},
        {"~": "c", "name": "Blind", "cmd_t": "~/set", "stat_t": "~/state", "pos_t": "~/pos",
         "set_pos_t": "~/pos/set"},
    ):  # fmt: skip
        d = parse("cover", raw)
        assert pairs(cmd(d, "open")) == [("c/set", "OPEN")]
        assert pairs(cmd(d, "close")) == [("c/set", "CLOSE")]
        assert pairs(cmd(d, "stop")) == [("c/set", "STOP")]
        assert pairs(cmd(d, "set_position", position=30)) == [("c/pos/set", "30")]
        assert interpret(d, "c/state", "closing").state == "closing"
        assert interpret(d, "c/pos", "30").attributes == {"current_position": 30}
    scaled = parse("cover", {"name": "S", "cmd_t": "s", "set_pos_t": "s/p", "pos_open": 255,
                             "pos_clsd": 0, "set_pos_tpl": '{"pos": {{ position }}}',
                             "pos_t": "s/pos"})  # fmt: skip
    assert pairs(cmd(scaled, "set_position", position=50)) == [("s/p", '{"pos": 128}')]
    assert interpret(scaled, "s/pos", "255").state == "open"


def test_a_null_payload_disables_that_command() -> None:
    d = parse("cover", {"name": "Awning", "cmd_t": "a/set", "pl_stop": None})
    assert d.entity.features == {"open_close"}
    assert pairs(cmd(d, "open")) == [("a/set", "OPEN")]
    with pytest.raises(UnsupportedAction, match="cannot stop"):
        cmd(d, "stop")


def test_lock_payloads_and_states() -> None:
    d = parse("lock", {"~": "k", "name": "Door", "cmd_t": "~/set", "stat_t": "~/state"})
    assert pairs(cmd(d, "lock")) == [("k/set", "LOCK")]
    assert pairs(cmd(d, "unlock")) == [("k/set", "UNLOCK")]
    assert interpret(d, "k/state", "LOCKED").state == "locked"
    assert interpret(d, "k/state", "UNLOCKED").state == "unlocked"
    assert interpret(d, "k/state", "JAMMED").state == "jammed"
    with pytest.raises(UnsupportedAction):
        cmd(d, "open")  # no payload_open configured


def test_valve_with_and_without_position() -> None:
    plain = parse("valve", {"name": "Tap", "cmd_t": "v/set", "stat_t": "v/state"})
    assert pairs(cmd(plain, "open")) == [("v/set", "OPEN")]
    assert pairs(cmd(plain, "close")) == [("v/set", "CLOSE")]
    assert interpret(plain, "v/state", "open").state == "open"
    positioned = parse("valve", {"name": "Mix", "cmd_t": "m/set", "stat_t": "m/state",
                                 "pos": True})  # fmt: skip
    assert pairs(cmd(positioned, "open")) == [("m/set", "100")]
    assert pairs(cmd(positioned, "set_position", position=40)) == [("m/set", "40")]
    update = interpret(positioned, "m/state", '{"state": "opening", "position": 40}')
    assert (update.state, update.attributes) == ("opening", {"current_position": 40})
    assert interpret(positioned, "m/state", "0").state == "closed"


def test_climate_temperature_and_modes() -> None:
    d = parse("climate", {
        "~": "hvac", "name": "Thermostat", "temp_cmd_t": "~/target/set", "temp_stat_t": "~/target",
        "curr_temp_t": "~/state", "curr_temp_tpl": "{{ value_json.temp | round(1) }}",
        "mode_cmd_t": "~/mode/set", "mode_stat_t": "~/mode", "modes": ["off", "heat", "auto"],
    })  # fmt: skip
    assert d.entity.features == {"target_temperature", "hvac_mode"}
    assert pairs(cmd(d, "set_temperature", temperature=21.5)) == [("hvac/target/set", "21.5")]
    assert pairs(cmd(d, "set_temperature", temperature=21)) == [("hvac/target/set", "21")]
    assert pairs(cmd(d, "set_hvac_mode", hvac_mode="heat")) == [("hvac/mode/set", "heat")]
    assert pairs(cmd(d, "turn_off")) == [("hvac/mode/set", "off")]
    assert pairs(cmd(d, "turn_on")) == [("hvac/mode/set", "heat")]
    with pytest.raises(UserError, match="no mode"):
        cmd(d, "set_hvac_mode", hvac_mode="cool")
    with pytest.raises(UserError, match="takes 7 to 35"):
        cmd(d, "set_temperature", temperature=80)
    assert interpret(d, "hvac/state", '{"temp": 19.46}').attributes == {"current_temperature": 19.5}
    assert interpret(d, "hvac/mode", "heat").state == "heat"
    assert interpret(d, "hvac/target", "21").attributes == {"temperature": 21.0}


def test_vacuum_commands_and_json_state() -> None:
    d = parse("vacuum", {"name": "Robo", "cmd_t": "vac/cmd", "stat_t": "vac/state",
                         "set_fan_spd_t": "vac/speed", "fanspd_lst": ["min", "max"]})  # fmt: skip
    assert pairs(cmd(d, "start")) == [("vac/cmd", "start")]
    assert pairs(cmd(d, "stop")) == [("vac/cmd", "stop")]
    assert pairs(cmd(d, "return_to_base")) == [("vac/cmd", "return_to_base")]
    assert pairs(cmd(d, "set_fan_speed", preset="max")) == [("vac/speed", "max")]
    update = interpret(d, "vac/state", '{"state": "cleaning", "battery_level": 61}')
    assert (update.state, update.attributes) == ("cleaning", {"battery_level": 61})


def test_sensor_and_binary_sensor_read_with_templates() -> None:
    sensor = parse(
        "sensor",
        {
            "name": "Temp",
            "stat_t": "s/t",
            "unit_of_meas": "°C",
            "dev_cla": "temperature",
            "val_tpl": "{{ value_json.temperature | float | round(1) }}",
        },
    )
    assert sensor.entity.unit == "°C"
    update = interpret(sensor, "s/t", '{"temperature": "21.37"}')
    assert update.state == "21.4"
    assert update.attributes == {"unit_of_measurement": "°C"}
    with pytest.raises(TemplateFailed):
        interpret(sensor, "s/t", '{"other": 1}')  # the caller logs and keeps the old state
    binary = parse("binary_sensor", {"name": "Door", "stat_t": "b/s", "dev_cla": "door",
                                     "val_tpl": "{{ value_json.contact }}", "pl_on": "open",
                                     "pl_off": "closed"})  # fmt: skip
    assert interpret(binary, "b/s", '{"contact": "open"}').state == "on"
    with pytest.raises(UnsupportedAction):
        cmd(binary, "turn_on")
    with pytest.raises(UnsupportedAction):
        cmd(sensor, "turn_on")


def test_button_and_scene() -> None:
    button = parse("button", {"name": "Restart", "cmd_t": "b/press"})
    assert pairs(cmd(button, "press")) == [("b/press", "PRESS")]
    scene = parse("scene", {"name": "Movie", "cmd_t": "sc/set", "pl_on": "activate"})
    assert pairs(cmd(scene, "activate")) == [("sc/set", "activate")]
    assert pairs(cmd(parse("scene", {"name": "Eve", "cmd_t": "e"}), "activate")) == [("e", "ON")]


def test_device_based_discovery_splits_components() -> None:
    configs = split_device_components({
        "dev": {"ids": "p1", "name": "Panel"}, "o": {"name": "x"}, "~": "panel",
        "cmps": {"relay": {"p": "switch", "cmd_t": "~/relay/set", "name": "Relay"},
                 "temp": {"p": "sensor", "stat_t": "~/t", "name": "Temp"},
                 "gone": {"p": "light"}},
    })  # fmt: skip
    assert configs["switch/relay"]["command_topic"] == "panel/relay/set"
    assert configs["switch/relay"]["device"]["name"] == "Panel"
    assert configs["sensor/temp"]["state_topic"] == "panel/t"
    assert configs["light/gone"] == {}


@pytest.mark.parametrize(
    ("component", "raw", "error"),
    [
        ("light", {"name": "x"}, "no command_topic"),
        ("sensor", {"name": "x"}, "no state_topic"),
        ("switch", {"name": "x", "cmd_t": 5}, "must be a non-empty string"),
        ("switch", {"name": "x", "cmd_t": "a/+/b"}, "wildcard"),
        ("switch", {"name": "x", "cmd_t": "assistant/kitchen/say"}, "assistant's own"),
        ("switch", {"name": "x", "cmd_t": "y", "stat_t": "#"}, "assistant's own"),
        ("switch", {"name": "x", "cmd_t": "homeassistant/switch/y/config"}, "discovery config"),
        ("sensor", {"name": "x", "stat_t": "homeassistant/#"}, "discovery config"),
        ("sensor", {"name": "x", "stat_t": "s", "val_tpl": "{{ value_json.x "}, "compile"),
        ("light", {"name": "x", "cmd_t": "l", "bri_scl": 0}, "brightness_scale"),
        ("heater", {"name": "x"}, "unknown component"),
    ],
)
def test_invalid_configs_are_rejected_with_one_line(
    component: str, raw: dict[str, Any], error: str
) -> None:
    with pytest.raises(InvalidConfig, match=error) as info:
        parse(component, raw)
    assert "\n" not in str(info.value)


def test_state_topics_under_the_discovery_prefix_are_allowed() -> None:
    # Home Assistant's own documentation examples put state topics there.
    d = parse("binary_sensor", {"name": "Garden", "stat_t": "homeassistant/binary_sensor/g/state"})
    assert d.topic("state_topic") == "homeassistant/binary_sensor/g/state"


FULL_AND_ABBREVIATED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "light": (
        {"name": "L", "command_topic": "d/l/set", "state_topic": "d/l", "brightness_scale": 99,
         "brightness_command_topic": "d/l/b/set", "state_value_template": "{{ value }}",
         "device": {"identifiers": ["x"], "name": "Dev", "suggested_area": "Hall"}},
        {"~": "d/l", "name": "L", "cmd_t": "~/set", "stat_t": "~", "bri_scl": 99,
         "bri_cmd_t": "~/b/set", "stat_val_tpl": "{{ value }}",
         "dev": {"ids": ["x"], "name": "Dev", "sa": "Hall"}},
    ),
    "switch": (
        {"name": "S", "command_topic": "d/s/set", "payload_on": "1", "state_on": "on"},
        {"~": "d/s", "name": "S", "cmd_t": "~/set", "pl_on": "1", "stat_on": "on"},
    ),
    "fan": (
        {"name": "F", "command_topic": "d/f/set", "percentage_command_topic": "d/f/p",
         "preset_mode_command_topic": "d/f/m", "preset_modes": ["eco"]},
        {"~": "d/f", "name": "F", "cmd_t": "~/set", "pct_cmd_t": "~/p", "pr_mode_cmd_t": "~/m",
         "pr_modes": ["eco"]},
    ),
    "cover": (
        {"name": "C", "command_topic": "d/c/set", "position_topic": "d/c/p",
         "set_position_topic": "d/c/sp", "payload_stop": "HALT", "device_class": "garage"},
        {"~": "d/c", "name": "C", "cmd_t": "~/set", "pos_t": "~/p", "set_pos_t": "~/sp",
         "pl_stop": "HALT", "dev_cla": "garage"},
    ),
    "lock": (
        {"name": "K", "command_topic": "d/k/set", "payload_open": "OPEN", "state_locked": "L"},
        {"~": "d/k", "name": "K", "cmd_t": "~/set", "pl_open": "OPEN", "stat_locked": "L"},
    ),
    "valve": (
        {"name": "V", "command_topic": "d/v/set", "reports_position": True},
        {"~": "d/v", "name": "V", "cmd_t": "~/set", "pos": True},
    ),
    "climate": (
        {"name": "T", "temperature_command_topic": "d/t/t", "mode_command_topic": "d/t/m",
         "current_temperature_topic": "d/t/c", "modes": ["off", "heat"]},
        {"~": "d/t", "name": "T", "temp_cmd_t": "~/t", "mode_cmd_t": "~/m", "curr_temp_t": "~/c",
         "modes": ["off", "heat"]},
    ),
    "vacuum": (
        {"name": "R", "command_topic": "d/r/set", "state_topic": "d/r",
         "set_fan_speed_topic": "d/r/f", "fan_speed_list": ["low"]},
        {"~": "d/r", "name": "R", "cmd_t": "~/set", "stat_t": "~", "set_fan_spd_t": "~/f",
         "fanspd_lst": ["low"]},
    ),
    "sensor": (
        {"name": "T", "state_topic": "d/s", "unit_of_measurement": "°C",
         "value_template": "{{ value_json.t }}", "device_class": "temperature"},
        {"~": "d/s", "name": "T", "stat_t": "~", "unit_of_meas": "°C",
         "val_tpl": "{{ value_json.t }}", "dev_cla": "temperature"},
    ),
    "binary_sensor": (
        {"name": "B", "state_topic": "d/b", "payload_on": "open", "availability_topic": "d/a"},
        {"~": "d", "name": "B", "stat_t": "~/b", "pl_on": "open", "avty_t": "~/a"},
    ),
    "button": (
        {"name": "P", "command_topic": "d/p", "payload_press": "GO"},
        {"~": "d/p", "name": "P", "cmd_t": "~", "pl_prs": "GO"},
    ),
    "scene": (
        {"name": "Sc", "command_topic": "d/sc", "payload_on": "RUN"},
        {"~": "d/sc", "name": "Sc", "cmd_t": "~", "pl_on": "RUN"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("component", sorted(FULL_AND_ABBREVIATED))
def test_full_and_abbreviated_configs_are_the_same_entity(component: str) -> None:
    full, abbreviated = FULL_AND_ABBREVIATED[component]
    a, b = parse(component, full), parse(component, abbreviated)
    assert a.entity == b.entity
    assert dict(a.config) == dict(b.config)
    assert a.availability == b.availability
    assert a.entity.domain == component


def test_every_component_is_covered() -> None:
    from assistant.devices.mqtt.discovery_schema import COMPONENTS

    assert set(FULL_AND_ABBREVIATED) == COMPONENTS
