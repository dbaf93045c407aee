"""Did the device do it?  Waiting for the state that confirms a command.

The broker's PUBACK only says the broker has the command: across a broker
restart a quarter of the commands acknowledged that way never reached their
device.  So for an entity with a state topic, ``send`` registers what the
device should report before publishing, publishes, and waits up to
``[mqtt] confirm_seconds`` for a live (not retained) state message that
matches: the command's target state where it has one ("on", "locked",
brightness 40 %), else any fresh state from that entity.  The answer goes
on ``Action.confirmed``: True, False (sent, but the device has not
answered), or None (nothing to confirm with: no state topic, optimistic).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.devices.entities import EntityState
from assistant.devices.mqtt.discovery import Discovered
from assistant.devices.mqtt.discovery_commands import Message, percent_to_device_brightness
from assistant.devices.mqtt.discovery_state import STATE_TOPICS, brightness_update
from assistant.transports.mqtt import MqttConnection

Check = Callable[[EntityState], bool]

# What the device reports once it has done it (transitions count: the
# device got the command).
_TARGET: dict[str, tuple[str, ...]] = {
    "turn_on": ("on",),
    "turn_off": ("off",),
    "lock": ("locked", "locking"),
    "unlock": ("unlocked", "unlocking", "open", "opening"),
    "open": ("open", "opening"),
    "close": ("closed", "closing"),
    "start": ("cleaning",),
}
_COVERS = ("cover", "valve")


def _near(value: Any, wanted: float, slack: float = 0.5) -> bool:
    return isinstance(value, int | float) and abs(float(value) - wanted) <= slack


def expectation(d: Discovered, action: str, params: Mapping[str, Any]) -> Check | None:
    """What the entity's state must look like once the command is done; None = any fresh state."""
    brightness = params.get("brightness")
    if d.component == "light" and action in ("turn_on", "set_brightness") and brightness:
        # What the device will report back: its own steps, in percent, exactly
        # (a neighbour's value must not confirm a command that was lost).
        scale = int(d.config.get("brightness_scale", 255))
        sent = percent_to_device_brightness(float(brightness), scale)
        wanted = float(brightness_update(sent, scale).attributes["brightness_pct"])
        return lambda s: s.state == "on" and _near(s.attributes.get("brightness_pct"), wanted)
    if action == "set_brightness" and brightness is not None and float(brightness) <= 0:
        return lambda s: s.state == "off"
    if d.component in _COVERS and action in ("turn_on", "turn_off"):
        action = "open" if action == "turn_on" else "close"
    if d.component == "climate" and action == "set_hvac_mode":
        mode = str(params.get("hvac_mode"))
        return lambda s: s.state == mode
    if d.component == "climate" and action == "set_temperature":
        temperature = float(params.get("temperature", 0))
        return lambda s: _near(s.attributes.get("temperature"), temperature, 0.01)
    if d.component == "climate":
        return None
    if d.component == "vacuum":
        # "stop" may end in idle, docked or returning: any fresh state will do.
        action = {"turn_on": "start"}.get(action, action)
        return (lambda s: s.state == "cleaning") if action == "start" else None
    states = _TARGET.get(action)
    if states is not None:
        return lambda s: s.state in states
    return None


def confirmable(d: Discovered) -> bool:
    """True if the entity reports its state (and is not optimistic)."""
    if d.config.get("optimistic"):
        return False
    return any(d.topic(role) for role in STATE_TOPICS.get(d.component, ()))


@dataclass(eq=False)
class _Waiter:
    check: Check | None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class Confirmations:
    """Commands waiting for their device's state; the device service feeds it every state."""

    def __init__(self) -> None:
        self._waiting: dict[str, list[_Waiter]] = {}

    def heard(self, entity_id: str, state: EntityState, *, retained: bool) -> None:
        """A state message was applied to the entity (retained ones are old news)."""
        if retained:
            return
        for waiter in self._waiting.get(entity_id, ()):
            if waiter.check is None or waiter.check(state):
                waiter.done.set()

    @contextlib.contextmanager
    def _expect(self, entity_id: str, check: Check | None) -> Iterator[_Waiter]:
        waiter = _Waiter(check)
        self._waiting.setdefault(entity_id, []).append(waiter)
        try:
            yield waiter
        finally:
            waiters = self._waiting.get(entity_id, [])
            if waiter in waiters:
                waiters.remove(waiter)
            if not waiters:
                self._waiting.pop(entity_id, None)

    async def send(
        self,
        connection: MqttConnection,
        d: Discovered,
        action: str,
        params: Mapping[str, Any],
        messages: Sequence[Message],
        *,
        qos: int,
        seconds: float,
    ) -> bool | None:
        """Publish the messages in order; then True/False as the state confirms, or None."""
        if seconds <= 0 or not confirmable(d):
            for message in messages:
                await connection.publish(
                    message.topic, message.payload, qos=qos, retain=message.retain
                )
            return None
        with self._expect(d.entity.entity_id, expectation(d, action, params)) as waiter:
            for message in messages:
                await connection.publish(
                    message.topic, message.payload, qos=qos, retain=message.retain
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await waiter.done.wait()
            return waiter.done.is_set()
