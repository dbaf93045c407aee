"""Colours for lights: names, RGB -> xy / hs, kelvin -> mireds, as Home Assistant converts them."""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping
from typing import Any

from assistant.devices.vocabulary import COLOR_NAMES
from assistant.errors import UserError

__all__ = ["COLOR_NAMES", "kelvin_to_mired", "resolve_color", "rgb_to_hs", "rgb_to_xy"]


def kelvin_to_mired(kelvin: int) -> int:
    """HA's color_temperature_kelvin_to_mired: floor(1e6 / K)."""
    return math.floor(1_000_000 / kelvin)


def rgb_to_xy(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """HA's color_RGB_to_xy (sRGB gamma, Wide RGB D65), rounded to 3 places."""
    r, g, b = (c / 255 for c in rgb)
    r, g, b = (((c + 0.055) / 1.055) ** 2.4 if c > 0.04045 else c / 12.92 for c in (r, g, b))
    x = r * 0.664511 + g * 0.154324 + b * 0.162028
    y = r * 0.283881 + g * 0.668433 + b * 0.047685
    z = r * 0.000088 + g * 0.072310 + b * 0.986039
    total = x + y + z
    if total == 0:
        return 0.0, 0.0
    return round(x / total, 3), round(y / total, 3)


def rgb_to_hs(rgb: tuple[int, int, int]) -> tuple[float, float]:
    """Hue (0-360) and saturation (0-100)."""
    h, s, _ = colorsys.rgb_to_hsv(*(c / 255 for c in rgb))
    return round(h * 360, 3), round(s * 100, 3)


def resolve_color(params: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """`rgb` (3 ints) or `color` (a name) -> rgb; UserError for unknown names."""
    rgb = params.get("rgb")
    if rgb is not None:
        values = tuple(int(c) for c in rgb)
        if len(values) != 3 or not all(0 <= c <= 255 for c in values):
            raise UserError(f"rgb must be three numbers 0-255, not {rgb!r}")
        return values[0], values[1], values[2]
    name = params.get("color")
    if name is None:
        return None
    key = str(name).strip().lower()
    if key not in COLOR_NAMES:
        raise UserError(f"unknown colour {name!r}")
    return COLOR_NAMES[key]
