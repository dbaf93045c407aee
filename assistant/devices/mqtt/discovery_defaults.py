"""Home Assistant's defaults and required keys for each MQTT component it models."""

from __future__ import annotations

from typing import Any

# Home Assistant's defaults, per component (and per light schema).
_ON_OFF = {"payload_on": "ON", "payload_off": "OFF"}
DEFAULTS: dict[str, dict[str, Any]] = {
    "light": {**_ON_OFF, "brightness_scale": 255, "on_command_type": "last"},
    "light_json": {"brightness_scale": 255},
    "switch": dict(_ON_OFF),
    "binary_sensor": dict(_ON_OFF),
    "fan": {
        **_ON_OFF,
        "speed_range_min": 1,
        "speed_range_max": 100,
        "payload_oscillation_on": "oscillate_on",
        "payload_oscillation_off": "oscillate_off",
    },
    "cover": {
        "payload_open": "OPEN",
        "payload_close": "CLOSE",
        "payload_stop": "STOP",
        "state_open": "open",
        "state_opening": "opening",
        "state_closed": "closed",
        "state_closing": "closing",
        "state_stopped": "stopped",
        "position_open": 100,
        "position_closed": 0,
    },
    "lock": {
        "payload_lock": "LOCK",
        "payload_unlock": "UNLOCK",
        "state_locked": "LOCKED",
        "state_unlocked": "UNLOCKED",
        "state_locking": "LOCKING",
        "state_unlocking": "UNLOCKING",
        "state_jammed": "JAMMED",
        "state_open": "OPEN",
        "state_opening": "OPENING",
    },
    "valve": {
        "payload_open": "OPEN",
        "payload_close": "CLOSE",
        "payload_stop": "STOP",
        "state_open": "open",
        "state_opening": "opening",
        "state_closed": "closed",
        "state_closing": "closing",
        "position_open": 100,
        "position_closed": 0,
        "reports_position": False,
    },
    "climate": {
        **_ON_OFF,
        "modes": ["auto", "off", "cool", "heat", "dry", "fan_only"],
        "min_temp": 7,
        "max_temp": 35,
    },
    "vacuum": {
        "payload_start": "start",
        "payload_stop": "stop",
        "payload_pause": "pause",
        "payload_return_to_base": "return_to_base",
        "payload_clean_spot": "clean_spot",
        "payload_locate": "locate",
        "supported_features": ["start", "stop", "return_home", "status", "battery", "clean_spot"],
    },
    "sensor": {},
    "button": {"payload_press": "PRESS"},
    "scene": {"payload_on": "ON"},
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "light": ("command_topic",),
    "switch": ("command_topic",),
    "fan": ("command_topic",),
    "lock": ("command_topic",),
    "button": ("command_topic",),
    "sensor": ("state_topic",),
    "binary_sensor": ("state_topic",),
}
