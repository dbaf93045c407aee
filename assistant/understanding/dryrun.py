"""An executor that records instead of sending: for `intents test` and unit tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.devices.actions import ActionName, ActionParams, is_action
from assistant.devices.entities import Action
from assistant.devices.registry import Registry
from assistant.errors import UserError

if TYPE_CHECKING:
    from typing_extensions import Unpack


class RecordingExecutor:
    """Checks each call against the registry, records it, and sends nothing."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry
        self.actions: list[Action] = []

    async def execute(
        self, entity_id: str, action: ActionName, **params: Unpack[ActionParams]
    ) -> Action:
        """Record one command (UserError for an unknown entity or verb)."""
        if not is_action(action):  # plug-in handlers need not be type-checked
            raise UserError(f"unknown action '{action}'")
        if self.registry is not None and entity_id not in self.registry:
            raise UserError(f"unknown entity '{entity_id}'")
        done = Action(entity_id=entity_id, action=action, params=dict(params))
        self.actions.append(done)
        return done
