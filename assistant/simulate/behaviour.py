"""How simulated devices react to commands (pure functions).

State is kept in Home Assistant's vocabulary (``on``/``off``, ``open``,
``locked``, hvac modes, brightness 0-255, ...) as an ``EntityState``; the
wire format of each component (payloads, scales, JSON) is applied only when
reading a command (here) and when rendering state messages (``reports``),
exactly as the device announced it in its discovery config.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from assistant.devices.entities import EntityState
from assistant.simulate.configs import is_json_light
from assistant.simulate.home import EntitySpec

MIN_MIREDS, MAX_MIREDS = 153, 500


class BadCommand(ValueError):
    """A command payload the device does not understand."""


_DEFAULT_STATE = {
    "light": "off",
    "switch": "off",
    "fan": "off",
    "cover": "closed",
    "lock": "locked",
    "valve": "closed",
    "vacuum": "docked",
    "sensor": "0",
    "binary_sensor": "off",
}


def initial_state(spec: EntitySpec) -> EntityState:
    """The state a device starts in: the YAML's, else a quiet default."""
    attributes = dict(spec.attributes)
    state = spec.state
    if spec.kind == "climate":
        state = state or spec.hvac_modes[0]
        attributes.setdefault("temperature", 20.0)
        attributes.setdefault("current_temperature", 20.0)
    elif spec.kind in ("cover", "valve") and "position" in spec.features:
        if "position" in attributes:
            attributes["position"] = int(float(attributes["position"]))
        else:
            attributes["position"] = 100 if state == "open" else 0
        state = state or ("open" if attributes["position"] > 0 else "closed")
    elif spec.kind == "light" and "brightness" in spec.features:
        attributes.setdefault("brightness", 255 if state == "on" else 0)
    elif spec.kind == "fan" and ("percentage" in spec.features or spec.speeds):
        attributes.setdefault("percentage", 100 if state == "on" else 0)
    elif spec.kind == "vacuum" and "fan_speed" in spec.features:
        attributes.setdefault("fan_speed", spec.fan_speeds[0])
    if state is None:
        state = _DEFAULT_STATE.get(spec.kind)
    return EntityState(state=state, attributes=attributes)


def _int(payload: str, low: int, high: int) -> int:
    try:
        value = round(float(payload))
    except ValueError:
        raise BadCommand(f"not a number: {payload!r}") from None
    if not low <= value <= high:
        raise BadCommand(f"{value} is outside {low}-{high}")
    return value


def _choice(payload: str, options: dict[str, str]) -> str:
    if payload not in options:
        raise BadCommand(f"expected one of {', '.join(options)}, got {payload!r}")
    return options[payload]


CommandBehaviour = Callable[[EntitySpec, str | None, dict[str, Any], str, str], str | None]


def apply_command(spec: EntitySpec, current: EntityState, role: str, payload: str) -> EntityState:
    """The state after `payload` arrives on the command topic `role`; BadCommand if invalid."""
    if spec.kind == "light" and is_json_light(spec):
        return _json_light(spec, current, payload)
    handler = _HANDLERS.get(spec.kind)
    if handler is None:
        raise BadCommand(f"{spec.entity_id} takes no command on {role!r}")
    attrs: dict[str, Any] = dict(current.attributes)
    state = handler(spec, current.state, attrs, role, payload)
    return EntityState(state=state, attributes=attrs, available=current.available)


def _light(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if role == "set":
        state = _choice(payload, {"ON": "on", "OFF": "off"})
        if state == "on" and attrs.get("brightness") == 0:
            attrs["brightness"] = 255
    elif role == "brightness/set":
        raw = _int(payload, 0, spec.brightness_scale)
        attrs["brightness"] = round(raw * 255 / spec.brightness_scale)
        state = "on" if raw > 0 else "off"
    elif role == "rgb/set":
        attrs["rgb_color"] = _rgb(payload.split(","))
        attrs["color_mode"] = "rgb"
        state = "on"
    elif role == "color_temp/set":
        attrs["color_temp"] = _int(payload, MIN_MIREDS, MAX_MIREDS)
        attrs["color_mode"] = "color_temp"
        state = "on"
    return state


def _switch(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    return _choice(payload, {"ON": "on", "OFF": "off"})


def _fan(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if role == "set":
        state = _choice(payload, {"ON": "on", "OFF": "off"})
        if state == "on" and attrs.get("percentage") == 0:
            attrs["percentage"] = 100
    elif role == "percentage/set":
        high = spec.speeds or 100
        value = _int(payload, 0, high)
        # HA's ranged_value_to_percentage for a speed range 1..high.
        attrs["percentage"] = math.floor(value * 100 / high)
        state = "on" if value > 0 else "off"
    elif role == "preset/set":
        attrs["preset_mode"] = _choice(payload, {p: p for p in spec.preset_modes})
        state = "on"
    elif role == "oscillation/set":
        osc = _choice(payload, {"oscillate_on": "on", "oscillate_off": "off"})
        attrs["oscillating"] = osc == "on"
    return state


def _cover(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if role == "position/set":
        attrs["position"] = _int(payload, 0, 100)
        return "open" if attrs["position"] > 0 else "closed"
    verb = _choice(payload, {"OPEN": "open", "CLOSE": "closed", "STOP": "stop"})
    if verb == "stop":  # a simulated cover arrives at once, so STOP changes nothing
        return state
    if "position" in spec.features:
        attrs["position"] = 100 if verb == "open" else 0
    return verb


def _lock(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    verb = _choice(payload, {"LOCK": "locked", "UNLOCK": "unlocked", "OPEN": "open"})
    return "unlocked" if verb == "open" else verb  # a latch springs back after opening


def _valve(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if "position" in spec.features:  # reports_position: the payload is the position
        attrs["position"] = _int(payload, 0, 100)
        return "open" if attrs["position"] > 0 else "closed"
    options = {"OPEN": "open", "CLOSE": "closed"}
    if "stop" in spec.features:
        options["STOP"] = "stop"
    verb = _choice(payload, options)
    return state if verb == "stop" else verb


def _climate(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if role == "mode/set":
        return _choice(payload, {m: m for m in spec.hvac_modes})
    try:
        value = float(payload)
    except ValueError:
        raise BadCommand(f"not a temperature: {payload!r}") from None
    if not spec.min_temp <= value <= spec.max_temp:
        raise BadCommand(f"{value} is outside {spec.min_temp}-{spec.max_temp}")
    attrs["temperature"] = value
    return state


def _vacuum(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    if role == "fan_speed/set":
        attrs["fan_speed"] = _choice(payload, {s: s for s in spec.fan_speeds})
        return state
    verbs = {
        "start": "cleaning",
        "pause": "paused",
        "stop": "idle",
        "return_to_base": "returning",
        "clean_spot": "cleaning",
        "locate": state or "idle",
    }
    return _choice(payload, verbs)


def _button(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    _choice(payload, {"PRESS": "press"})
    attrs["presses"] = int(attrs.get("presses", 0)) + 1
    return datetime.now(UTC).isoformat(timespec="seconds")  # HA: a button's state is its last press


def _scene(
    spec: EntitySpec, state: str | None, attrs: dict[str, Any], role: str, payload: str
) -> str | None:
    _choice(payload, {"ON": "on"})
    return datetime.now(UTC).isoformat(timespec="seconds")


_HANDLERS: dict[str, CommandBehaviour] = {
    "light": _light,
    "switch": _switch,
    "fan": _fan,
    "cover": _cover,
    "lock": _lock,
    "valve": _valve,
    "climate": _climate,
    "vacuum": _vacuum,
    "button": _button,
    "scene": _scene,
}


def _rgb(parts: Any) -> list[int]:
    try:
        values = [int(p) for p in parts]
    except (TypeError, ValueError):
        raise BadCommand(f"not an r,g,b colour: {parts!r}") from None
    if len(values) != 3 or not all(0 <= v <= 255 for v in values):
        raise BadCommand(f"not an r,g,b colour: {parts!r}")
    return values


def _json_light(spec: EntitySpec, current: EntityState, payload: str) -> EntityState:
    try:
        command = json.loads(payload)
    except json.JSONDecodeError:
        raise BadCommand(f"not JSON: {payload[:60]!r}") from None
    if not isinstance(command, dict):
        raise BadCommand("a json light command must be an object")
    attrs: dict[str, Any] = dict(current.attributes)
    state = current.state
    if "state" in command:
        state = _choice(str(command["state"]), {"ON": "on", "OFF": "off"})
    if "brightness" in command:
        raw = _int(str(command["brightness"]), 0, spec.brightness_scale)
        attrs["brightness"] = round(raw * 255 / spec.brightness_scale)
        if "state" not in command:
            state = "on" if raw > 0 else "off"
    if "color" in command:
        color = command["color"]
        if not isinstance(color, dict):
            raise BadCommand("'color' must be an object")
        attrs["rgb_color"] = _rgb([color.get("r"), color.get("g"), color.get("b")])
        attrs["color_mode"] = "rgb"
    if "color_temp" in command:
        attrs["color_temp"] = _int(str(command["color_temp"]), MIN_MIREDS, MAX_MIREDS)
        attrs["color_mode"] = "color_temp"
    if not {"state", "brightness", "color", "color_temp"} & command.keys():
        raise BadCommand(f"nothing to do in {payload[:60]!r}")
    if state == "on" and attrs.get("brightness") == 0:
        attrs["brightness"] = 255
    return EntityState(state=state, attributes=attrs, available=current.available)
