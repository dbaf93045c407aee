"""State messages -> entity state, per component, as Home Assistant reads them.

Pure functions: ``interpret(discovered, topic, payload)`` returns the state
and attributes carried by one message on one of the entity's topics (a
topic can serve several roles, e.g. a JSON state topic that also carries the
position); ``availability_update`` does the same for availability topics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assistant.devices.mqtt import jinja as templates
from assistant.devices.mqtt.discovery import Discovered

# Topic roles a component listens to, besides availability.
STATE_TOPICS: dict[str, tuple[str, ...]] = {
    "light": (
        "state_topic", "brightness_state_topic", "rgb_state_topic", "color_temp_state_topic",
        "hs_state_topic", "xy_state_topic", "color_mode_state_topic",
    ),
    "switch": ("state_topic",),
    "binary_sensor": ("state_topic",),
    "sensor": ("state_topic",),
    "fan": ("state_topic", "percentage_state_topic", "preset_mode_state_topic"),
    "cover": ("state_topic", "position_topic"),
    "lock": ("state_topic",),
    "valve": ("state_topic",),
    "climate": (
        "current_temperature_topic", "temperature_state_topic", "mode_state_topic",
        "action_topic", "power_state_topic",
    ),
    "vacuum": ("state_topic",),
    "button": (),
    "scene": (),
}  # fmt: skip

_VALUE_TEMPLATE = {
    "state_topic": "state_value_template",
    "brightness_state_topic": "brightness_value_template",
    "rgb_state_topic": "rgb_value_template",
    "color_temp_state_topic": "color_temp_value_template",
    "hs_state_topic": "hs_value_template",
    "xy_state_topic": "xy_value_template",
    "color_mode_state_topic": "color_mode_value_template",
    "percentage_state_topic": "percentage_value_template",
    "preset_mode_state_topic": "preset_mode_value_template",
    "position_topic": "position_template",
    "current_temperature_topic": "current_temperature_template",
    "temperature_state_topic": "temperature_state_template",
    "mode_state_topic": "mode_state_template",
    "action_topic": "action_template",
    "power_state_topic": "power_state_template",
}


@dataclass(frozen=True)
class StateUpdate:
    """What one message says about an entity; None fields say nothing."""

    state: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, other: StateUpdate) -> StateUpdate:
        """This update followed by `other`."""
        return StateUpdate(
            other.state if other.state is not None else self.state,
            {**self.attributes, **other.attributes},
        )


def topics_of(d: Discovered) -> dict[str, list[str]]:
    """Topic -> the roles it plays for this entity (state roles only)."""
    roles: dict[str, list[str]] = {}
    for role in STATE_TOPICS.get(d.component, ()):
        topic = d.topic(role)
        if topic:
            roles.setdefault(topic, []).append(role)
    return roles


def _template_for(d: Discovered, role: str) -> str | None:
    config = d.config
    if role == "state_topic":
        if d.component in ("light", "fan"):
            return config.get("state_value_template")
        return config.get("value_template")
    name = _VALUE_TEMPLATE.get(role)
    return config.get(name) if name else None


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def interpret(d: Discovered, topic: str, payload: str) -> StateUpdate:
    """The state update one message brings; raises TemplateFailed on a broken template."""
    update = StateUpdate()
    for role in topics_of(d).get(topic, ()):
        if d.component == "light" and d.schema == "json" and role == "state_topic":
            update = update.merged(_light_json(d, payload))
            continue
        if d.component == "vacuum":
            update = update.merged(_vacuum(payload))
            continue
        value = templates.render_value(_template_for(d, role), payload)
        update = update.merged(_role(d, role, value))
    return update


def _on_off(value: str, on: Any, off: Any) -> str | None:
    if value == str(on):
        return "on"
    if value == str(off):
        return "off"
    return None


def _role(d: Discovered, role: str, value: str) -> StateUpdate:
    c = d.config
    comp = d.component
    if value == "" or (value == "None" and role != "state_topic"):
        return StateUpdate()  # the message does not speak about this role
    if role == "state_topic":
        if comp in ("switch", "light", "fan"):
            on = c.get("state_on", c.get("payload_on"))
            off = c.get("state_off", c.get("payload_off"))
            return StateUpdate(_on_off(value, on, off) or ("unknown" if value == "None" else None))
        if comp == "binary_sensor":
            return StateUpdate(_on_off(value, c["payload_on"], c["payload_off"]))
        if comp == "sensor":
            return StateUpdate(
                value,
                {"unit_of_measurement": c["unit_of_measurement"]}
                if c.get("unit_of_measurement")
                else {},
            )
        if comp == "lock":
            return _lookup(
                value,
                c,
                ("locked", "unlocked", "locking", "unlocking", "jammed", "open", "opening"),
            )
        if comp == "cover":
            update = _lookup(value, c, ("open", "opening", "closed", "closing", "stopped"))
            return StateUpdate("open") if update.state == "stopped" else update
        if comp == "valve":
            return _valve(d, value)
    if role == "brightness_state_topic":
        number = _number(value)
        if number is None:
            return StateUpdate()
        return brightness_update(number, int(c.get("brightness_scale", 255)))
    if role == "rgb_state_topic":
        parts = [p.strip() for p in value.split(",")]
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return StateUpdate(attributes={"rgb_color": tuple(int(p) for p in parts)})
        return StateUpdate()
    if role == "color_temp_state_topic":
        return _color_temp(value, bool(c.get("color_temp_kelvin")))
    if role == "percentage_state_topic":
        number = _number(value)
        if number is None:
            return StateUpdate()
        low, high = int(c["speed_range_min"]), int(c["speed_range_max"])
        # HA's ranged_value_to_percentage: floor division over the range.
        pct = 0 if number <= 0 else int((number - (low - 1)) * 100 // (high - low + 1))
        return StateUpdate(attributes={"percentage": max(0, min(100, pct))})
    if role == "preset_mode_state_topic":
        return StateUpdate(attributes={"preset_mode": value})
    if role == "position_topic":
        number = _number(value)
        if number is None:
            return StateUpdate()
        pos = _to_percent(number, c.get("position_closed", 0), c.get("position_open", 100))
        update = StateUpdate(attributes={"current_position": pos})
        if not d.topic("state_topic"):
            update = StateUpdate("closed" if pos == 0 else "open", update.attributes)
        return update
    if role in ("current_temperature_topic", "temperature_state_topic"):
        number = _number(value)
        name = "current_temperature" if role.startswith("current") else "temperature"
        return StateUpdate(attributes={name: number}) if number is not None else StateUpdate()
    if role == "mode_state_topic":
        return StateUpdate(value) if value in c.get("modes", ()) else StateUpdate()
    if role == "action_topic":
        return StateUpdate(attributes={"hvac_action": value})
    if role == "power_state_topic":
        return StateUpdate(attributes={"power": _on_off(value, c["payload_on"], c["payload_off"])})
    return StateUpdate()


def _lookup(value: str, c: Mapping[str, Any], states: tuple[str, ...]) -> StateUpdate:
    for name in states:
        if value == str(c.get(f"state_{name}")):
            return StateUpdate(name)
    return StateUpdate()


def _to_percent(value: float, closed: Any, opened: Any) -> int:
    low, high = float(closed), float(opened)
    if high == low:
        return 0
    pct = (value - low) * 100 / (high - low)
    return max(0, min(100, round(pct)))


def brightness_update(device_value: float, scale: int) -> StateUpdate:
    """A device brightness on its own scale -> brightness (0-255) and brightness_pct."""
    b255 = max(0, min(255, round(device_value / scale * 255)))
    return StateUpdate(attributes={"brightness": b255, "brightness_pct": round(b255 / 2.55)})


def _color_temp(value: str, kelvin: bool) -> StateUpdate:
    number = _number(value)
    if not number:
        return StateUpdate()
    # HA's color_temperature_mired_to_kelvin and back: floor(1e6 / x).
    k = int(number) if kelvin else math.floor(1_000_000 / number)
    return StateUpdate(attributes={"color_temp_kelvin": k, "color_temp": math.floor(1e6 / k)})


def _valve(d: Discovered, value: str) -> StateUpdate:
    c = d.config
    if c.get("reports_position"):
        position: float | None = None
        state_text: str | None = None
        try:
            data = json.loads(value)
        except ValueError:
            data = value
        if isinstance(data, dict):
            state_text = str(data["state"]) if "state" in data else None
            position = _number(str(data.get("position", "")))
        elif isinstance(data, int | float) and not isinstance(data, bool):
            position = float(data)
        else:
            state_text = value
        update = (
            _lookup(state_text, c, ("open", "opening", "closed", "closing"))
            if (state_text is not None)
            else StateUpdate()
        )
        if position is not None:
            pct = _to_percent(position, c["position_closed"], c["position_open"])
            update = update.merged(
                StateUpdate(
                    update.state or ("closed" if pct == 0 else "open"), {"current_position": pct}
                )
            )
        return update
    return _lookup(value, c, ("open", "opening", "closed", "closing"))


def _light_json(d: Discovered, payload: str) -> StateUpdate:
    try:
        data = json.loads(payload)
    except ValueError:
        return StateUpdate()
    if not isinstance(data, dict):
        return StateUpdate()
    state = {"ON": "on", "OFF": "off"}.get(str(data.get("state")))
    update = StateUpdate(state)
    brightness = data.get("brightness")
    if isinstance(brightness, int | float) and not isinstance(brightness, bool):
        scale = int(d.config.get("brightness_scale", 255))
        update = update.merged(brightness_update(brightness, scale))
    color = data.get("color")
    if isinstance(color, dict):
        if all(k in color for k in "rgb"):
            update = update.merged(
                StateUpdate(attributes={"rgb_color": tuple(int(color[k]) for k in "rgb")})
            )
        elif "x" in color and "y" in color:
            update = update.merged(StateUpdate(attributes={"xy_color": (color["x"], color["y"])}))
        elif "h" in color and "s" in color:
            update = update.merged(StateUpdate(attributes={"hs_color": (color["h"], color["s"])}))
    if data.get("color_temp") is not None:
        update = update.merged(
            _color_temp(str(data["color_temp"]), bool(d.config.get("color_temp_kelvin")))
        )
    if isinstance(data.get("color_mode"), str):
        update = update.merged(StateUpdate(attributes={"color_mode": data["color_mode"]}))
    return update


def _vacuum(payload: str) -> StateUpdate:
    try:
        data = json.loads(payload)
    except ValueError:
        return StateUpdate()
    if not isinstance(data, dict):
        return StateUpdate()
    attributes = {k: data[k] for k in ("battery_level", "fan_speed") if k in data}
    state = data.get("state")
    return StateUpdate(str(state) if isinstance(state, str) else None, attributes)


def availability_update(d: Discovered, topic: str, payload: str) -> bool | None:
    """True/False if the message on an availability topic says so, else None."""
    verdict: bool | None = None
    for item in d.availability:
        if item.topic != topic:
            continue
        value = templates.render_value(item.value_template, payload)
        if value == item.payload_available:
            verdict = True
        elif value == item.payload_not_available:
            verdict = False
    return verdict


def combine_availability(mode: str, values: Mapping[str, bool], latest: bool | None) -> bool:
    """HA's availability_mode: `latest` (last message wins), `all`, `any`."""
    if mode == "all":
        return bool(values) and all(values.values())
    if mode == "any":
        return any(values.values())
    return True if latest is None else latest
