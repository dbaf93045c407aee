"""Zigbee2MQTT without Home Assistant: `<base>/bridge/devices` -> entities.

Each device's ``definition.exposes`` is translated into the Home Assistant
discovery config Zigbee2MQTT itself would publish for it (a json-schema
light, a switch with a JSON command template, a cover with a position
template ...), and that config goes through the same ``parse_config`` as real
discovery.  So commands are JSON on ``<base>/<friendly_name>/set``
(``{"state":"ON","brightness":254}``, ``{"position":50}``,
``{"current_heating_setpoint":21}``) and state is read from
``<base>/<friendly_name>`` with one executor and one state interpreter.

Duplicates: when Zigbee2MQTT's own Home Assistant integration is on, the
same device also arrives by discovery with identifier
``zigbee2mqtt_<ieee_address>``; ``DeviceService`` then keeps the discovery
entities (they carry the user's HA-side names and areas) and drops these.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from assistant.devices.mqtt.discovery import Discovered, parse_config, slugify
from assistant.devices.mqtt.discovery_schema import InvalidConfig

log = logging.getLogger(__name__)

MAX_DEVICES_BYTES = 8 * 1024 * 1024

_SENSOR_CLASSES = {
    "temperature": "temperature", "humidity": "humidity", "pressure": "pressure",
    "illuminance": "illuminance", "illuminance_lux": "illuminance", "battery": "battery",
    "power": "power", "energy": "energy", "voltage": "voltage", "current": "current",
    "co2": "carbon_dioxide", "pm25": "pm25", "soil_moisture": "moisture",
}  # fmt: skip
_BINARY_CLASSES = {
    "contact": "door", "occupancy": "occupancy", "presence": "presence",
    "water_leak": "moisture", "smoke": "smoke", "vibration": "vibration", "tamper": "tamper",
    "battery_low": "battery", "gas": "gas", "carbon_monoxide": "carbon_monoxide",
}  # fmt: skip
_SKIP = {"linkquality", "update", "update_available", "identify", "effect", "power_on_behavior"}
_ACCESS_SET = 2


def _features(expose: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    result: dict[str, Mapping[str, Any]] = {}
    for feature in expose.get("features") or ():
        if isinstance(feature, Mapping) and isinstance(feature.get("name"), str):
            result[feature["name"]] = feature
    return result


def _get(prop: str) -> str:
    return "{{ value_json." + prop + " }}"


def _light(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any] | None:
    features = _features(expose)
    state = features.get("state")
    if state is None or state.get("property") != "state":
        return None  # multi-endpoint lights use state_<endpoint>: not the json schema
    modes: list[str] = []
    if "color_xy" in features:
        modes.append("xy")
    elif "color_hs" in features:
        modes.append("hs")
    if "color_temp" in features:
        modes.append("color_temp")
    if not modes:
        modes.append("brightness" if "brightness" in features else "onoff")
    config = {**base, "schema": "json", "supported_color_modes": modes}
    brightness = features.get("brightness")
    if brightness is not None:
        config["brightness"] = True
        config["brightness_scale"] = int(brightness.get("value_max", 254))
    return config


def _switch(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any] | None:
    state = _features(expose).get("state")
    if state is None:
        return None
    prop = str(state.get("property", "state"))
    return {
        **base,
        "command_template": '{"' + prop + '":"{{ value }}"}',
        "value_template": _get(prop),
        "payload_on": state.get("value_on", "ON"),
        "payload_off": state.get("value_off", "OFF"),
    }


def _cover(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any]:
    features = _features(expose)
    config = {
        **base,
        "payload_open": '{"state":"OPEN"}',
        "payload_close": '{"state":"CLOSE"}',
        "payload_stop": '{"state":"STOP"}',
        "value_template": _get("state"),
        "state_open": "OPEN",
        "state_closed": "CLOSE",
        "state_stopped": "STOP",
    }
    if "position" in features:
        config.update(
            set_position_topic=base["command_topic"],
            set_position_template='{"position":{{ position }}}',
            position_topic=base["state_topic"],
            position_template=_get("position"),
        )
    return config


def _lock(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any] | None:
    state = _features(expose).get("state")
    if state is None:
        return None
    prop = str(state.get("property", "state"))
    on, off = state.get("value_on", "LOCK"), state.get("value_off", "UNLOCK")
    return {
        **base,
        "command_template": '{"' + prop + '":"{{ value }}"}',
        "value_template": _get(prop),
        "payload_lock": on,
        "payload_unlock": off,
        "state_locked": on,
        "state_unlocked": off,
    }


def _climate(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any]:
    features = _features(expose)
    topic, state_topic = base.pop("command_topic"), base.pop("state_topic")
    config: dict[str, Any] = dict(base)
    setpoint = next(
        (
            features[n]
            for n in (
                "current_heating_setpoint",
                "occupied_heating_setpoint",
                "occupied_cooling_setpoint",
            )
            if n in features
        ),
        None,
    )
    if setpoint is not None:
        prop = str(setpoint.get("property", setpoint["name"]))
        config.update(
            temperature_command_topic=topic,
            temperature_command_template='{"' + prop + '":{{ value }}}',
            temperature_state_topic=state_topic,
            temperature_state_template=_get(prop),
            min_temp=setpoint.get("value_min", 5),
            max_temp=setpoint.get("value_max", 35),
        )
    if "local_temperature" in features:
        config.update(
            current_temperature_topic=state_topic,
            current_temperature_template=_get("local_temperature"),
        )
    mode = features.get("system_mode")
    if mode is not None:
        config.update(
            mode_command_topic=topic,
            mode_command_template='{"system_mode":"{{ value }}"}',
            mode_state_topic=state_topic,
            mode_state_template=_get("system_mode"),
            modes=list(mode.get("values") or ["off", "heat"]),
        )
    if "running_state" in features:
        config.update(action_topic=state_topic, action_template=_get("running_state"))
    return config


def _fan(base: dict[str, Any], expose: Mapping[str, Any]) -> dict[str, Any]:
    features = _features(expose)
    config = {
        **base,
        "command_template": '{"state":"{{ value }}"}',
        "state_value_template": _get("state"),
    }
    mode = features.get("mode")
    if mode is not None:
        prop = str(mode.get("property", "fan_mode"))
        config.update(
            preset_mode_command_topic=base["command_topic"],
            preset_mode_command_template='{"' + prop + '":"{{ value }}"}',
            preset_mode_state_topic=base["state_topic"],
            preset_mode_value_template=_get(prop),
            preset_modes=[str(v) for v in mode.get("values") or ()],
        )
    return config


_SPECIFIC = {"light": _light, "switch": _switch, "cover": _cover, "lock": _lock,
             "climate": _climate, "fan": _fan}  # fmt: skip


def _generic(base: dict[str, Any], expose: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    name, kind = expose.get("name"), expose.get("type")
    if not isinstance(name, str) or name in _SKIP:
        return None
    writable = int(expose.get("access", 1)) & _ACCESS_SET
    prop = str(expose.get("property", name))
    common = {k: v for k, v in base.items() if k != "command_topic"}
    common.update(
        name=name.replace("_", " ").capitalize(), object_id_suffix=prop, value_template=_get(prop)
    )
    if kind == "numeric" and not writable:
        unit = expose.get("unit")
        if unit:
            common["unit_of_measurement"] = unit
        if name in _SENSOR_CLASSES:
            common["device_class"] = _SENSOR_CLASSES[name]
        return "sensor", common
    if kind == "binary" and not writable:
        common.update(
            payload_on=expose.get("value_on", True), payload_off=expose.get("value_off", False)
        )
        if name in _BINARY_CLASSES:
            common["device_class"] = _BINARY_CLASSES[name]
        return "binary_sensor", common
    return None


def device_configs(
    base_topic: str, device: Mapping[str, Any]
) -> list[tuple[str, str, dict[str, Any]]]:
    """One Zigbee2MQTT device -> (key, component, HA-style config) per entity."""
    if device.get("type") == "Coordinator" or device.get("disabled"):
        return []
    if device.get("supported") is False or device.get("interview_completed") is False:
        return []
    friendly = device.get("friendly_name")
    ieee = device.get("ieee_address")
    definition = device.get("definition")
    if not isinstance(friendly, str) or not friendly or not isinstance(definition, Mapping):
        return []
    topic = f"{base_topic}/{friendly}"
    device_info = {
        "name": friendly.replace("/", " ").replace("_", " "),
        "identifiers": [f"zigbee2mqtt_{ieee}", str(ieee)],
        "model": definition.get("model"),
        "manufacturer": definition.get("vendor"),
    }
    base = {"command_topic": f"{topic}/set", "state_topic": topic, "device": device_info}
    slug = slugify(friendly)
    result: list[tuple[str, str, dict[str, Any]]] = []
    for expose in definition.get("exposes") or ():
        if not isinstance(expose, Mapping):
            continue
        kind = expose.get("type")
        build = _SPECIFIC.get(str(kind))
        if build is not None:
            config = build({**base, "name": None, "object_id": slug}, expose)
            endpoint = expose.get("endpoint")
            if config is not None and endpoint:
                config.update(name=str(endpoint), object_id=f"{slug}_{endpoint}")
            if config is not None:
                result.append((f"{ieee}/{kind}/{endpoint or ''}", str(kind), config))
            continue
        generic = _generic(dict(base), expose)
        if generic is not None:
            component, config = generic
            suffix = config.pop("object_id_suffix")
            config["object_id"] = f"{slug}_{slugify(suffix)}"
            result.append((f"{ieee}/{suffix}", component, config))
    return result


def parse_devices(
    base_topic: str, payload: bytes, reserved: tuple[str, ...] = ()
) -> list[Discovered]:
    """The `bridge/devices` payload -> entities; bad devices are skipped with one warning each."""
    if len(payload) > MAX_DEVICES_BYTES:
        raise InvalidConfig(f"bridge/devices is {len(payload)} bytes, over {MAX_DEVICES_BYTES}")
    try:
        devices = json.loads(payload) if payload.strip() else []
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidConfig(f"bridge/devices is not valid JSON ({exc})") from None
    if not isinstance(devices, list):
        raise InvalidConfig("bridge/devices is not a JSON list")
    found: list[Discovered] = []
    for device in devices:
        if not isinstance(device, Mapping):
            continue
        for key, component, config in device_configs(base_topic, device):
            try:
                found.append(
                    parse_config(
                        component,
                        config,
                        key=key,
                        object_id=str(config["object_id"]),
                        source="zigbee2mqtt",
                        reserved=reserved,
                    )
                )
            except InvalidConfig as exc:
                log.warning("zigbee2mqtt device %s: skipped: %s", device.get("friendly_name"), exc)
    return found


def ieee_of(d: Discovered) -> str | None:
    """The IEEE address of a Zigbee2MQTT entity (its key starts with it)."""
    return d.key.split("/", 1)[0] if d.entity.source == "zigbee2mqtt" else None
