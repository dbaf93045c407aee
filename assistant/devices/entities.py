"""The small vocabulary shared by devices, understanding and the pipeline.

Intents see only these types, the actions of ``actions`` and the ``Executor``
protocol, never MQTT or Home Assistant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from assistant.devices.actions import ActionName, ActionParams

if TYPE_CHECKING:
    from typing_extensions import Unpack

Domain = Literal[
    "light",
    "switch",
    "fan",
    "cover",
    "lock",
    "valve",
    "climate",
    "vacuum",
    "sensor",
    "binary_sensor",
    "button",
    "scene",
]
DOMAINS: tuple[str, ...] = get_args(Domain)
Source = Literal["discovery", "zigbee2mqtt", "config", "home assistant"]


@dataclass(frozen=True)
class Entity:
    """One thing in the home that can be named, read or commanded."""

    entity_id: str
    name: str
    domain: str
    source: Source
    area: str | None = None
    floor: str | None = None
    aliases: tuple[str, ...] = ()
    device_class: str | None = None
    features: frozenset[str] = frozenset()
    sensitive: bool = False
    unit: str | None = None


@dataclass(frozen=True)
class EntityState:
    """The last known state of an entity."""

    state: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    available: bool = True


@dataclass(frozen=True)
class Action:
    """What an intent asked a device to do, and what went out on the wire."""

    entity_id: str
    action: ActionName
    params: Mapping[str, Any] = field(default_factory=dict)
    topic: str | None = None
    payload: str | None = None
    # True: the device's state confirmed the command; False: it did not
    # within [mqtt] confirm_seconds; None: nothing to confirm with (no state
    # topic, optimistic, or a backend that cannot tell).
    confirmed: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """The `actions` item of `ask --json` / `listen --json`."""
        return {
            "entity_id": self.entity_id,
            "action": self.action,
            "params": dict(self.params),
            "confirmed": self.confirmed,
        }


class Executor(Protocol):
    """What intents call.  Implemented for MQTT and for Home Assistant REST."""

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Send one command; return what was sent.  Raises UserError for bad calls."""
        ...
