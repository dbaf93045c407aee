"""The device actions: one typed vocabulary shared by handlers and executors.

``ActionName`` is every verb an executor understands; ``ActionParams`` the
keyword parameters any of them takes.  Handlers call
``ctx.execute(entity, "set_brightness", brightness=40)`` and mypy checks both
the verb and the parameter names, so a typo fails the type check instead of
a spoken command.  Executors still check at run time: plug-in intents need
not be type-checked.

Parameters per verb (all optional unless noted):

- ``turn_on``: brightness (0-100 %), rgb, color (a name), color_temp_kelvin;
  fan percentage
- ``set_brightness``: brightness (required); ``set_color``: rgb, color or
  color_temp_kelvin
- ``set_position``: position (0-100); ``set_temperature``: temperature
  (required), hvac_mode; ``set_hvac_mode``: hvac_mode (required);
  ``set_fan_speed``: percentage (required)
- the others take none: turn_off, toggle, open, close, stop, lock, unlock,
  start, return_to_base, press, activate, and the vacuum's pause, locate,
  clean_spot (MQTT only).
"""

from __future__ import annotations

from typing import Literal, TypedDict, TypeGuard, get_args

ActionName = Literal[
    "turn_on",
    "turn_off",
    "toggle",
    "set_brightness",
    "set_color",
    "open",
    "close",
    "stop",
    "set_position",
    "lock",
    "unlock",
    "set_temperature",
    "set_hvac_mode",
    "set_fan_speed",
    "start",
    "return_to_base",
    "press",
    "activate",
    "pause",
    "locate",
    "clean_spot",
]
ACTIONS: tuple[ActionName, ...] = get_args(ActionName)


class ActionParams(TypedDict, total=False):
    """The keyword parameters of an action (which verb takes which: see the module doc)."""

    brightness: int
    rgb: tuple[int, int, int]
    color: str
    color_temp_kelvin: int
    position: int
    temperature: float
    hvac_mode: str
    percentage: int


def is_action(name: str) -> TypeGuard[ActionName]:
    """Whether `name` is a known verb (for callers that are not type-checked)."""
    return name in ACTIONS
