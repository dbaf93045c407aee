"""`MqttExecutor`: what intents call to command MQTT devices.

One call -> the exact messages the entity's protocol expects (built by
``discovery_commands.build``), published at QoS 1 (QoS 2 if the entity's
config asks for it) and acknowledged by the broker, in order.  The returned
``Action`` carries what went out; a command that needed several messages
(default-schema light: brightness topic, then command topic) has their
topics and payloads joined by newlines, in publication order.

Optimistic entities (``optimistic: true``, or no state topic to learn the
truth from) get their predicted state written to the registry, as Home
Assistant does.  The others wait briefly for their state to confirm the
command (``confirm``): ``Action.confirmed``.  A command that expires
because the broker stayed away raises ``CommandExpired`` (a UserError: one
line the reply can speak).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from assistant.devices.actions import ActionName, ActionParams, is_action
from assistant.devices.entities import Action
from assistant.devices.mqtt.confirm import Confirmations
from assistant.devices.mqtt.discovery import Discovered
from assistant.devices.mqtt.discovery_commands import build
from assistant.devices.mqtt.discovery_state import STATE_TOPICS
from assistant.devices.registry import Registry
from assistant.errors import UserError
from assistant.transports.mqtt import MqttConnection

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger(__name__)

_PREDICTED: dict[str, str] = {
    "turn_on": "on", "turn_off": "off", "open": "open", "close": "closed",
    "lock": "locked", "unlock": "unlocked", "start": "cleaning", "stop": "idle",
    "return_to_base": "returning", "pause": "paused",
}  # fmt: skip


class MqttExecutor:
    """Implements the ``Executor`` protocol over an ``MqttConnection``."""

    def __init__(
        self,
        lookup: Callable[[str], Discovered | None],
        registry: Registry,
        connection: MqttConnection,
        confirmations: Confirmations | None = None,
    ) -> None:
        self._lookup = lookup
        self._registry = registry
        self._connection = connection
        self._confirmations = confirmations or Confirmations()

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Send one command; return what was sent.  UserError for bad calls or expiry."""
        d = self._lookup(entity_id)
        if d is None:
            raise UserError(f"unknown entity {entity_id!r}")
        if not is_action(action):  # plug-in handlers need not be type-checked
            raise UserError(f"unknown action {action!r}")
        messages = build(d, action, params, self._registry.state(entity_id))
        qos = 2 if d.config.get("qos") == 2 else 1
        seconds = self._connection.config.confirm_seconds
        confirmed = await self._confirmations.send(
            self._connection, d, action, params, messages, qos=qos, seconds=seconds
        )
        if self._is_optimistic(d):
            self._predict(d, action, params)
        return Action(
            entity_id=entity_id,
            action=action,
            params=dict(params),
            topic="\n".join(m.topic for m in messages),
            payload="\n".join(m.payload for m in messages),
            confirmed=confirmed,
        )

    @staticmethod
    def _is_optimistic(d: Discovered) -> bool:
        if d.config.get("optimistic"):
            return True
        roles = STATE_TOPICS.get(d.component, ())
        return bool(roles) and not any(d.topic(role) for role in roles)

    def _predict(self, d: Discovered, action: ActionName, params: Mapping[str, Any]) -> None:
        entity_id = d.entity.entity_id
        state = _PREDICTED.get(action)
        attributes: dict[str, Any] = {}
        if action in ("set_brightness", "set_color"):
            state = "on"
        if params.get("brightness") is not None and d.component == "light":
            attributes["brightness_pct"] = params["brightness"]
        if action == "set_position":
            attributes["current_position"] = params.get("position")
            state = "closed" if params.get("position") == 0 else "open"
        if action == "set_temperature":
            attributes["temperature"] = params.get("temperature")
            state = params.get("hvac_mode") or None
        if action == "set_hvac_mode":
            state = str(params.get("hvac_mode"))
        if action == "set_fan_speed" and params.get("percentage") is not None:
            attributes["percentage"] = params["percentage"]
        if action == "toggle":
            state = "off" if self._registry.state(entity_id).state == "on" else "on"
        if d.component in ("button", "scene"):
            return
        self._registry.set_state(entity_id, state, attributes or None)
