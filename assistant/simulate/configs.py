"""Home Assistant MQTT discovery configs for a simulated home (pure functions).

Every config follows HA's documented MQTT schemas: discovery topic
``<prefix>/<component>/<node_id>/<object_id>/config``, a ``device`` block
with ``identifiers``, ``name`` and ``suggested_area``, availability, and the
payload defaults of each component.  A realistic mix is produced: some
configs use full keys, others the abbreviated keys and the ``~`` base topic
that Tasmota and ESPHome publish; colour lights use the ``json`` schema as
Zigbee2MQTT does, other lights the default schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.simulate.home import EntitySpec, Home, slugify

# Kinds published with abbreviated keys unless the entity says otherwise:
# the firmware-style devices (Tasmota plugs, ESPHome sensors and covers).
ABBREVIATED_KINDS = frozenset({"switch", "sensor", "binary_sensor", "cover", "valve", "button"})

# The subset of HA's ABBREVIATIONS (homeassistant/components/mqtt/abbreviations.py)
# that these configs use.
ABBREVIATIONS: dict[str, str] = {
    "availability": "avty",
    "availability_topic": "avty_t",
    "brightness_command_topic": "bri_cmd_t",
    "brightness_scale": "bri_scl",
    "brightness_state_topic": "bri_stat_t",
    "color_temp_command_topic": "clr_temp_cmd_t",
    "color_temp_state_topic": "clr_temp_stat_t",
    "command_topic": "cmd_t",
    "current_temperature_topic": "curr_temp_t",
    "default_entity_id": "def_ent_id",
    "device": "dev",
    "device_class": "dev_cla",
    "fan_speed_list": "fanspd_lst",
    "max_temp": "max_temp",
    "min_temp": "min_temp",
    "mode_command_topic": "mode_cmd_t",
    "mode_state_topic": "mode_stat_t",
    "oscillation_command_topic": "osc_cmd_t",
    "oscillation_state_topic": "osc_stat_t",
    "payload_available": "pl_avail",
    "payload_close": "pl_cls",
    "payload_lock": "pl_lock",
    "payload_not_available": "pl_not_avail",
    "payload_off": "pl_off",
    "payload_on": "pl_on",
    "payload_open": "pl_open",
    "payload_press": "pl_prs",
    "payload_stop": "pl_stop",
    "payload_unlock": "pl_unlk",
    "percentage_command_topic": "pct_cmd_t",
    "percentage_state_topic": "pct_stat_t",
    "position_closed": "pos_clsd",
    "position_open": "pos_open",
    "position_topic": "pos_t",
    "preset_mode_command_topic": "pr_mode_cmd_t",
    "preset_mode_state_topic": "pr_mode_stat_t",
    "preset_modes": "pr_modes",
    "rgb_command_topic": "rgb_cmd_t",
    "rgb_state_topic": "rgb_stat_t",
    "set_fan_speed_topic": "set_fan_spd_t",
    "set_position_topic": "set_pos_t",
    "speed_range_max": "spd_rng_max",
    "speed_range_min": "spd_rng_min",
    "state_class": "stat_cla",
    "state_closed": "stat_clsd",
    "state_locked": "stat_locked",
    "state_off": "stat_off",
    "state_on": "stat_on",
    "state_open": "stat_open",
    "state_topic": "stat_t",
    "state_unlocked": "stat_unlocked",
    "supported_color_modes": "sup_clrm",
    "supported_features": "sup_feat",
    "temperature_command_topic": "temp_cmd_t",
    "temperature_state_topic": "temp_stat_t",
    "temperature_unit": "temp_unit",
    "unique_id": "uniq_id",
    "unit_of_measurement": "unit_of_meas",
    "value_template": "val_tpl",
}
DEVICE_ABBREVIATIONS = {
    "identifiers": "ids",
    "manufacturer": "mf",
    "model": "mdl",
    "name": "name",
    "suggested_area": "sa",
    "sw_version": "sw",
}


@dataclass(frozen=True)
class Announcement:
    """One entity's discovery config and the topics the fleet serves for it."""

    entity_id: str
    topic: str  # the discovery config topic
    config: dict[str, Any]  # as published (possibly abbreviated)
    commands: dict[str, str]  # command topic -> role ("set", "brightness/set", ...)
    base: str  # the entity's own topic root


def base_topic(home: Home, spec: EntitySpec) -> str:
    """Where an entity's command and state topics live."""
    return f"{home.topic_root}/{spec.kind}/{spec.object_id}"


def availability_topic(home: Home) -> str:
    """The fleet-wide online/offline topic (its last will is 'offline')."""
    return f"{home.topic_root}/bridge/state"


def shared_state_topic(home: Home, device: str) -> str:
    """Sensors of one device share a JSON state topic (Zigbee2MQTT style)."""
    return f"{home.topic_root}/device/{slugify(device)}"


def sensor_key(spec: EntitySpec) -> str:
    """The JSON key of a sensor in its device's shared state."""
    return spec.device_class or spec.object_id


def is_json_light(spec: EntitySpec) -> bool:
    """Colour lights speak the json schema unless told otherwise."""
    if spec.kind != "light":
        return False
    if spec.light_schema is not None:
        return spec.light_schema == "json"
    return "color" in spec.features


def is_abbreviated(spec: EntitySpec) -> bool:
    """Whether this entity's config uses abbreviated keys and '~'."""
    return spec.abbreviated if spec.abbreviated is not None else spec.kind in ABBREVIATED_KINDS


def node_id(home: Home) -> str:
    """The node id part of discovery topics."""
    return slugify(home.topic_root)


def announce(home: Home, spec: EntitySpec, prefix: str) -> Announcement:
    """The discovery config of one entity, with its command topics."""
    base = base_topic(home, spec)
    config: dict[str, Any] = {
        "name": spec.name if spec.device else None,
        "unique_id": f"{node_id(home)}_{spec.kind}_{spec.object_id}",
        "default_entity_id": spec.entity_id,
    }
    if spec.device_class:
        config["device_class"] = spec.device_class
    device: dict[str, Any] = {
        "identifiers": [f"{node_id(home)}_{slugify(spec.device or spec.entity_id)}"],
        "name": spec.device or spec.name,
        "manufacturer": "assistant",
        "model": f"simulated {spec.kind}",
    }
    if spec.area:
        device["suggested_area"] = spec.area
    config["device"] = device
    commands: dict[str, str] = {}

    def command(key: str, role: str) -> None:
        topic = f"{base}/{role}"
        config[key] = topic
        commands[topic] = role

    _COMPONENTS[spec.kind](home, spec, base, config, command)
    if is_json_light(spec):
        config["availability"] = [{"topic": availability_topic(home)}]
    else:
        config["availability_topic"] = availability_topic(home)
    if is_abbreviated(spec):
        config = abbreviate(config, base)
    topic = f"{prefix}/{spec.kind}/{node_id(home)}/{spec.object_id}/config"
    return Announcement(spec.entity_id, topic, config, commands, base)


def abbreviate(config: dict[str, Any], base: str) -> dict[str, Any]:
    """Abbreviate keys as HA documents and move `base` into the '~' key."""
    out: dict[str, Any] = {"~": base}
    for key, value in config.items():
        short = ABBREVIATIONS.get(key, key)
        if key == "device":
            out[short] = {DEVICE_ABBREVIATIONS.get(k, k): v for k, v in value.items()}
        elif key == "availability":
            out[short] = [{"t": _tilde(item["topic"], base)} for item in value]
        elif key.endswith("_topic") and isinstance(value, str):
            out[short] = _tilde(value, base)
        else:
            out[short] = value
    return out


def _tilde(topic: str, base: str) -> str:
    return "~" + topic[len(base) :] if topic.startswith(base + "/") else topic


# --- one builder per component ------------------------------------------------------


def _light(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    if is_json_light(spec):
        config["schema"] = "json"
        modes = [
            m for m, f in (("rgb", "color"), ("color_temp", "color_temp")) if f in spec.features
        ]
        if not modes and "brightness" in spec.features:
            modes = ["brightness"]
        config["supported_color_modes"] = modes or ["onoff"]
        if "brightness" in spec.features or modes != ["onoff"]:
            config["brightness"] = True
        if spec.brightness_scale != 255:
            config["brightness_scale"] = spec.brightness_scale
        return
    config["payload_on"] = "ON"
    config["payload_off"] = "OFF"
    if "brightness" in spec.features:
        command("brightness_command_topic", "brightness/set")
        config["brightness_state_topic"] = f"{base}/brightness"
        if spec.brightness_scale != 255:
            config["brightness_scale"] = spec.brightness_scale
    if "color" in spec.features:
        command("rgb_command_topic", "rgb/set")
        config["rgb_state_topic"] = f"{base}/rgb"
    if "color_temp" in spec.features:
        command("color_temp_command_topic", "color_temp/set")
        config["color_temp_state_topic"] = f"{base}/color_temp"


def _switch(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    config["payload_on"] = "ON"
    config["payload_off"] = "OFF"


def _fan(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    _switch(home, spec, base, config, command)
    if "percentage" in spec.features or spec.speeds:
        command("percentage_command_topic", "percentage/set")
        config["percentage_state_topic"] = f"{base}/percentage"
        if spec.speeds:
            config["speed_range_min"] = 1
            config["speed_range_max"] = spec.speeds
    if spec.preset_modes:
        command("preset_mode_command_topic", "preset/set")
        config["preset_mode_state_topic"] = f"{base}/preset"
        config["preset_modes"] = list(spec.preset_modes)
    if "oscillation" in spec.features:
        command("oscillation_command_topic", "oscillation/set")
        config["oscillation_state_topic"] = f"{base}/oscillation"


def _cover(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    config["payload_open"] = "OPEN"
    config["payload_close"] = "CLOSE"
    config["payload_stop"] = "STOP"
    config["state_open"] = "open"
    config["state_closed"] = "closed"
    if "position" in spec.features:
        config["position_topic"] = f"{base}/position"
        command("set_position_topic", "position/set")
        config["position_open"] = 100
        config["position_closed"] = 0


def _lock(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    config["payload_lock"] = "LOCK"
    config["payload_unlock"] = "UNLOCK"
    config["state_locked"] = "LOCKED"
    config["state_unlocked"] = "UNLOCKED"


def _valve(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    if "position" in spec.features:
        # HA: with reports_position the command payload is the position itself.
        config["reports_position"] = True
        return
    config["payload_open"] = "OPEN"
    config["payload_close"] = "CLOSE"
    if "stop" in spec.features:
        config["payload_stop"] = "STOP"
    config["state_open"] = "open"
    config["state_closed"] = "closed"


def _climate(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("mode_command_topic", "mode/set")
    config["mode_state_topic"] = f"{base}/mode"
    config["modes"] = list(spec.hvac_modes)
    command("temperature_command_topic", "temperature/set")
    config["temperature_state_topic"] = f"{base}/temperature"
    config["current_temperature_topic"] = f"{base}/current_temperature"
    config["min_temp"] = spec.min_temp
    config["max_temp"] = spec.max_temp
    config["temp_step"] = spec.temp_step
    config["temperature_unit"] = "C"


def _vacuum(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["state_topic"] = f"{base}/state"
    features = ["start", "stop", "pause", "return_home", "locate", "clean_spot"]
    if "fan_speed" in spec.features:
        features.append("fan_speed")
        command("set_fan_speed_topic", "fan_speed/set")
        config["fan_speed_list"] = list(spec.fan_speeds)
    config["supported_features"] = features


def _sensor(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    if spec.device:
        config["state_topic"] = shared_state_topic(home, spec.device)
        config["value_template"] = "{{ value_json.%s }}" % sensor_key(spec)  # noqa: UP031
    else:
        config["state_topic"] = f"{base}/state"
    if spec.kind == "sensor":
        if spec.unit:
            config["unit_of_measurement"] = spec.unit
        # HA rejects `measurement` for totals (energy, gas, water, monetary...).
        if spec.device_class in _MEASUREMENT_CLASSES:
            config["state_class"] = "measurement"
    else:
        config["payload_on"] = "ON"
        config["payload_off"] = "OFF"


_MEASUREMENT_CLASSES = frozenset(
    {
        None, "temperature", "humidity", "illuminance", "pressure", "atmospheric_pressure",
        "power", "voltage", "current", "carbon_dioxide", "carbon_monoxide", "pm1", "pm25",
        "pm10", "battery", "signal_strength", "moisture", "aqi", "frequency", "speed",
        "wind_speed", "sound_pressure",
    }
)  # fmt: skip


def _button(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["payload_press"] = "PRESS"


def _scene(home: Home, spec: EntitySpec, base: str, config: dict[str, Any], command: Any) -> None:
    command("command_topic", "set")
    config["payload_on"] = "ON"


_COMPONENTS = {
    "light": _light,
    "switch": _switch,
    "fan": _fan,
    "cover": _cover,
    "lock": _lock,
    "valve": _valve,
    "climate": _climate,
    "vacuum": _vacuum,
    "sensor": _sensor,
    "binary_sensor": _sensor,
    "button": _button,
    "scene": _scene,
}
