"""What simulated devices publish: their state on the wire, and a line for the log (pure).

The reverse of ``behaviour``: an ``EntityState`` in Home Assistant's
vocabulary becomes the retained messages the device announced in its
discovery config (payloads, scales, JSON), as a real device reports them
after every command.
"""

from __future__ import annotations

import json
import math
from typing import Any

from assistant.devices.entities import EntityState
from assistant.simulate.configs import (
    base_topic,
    is_json_light,
    sensor_key,
    shared_state_topic,
)
from assistant.simulate.home import EntitySpec, Home


def state_messages(home: Home, spec: EntitySpec, current: EntityState) -> list[tuple[str, str]]:
    """The retained (topic, payload) messages that report `current` on the wire."""
    base = base_topic(home, spec)
    attrs = current.attributes
    on_off = "ON" if current.state == "on" else "OFF"
    kind = spec.kind
    if kind == "light":
        return _light_messages(spec, base, current)
    if kind in ("switch", "fan"):
        return _fan_messages(spec, base, current)
    if kind == "valve" and "position" in spec.features:
        body = {"state": current.state, "position": attrs.get("position", 0)}
        return [(f"{base}/state", json.dumps(body))]
    if kind in ("cover", "valve"):
        out = [(f"{base}/state", str(current.state))]
        if kind == "cover" and "position" in spec.features:
            out.append((f"{base}/position", str(attrs.get("position", 0))))
        return out
    if kind == "lock":
        return [(f"{base}/state", str(current.state).upper())]
    if kind == "climate":
        return [
            (f"{base}/mode", str(current.state)),
            (f"{base}/temperature", str(attrs.get("temperature"))),
            (f"{base}/current_temperature", str(attrs.get("current_temperature"))),
        ]
    if kind == "vacuum":
        body = {"state": current.state}
        if "fan_speed" in attrs:
            body["fan_speed"] = attrs["fan_speed"]
        return [(f"{base}/state", json.dumps(body))]
    if kind in ("sensor", "binary_sensor") and not spec.device:
        value = on_off if kind == "binary_sensor" else str(current.state)
        return [(f"{base}/state", value)]
    return []


def _light_messages(spec: EntitySpec, base: str, current: EntityState) -> list[tuple[str, str]]:
    attrs = current.attributes
    on_off = "ON" if current.state == "on" else "OFF"
    if is_json_light(spec):
        body: dict[str, Any] = {"state": on_off}
        if "brightness" in attrs:
            body["brightness"] = round(int(attrs["brightness"]) * spec.brightness_scale / 255)
        if "rgb_color" in attrs:
            r, g, b = attrs["rgb_color"]
            body["color"] = {"r": r, "g": g, "b": b}
        if "color_temp" in attrs:
            body["color_temp"] = attrs["color_temp"]
        if "color_mode" in attrs:
            body["color_mode"] = attrs["color_mode"]
        return [(f"{base}/state", json.dumps(body))]
    out = [(f"{base}/state", on_off)]
    if "brightness" in spec.features:
        scaled = round(int(attrs.get("brightness", 0)) * spec.brightness_scale / 255)
        out.append((f"{base}/brightness", str(scaled)))
    if "color" in spec.features and "rgb_color" in attrs:
        out.append((f"{base}/rgb", ",".join(str(v) for v in attrs["rgb_color"])))
    if "color_temp" in spec.features and "color_temp" in attrs:
        out.append((f"{base}/color_temp", str(attrs["color_temp"])))
    return out


def _fan_messages(spec: EntitySpec, base: str, current: EntityState) -> list[tuple[str, str]]:
    attrs = current.attributes
    out = [(f"{base}/state", "ON" if current.state == "on" else "OFF")]
    if spec.kind == "switch":
        return out
    if "percentage" in attrs:
        high = spec.speeds or 100
        out.append((f"{base}/percentage", str(math.ceil(attrs["percentage"] * high / 100))))
    if "preset_mode" in attrs:
        out.append((f"{base}/preset", str(attrs["preset_mode"])))
    if "oscillation" in spec.features:
        osc = "oscillate_on" if attrs.get("oscillating") else "oscillate_off"
        out.append((f"{base}/oscillation", osc))
    return out


def shared_sensor_messages(home: Home, states: dict[str, EntityState]) -> list[tuple[str, str]]:
    """One JSON message per device whose sensors share a state topic."""
    devices: dict[str, dict[str, Any]] = {}
    for spec in home.entities:
        if spec.kind not in ("sensor", "binary_sensor") or not spec.device:
            continue
        state = states[spec.entity_id].state
        value: Any = state
        if spec.kind == "binary_sensor":
            value = "ON" if state == "on" else "OFF"
        else:
            value = _number_or_text(state)
        devices.setdefault(spec.device, {})[sensor_key(spec)] = value
    return [(shared_state_topic(home, d), json.dumps(body)) for d, body in devices.items()]


def _number_or_text(value: str | None) -> Any:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return int(number) if number.is_integer() and "." not in value else number


def describe(spec: EntitySpec, current: EntityState) -> str:
    """One human line: 'kitchen ceiling: on, brightness 128'."""
    parts = [str(current.state)]
    attrs = current.attributes
    for key in ("brightness", "rgb_color", "color_temp", "position", "percentage"):
        if key in attrs and (spec.kind != "light" or current.state == "on"):
            value = attrs[key]
            if key == "rgb_color":
                value = "(" + ", ".join(str(v) for v in value) + ")"
            parts.append(f"{key.replace('_', ' ')} {value}")
    for key in ("temperature", "fan_speed", "preset_mode"):
        if key in attrs:
            parts.append(f"{key.replace('_', ' ')} {attrs[key]}")
    return f"{spec.friendly_name.lower()}: {', '.join(parts)}"
