"""What the devices layer models, as the words the rest of the assistant may use.

The one list of domains, device classes and colour names, and the one rule
for which actions are sensitive.  Understanding derives its grammar, its
validation and its confirmation policy from here, so a sentence or a model
can only name what a device here can be and do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from assistant.devices.entities import DOMAINS, Domain

__all__ = [
    "COLORS",
    "COLOR_NAMES",
    "COVER_CLASSES",
    "DEVICE_CLASSES",
    "DOMAINS",
    "SENSITIVE_ACTIONS",
    "VALVE_CLASSES",
    "Domain",
    "is_sensitive_action",
    "is_sensitive_device",
]

# Home Assistant's colour names (homeassistant.util.color) that lights here can show.
COLOR_NAMES: Final[Mapping[str, tuple[int, int, int]]] = {
    "red": (255, 0, 0), "green": (0, 128, 0), "lime": (0, 255, 0), "blue": (0, 0, 255),
    "white": (255, 255, 255), "warm white": (255, 214, 170), "yellow": (255, 255, 0),
    "orange": (255, 165, 0), "purple": (128, 0, 128), "violet": (238, 130, 238),
    "pink": (255, 192, 203), "cyan": (0, 255, 255), "magenta": (255, 0, 255),
    "turquoise": (64, 224, 208), "gold": (255, 215, 0), "brown": (165, 42, 42),
    "indigo": (75, 0, 130), "teal": (0, 128, 128), "navy": (0, 0, 128),
    "coral": (255, 127, 80), "salmon": (250, 128, 114), "lavender": (230, 230, 250),
}  # fmt: skip
COLORS: Final[tuple[str, ...]] = tuple(COLOR_NAMES)

# Home Assistant's CoverDeviceClass and ValveDeviceClass values: the kinds of
# device a sentence may name ("open the garage", "close the blinds").
COVER_CLASSES: Final[tuple[str, ...]] = (
    "awning",
    "blind",
    "curtain",
    "damper",
    "door",
    "garage",
    "gate",
    "shade",
    "shutter",
    "window",
)
VALVE_CLASSES: Final[tuple[str, ...]] = ("water", "gas")
DEVICE_CLASSES: Final[tuple[str, ...]] = COVER_CLASSES + VALVE_CLASSES

# Actions that let someone in or release something, by domain (`Domain` values)
# and device class (None: every device of the domain).  Decided by what a
# device is, never by what it is called, so no name can take the question away.
SENSITIVE_ACTIONS: Final[Mapping[str, Mapping[str | None, frozenset[str]]]] = {
    "lock": {None: frozenset({"unlock", "open"})},
    "cover": {
        cls: frozenset({"open", "set_position", "toggle"}) for cls in ("garage", "gate", "door")
    },
    "valve": {"gas": frozenset({"open", "set_position", "toggle"})},
}
# Actions that make a device safer: never asked about, even on a sensitive device.
SAFE_ACTIONS: Final[frozenset[str]] = frozenset({"lock", "close", "turn_off", "stop"})


def is_sensitive_device(domain: str, device_class: str | None) -> bool:
    """True for a device some action of which needs a confirmation (a lock, a garage door)."""
    by_class = SENSITIVE_ACTIONS.get(domain, {})
    return None in by_class or device_class in by_class


def is_sensitive_action(domain: str, device_class: str | None, action: str) -> bool:
    """True when `action` on a device of this domain and class needs a confirmation."""
    by_class = SENSITIVE_ACTIONS.get(domain, {})
    actions = by_class.get(None) or by_class.get(device_class) or frozenset()
    return action in actions
