"""Executor verbs -> the exact MQTT messages Home Assistant would publish.

Pure: ``build(discovered, action, params, state)`` returns the messages
(topic, payload, retain) for one call, following Home Assistant's MQTT
platforms: the default light schema publishes to separate topics
(brightness_command_topic, rgb_command_topic ...) around payload_on as
``on_command_type`` says; the json schema publishes one JSON object on
command_topic; covers and valves scale positions between position_closed
and position_open; command templates are rendered with ``value`` (and
``position``, ``red``/``green``/``blue`` where HA offers them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.devices.colors import kelvin_to_mired, resolve_color, rgb_to_hs, rgb_to_xy
from assistant.devices.entities import EntityState
from assistant.devices.mqtt import jinja as templates
from assistant.devices.mqtt.discovery import Discovered
from assistant.errors import UserError


@dataclass(frozen=True)
class Message:
    """One MQTT publication a command consists of."""

    topic: str
    payload: str
    retain: bool = False


class UnsupportedAction(UserError):
    """The entity cannot do what was asked; the message is one line."""


def _json(message: Mapping[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def percent_to_device_brightness(percent: float, scale: int) -> int:
    """HA: percent -> 0..255 -> round onto brightness_scale, never below 1."""
    b255 = round(max(0.0, min(100.0, percent)) * 255 / 100)
    device = min(round(b255 / 255 * scale), scale)
    return max(device, 1)


def percent_to_range(percent: float, low: float, high: float) -> int:
    """A 0-100 % position or speed onto a device range, as HA scales covers and fans."""
    return round(low + (high - low) * max(0.0, min(100.0, percent)) / 100)


def _kelvin(params: Mapping[str, Any]) -> int | None:
    kelvin = params.get("color_temp_kelvin")
    return None if kelvin is None else max(1000, min(20000, int(kelvin)))


class _Builder:
    def __init__(self, d: Discovered, state: EntityState) -> None:
        self.d = d
        self.c = d.config
        self.state = state
        self.retain = bool(self.c.get("retain", False))
        self.out: list[Message] = []

    def send(
        self, topic_key: str, payload: Any, template_key: str | None = None, **variables: Any
    ) -> None:
        topic = self.d.topic(topic_key)
        if topic is None:
            raise UnsupportedAction(f"{self.d.entity.entity_id} has no {topic_key}")
        if payload is None:  # a payload configured as null: that command does not exist
            raise UnsupportedAction(f"{self.d.entity.entity_id} has no payload for this")
        template = self.c.get(template_key) if template_key else None
        text = templates.render_command(template, payload, **variables)
        self.out.append(Message(topic, text, self.retain))

    def need(self, feature: str, action: str) -> None:
        if feature not in self.d.entity.features:
            raise UnsupportedAction(f"{self.d.entity.entity_id} cannot {action.replace('_', ' ')}")


def build(
    d: Discovered, action: str, params: Mapping[str, Any], state: EntityState
) -> list[Message]:
    """The messages for one executor call; UnsupportedAction / UserError for bad calls."""
    b = _Builder(d, state)
    handler = _HANDLERS.get(d.component)
    if handler is None or not handler(b, action, params):
        raise UnsupportedAction(f"{d.entity.entity_id} ({d.component}) does not support '{action}'")
    return b.out


def _is_on(state: EntityState) -> bool:
    return state.state in ("on", "open", "opening", "heat", "cool", "auto", "cleaning")


def _light(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    if action == "toggle":
        action = "turn_off" if _is_on(b.state) else "turn_on"
    if action == "set_brightness":
        if "brightness" not in params:
            raise UserError("set_brightness needs a brightness (0-100)")
        if float(params["brightness"]) <= 0:
            action = "turn_off"
        else:
            b.need("brightness", "dim")
            action = "turn_on"
    if action == "set_color":
        if resolve_color(params) is not None:
            b.need("color", "change colour")
        elif _kelvin(params) is not None:
            b.need("color_temp", "change colour temperature")
        else:
            raise UserError("set_color needs a color name, rgb or color_temp_kelvin")
        action = "turn_on"
    if action == "turn_off":
        if b.d.schema == "json":
            b.send("command_topic", _json({"state": "OFF"}))
        else:
            b.send("command_topic", b.c["payload_off"])
        return True
    if action != "turn_on":
        return False
    if b.d.schema == "json":
        _light_json_on(b, params)
    else:
        _light_default_on(b, params)
    return True


def _light_default_on(b: _Builder, params: Mapping[str, Any]) -> None:
    c = b.c
    mode = c.get("on_command_type", "last")
    if mode == "first":
        b.send("command_topic", c["payload_on"])
    rgb = resolve_color(params)
    if rgb is not None:
        if b.d.topic("rgb_command_topic"):
            r, g, bl = rgb
            b.send(
                "rgb_command_topic",
                f"{r},{g},{bl}",
                "rgb_command_template",
                red=r,
                green=g,
                blue=bl,
            )
        elif b.d.topic("hs_command_topic"):
            h, s = rgb_to_hs(rgb)
            b.send("hs_command_topic", f"{h},{s}", "hs_command_template", hue=h, sat=s)
        elif b.d.topic("xy_command_topic"):
            x, y = rgb_to_xy(rgb)
            b.send("xy_command_topic", f"{x},{y}", "xy_command_template", x=x, y=y)
        else:
            raise UnsupportedAction(f"{b.d.entity.entity_id} cannot change colour")
    brightness = params.get("brightness")
    if brightness is None and mode == "brightness" and rgb is None:
        brightness = 100
    if brightness is not None:
        if not b.d.topic("brightness_command_topic"):
            raise UnsupportedAction(f"{b.d.entity.entity_id} cannot dim")
        value = percent_to_device_brightness(float(brightness), int(c["brightness_scale"]))
        b.send("brightness_command_topic", value, "brightness_command_template")
    kelvin = _kelvin(params)
    if kelvin is not None:
        if not b.d.topic("color_temp_command_topic"):
            raise UnsupportedAction(f"{b.d.entity.entity_id} cannot change colour temperature")
        value = kelvin if c.get("color_temp_kelvin") else kelvin_to_mired(kelvin)
        b.send("color_temp_command_topic", value, "color_temp_command_template")
    if mode == "last":
        b.send("command_topic", c["payload_on"])


def _light_json_on(b: _Builder, params: Mapping[str, Any]) -> None:
    c = b.c
    message: dict[str, Any] = {"state": "ON"}
    rgb = resolve_color(params)
    if rgb is not None:
        modes = set(c.get("supported_color_modes") or ())
        if "rgb" in modes or c.get("rgb") or not modes & {"xy", "hs"}:
            message["color"] = {"r": rgb[0], "g": rgb[1], "b": rgb[2]}
        elif "xy" in modes:
            x, y = rgb_to_xy(rgb)
            message["color"] = {"x": x, "y": y}
        else:
            h, s = rgb_to_hs(rgb)
            message["color"] = {"h": h, "s": s}
    if params.get("brightness") is not None:
        b.need("brightness", "dim")
        message["brightness"] = percent_to_device_brightness(
            float(params["brightness"]), int(c["brightness_scale"])
        )
    kelvin = _kelvin(params)
    if kelvin is not None:
        b.need("color_temp", "change colour temperature")
        message["color_temp"] = kelvin if c.get("color_temp_kelvin") else kelvin_to_mired(kelvin)
    b.send("command_topic", _json(message))


def _switch(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    if action == "toggle":
        action = "turn_off" if _is_on(b.state) else "turn_on"
    if action not in ("turn_on", "turn_off"):
        return False
    payload = b.c["payload_on"] if action == "turn_on" else b.c["payload_off"]
    b.send("command_topic", payload, "command_template")
    return True


def _fan(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    c = b.c
    if action == "toggle":
        action = "turn_off" if _is_on(b.state) else "turn_on"
    percentage = params.get("percentage")
    if action == "set_fan_speed" and percentage is not None and float(percentage) <= 0:
        action = "turn_off"
    if action == "turn_off":
        b.send("command_topic", c["payload_off"], "command_template")
        return True
    if action == "turn_on":
        b.send("command_topic", c["payload_on"], "command_template")
    elif action != "set_fan_speed":
        return False
    if params.get("percentage") is not None:
        b.need("percentage", "change speed")
        low, high = int(c["speed_range_min"]), int(c["speed_range_max"])
        pct = max(0.0, min(100.0, float(params["percentage"])))
        value = math.ceil(low - 1 + (high - low + 1) * pct / 100)
        b.send("percentage_command_topic", value, "percentage_command_template")
    elif params.get("preset") is not None:
        b.need("preset", "change preset")
        preset = str(params["preset"])
        if preset not in (c.get("preset_modes") or ()):
            raise UserError(f"{b.d.entity.entity_id} has no preset {preset!r}")
        b.send("preset_mode_command_topic", preset, "preset_mode_command_template")
    elif action == "set_fan_speed":
        raise UserError("set_fan_speed needs a percentage or a preset")
    return True


def _cover(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    c = b.c
    if action in ("turn_on", "turn_off", "toggle"):
        on = action == "turn_on" or (action == "toggle" and not _is_on(b.state))
        action = "open" if on else "close"
    payloads = {"open": "payload_open", "close": "payload_close", "stop": "payload_stop"}
    if action in payloads:
        if c.get(payloads[action]) is None or not b.d.topic("command_topic"):
            raise UnsupportedAction(f"{b.d.entity.entity_id} cannot {action}")
        b.send("command_topic", c[payloads[action]])
        return True
    if action == "set_position":
        b.need("position", "set a position")
        pct = float(params.get("position", 0))
        value = percent_to_range(pct, c["position_closed"], c["position_open"])
        b.send(
            "set_position_topic",
            value,
            "set_position_template",
            position=value,
            position_open=c["position_open"],
            position_closed=c["position_closed"],
        )
        return True
    return False


def _valve(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    c = b.c
    if action in ("turn_on", "turn_off", "toggle"):
        on = action == "turn_on" or (action == "toggle" and not _is_on(b.state))
        action = "open" if on else "close"
    if c.get("reports_position") and action in ("open", "close"):
        action, params = "set_position", {"position": 100 if action == "open" else 0}
    if action in ("open", "close", "stop"):
        key = {"open": "payload_open", "close": "payload_close", "stop": "payload_stop"}[action]
        b.send("command_topic", c[key], "command_template")
        return True
    if action == "set_position":
        b.need("position", "set a position")
        value = percent_to_range(
            float(params.get("position", 0)), c["position_closed"], c["position_open"]
        )
        b.send("command_topic", value, "command_template")
        return True
    return False


def _lock(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    payload = {"lock": "payload_lock", "unlock": "payload_unlock", "open": "payload_open"}
    if action not in payload:
        return False
    if action == "open":
        b.need("open", "open")
    b.send("command_topic", b.c[payload[action]], "command_template")
    return True


def _climate(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    c = b.c
    modes = [str(m) for m in c.get("modes") or ()]
    if action == "set_temperature":
        if params.get("hvac_mode") is not None:
            _climate(b, "set_hvac_mode", {"hvac_mode": params["hvac_mode"]})
        if params.get("temperature") is None:
            raise UserError("set_temperature needs a temperature")
        b.need("target_temperature", "set a temperature")
        temp = float(params["temperature"])
        low, high = float(c["min_temp"]), float(c["max_temp"])
        if not low <= temp <= high:
            raise UserError(f"{b.d.entity.entity_id} takes {low:g} to {high:g} degrees")
        b.send("temperature_command_topic", _number_text(temp), "temperature_command_template")
        return True
    if action == "set_hvac_mode":
        mode = str(params.get("hvac_mode", ""))
        if mode not in modes:
            raise UserError(f"{b.d.entity.entity_id} has no mode {mode!r} ({', '.join(modes)})")
        b.send("mode_command_topic", mode, "mode_command_template")
        return True
    if action in ("turn_on", "turn_off"):
        if b.d.topic("power_command_topic"):
            payload = c["payload_on"] if action == "turn_on" else c["payload_off"]
            b.send("power_command_topic", payload, "power_command_template")
            return True
        if action == "turn_off":
            return _climate(b, "set_hvac_mode", {"hvac_mode": "off"})
        preferred = [m for m in ("heat", "heat_cool", "cool", "auto") if m in modes]
        if not preferred:
            raise UnsupportedAction(f"{b.d.entity.entity_id} cannot turn on")
        return _climate(b, "set_hvac_mode", {"hvac_mode": preferred[0]})
    return False


def _vacuum(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    verbs = {
        "start": "payload_start",
        "turn_on": "payload_start",
        "stop": "payload_stop",
        "turn_off": "payload_stop",
        "pause": "payload_pause",
        "return_to_base": "payload_return_to_base",
        "locate": "payload_locate",
        "clean_spot": "payload_clean_spot",
    }
    if action == "set_fan_speed":
        speed = str(params.get("preset", ""))
        if speed not in (b.c.get("fan_speed_list") or ()):
            raise UserError(f"{b.d.entity.entity_id} has no fan speed {speed!r}")
        b.send("set_fan_speed_topic", speed)
        return True
    if action not in verbs:
        return False
    b.send("command_topic", b.c[verbs[action]])
    return True


def _button(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    if action not in ("press", "turn_on"):
        return False
    b.send("command_topic", b.c["payload_press"], "command_template")
    return True


def _scene(b: _Builder, action: str, params: Mapping[str, Any]) -> bool:
    if action not in ("activate", "turn_on"):
        return False
    b.send("command_topic", b.c["payload_on"])
    return True


_HANDLERS = {
    "light": _light, "switch": _switch, "fan": _fan, "cover": _cover, "valve": _valve,
    "lock": _lock, "climate": _climate, "vacuum": _vacuum, "button": _button, "scene": _scene,
}  # fmt: skip
